package family

import (
	"strings"
	"testing"
)

// With no credentials at all, Packer's diagnostic is the core's guidance as
// the list it is, over real lines (Packer prints a diagnostic over several
// lines; a visible "\n" is what it showed), naming the data source's
// attributes and no other front's flags or inputs. One region and several
// alike.
func TestNoCredentialsDiagnostic(t *testing.T) {
	clearEnv(t)
	for _, regions := range []string{`region = "cn-hangzhou"`, `regions = ["cn-hangzhou", "cn-shanghai"]`} {
		d := mustConfigure(t, "image_family = \"web-base\"\n"+regions+"\n")
		_, err := d.Execute()
		if err == nil {
			t.Fatalf("%s: Execute without credentials succeeded", regions)
		}
		msg := err.Error()
		lines := strings.Split(msg, "\n")
		if len(lines) < 7 || !strings.Contains(lines[0], "no Alibaba Cloud credentials found") ||
			!strings.HasPrefix(lines[1], "  1. an access key pair: access_key + secret_key (+ security_token);") {
			t.Errorf("%s: the guidance is not a list of lines naming the attributes:\n%s", regions, msg)
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
		for i, l := range lines {
			for _, c := range []byte(l) {
				if c < 0x20 && c != '\t' {
					t.Errorf("%s: line %d holds control byte %#x", regions, i, c)
				}
			}
		}
	}
}
