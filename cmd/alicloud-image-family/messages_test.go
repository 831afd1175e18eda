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

// resolveHint ends every refusal of resolve's flags.
const resolveHint = "Run 'alicloud-image-family resolve -h' for usage."

// Every usage error of resolve is one message line and one hint line, exit
// 2, nothing sent: a value the flag package cannot take (its message, not
// its ~50 lines of help), a required setting missing, a rule of the core.
// TestBadInputCLI checks the same shape for every row through the binary.
// -h still prints the whole help; no command prints the usage.
func TestUsageErrorsAreOneLineAndTheHint(t *testing.T) {
	base := []string{"resolve", "--region", "cn-hangzhou", "--image-family", "web-base"}
	for _, c := range []struct {
		args []string
		frag string
	}{
		{append(base, "--vpc=maybe"), `invalid boolean value "maybe" for -vpc`},
		{append(base, "--timeout"), "flag needs an argument: -timeout"},
		{append(base, "--concurrency", "x"), `invalid --concurrency "x": it must be a whole number from 1 to 64`},
		{append(base, "--role-session-name", "a"), `invalid --role-session-name "a"`},
		{append(base, "--endpoint", "ftp://x"), `invalid --endpoint "ftp://x"`},
		{[]string{"resolve", "--image-family", "web-base"}, "--region is required"},
	} {
		// No region from the environment: ALICLOUD_REGION is unset here.
		args := c.args
		out, errOut, code, srv := inProcess(t, nil, args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if code != exitUsage || out != "" || srv.Requests("") != 0 || len(lines) != 2 ||
			!strings.HasPrefix(lines[0], "alicloud-image-family resolve: ") || !strings.Contains(lines[0], c.frag) || lines[1] != resolveHint {
			t.Errorf("%q: exit %d, %d requests, stderr:\n%s\nwant exit 2, one line with %q, then %q", args, code, srv.Requests(""), errOut, c.frag, resolveHint)
		}
	}

	_, errOut, code, _ := inProcess(t, nil, "frobnicate")
	if lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n"); code != exitUsage || len(lines) != 2 ||
		lines[0] != `alicloud-image-family: unknown command "frobnicate"` || lines[1] != "Run 'alicloud-image-family -h' for usage." {
		t.Errorf("unknown command: exit %d, stderr:\n%s", code, errOut)
	}
	if _, errOut, code, _ := inProcess(t, nil); code != exitUsage || errOut != usage {
		t.Errorf("no command: exit %d, stderr:\n%s", code, errOut)
	}
	for _, h := range []string{"-h", "--help"} {
		_, errOut, code, _ = inProcess(t, nil, "resolve", h)
		if code != exitOK || !strings.Contains(errOut, "Flags:") || !strings.Contains(errOut, "-max-attempts") || !strings.Contains(errOut, "Exit codes") ||
			strings.Contains(errOut, resolveHint) || !strings.Contains(errOut, "text: a header line") || !strings.Contains(errOut, "REGION, image-id") {
			t.Errorf("resolve %s: exit %d, stderr:\n%s", h, code, errOut)
		}
	}
}
