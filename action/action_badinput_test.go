package action

// Bad input through the action's entry point (Main) against the real core
// and the in-process emulator: every row exits 2, writes an ::error
// annotation naming the input or field and the rule, and the emulator sees
// no request. The core's tests prove every value of its rules
// (imagefamily/validate_test.go, guards_test.go, drift_test.go); a row here
// proves the action's mapping: one per input name, per outcome class and per
// input-parsing path of the action's own.

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

func TestBadInputAction(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	const title = "::error title=Image family lookup failed::"
	cases := []struct {
		name   string
		inputs []string          // over emuInputs(srv) with keys
		env    map[string]string // the step's environment (an earlier step's exports)
		oidc   bool              // configure OIDC (token service stand-in) instead of keys
		frags  []string          // field, then rule
	}{
		{name: "family missing", inputs: []string{"image-family", ""}, frags: []string{`invalid input image-family ""`, "required"}},
		{name: "region missing", inputs: []string{"region", ""}, frags: []string{"input region", "required"}},
		{name: "region list with a bad entry", inputs: []string{"region", "cn-hangzhou\ncn_hang!"}, frags: []string{`invalid input region "cn_hang!"`, "region id"}},
		{name: "key id without secret", inputs: []string{"access-key-secret", ""}, frags: []string{"input access-key-secret", "set both"}},
		{name: "token without keys", inputs: []string{"access-key-id", "", "access-key-secret", "", "security-token", "tok-only-123456"}, frags: []string{"input security-token", "only used together"}},
		{name: "no credentials at all", inputs: []string{"access-key-id", "", "access-key-secret", ""}, frags: []string{"no Alibaba Cloud credentials found"}},
		{name: "OIDC provider without role", inputs: []string{"access-key-id", "", "access-key-secret", "", "oidc-provider-arn", oidcProvider}, frags: []string{"input role-to-assume", "must name the RAM role"}},
		{name: "OIDC and keys", inputs: []string{"role-to-assume", oidcRole, "oidc-provider-arn", oidcProvider}, frags: []string{"input oidc-provider-arn", "cannot be combined"}},
		{name: "fail-if-not-found not a boolean", inputs: []string{"fail-if-not-found", "yes"}, frags: []string{"input fail-if-not-found", "true or false"}},
		{name: "timeout not a duration", inputs: []string{"timeout", "soon"}, frags: []string{"input timeout", "duration such as 90s"}},
		{name: "endpoint with a path", inputs: []string{"endpoint", "https://ecs.example.com/api"}, frags: []string{"invalid input endpoint", "must not have a path"}},
		{name: "STS endpoint scheme", inputs: []string{"sts-endpoint", "ftp://sts.example.com"}, frags: []string{`invalid input sts-endpoint "ftp://sts.example.com"`, "scheme"}},
		{name: "role to assume not an ARN", inputs: []string{"role-to-assume", "image-reader"}, frags: []string{`invalid input role-to-assume "image-reader"`, "acs:ram::123456789012:role/role-name"}},
		{name: "role session name", inputs: []string{"role-to-assume", keyRole, "role-session-name", "a b"}, frags: []string{`invalid input role-session-name "a b"`, "2 to 64 characters"}},
		{name: "OIDC provider not an ARN", inputs: []string{"oidc-provider-arn", "github"}, oidc: true, frags: []string{`invalid input oidc-provider-arn "github"`, "oidc-provider/provider-name"}},
		// The attempt budget: the CLI's --max-attempts, the data source's
		// max_attempts, the same rule (1 to 20).
		{name: "max-attempts 0", inputs: []string{"max-attempts", "0"}, frags: []string{`input max-attempts "0"`, "from 1 (no retries) to 20"}},
		// Release promotion: guards, drift, waiting.
		{name: "architecture unknown", inputs: []string{"architecture", "amd64"}, frags: []string{`input architecture "amd64"`, "x86_64, arm64, i386"}},
		{name: "os-type unknown", inputs: []string{"os-type", "macos"}, frags: []string{`input os-type "macos"`, "linux, windows"}},
		{name: "max-age not an age", inputs: []string{"max-age", "a month"}, frags: []string{`input max-age "a month"`, `"30d"`}},
		{name: "owners unknown alias", inputs: []string{"owners", "self\nanyone"}, frags: []string{`invalid input owners "anyone"`, "self, system, others or marketplace"}},
		{name: "expected-image-ids not JSON", inputs: []string{"expected-image-ids", "cn-hangzhou=m-hznew0001"}, frags: []string{"input expected-image-ids", "JSON object of region to image id"}},
		{name: "expected-image-ids naming a region not looked up, with OIDC (no token minted)", inputs: []string{"expected-image-ids", `{"cn-beijing":"m-2zea00000000000001"}`}, oidc: true,
			frags: []string{`input expected-image-ids "cn-beijing"`, "not being looked up"}},
		{name: "fail-on-change with an empty expected-image-ids (missing file)", inputs: []string{"fail-on-change", "true", "expected-image-ids", " \n"}, frags: []string{"input fail-on-change", "needs expected-image-ids"}},
		{name: "wait-timeout not a duration", inputs: []string{"wait-timeout", "forever"}, frags: []string{`input wait-timeout "forever"`, "duration such as 90s"}},
		{name: "newer-than without wait-timeout", inputs: []string{"newer-than", "m-bp1g7004ksh0oeuc0001"},
			frags: []string{title + `invalid input newer-than "m-bp1g7004ksh0oeuc0001": it only has a meaning with wait-timeout (how long to wait for an image newer than it): set wait-timeout too`}},
		// Which error a step reports: a bad family before the action's own
		// inputs, and a rule only the core checks before anything is sent,
		// naming the input (not the core's name for the setting).
		{name: "family and region both bad", inputs: []string{"image-family", "1x", "region", "CN-x"}, frags: []string{title + `invalid input image-family "1x"`}},
		{name: "family bad and a lone key half", inputs: []string{"image-family", "1x", "access-key-secret", ""}, frags: []string{title + `invalid input image-family "1x"`}},
		{name: "endpoint only the core checks", inputs: []string{"endpoint", "ftp://x"}, frags: []string{title + `invalid input endpoint "ftp://x"`}},
		// The environment of an earlier step: a credentials file named there
		// but missing, the ECS endpoint variable (the input is empty).
		{name: "ALICLOUD_SHARED_CREDENTIALS_FILE missing", inputs: []string{"access-key-id", "", "access-key-secret", ""},
			env:   map[string]string{"ALICLOUD_SHARED_CREDENTIALS_FILE": "/nonexistent/none.json"},
			frags: []string{`invalid environment "ALICLOUD_SHARED_CREDENTIALS_FILE"`, "/nonexistent/none.json does not exist"}},
		{name: "ALIBABA_CLOUD_ECS_ENDPOINT bad scheme", inputs: []string{"endpoint", ""}, env: map[string]string{imagefamily.EnvECSEndpoint: "ftp://ecs.example.com"},
			frags: []string{`invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`, "scheme must be https:// or http://"}},
		{name: "ALIBABA_CLOUD_ECS_ENDPOINT bad, with OIDC (no token minted)", inputs: []string{"endpoint", ""}, oidc: true,
			env: map[string]string{imagefamily.EnvECSEndpoint: "ecs example.com"}, frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "white space"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s *step
			if c.oidc {
				s = oidcStep(t, srv, tokens, c.inputs...)
			} else {
				s = newStep(t, emuInputs(srv, append(append([]string{}, keys...), c.inputs...)...))
			}
			maps.Copy(s.env, c.env)
			runBadInput(t, srv, s, c.frags...)
			s.assertNoSecrets(append([]string{emuSecret, "tok-only-123456"}, *minted...)...)
			if len(*minted) != 0 {
				t.Errorf("%d GitHub ID tokens were minted for a step whose input is invalid", len(*minted))
			}
		})
	}
}

