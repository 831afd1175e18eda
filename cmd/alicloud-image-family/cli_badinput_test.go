package main

// Bad input through the real CLI binary against the emulator process: every
// row exits 2 (docs/cli.md), says on stderr which field is wrong and which
// rule it broke, prints nothing on stdout, and the emulator sees no request.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

type badInputRow struct {
	name  string
	env   map[string]string // nil: the demo keys
	args  []string          // after "resolve"; --region cn-hangzhou is added unless given
	frags []string          // the field, then the rule
	// noRegion leaves --region out (the region comes from the environment).
	noRegion bool
	// noEndpoint leaves --endpoint out (the endpoint comes from the
	// environment).
	noEndpoint bool
	// files are written to a temporary directory before the run; "$DIR" in
	// args is that directory.
	files map[string]string
}

// ciAndSSO is an aliyun CLI config file with the profiles ci and sso.
const ciAndSSO = `{"current":"ci","profiles":[
 {"name":"ci","mode":"AK","access_key_id":"LTAIPROFILECI","access_key_secret":"ci-secret","region_id":"cn-hangzhou"},
 {"name":"sso","mode":"AK","access_key_id":"LTAIPROFILESSO","access_key_secret":"sso-secret"}]}`

func withFamily(args ...string) []string {
	return append([]string{"--image-family", "web-base"}, args...)
}

