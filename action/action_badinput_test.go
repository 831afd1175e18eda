package action

// Bad input through the action's entry point (Main) against the real core
// and the in-process emulator: every row exits 2, writes an ::error
// annotation naming the input or field and the rule, and the emulator sees
// no request. The core's tests prove every value of its rules
// (imagefamily/validate_test.go, guards_test.go, drift_test.go); a row here
// proves the action's mapping: one per input name, per outcome class and per
// input-parsing path of the action's own.

import (
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
	cases := []struct {
		name   string
		inputs []string // over emuInputs(srv) with keys
		oidc   bool     // configure OIDC (token service stand-in) instead of keys
		frags  []string // field, then rule
	}{
		{"family missing", []string{"image-family", ""}, false, []string{`invalid input image-family ""`, "required"}},
		{"family of 1 character", []string{"image-family", "a"}, false, []string{`invalid input image-family "a"`, "2 to 128 characters long (it has 1)"}},
		{"region missing", []string{"region", ""}, false, []string{"input region", "required"}},
		{"region list with a bad entry", []string{"region", "cn-hangzhou\ncn_hang!"}, false, []string{`invalid input region "cn_hang!"`, "region id"}},
		{"key id without secret", []string{"access-key-secret", ""}, false, []string{"input access-key-secret", "set both"}},
		{"secret without key id", []string{"access-key-id", ""}, false, []string{"input access-key-id", "set both"}},
		{"token without keys", []string{"access-key-id", "", "access-key-secret", "", "security-token", "tok-only-123456"}, false, []string{"input security-token", "only used together"}},
		{"OIDC provider without role", []string{"access-key-id", "", "access-key-secret", "", "oidc-provider-arn", oidcProvider}, false, []string{"input role-to-assume", "must name the RAM role"}},
		{"OIDC and keys", []string{"role-to-assume", oidcRole, "oidc-provider-arn", oidcProvider}, false, []string{"input oidc-provider-arn", "cannot be combined"}},
		{"fail-if-not-found not a boolean", []string{"fail-if-not-found", "yes"}, false, []string{"input fail-if-not-found", "true or false"}},
		{"timeout not a duration", []string{"timeout", "soon"}, false, []string{"input timeout", "duration such as 90s"}},
		{"timeout zero", []string{"timeout", "0"}, false, []string{`input timeout "0"`, timeoutRange}},
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

		// Release promotion: guards.
		{"architecture unknown", []string{"architecture", "amd64"}, false, []string{`input architecture "amd64"`, "x86_64, arm64, i386"}},
		{"os-type unknown", []string{"os-type", "macos"}, false, []string{`input os-type "macos"`, "linux, windows"}},
		{"max-age not an age", []string{"max-age", "a month"}, false, []string{`input max-age "a month"`, `"30d"`}},
		{"owners unknown alias", []string{"owners", "self\nanyone"}, false, []string{`invalid input owners "anyone"`, "self, system, others or marketplace"}},

		// Release promotion: drift.
		{"expected-image-ids not JSON", []string{"expected-image-ids", "cn-hangzhou=m-hznew0001"}, false, []string{"input expected-image-ids", "JSON object of region to image id"}},
		{"expected-image-ids with text after the object", []string{"expected-image-ids", `{"cn-hangzhou":"m-hznew0001"} junk`}, false, []string{"input expected-image-ids", "and nothing else"}},
		{"expected-image-ids naming a region not looked up, with OIDC (no token minted)", []string{"expected-image-ids", `{"cn-beijing":"m-2zea00000000000001"}`}, true, []string{`input expected-image-ids "cn-beijing"`, "not being looked up"}},
		{"expected-image-ids with a made-up id", []string{"expected-image-ids", `{"cn-hangzhou":"bogus"}`}, false,
			[]string{`input expected-image-ids "bogus"`, "is not an image id"}},
		{"fail-on-change without expected-image-ids", []string{"fail-on-change", "true"}, false, []string{"input fail-on-change", "needs expected-image-ids"}},
		{"fail-on-change with an empty expected-image-ids (missing file)", []string{"fail-on-change", "true", "expected-image-ids", " \n"}, false, []string{"input fail-on-change", "needs expected-image-ids"}},

		// Release promotion: waiting.
		{"wait-timeout not a duration", []string{"wait-timeout", "forever"}, false, []string{`input wait-timeout "forever"`, "duration such as 90s"}},
		{"wait-timeout over 6h", []string{"wait-timeout", "6h1s"}, false, []string{`input wait-timeout "6h1s"`, waitRange}},
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
			s.assertNoSecrets(append([]string{"pw-secret-123", emuSecret, "tok-only-123456"}, *minted...)...)
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

// checkFailureOutputs: the outputs hold the values of a step that found
// nothing (the harness checks each is written once); json is "" unless given
// ("{}" for several regions).
func checkFailureOutputs(t *testing.T, s *step, json ...string) {
	t.Helper()
	outs := s.outputs()
	want := map[string]string{"found": "false", "image-ids": "{}", "changed": "false", "results": "[]", "json": strings.Join(json, "")}
	for _, name := range outputNames {
		if outs[name] != want[name] {
			t.Errorf("output %s = %q, want %q", name, outs[name], want[name])
		}
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
