package imagefamily

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"
)

// scrubber removes secrets from text that is about to leave the core (error
// messages, debug traces). Server messages such as SignatureDoesNotMatch echo
// the string to sign, which holds the security token percent-encoded once or
// twice, so every encoding is replaced.
type scrubber struct {
	secrets  []string
	onSecret func(string) // the front's hook, told of each new secret once
	mu       sync.Mutex
}

const redacted = "[REDACTED]"

func (s *scrubber) add(secret string) {
	// Very short values would redact ordinary words; real secrets are long.
	if len(secret) < 6 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.secrets, secret) {
		return
	}
	if s.onSecret != nil {
		s.onSecret(secret)
	}
	once := rpcencode.Encode(secret)
	// Servers echo secrets percent-encoded (the string to sign), JSON-escaped
	// (a '/' as "\/") and base64-encoded; each form is scrubbed.
	jsonForm := strings.ReplaceAll(secret, "/", `\/`)
	for _, v := range []string{secret, once, rpcencode.Encode(once), url.QueryEscape(secret), url.QueryEscape(once), jsonForm,
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawStdEncoding.EncodeToString([]byte(secret)),
		base64.URLEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))} {
		if !slices.Contains(s.secrets, v) {
			s.secrets = append(s.secrets, v)
		}
	}
}

func (s *scrubber) clean(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, redacted)
	}
	return text
}