func cliBadInputs() []badInputRow {
	keys := demoEnv
	return []badInputRow{
		// One row or a few per setting: each names the flag or variable and
		// echoes the value escaped. The rules themselves are the core's
		// (imagefamily/validate_test.go, guards_test.go, drift_test.go,
		// credentials_test.go).
		{name: "family missing", args: []string{}, frags: []string{"--image-family", "required"}},
		{name: "family of 1 character", args: []string{"--image-family", "a"}, frags: []string{`invalid --image-family "a"`, "2 to 128 characters long (it has 1)"}},
		{name: "family with a non-ASCII letter", args: []string{"--image-family", "wéb-base"}, frags: []string{"invalid --image-family ", `(found "é")`}},
		{name: "family with trailing white space", args: []string{"--image-family", "web-base\t"}, frags: []string{`invalid --image-family "web-base\t"`, "white space"}},
		// Regions.
		{name: "region upper case", args: withFamily("--region", "CN-HANGZHOU"), frags: []string{"region", `lower case; use "cn-hangzhou"`}},
		{name: "region from the environment", env: with(keys, "ALICLOUD_REGION", "Cn-Hangzhou"), args: withFamily(), noRegion: true,
			frags: []string{"region", "lower case"}},
		// Endpoints.
		{name: "endpoint with a path", args: withFamily("--endpoint", "https://ecs.example.com/api"), frags: []string{"endpoint", "must not have a path"}},
		{name: "endpoint with credentials", args: withFamily("--endpoint", "https://LTAIKEY:pw-secret-123@ecs.example.com"), frags: []string{"endpoint", "user information"}},
		{name: "ECS endpoint from the environment", env: with(keys, "ALIBABA_CLOUD_ECS_ENDPOINT", "ftp://ecs.example.com"), args: withFamily(), noEndpoint: true,
			frags: []string{`invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`, "scheme must be https:// or http://"}},
		{name: "STS endpoint", args: withFamily("--sts-endpoint", "ftp://sts.example.com"), frags: []string{`invalid --sts-endpoint "ftp://sts.example.com"`, "scheme"}},
		{name: "STS endpoint from the environment", env: with(keys, "ALIBABA_CLOUD_STS_ENDPOINT", "https://sts.example.com/x"),
			args: withFamily("--role-arn", "acs:ram::123456789012:role/image-reader"), frags: []string{"STS endpoint", "path"}},
		// --timeout: 100ms to 1h; the CLI's own parsing (bare seconds) is
		// TestTimeoutFlag's.
		{name: "timeout not a duration", args: withFamily("--timeout", "soon"), frags: []string{`--timeout "soon"`, "a duration such as 90s"}},
		{name: "timeout over 1h", args: withFamily("--timeout", "2h"), frags: []string{`--timeout "2h"`, "between 100ms and 1h"}},
		{name: "timeout of 3601 bare seconds", args: withFamily("--timeout", "3601"), frags: []string{"--timeout", "a bare number counts seconds"}},
		// Too large for a time.Duration (flag.Duration would wrap or fail
		// with a bare "parse error"): still exit 2, naming the flag.
		{name: "timeout overflowing a duration", args: withFamily("--timeout", "99999999999h"), frags: []string{`--timeout "99999999999h"`}},
		{name: "timeout with a control character", args: withFamily("--timeout", "1s\x1b[2J"), frags: []string{"--timeout", `\x1b[2J`}},
		{name: "max attempts 21", args: withFamily("--max-attempts", "21"), frags: []string{`--max-attempts "21"`, "from 1 (no retries) to 20"}},
		{name: "max attempts not a number", args: withFamily("--max-attempts", "five"), frags: []string{`--max-attempts "five"`, "a whole number"}},
		{name: "concurrency 65", args: withFamily("--concurrency", "65"), frags: []string{`invalid --concurrency "65"`, "from 1 to 64"}},
		{name: "concurrency negative", args: withFamily("--concurrency", "-1"), frags: []string{"--concurrency", "or 0 for every region at once"}},
		{name: "output format", args: withFamily("--output", "xml"), frags: []string{`invalid --output "xml"`, "id, json, text or dotenv"}},
		// Credential settings.
		{name: "two credential sources", args: withFamily("--profile", "ci", "--ram-role-name", "reader"), frags: []string{"credentials", "set only one credential source", "assume it with --role-arn"}},
		// The aliyun CLI profile, read before the region is looked for
		// (the region may come from it): a profile or file that is not
		// there is reported as such, not as a missing --region.
		{name: "profile not in the file, no region", args: withFamily("--profile-file", "$DIR/config.json", "--profile", "nope"), noRegion: true,
			files: map[string]string{"config.json": ciAndSSO}, frags: []string{`--profile "nope"`, "there is no such profile in", "the file has: ci, sso"}},
		{name: "profile file missing", args: withFamily("--profile-file", "$DIR/none.json"), files: map[string]string{}, noRegion: true,
			frags: []string{"--profile-file", "none.json does not exist"}},
		{name: "key id without secret", env: map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": demoAccessKeyID}, args: withFamily(),
			frags: []string{"environment", "ALIBABA_CLOUD_ACCESS_KEY_SECRET is empty or unset"}},
		{name: "OIDC variables incomplete", env: map[string]string{"ALIBABA_CLOUD_ROLE_ARN": oidcRoleARN}, args: withFamily(),
			frags: []string{"ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "OIDC needs all three variables"}},
		{name: "role ARN from the environment", env: with(keys, "ALICLOUD_ASSUME_ROLE_ARN", "image-reader"), args: withFamily(),
			frags: []string{"role ARN", "acs:ram::123456789012:role/role-name"}},
		{name: "no credentials", env: map[string]string{}, args: withFamily(), frags: []string{"no Alibaba Cloud credentials found", "ALIBABA_CLOUD_ACCESS_KEY_ID"}},
		// Guards (--architecture, --os-type, --max-age): unknown values and
		// ages that are not positive durations or day counts.
		{name: "architecture unknown", args: withFamily("--architecture", "sparc"), frags: []string{`--architecture "sparc"`, "x86_64, arm64, i386"}},
		{name: "architecture with escapes", args: withFamily("--architecture", "x86_64\x1b[2J"), frags: []string{"--architecture", `\x1b[2J`}},
		{name: "os type unknown", args: withFamily("--os-type", "freebsd"), frags: []string{`--os-type "freebsd"`, "linux, windows"}},
		{name: "max age without a unit", args: withFamily("--max-age", "30"), frags: []string{`--max-age "30"`, `a number of days such as "30d"`}},
		{name: "max age in weeks", args: withFamily("--max-age", "4w"), frags: []string{`--max-age "4w"`, `a duration such as "720h"`}},
		{name: "max age of fractional days", args: withFamily("--max-age", "1.5d"), frags: []string{"--max-age", `a number of days such as "30d"`}},
		{name: "max age empty", args: withFamily("--max-age="), frags: []string{`--max-age ""`, "it is empty: give a value, or leave --max-age out"}},
		{name: "owners unknown alias", args: withFamily("--owners", "self,me"), frags: []string{`invalid --owners "me"`, "self, system, others or marketplace"}},
		// Drift (--expect, --expect-file).
		{name: "expect empty", args: withFamily("--expect", ""), frags: []string{`--expect ""`, "it is empty: give a value, or leave --expect out"}},
		// A family pasted for an image id is bad input, not a change
		// (exit 4).
		{name: "expect a family for an id", args: withFamily("--expect", "cn-hangzhou=web-base"),
			frags: []string{`--expect "web-base"`, "the image id for cn-hangzhou is not an image id: a custom image's id is m- and 8 to 30 lower-case letters or digits", "ending in .vhd", "an image family's name is not an image id"}},
		{name: "expect a region not looked up", args: withFamily("--expect", "cn-shanghai=m-uf6demoappserver00001"),
			frags: []string{`--expect "cn-shanghai"`, "not being looked up (cn-hangzhou)"}},
		{name: "expect with escapes", args: withFamily("--expect", "cn-hangzhou=m-\x1b]0;x\x07"), frags: []string{"--expect", `m-\x1b]0`, "not an image id"}},
		{name: "wait empty", args: withFamily("--wait", ""), frags: []string{`--wait ""`, "it is empty"}},
		{name: "expect and expect file together", args: withFamily("--expect", "cn-hangzhou=m-bp1demowebbase000003", "--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003"}`}, frags: []string{"--expect", "--expect or --expect-file, not both"}},
		{name: "expect file missing", args: withFamily("--expect-file", "$DIR/none.json"), files: map[string]string{},
			frags: []string{"--expect-file", "none.json", "it cannot be read: no such file or directory"}},
		{name: "expect file empty path", args: withFamily("--expect-file", ""), frags: []string{`--expect-file ""`, "it is empty"}},
		{name: "expect file a directory", args: withFamily("--expect-file", "$DIR"), files: map[string]string{}, frags: []string{"--expect-file", "it is a directory"}},
		{name: "expect file with a bad id", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1\n::error::x"}`}, frags: []string{"--expect-file", `\n::error::x`, "is not an image id"}},
		{name: "expect file too large", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003"` + strings.Repeat(" ", 1<<20) + "}"}, frags: []string{"--expect-file", "larger than 1024 KiB"}},
		// Waiting (--wait, --newer-than): 0 to 6h.
		{name: "wait over 6h", args: withFamily("--wait", "6h0m1s"), frags: []string{`--wait "6h0m1s"`, "between 0s and 6h0m0s"}},
		{name: "wait not a duration", args: withFamily("--wait", "forever"), frags: []string{`--wait "forever"`, "a duration such as 90s"}},
		{name: "newer than without wait", args: withFamily("--newer-than", "m-bp1demowebbase000003"), frags: []string{`invalid --newer-than "m-bp1demowebbase000003"`, "it only has a meaning with --wait (how long to wait for an image newer than it): set --wait too"}},
		{name: "newer than not an image id", args: withFamily("--wait", "1m", "--newer-than", "web-base v3"), frags: []string{`--newer-than "web-base v3"`, "it must be an image id"}},
		// Usage.
		{name: "unknown flag", args: withFamily("--regionn", "cn-hangzhou"), frags: []string{"-regionn", "flag provided but not defined"}},
		{name: "stray argument", args: withFamily("web-base"), frags: []string{"unexpected argument", `"web-base"`}},
		{name: "unknown flag with escapes", args: withFamily("--\x1b]0;title\x07x"), frags: []string{"flag provided but not defined", `\x1b]0;title\x07x`}},
	}
}

func TestBadInputCLI(t *testing.T) {
	e := startEmulator(t)
	rows := cliBadInputs()
	if len(rows) < 40 {
		t.Fatalf("only %d rows", len(rows))
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			env := row.env
			if env == nil {
				env = demoEnv
			}
			args := []string{"resolve"}
			if row.noEndpoint {
				env = offline(env) // a lookup that misses the emulator stays on loopback
			} else {
				args = append(args, "--endpoint", e.Endpoint)
			}
			if _, ok := env["ALIBABA_CLOUD_STS_ENDPOINT"]; !ok {
				args = append(args, "--sts-endpoint", e.Endpoint)
			}
			if !row.noRegion && !slices.Contains(row.args, "--region") {
				args = append(args, "--region", "cn-hangzhou")
			}
			dir := ""
			if row.files != nil {
				dir = t.TempDir()
				for name, content := range row.files {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, a := range row.args {
				args = append(args, strings.ReplaceAll(a, "$DIR", dir))
			}
			r := runCLI(t, e, env, args...)
			if r.code != exitUsage || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing on stdout", r.code, r.stdout)
			}
			for _, f := range row.frags {
				if !strings.Contains(r.stderr, f) {
					t.Errorf("stderr lacks %q", f)
				}
			}
			// One message line: a flag's refusal then the hint (not the flag
			// package's ~50 lines of help), the settings' refusal alone; the
			// no-credentials guidance is a list.
			ls := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			flagLine := len(ls) == 2 && strings.HasPrefix(ls[0], "alicloud-image-family resolve: ") && ls[1] == resolveHint
			if row.name != "no credentials" && !flagLine && (len(ls) != 1 || !strings.HasPrefix(ls[0], "alicloud-image-family: ")) {
				t.Errorf("stderr is neither one line nor one line and the hint %q", resolveHint)
			}
			// What the user typed is echoed escaped (runBinaryInput checks
			// every run's stderr for control characters). An endpoint pasted with credentials must not echo them.
			secretscan.Check(t, "stderr", r.stderr, "pw-secret-123")
			counts, err := e.Control.Requests()
			if err != nil || counts.All != 0 {
				t.Errorf("the emulator saw %v requests (%v); want none", counts, err)
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", r.stderr)
			}
		})
	}
}
