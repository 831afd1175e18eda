package ecstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"
)

// RPC signature v1, as the real gateway computes it: every parameter except
// Signature, keys sorted bytewise, keys and values percent-encoded RFC 3986
// style, joined with '&', then METHOD&%2F&encode(joined), HMAC-SHA1 with the
// secret plus '&', base64.

const (
	// timestampLayout is how the API writes times (Timestamp, CreationTime,
	// Expiration), and how a fixture with dates_as_of writes CreationTime.
	timestampLayout = "2006-01-02T15:04:05Z"
	// The gateway accepts a Timestamp this far from its own clock and keeps
	// nonces at least this long; a replay outside the window fails on time.
	timestampWindow = 15 * time.Minute
	stsKeyPrefix    = "STS."
)

// StringToSign returns the RPC v1 string to sign for method and params
// (Signature is left out). Exported so tests can build their own signed
// requests, including deliberately wrong ones.
func StringToSign(method string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		for _, v := range params[k] {
			pairs = append(pairs, rpcencode.Encode(k)+"="+rpcencode.Encode(v))
		}
	}
	return strings.ToUpper(method) + "&" + rpcencode.Encode("/") + "&" + rpcencode.Encode(strings.Join(pairs, "&"))
}

// sign returns the RPC v1 signature of params with secret.
func sign(method string, params url.Values, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(StringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// caller is who a verified request comes from.
type caller struct {
	accessKeyID string
	account     *Account // for a long-lived key
	session     *session // for an STS key
}

// authenticate checks the common signed-request parameters in the order the
// gateway does: presence, formats, clock, key, token, signature, nonce.
func (s *Server) authenticate(method string, p url.Values) (*caller, *apiError) {
	for _, name := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "Format"} {
		if p.Get(name) == "" {
			return nil, errMissing(name)
		}
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" {
		return nil, newAPIError(400, "InvalidSignatureMethod", "Specified signature method is not supported.")
	}
	if p.Get("SignatureVersion") != "1.0" {
		return nil, newAPIError(400, "InvalidSignatureVersion", "Specified signature version is not supported.")
	}
	ts, err := time.Parse(timestampLayout, p.Get("Timestamp"))
	if err != nil {
		return nil, newAPIError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	now := s.now()
	if d := now.Sub(ts); d > timestampWindow || d < -timestampWindow {
		return nil, newAPIError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}

	id := p.Get("AccessKeyId")
	c := &caller{accessKeyID: id}
	var secret string
	s.mu.Lock()
	if strings.HasPrefix(id, stsKeyPrefix) {
		// A real STS token carries the session inside it, so the gateway reads
		// the token before it can know the secret; hence token errors come
		// before signature errors.
		token := p.Get("SecurityToken")
		sess, byToken := s.sessions[id], s.tokens[token]
		switch {
		case token == "":
			s.mu.Unlock()
			return nil, newAPIError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
		case byToken == nil:
			s.mu.Unlock()
			return nil, newAPIError(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
		case sess == nil || byToken != sess:
			s.mu.Unlock()
			return nil, newAPIError(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
		case !now.Before(sess.expires):
			s.mu.Unlock()
			return nil, newAPIError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
		}
		c.session = sess
		secret = sess.secret
	} else {
		acct, ok := s.accounts[id]
		if !ok {
			s.mu.Unlock()
			return nil, newAPIError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		}
		if acct.Inactive {
			s.mu.Unlock()
			return nil, newAPIError(400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
		}
		a := acct
		c.account = &a
		secret = acct.AccessKeySecret
	}
	s.mu.Unlock()

	want := sign(method, p, secret)
	if subtle.ConstantTimeCompare([]byte(want), []byte(p.Get("Signature"))) != 1 {
		// The real gateway echoes its string to sign after exactly this
		// marker; the SDK compares it with its own to tell a wrong secret
		// from an SDK bug, so the wording must stay byte-identical.
		return nil, newAPIError(400, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:"+StringToSign(method, p))
	}

	// Nonces are recorded only for correctly signed requests, so nobody can
	// burn another caller's nonces with garbage.
	if !s.useNonce(id, p.Get("SignatureNonce"), now) {
		return nil, newAPIError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return c, nil
}

// useNonce records a nonce and reports whether it was fresh. Entries older
// than the timestamp window cannot be replayed anyway and are dropped.
func (s *Server) useNonce(keyID, nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.noncePruned) > time.Minute {
		for k, t := range s.nonces {
			if now.Sub(t) > 2*timestampWindow {
				delete(s.nonces, k)
			}
		}
		s.noncePruned = now
	}
	k := keyID + "\x00" + nonce
	if _, used := s.nonces[k]; used {
		return false
	}
	s.nonces[k] = now
	return true
}
