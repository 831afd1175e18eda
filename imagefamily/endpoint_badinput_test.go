package imagefamily

import (
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// An endpoint pasted with credentials in it is rejected without echoing
// them: the error names the field and the rule, and shows the rest.
func TestEndpointWithCredentialsIsNotEchoed(t *testing.T) {
	for raw, rule := range map[string]string{
		"https://LTAIKEY:pw-secret-123@ecs.example.com":      "user information",
		"http://LTAIKEY:pw-secret-123@127.0.0.1:8080":        "user information",
		"LTAIKEY:pw-secret-123@ecs.example.com":              "give a host",
		"pw-secret-123@ecs.example.com:443":                  "give a host",
		"https://a:b@c:pw-secret-123@ecs.example.com/path?q": "user information",
	} {
		_, err := parseEndpoint("endpoint", raw)
		if !IsInputError(err) || !strings.Contains(err.Error(), rule) || !strings.Contains(err.Error(), "ecs.example.com") && !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: err = %v, want %q", raw, err, rule)
			continue
		}
		secretscan.Check(t, raw, err.Error(), "pw-secret-123")
	}
	// An '@' in a path is not user information and is shown as given.
	if got := redactUserinfo("https://ecs.example.com/a@b"); got != "https://ecs.example.com/a@b" {
		t.Errorf("redactUserinfo = %q", got)
	}
}