// runBadInput is the runner of every bad-input row (the lookup's, promote
// and rollback's, lock's): the step exits 2 with one ::error annotation
// holding every fragment, the outputs of a step that found nothing
// (docs/action.md: outputs are always written, also on input errors), and
// not one request reached the emulator.
func runBadInput(t *testing.T, srv *ecstest.Server, s *step, frags ...string) {
	t.Helper()
	srv.ResetCounts()
	home := s.env["HOME"]
	s.runMain(viaLoopback(srv), WithRequest(func(r *imagefamily.Request) { r.Credentials.HomeDir = home }))
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s", s.stdout)
		}
	}()
	checkFailureOutputs(t, s)
	errs := annotations(s, "::error ")
	if s.code != 2 || len(errs) != 1 {
		t.Fatalf("exit %d with %d ::error annotations, want 2 and one", s.code, len(errs))
	}
	for _, f := range frags {
		if !strings.Contains(errs[0], f) {
			t.Errorf("::error annotation lacks %q", f)
		}
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("the emulator saw %d requests; want none", n)
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
	runBadInput(t, srv, s, "input image-family", "required")

	// A stray optional input is ignored: the lookup is the same as without it.
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
	_, declared := actionYAML(t, "outputs:", "runs:")
	var names []string
	for _, o := range failureOutputs() {
		names = append(names, o.name)
	}
	if !reflect.DeepEqual(names, outputNames) || !reflect.DeepEqual(declared, outputNames) {
		t.Errorf("outputs written %q\nwant %q\naction.yml declares %q", names, outputNames, declared)
	}
}
