package action

// Bad input through the action's entry point (Main) against the real core
// and the in-process emulator: every row exits 2, writes an ::error
// annotation naming the input or field and the rule, and the emulator sees
// no request. Unlike TestInputErrors (which stubs the core), these rows also
// cover what only the core checks (endpoints, ARNs, session names).

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

func TestBadInputAction(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	long := "a" + strings.Repeat("b", 128)
	cases := []struct {
		name   string
		inputs []string // over emuInputs(srv) with keys
		oidc   bool     // configure OIDC (token service stand-in) instead of keys
		frags  []string // field, then rule
	}{
		{"family missing", []string{"image-family", ""}, false, []string{`invalid input image-family ""`, "required"}},
		{"family of 1 character", []string{"image-family", "a"}, false, []string{`invalid input image-family "a"`, "2 to 128 characters long (it has 1)"}},
		{"family of 129 characters", []string{"image-family", long}, false, []string{"invalid input image-family", "(it has 129)"}},
		{"family with a leading digit", []string{"image-family", "9lives"}, false, []string{"input image-family", "start with a letter"}},
		{"family with a forbidden character", []string{"image-family", "web*base"}, false, []string{"input image-family", `(found "*")`}},
		{"family starting with aliyun", []string{"image-family", "aliyun_base"}, false, []string{"input image-family", `"aliyun"`}},
		{"family that is a RAM ARN", []string{"image-family", "acs:ram::123456789012:role/x"}, false, []string{"input image-family", "RAM ARN"}},
		{"acs: family with a non-numeric owner", []string{"image-family", "acs:owner:web-base"}, false, []string{"input image-family", "acs:<owner account id>:<family>"}},
		{"region missing", []string{"region", ""}, false, []string{"input region", "required"}},
		{"region upper case", []string{"region", "CN-HANGZHOU"}, false, []string{`invalid input region "CN-HANGZHOU"`, "lower case"}},
		{"region list with a bad entry", []string{"region", "cn-hangzhou\ncn_hang!"}, false, []string{`invalid input region "cn_hang!"`, "region id"}},
		{"region list of separators", []string{"region", ",\n,"}, false, []string{"invalid input region", "at least one region is required"}},
		{"key id without secret", []string{"access-key-secret", ""}, false, []string{"input access-key-secret", "set both"}},
		{"secret without key id", []string{"access-key-id", ""}, false, []string{"input access-key-id", "set both"}},
		{"token without keys", []string{"access-key-id", "", "access-key-secret", "", "security-token", "tok-only-123456"}, false, []string{"input security-token", "only used together"}},
		{"OIDC provider without role", []string{"access-key-id", "", "access-key-secret", "", "oidc-provider-arn", oidcProvider}, false, []string{"input role-to-assume", "must name the RAM role"}},
		{"OIDC and keys", []string{"role-to-assume", oidcRole, "oidc-provider-arn", oidcProvider}, false, []string{"input oidc-provider-arn", "cannot be combined"}},
		{"fail-if-not-found not a boolean", []string{"fail-if-not-found", "yes"}, false, []string{"input fail-if-not-found", "true or false"}},
		{"timeout not a duration", []string{"timeout", "soon"}, false, []string{"input timeout", "duration such as 90s"}},
		{"timeout zero", []string{"timeout", "0"}, false, []string{`input timeout "0"`, timeoutRange}},
		{"timeout negative", []string{"timeout", "-5s"}, false, []string{`input timeout "-5s"`, timeoutRange}},
		{"timeout negative seconds", []string{"timeout", "-5"}, false, []string{`input timeout "-5"`, timeoutRange}},
		{"timeout under 100ms", []string{"timeout", "50ms"}, false, []string{`input timeout "50ms"`, timeoutRange}},
		// 18446744074 s is 2^64 ns and a bit: multiplied out in an int64
		// it wrapped around to a fraction of a second before the core's
		// overflow-safe parser.
		{"timeout of 18446744074 seconds (overflow)", []string{"timeout", "18446744074"}, false, []string{`input timeout "18446744074"`, timeoutRange}},
		{"timeout past int64 seconds", []string{"timeout", "99999999999999999999"}, false, []string{"input timeout", timeoutRange}},
		{"timeout of 3601 seconds", []string{"timeout", "3601"}, false, []string{`input timeout "3601"`, timeoutRange}},
		{"timeout of 2h", []string{"timeout", "2h"}, false, []string{`input timeout "2h"`, timeoutRange}},
		{"timeout of 1e9 (not a whole number)", []string{"timeout", "1e9"}, false, []string{`input timeout "1e9"`, "duration such as 90s"}},
		// Rejected by the core's parser, though with the syntax rule rather
		// than the range (time.ParseDuration says "invalid duration" here).
		{"timeout duration overflow", []string{"timeout", "9999999999h"}, false, []string{`input timeout "9999999999h"`}},
		{"endpoint with a path", []string{"endpoint", "https://ecs.example.com/api"}, false, []string{"invalid input endpoint", "must not have a path"}},
		{"endpoint with credentials", []string{"endpoint", "https://LTAIKEY:pw-secret-123@ecs.example.com"}, false, []string{"invalid input endpoint", "user information"}},
		{"STS endpoint scheme", []string{"sts-endpoint", "ftp://sts.example.com"}, false, []string{`invalid input sts-endpoint "ftp://sts.example.com"`, "scheme"}},
		{"role to assume not an ARN", []string{"role-to-assume", "image-reader"}, false, []string{`invalid input role-to-assume "image-reader"`, "acs:ram::123456789012:role/role-name"}},
		{"role session name", []string{"role-to-assume", keyRole, "role-session-name", "a b"}, false, []string{`invalid input role-session-name "a b"`, "2 to 64 characters"}},
		{"OIDC role not an ARN", []string{"role-to-assume", "github-reader"}, true, []string{`invalid input role-to-assume "github-reader"`, "acs:ram::"}},
		{"OIDC provider not an ARN", []string{"oidc-provider-arn", "github"}, true, []string{`invalid input oidc-provider-arn "github"`, "oidc-provider/provider-name"}},

		// The attempt budget: the CLI's --max-attempts, the data source's
		// max_attempts, the same rule (1 to 20).
		{"max-attempts 0", []string{"max-attempts", "0"}, false, []string{`input max-attempts "0"`, "from 1 (no retries) to 20"}},
		{"max-attempts 21", []string{"max-attempts", "21"}, false, []string{`input max-attempts "21"`, "from 1 (no retries) to 20"}},
		{"max-attempts not a number", []string{"max-attempts", "five"}, false, []string{`input max-attempts "five"`, "a whole number"}},

		// Release promotion: guards.
		{"architecture unknown", []string{"architecture", "amd64"}, false, []string{`input architecture "amd64"`, "x86_64, arm64, i386"}},
		{"os-type unknown", []string{"os-type", "macos"}, false, []string{`input os-type "macos"`, "linux, windows"}},
		{"max-age not an age", []string{"max-age", "a month"}, false, []string{`input max-age "a month"`, `"30d"`}},
		{"max-age in days not a number", []string{"max-age", "thirtyd"}, false, []string{`input max-age "thirtyd"`, `"30d"`}},
		{"max-age zero", []string{"max-age", "0d"}, false, []string{`input max-age "0d"`, "positive"}},
		{"max-age negative", []string{"max-age", "-720h"}, false, []string{`input max-age "-720h"`, "positive"}},
		{"max-age of more days than a duration holds", []string{"max-age", "999999999d"}, false, []string{`input max-age "999999999d"`, "at most"}},
		{"owners unknown alias", []string{"owners", "self\nanyone"}, false, []string{`invalid input owners "anyone"`, "self, system, others or marketplace"}},
		{"owners account id with a sign", []string{"owners", "+123"}, false, []string{`invalid input owners "+123"`, "account id"}},
		{"owners only separators", []string{"owners", ",,"}, false, []string{`invalid input owners ",,"`}},
		{"guards with unknown values and OIDC (no token minted)", []string{"os-type", "solaris"}, true, []string{"input os-type", "linux, windows"}},

		// Release promotion: drift.
		{"expected-image-ids not JSON", []string{"expected-image-ids", "cn-hangzhou=m-hznew0001"}, false, []string{"input expected-image-ids", "JSON object of region to image id"}},
		{"expected-image-ids a JSON array", []string{"expected-image-ids", `["m-hznew0001"]`}, false, []string{"input expected-image-ids", "JSON object of region to image id"}},
		{"expected-image-ids null", []string{"expected-image-ids", "null"}, false, []string{"input expected-image-ids", "JSON object of region to image id"}},
		{"expected-image-ids with a number for an id", []string{"expected-image-ids", `{"cn-hangzhou":5}`}, false, []string{"input expected-image-ids", "JSON object of region to image id"}},
		{"expected-image-ids truncated", []string{"expected-image-ids", `{"cn-hangzhou":"m-hznew0001"`}, false, []string{"input expected-image-ids", "JSON object"}},
		{"expected-image-ids with text after the object", []string{"expected-image-ids", `{"cn-hangzhou":"m-hznew0001"} junk`}, false, []string{"input expected-image-ids", "and nothing else"}},
		{"expected-image-ids of two objects", []string{"expected-image-ids", `{"cn-hangzhou":"m-hznew0001"}{"cn-hangzhou":"m-hzold0001"}`}, false, []string{"input expected-image-ids", "and nothing else"}},
		{"expected-image-ids with a bad image id", []string{"expected-image-ids", `{"cn-hangzhou":"m hz!"}`}, false, []string{`input expected-image-ids "m hz!"`, "not an image id"}},
		{"expected-image-ids with a null image id", []string{"expected-image-ids", `{"cn-hangzhou":null}`}, false, []string{"input expected-image-ids", "JSON object of region to image id"}},
		{"expected-image-ids with a bad region id", []string{"expected-image-ids", `{"CN-Hangzhou":"m-hznew0001"}`}, false, []string{`input expected-image-ids "CN-Hangzhou"`, "not a region id"}},
		{"expected-image-ids naming a region not looked up", []string{"expected-image-ids", `{"cn-hangzhou":"m-hznew0001","cn-shanghai":"m-shnew0001"}`}, false, []string{`input expected-image-ids "cn-shanghai"`, "not being looked up (cn-hangzhou)"}},
		{"expected-image-ids naming a region not looked up, with OIDC (no token minted)", []string{"expected-image-ids", `{"cn-beijing":"m-2zea00000000000001"}`}, true, []string{`input expected-image-ids "cn-beijing"`, "not being looked up"}},
		// A value without an image id's shape is bad input, not a change.
		{"expected-image-ids with a family for an id", []string{"expected-image-ids", `{"cn-hangzhou":"web-base"}`}, false,
			[]string{`input expected-image-ids "web-base"`, "the image id for cn-hangzhou is not an image id: a custom image's id is m- and 8 to 30 lower-case letters or digits", "ending in .vhd"}},
		{"expected-image-ids with a made-up id", []string{"expected-image-ids", `{"cn-hangzhou":"bogus"}`}, false,
			[]string{`input expected-image-ids "bogus"`, "is not an image id"}},
		{"expected-image-ids with a made-up id, with OIDC (no token minted)", []string{"expected-image-ids", `{"cn-hangzhou":"bogus"}`}, true,
			[]string{`input expected-image-ids "bogus"`, "is not an image id"}},
		{"fail-on-change not a boolean", []string{"fail-on-change", "yes"}, false, []string{`input fail-on-change "yes"`, "true or false"}},
		{"fail-on-change without expected-image-ids", []string{"fail-on-change", "true"}, false, []string{"input fail-on-change", "needs expected-image-ids"}},
		{"fail-on-change with an empty expected-image-ids (missing file)", []string{"fail-on-change", "true", "expected-image-ids", " \n"}, false, []string{"input fail-on-change", "needs expected-image-ids"}},

		// Release promotion: waiting.
		{"wait-timeout not a duration", []string{"wait-timeout", "forever"}, false, []string{`input wait-timeout "forever"`, "duration such as 90s"}},
		{"wait-timeout negative", []string{"wait-timeout", "-5m"}, false, []string{`input wait-timeout "-5m"`, waitRange}},
		{"wait-timeout negative seconds", []string{"wait-timeout", "-1"}, false, []string{`input wait-timeout "-1"`, waitRange}},
		{"wait-timeout over 6h", []string{"wait-timeout", "6h1s"}, false, []string{`input wait-timeout "6h1s"`, waitRange}},
		{"wait-timeout of 21601 seconds", []string{"wait-timeout", "21601"}, false, []string{`input wait-timeout "21601"`, waitRange}},
		{"wait-timeout huge", []string{"wait-timeout", "99999999999999999999"}, false, []string{"input wait-timeout", waitRange}},
		{"wait-timeout of 18446744074 seconds (overflow)", []string{"wait-timeout", "18446744074"}, false, []string{`input wait-timeout "18446744074"`, waitRange}},
		{"wait-timeout duration overflow", []string{"wait-timeout", "9999999999h"}, false, []string{`input wait-timeout "9999999999h"`, waitRange}},
		{"newer-than without wait-timeout", []string{"newer-than", "m-hznew0001"}, false, []string{`input newer-than "m-hznew0001"`, "only has a meaning with wait-timeout"}},
		{"newer-than with wait-timeout 0", []string{"newer-than", "m-hznew0001", "wait-timeout", "0"}, false, []string{"input newer-than", "only has a meaning with wait-timeout"}},
		{"newer-than not an image id", []string{"newer-than", "m hz!", "wait-timeout", "10m"}, false, []string{`input newer-than "m hz!"`, "must be an image id"}},
		{"wait-timeout negative with OIDC (no token minted)", []string{"wait-timeout", "-5s"}, true, []string{"input wait-timeout", waitRange}},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d rows", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			var s *step
			if c.oidc {
				s = oidcStep(t, srv, tokens, c.inputs...)
			} else {
				s = newStep(t, emuInputs(srv, append(append([]string{}, keys...), c.inputs...)...))
			}
			s.runMain(viaEmulator(srv))
			s.assertNoSecrets(append([]string{"pw-secret-123"}, *minted...)...)
			checkBadInput(t, s, c.frags)
			// Invalid input sends nothing anywhere: not even a request for
			// a GitHub ID token.
			if len(*minted) != 0 {
				t.Errorf("%d GitHub ID tokens were minted for a step whose input is invalid", len(*minted))
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; want none", n)
			}
		})
	}
}

