package family

import (
	"errors"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// With no credentials at all, Packer's diagnostic is the core's guidance as
// the list it is, over real lines (Packer prints a diagnostic over several
// lines; a visible "\n" is what it showed), naming the data source's
// attributes and no other front's flags or inputs; nothing is sent.
// Credentials are shared by every region: with several the diagnostic says
// so once, naming every region.
func TestNoCredentialsDiagnostic(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	for regions, prefix := range map[string]string{
		`region = "cn-hangzhou"`:                   `resolving image family "web-base" in region cn-hangzhou: `,
		`regions = ["cn-hangzhou", "cn-shanghai"]`: `resolving image family "web-base" in regions cn-hangzhou, cn-shanghai: `,
	} {
		_, _, err := runBlock(t, srv, "image_family = \"web-base\"\n"+regions+"\ncustom_endpoint_ecs = \""+srv.URL+"\"\n")
		if !errors.Is(err, imagefamily.ErrNoCredentials) {
			t.Fatalf("%s: Execute without credentials = %v", regions, err)
		}
		msg := err.Error()
		lines := strings.Split(msg, "\n")
		if len(lines) < 7 || !strings.HasPrefix(lines[0], prefix) || strings.Count(msg, "no Alibaba Cloud credentials found") != 1 ||
			!strings.HasPrefix(lines[1], "  1. an access key pair: access_key + secret_key (+ security_token);") {
			t.Errorf("%s: the guidance is not said once, as a list of lines naming the attributes:\n%s", regions, msg)
		}
		for _, want := range []string{"shared_credentials_file", "profile", "ram_role_name or ALIBABA_CLOUD_ECS_METADATA", "(ram_role_arn or ALICLOUD_ASSUME_ROLE_ARN)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: lacks %q:\n%s", regions, want, msg)
			}
		}
		for _, not := range []string{`\n`, "--", "role-to-assume", "flags", "action inputs", "Credentials."} {
			if strings.Contains(msg, not) {
				t.Errorf("%s: the diagnostic holds %q:\n%s", regions, not, msg)
			}
		}
		if n := srv.Requests(""); n != 0 {
			t.Fatalf("%d requests sent without credentials", n)
		}
	}
}
