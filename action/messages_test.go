package action

import (
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// With no credentials at all, the annotation is the core's guidance as the
// list it is (its line breaks written %0A, which the runner shows as line
// breaks, never a visible "\n"), naming the action's inputs and no other
// front's flags or attributes. One region and several alike.
func TestNoCredentialsAnnotation(t *testing.T) {
	for _, region := range []string{"cn-hangzhou", "cn-hangzhou,cn-shanghai"} {
		s := newStep(t, map[string]string{"region": region, "image-family": "web-base"})
		home := s.env["HOME"]
		s.runMain(WithRequest(func(r *imagefamily.Request) { r.Credentials.HomeDir = home }))
		if s.code != 2 {
			t.Fatalf("%s: exit %d, want 2\n%s", region, s.code, s.stdout)
		}
		errs := annotations(s, "::error ")
		if len(errs) == 0 {
			t.Fatalf("%s: no ::error annotation\n%s", region, s.stdout)
		}
		for _, e := range errs {
			if !strings.Contains(e, "no Alibaba Cloud credentials found") {
				continue
			}
			if !strings.Contains(e, "%0A  1. an access key pair: access-key-id + access-key-secret (+ security-token);%0A  2. OIDC: role-to-assume + oidc-provider-arn") {
				t.Errorf("%s: the guidance is not a list of lines naming the inputs:\n%s", region, e)
			}
			for _, not := range []string{`\n`, "--", "ram_role_name", "ram_role_arn", "HCL attributes", "flags"} {
				if strings.Contains(e, not) {
					t.Errorf("%s: the annotation holds %q:\n%s", region, not, e)
				}
			}
		}
	}
}
