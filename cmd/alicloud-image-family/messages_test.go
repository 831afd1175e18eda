package main

import (
	"strings"
	"testing"
)

// With no credentials at all, stderr holds the core's guidance once, as the
// list it is (the first line, then indented lines), naming the CLI's flags
// and no other front's inputs or attributes; with several regions too (it
// was one escaped line per region, "\n" and all).
func TestNoCredentialsGuidanceCLI(t *testing.T) {
	for _, region := range []string{"cn-hangzhou", "cn-hangzhou,cn-shanghai"} {
		_, errOut, code, srv := inProcess(t, map[string]string{}, "resolve", "--region", region, "--image-family", "web-base")
		if code != exitUsage || srv.Requests("") != 0 {
			t.Fatalf("%s: exit %d, %d requests\n%s", region, code, srv.Requests(""), errOut)
		}
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if len(lines) < 6 || lines[0] != "alicloud-image-family: no Alibaba Cloud credentials found. Provide them in one of these ways (first match wins):" {
			t.Errorf("%s: stderr is not the guidance as lines:\n%s", region, errOut)
		}
		for i, l := range lines[1:] {
			if !strings.HasPrefix(l, "  ") {
				t.Errorf("%s: line %d %q is not indented", region, i+2, l)
			}
		}
		if n := strings.Count(errOut, "no Alibaba Cloud credentials found"); n != 1 {
			t.Errorf("%s: the guidance is printed %d times", region, n)
		}
		for _, want := range []string{"named by --profile, ALIBABA_CLOUD_PROFILE or ALICLOUD_PROFILE", "--profile-file",
			"(--ram-role-name or ALIBABA_CLOUD_ECS_METADATA)", "(--role-arn or ALICLOUD_ASSUME_ROLE_ARN)"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: lacks %q:\n%s", region, want, errOut)
			}
		}
		for _, not := range []string{`\n`, "ram_role", "role-to-assume", "access_key", "access-key-id", "an access key pair", "HCL", "action inputs"} {
			if strings.Contains(errOut, not) {
				t.Errorf("%s: stderr holds %q:\n%s", region, not, errOut)
			}
		}
	}
}