// The action has no profile input; its equivalent is the environment of an
// earlier step (ALICLOUD_PROFILE, ALICLOUD_SHARED_CREDENTIALS_FILE). A
// profile or file named there but not there is bad input (exit 2) naming
// the variable (not a failed lookup, exit 1), and nothing is sent.
func TestBadInputActionProfileFromEnvironment(t *testing.T) {
	srv := emulator(t)
	dir := t.TempDir()
	file := dir + "/config.json"
	if err := os.WriteFile(file, []byte(`{"current":"ci","profiles":[
 {"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b"},
 {"name":"sso","mode":"AK","access_key_id":"a","access_key_secret":"b"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		env   map[string]string
		frags []string
	}{
		{"ALICLOUD_PROFILE not in the file", map[string]string{"ALICLOUD_PROFILE": "nope", "ALICLOUD_SHARED_CREDENTIALS_FILE": file},
			[]string{`invalid environment "ALICLOUD_PROFILE": there is no profile "nope" in ` + file, "the file has: ci, sso"}},
		{"ALICLOUD_SHARED_CREDENTIALS_FILE missing", map[string]string{"ALICLOUD_SHARED_CREDENTIALS_FILE": dir + "/none.json"},
			[]string{`invalid environment "ALICLOUD_SHARED_CREDENTIALS_FILE"`, dir + "/none.json does not exist"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			s := newStep(t, emuInputs(srv))
			for k, v := range c.env {
				s.env[k] = v
			}
			s.runMain(viaEmulator(srv))
			checkBadInput(t, s, c.frags)
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; want none", n)
			}
		})
	}
}

// waitRange is the rule of imagefamily.ParseDuration with 0 and
// imagefamily.MaxWait.
const waitRange = "it must be between 0s and 6h0m0s"

// timeoutRange is the rule of imagefamily.ParseDuration with
// imagefamily.MinTimeout and imagefamily.MaxTimeout.
const timeoutRange = "it must be between 100ms and 1h0m0s"

// checkBadInput: exit code 2, an ::error annotation with every fragment, and
// every output written (docs/action.md: outputs are always written, also on
// input errors) with the values of a step that found nothing.
func checkBadInput(t *testing.T, s *step, frags []string) {
	t.Helper()
	checkFailureOutputs(t, s)
	out := s.stdout.String()
	var annotation string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "::error ") {
			annotation = l
		}
	}
	if s.code != 2 || annotation == "" {
		t.Errorf("exit %d, want 2 with an ::error annotation", s.code)
	}
	for _, f := range frags {
		if !strings.Contains(annotation, f) {
			t.Errorf("::error annotation lacks %q", f)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}
}

// Unknown inputs. The runtime reads only the inputs action.yml declares
// (a composite action passes each one explicitly as INPUT_<NAME>), so an
// input misspelt in `with:` never reaches it: GitHub's runner warns about
// it ("Unexpected input(s)"), act v0.2.89 does not (see test/action). What
// the runtime can guarantee is checked here: a misspelt required input is
// an ::error naming the missing one, and a stray INPUT_* variable changes
// nothing.
func TestBadInputActionUnknownInputs(t *testing.T) {
	srv := emulator(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}

	s := newStep(t, emuInputs(srv, append(keys, "image-family", "")...))
	s.env["INPUT_IMAGE_FAMILLY"] = "web-base"
	s.env["INPUT_IMAGE-FAMILLY"] = "web-base"
	s.runMain(viaEmulator(srv))
	checkBadInput(t, s, []string{"input image-family", "required"})
	if n := srv.Requests(""); n != 0 {
		t.Errorf("the emulator saw %d requests; want none", n)
	}

	s = newStep(t, emuInputs(srv, append(keys, "region", "")...))
	s.env["INPUT_REGIONS"] = "cn-hangzhou"
	s.runMain(viaEmulator(srv))
	checkBadInput(t, s, []string{"input region", "required"})

	// A stray optional input is ignored: the lookup is the same as without it.
	srv.ResetCounts()
	s = newStep(t, emuInputs(srv, keys...))
	s.env["INPUT_FAIL_IF_NOT_FOUNDD"] = "maybe"
	s.env["INPUT_MAX_RETRIES"] = "99" // the data source's deprecated name; the action never had it
	s.runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["image-id"] != "m-hznew0001" || srv.Requests(describeAction) != 1 {
		t.Errorf("exit %d, outputs %v, %d requests", s.code, s.outputs(), srv.Requests(describeAction))
	}
}

// checkFailureOutputs: every output is in GITHUB_OUTPUT, once, with the
// values of a step that found nothing.
func checkFailureOutputs(t *testing.T, s *step) {
	t.Helper()
	outs := s.outputs() // fails on a duplicate
	want := map[string]string{"found": "false", "image-ids": "{}", "changed": "false", "results": "[]"}
	for _, name := range outputNames {
		v, ok := outs[name]
		if !ok {
			t.Errorf("output %s not written", name)
			continue
		}
		if v != want[name] {
			t.Errorf("output %s = %q, want %q", name, v, want[name])
		}
	}
	if len(outs) != len(outputNames) {
		t.Errorf("%d outputs, want %d: %v", len(outs), len(outputNames), outs)
	}
}

// outputNames are the outputs action.yml declares, in its order: every
// field of the core's table, then found, json and image-ids.
var outputNames = func() []string {
	var names []string
	for _, f := range imagefamily.Fields() {
		names = append(names, f.ActionName())
	}
	return append(names, "found", "json", "image-ids", "changed", "changes", "results")
}()

// TestOutputNamesKept: the outputs of the first release are still there,
// under the same names (the table may add outputs, never rename one).
func TestOutputNamesKept(t *testing.T) {
	for _, name := range []string{"image-id", "image-name", "image-family", "image-version", "creation-time", "status",
		"architecture", "os-type", "os-name", "platform", "size", "found", "json", "image-ids"} {
		if !slices.Contains(outputNames, name) {
			t.Errorf("output %s is gone", name)
		}
	}
}

// TestFailureOutputsMatchOutputs: the outputs written on a failure are the
// outputs of a lookup, same names, same order, and those action.yml declares.
func TestFailureOutputsMatchOutputs(t *testing.T) {
	outs, err := outputsFor(&inputs{}, []imagefamily.Result{{Region: "cn-hangzhou", Err: imagefamily.ErrNotFound}}, map[string]imagefamily.Image{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(outs, failureOutputs()) {
		t.Errorf("outputsFor with nothing found = %q\nfailureOutputs = %q", outs, failureOutputs())
	}
	yml, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, outputsBlock, _ := strings.Cut(string(yml), "\noutputs:\n")
	outputsBlock, _, _ = strings.Cut(outputsBlock, "\nruns:\n")
	var declared []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z-]+):$`).FindAllStringSubmatch(outputsBlock, -1) {
		declared = append(declared, m[1])
	}
	var names []string
	for _, o := range failureOutputs() {
		names = append(names, o.name)
	}
	if !reflect.DeepEqual(names, outputNames) || !reflect.DeepEqual(declared, outputNames) {
		t.Errorf("outputs written %q\nwant %q\naction.yml declares %q", names, outputNames, declared)
	}
}

// Failures after the inputs were read write every output too: a GitHub
// ID-token request that fails, a lookup that fails as a whole.
func TestFailureWritesOutputs(t *testing.T) {
	srv := emulator(t)
	tokens, _ := githubTokenService(t)
	s := oidcStep(t, srv, tokens)
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = "http://127.0.0.1:1/token"
	s.runMain(viaEmulator(srv))
	if s.code != 1 {
		t.Errorf("exit %d, want 1", s.code)
	}
	checkFailureOutputs(t, s)

	core := &fakeCore{err: errors.New("the whole lookup failed")}
	s = newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base"}).run(core.option())
	if s.code != 1 {
		t.Errorf("exit %d, want 1", s.code)
	}
	checkFailureOutputs(t, s)

	// Without GITHUB_OUTPUT an input error still exits 2 and writes nothing.
	s = newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base", "timeout": "0"})
	delete(s.env, "GITHUB_OUTPUT")
	s.run()
	if s.code != 2 || strings.Contains(s.stdout.String(), "::warning") {
		t.Errorf("exit %d, want 2 and no warning:\n%s", s.code, s.stdout)
	}
}

// Which error a step reports, and under which title: a bad family is
// reported before the action's own inputs (family and region both bad: the
// family), and a rule only the core checks is reported before anything is
// sent, in every mode (not by the lookup for its region, as it was in a
// single-region run with keys, with the core's name for the setting), naming
// the input.
func TestBadInputActionOrderAndTitle(t *testing.T) {
	srv := emulator(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	for _, c := range []struct {
		name, want string
		inputs     []string
	}{
		{"family and region both bad", `::error title=Image family lookup failed::invalid input image-family "1x"`,
			[]string{"image-family", "1x", "region", "CN-x"}},
		{"family bad and a lone key half", `::error title=Image family lookup failed::invalid input image-family "1x"`,
			[]string{"image-family", "1x", "access-key-secret", ""}},
		{"endpoint only the core checks, one region, keys", `::error title=Image family lookup failed::invalid input endpoint "ftp://x"`,
			[]string{"endpoint", "ftp://x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			s := newStep(t, emuInputs(srv, append(append([]string{}, keys...), c.inputs...)...))
			s.runMain(viaEmulator(srv))
			if s.code != 2 || !strings.Contains(s.stdout.String(), c.want) {
				t.Errorf("exit %d, want 2 and %q in:\n%s", s.code, c.want, s.stdout.String())
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; want none", n)
			}
		})
	}
}
