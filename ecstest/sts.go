package ecstest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// session is one set of issued STS credentials.
type session struct {
	keyID, secret, token string
	expires              time.Time
	roleARN, name        string
}

var (
	roleARNPattern = regexp.MustCompile(`^acs:ram::(\d+):role/([A-Za-z0-9.@_-]+)$`)
	// Compiled on first use, like sharedFamilyName.
	sessionNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`) })
)

const defaultAudience = "sts.aliyuncs.com"

// SetTokenLifetime makes issued STS credentials live d instead of the
// requested DurationSeconds (d <= 0 restores that), so tests can see expiry
// without waiting 15 minutes.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = max(d, 0)
}

// ExpireSessions makes every STS credential issued so far expired.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.clock().Add(-time.Second)
	for _, sess := range s.sessions {
		sess.expires = past
	}
}

// findRole looks a role up by ARN, case-insensitively as RAM does. Callers
// hold s.mu.
func (s *Server) findRole(arn string) *Role {
	for i := range s.roles {
		if strings.EqualFold(s.roles[i].ARN, arn) {
			r := s.roles[i]
			return &r
		}
	}
	return nil
}

func (s *Server) serveSTS(method, action string, p url.Values, requestID string) *response {
	if action == "AssumeRoleWithOIDC" {
		// Anonymous by design: the OIDC token is the credential. A signature,
		// if a client sends one anyway, is ignored as the real STS does.
		return s.assumeRoleWithOIDC(p, requestID)
	}
	c, aerr := s.authenticate(method, p)
	if aerr != nil {
		return aerr.response(requestID)
	}
	if action == "GetCallerIdentity" {
		return s.getCallerIdentity(c, requestID)
	}
	return s.assumeRole(c, p, requestID)
}

// commonAssumeParams checks RoleArn, RoleSessionName and DurationSeconds and
// finds the role.
func (s *Server) commonAssumeParams(p url.Values, sessionRequired bool) (*Role, string, time.Duration, *apiError) {
	arn := p.Get("RoleArn")
	if arn == "" {
		return nil, "", 0, errMissing("RoleArn")
	}
	name := p.Get("RoleSessionName")
	if name == "" && sessionRequired {
		return nil, "", 0, errMissing("RoleSessionName")
	}
	if name == "" {
		name = "oidc-session-" + randomString(8, digitsUpper)
	}
	if !sessionNamePattern().MatchString(name) {
		return nil, "", 0, newAPIError(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
	}
	dur := time.Hour
	if v := p.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 3600 {
			return nil, "", 0, newAPIError(400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr.")
		}
		dur = time.Duration(n) * time.Second
	}
	if !roleARNPattern.MatchString(arn) {
		return nil, "", 0, newAPIError(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
	}
	s.mu.Lock()
	role := s.findRole(arn)
	s.mu.Unlock()
	if role == nil {
		return nil, "", 0, newAPIError(404, "EntityNotExist.Role", "The specified Role not exists: "+arn+".")
	}
	return role, name, dur, nil
}

func (s *Server) assumeRole(c *caller, p url.Values, requestID string) *response {
	role, name, dur, aerr := s.commonAssumeParams(p, true)
	if aerr != nil {
		return aerr.response(requestID)
	}
	trusted := c.session != nil // role chaining: any STS credential may
	for _, k := range role.TrustedAccounts {
		trusted = trusted || k == c.accessKeyID
	}
	if !trusted || (role.ExternalID != "" && p.Get("ExternalId") != role.ExternalID) {
		return newAPIError(403, "NoPermission", "No permission perform sts:AssumeRole on this Role. Maybe you are not in the trust relationship of the role or the role is not exist.").response(requestID)
	}
	return s.issue(role, name, dur, requestID, nil)
}

// assumeRoleWithOIDC checks the token's claims. The signature of the JWT is
// NOT verified: the emulator has no issuer keys to fetch (and must not fetch
// anything off loopback), so any well-formed token with the right claims is
// accepted. Tests prove claim handling, not cryptography.
func (s *Server) assumeRoleWithOIDC(p url.Values, requestID string) *response {
	if p.Get("OIDCProviderArn") == "" {
		return errMissing("OIDCProviderArn").response(requestID)
	}
	role, name, dur, aerr := s.commonAssumeParams(p, false)
	if aerr != nil {
		return aerr.response(requestID)
	}
	provider := p.Get("OIDCProviderArn")
	s.mu.Lock()
	registered := false
	for _, r := range s.roles {
		registered = registered || (r.OIDCProviderARN != "" && strings.EqualFold(r.OIDCProviderARN, provider))
	}
	s.mu.Unlock()
	if !registered {
		return newAPIError(401, "AuthenticationFail.NoPermission", "No such OIDC Provider registered.").response(requestID)
	}
	if !strings.EqualFold(role.OIDCProviderARN, provider) {
		return newAPIError(401, "AuthenticationFail.NoPermission", "There is no permission: the role does not trust OIDC provider "+provider+".").response(requestID)
	}

	claims, aerr := parseJWT(p.Get("OIDCToken"))
	if aerr != nil {
		return aerr.response(requestID)
	}
	want := role.OIDCAudience
	if want == "" {
		want = defaultAudience
	}
	auds := claims.audiences()
	ok := false
	for _, a := range auds {
		ok = ok || a == want
	}
	if !ok {
		return newAPIError(401, "AuthenticationFail.OIDCToken.AudienceNotMatch",
			fmt.Sprintf("Invalid audience. The audience of the OIDC token is %q, the role expects %q.", strings.Join(auds, ","), want)).response(requestID)
	}
	now := s.now()
	if claims.Exp != nil && !now.Before(time.Unix(int64(*claims.Exp), 0)) {
		return newAPIError(401, "AuthenticationFail.OIDCToken.Expired", "This JsonWebToken is expired.").response(requestID)
	}
	info := map[string]string{
		"Subject": claims.Sub, "Issuer": claims.Iss, "ClientIds": strings.Join(auds, ","),
		"VerificationInfo": "Success",
	}
	if claims.Exp != nil {
		info["ExpirationTime"] = time.Unix(int64(*claims.Exp), 0).UTC().Format(timestampLayout)
	}
	if claims.Iat != nil {
		info["IssuanceTime"] = time.Unix(int64(*claims.Iat), 0).UTC().Format(timestampLayout)
	}
	return s.issue(role, name, dur, requestID, info)
}

type jwtClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *float64        `json:"exp"`
	Iat *float64        `json:"iat"`
}

// audiences reads "aud", which JWT allows to be a string or a list.
func (c *jwtClaims) audiences() []string {
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(c.Aud, &many)
	return many
}

// parseJWT decodes the payload of a compact JWT. Messages are the real STS
// ones and never include the token.
func parseJWT(tok string) (*jwtClaims, *apiError) {
	invalid := func(msg string) (*jwtClaims, *apiError) {
		return nil, newAPIError(401, "AuthenticationFail.OIDCToken.Invalid", msg)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return invalid("The OIDCToken can not empty.")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return invalid("The number of Jwt field should be divided into 3 parts with '.' .")
	}
	dec := func(s string) ([]byte, error) {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	hdr, err1 := dec(parts[0])
	payload, err2 := dec(parts[1])
	if err1 != nil || err2 != nil {
		return invalid("Cannot decode base64 encoded response(format invalided).")
	}
	var h map[string]any
	var c jwtClaims
	if json.Unmarshal(hdr, &h) != nil || json.Unmarshal(payload, &c) != nil {
		return invalid("The Jwt content is invalid that cannot be recognized.")
	}
	return &c, nil
}

// issue creates a session for role and answers it in the AssumeRole shape
// (plus OIDCTokenInfo for AssumeRoleWithOIDC).
func (s *Server) issue(role *Role, name string, dur time.Duration, requestID string, oidcInfo map[string]string) *response {
	sess := s.newSession(role, name, dur)
	body := map[string]any{
		"RequestId": requestID,
		"AssumedRoleUser": map[string]string{
			"Arn":           role.ARN + "/" + name,
			"AssumedRoleId": roleID(role.ARN) + ":" + name,
		},
		"Credentials": map[string]string{
			"AccessKeyId":     sess.keyID,
			"AccessKeySecret": sess.secret,
			"SecurityToken":   sess.token,
			"Expiration":      sess.expires.UTC().Format(timestampLayout),
		},
		"SourceIdentity": "",
	}
	if oidcInfo != nil {
		body["OIDCTokenInfo"] = oidcInfo
	}
	return jsonResponse(200, body)
}

// newSession mints and records STS credentials for role.
func (s *Server) newSession(role *Role, name string, dur time.Duration) *session {
	sess := &session{
		keyID:   stsKeyPrefix + randomString(28, alnum),
		secret:  randomString(44, alnum),
		token:   "CAIS" + randomString(300, tokenChars),
		roleARN: role.ARN,
		name:    name,
	}
	s.mu.Lock()
	if s.lifetime > 0 {
		dur = s.lifetime
	}
	sess.expires = s.clock().Add(dur)
	s.sessions[sess.keyID] = sess
	s.tokens[sess.token] = sess
	s.mu.Unlock()
	return sess
}

func (s *Server) getCallerIdentity(c *caller, requestID string) *response {
	if c.account != nil {
		acct, user := c.account.AccountID, c.account.UserName
		if acct == "" {
			acct = "123456789012"
		}
		if user == "" {
			user = "user-" + strings.ToLower(c.accessKeyID)
		}
		uid := roleID("user/" + c.accessKeyID)
		return jsonResponse(200, map[string]string{
			"RequestId": requestID, "IdentityType": "RAMUser", "AccountId": acct,
			"Arn": "acs:ram::" + acct + ":user/" + user, "UserId": uid, "PrincipalId": uid,
		})
	}
	m := roleARNPattern.FindStringSubmatch(c.session.roleARN)
	rid := roleID(c.session.roleARN)
	return jsonResponse(200, map[string]string{
		"RequestId": requestID, "IdentityType": "AssumedRoleUser", "AccountId": m[1],
		"Arn":    "acs:ram::" + m[1] + ":assumed-role/" + m[2] + "/" + c.session.name,
		"RoleId": rid, "PrincipalId": rid + ":" + c.session.name,
	})
}

// roleID derives a stable 18-digit id from a name, shaped like RAM's ids.
func roleID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(name)))
	return fmt.Sprintf("3%017d", h.Sum64()%100000000000000000)
}

const (
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digitsUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tokenChars  = alnum + "+/"
)

// randomString draws n characters from set with crypto/rand (issued secrets
// must not be guessable even in a test server another process can reach).
func randomString(n int, set string) string {
	// Rejection sampling keeps every character equally likely.
	limit := 256 - 256%len(set)
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("ecstest: crypto/rand: " + err.Error())
		}
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, set[int(c)%len(set)])
			}
		}
	}
	return string(out)
}
