package action

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

func TestSingleRegionOutputsAndRequest(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-hz1")}}
	s := newStep(t, map[string]string{
		"region":        "cn-hangzhou",
		"image-family":  "web-base",
		"endpoint":      "https://127.0.0.1:1234",
		"sts-endpoint":  "127.0.0.1:5678",
		"timeout":       "45s",
		"access-key-id": "LTAIexample", "access-key-secret": "sekrit-value-123",
	}).run(core.option())
	if s.err != nil {
		t.Fatalf("Run: %v\n%s", s.err, s.stdout)
	}

	want := map[string]string{
		"image-id": "m-hz1", "image-name": "web-base-20240102", "image-family": "web-base",
		"image-version": "2", "creation-time": "2024-01-02T03:04:05Z", "status": "Available",
		"architecture": "x86_64", "os-type": "linux", "os-name": "Ubuntu 22.04 64 bit",
		"platform": "Ubuntu", "size": "40", "found": "true",
		"image-ids": `{"cn-hangzhou":"m-hz1"}`,
	}
	outs := s.outputs()
	for k, v := range want {
		if outs[k] != v {
			t.Errorf("output %s = %q, want %q", k, outs[k], v)
		}
	}
	// json is the whole image with the API's field names, as MarshalJSON
	// writes it.
	wantJSON, _ := json.Marshal(sampleImage("m-hz1"))
	if outs["json"] != string(wantJSON) {
		t.Errorf("json = %s\nwant %s", outs["json"], wantJSON)
	}
	var back imagefamily.Image
	if err := json.Unmarshal([]byte(outs["json"]), &back); err != nil || back.ImageID != "m-hz1" || back.Tags["team"] != "web" {
		t.Errorf("json does not read back: %v %+v", err, back)
	}
	if !strings.Contains(outs["json"], `"ImageId":"m-hz1"`) {
		t.Errorf("json lacks the API field name ImageId: %s", outs["json"])
	}

	if len(core.requests) != 1 {
		t.Fatalf("%d requests, want 1", len(core.requests))
	}
	req := core.requests[0]
	if req.Front != imagefamily.FrontAction || req.Region != "cn-hangzhou" || req.Family != "web-base" ||
		req.Endpoint != "https://127.0.0.1:1234" || req.Credentials.STSEndpoint != "127.0.0.1:5678" ||
		req.Timeout != 45*time.Second || req.Credentials.AccessKeyID != "LTAIexample" ||
		req.Credentials.AccessKeySecret != "sekrit-value-123" || req.Credentials.AssumeRoleARN != "" ||
		req.Credentials.OIDCToken != "" {
		t.Errorf("request = %+v", req)
	}
	if req.Credentials.Getenv == nil || req.Credentials.Getenv("GITHUB_OUTPUT") != s.outPath {
		t.Error("the core does not read the step's environment")
	}

	sum := s.summary()
	for _, w := range []string{"### Alibaba Cloud image family `web-base`", "| Region | Image ID |", "| cn-hangzhou | `m-hz1` | web-base-20240102 | 2 | 2024-01-02T03:04:05Z | x86_64 | Ubuntu 22.04 64 bit |"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
	if !strings.Contains(s.stdout.String(), "cn-hangzhou: the newest image in family web-base is m-hz1") {
		t.Errorf("log lacks the result line:\n%s", s.stdout)
	}
	s.assertNoSecrets("sekrit-value-123")
}

// Secrets are masked before any other line, also with step debug on.
func TestMaskingComesFirst(t *testing.T) {
	const secret, token = "sekrit/KEY+value", "STS.token-abcdef0123456789"
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"access-key-id": "LTAIexample", "access-key-secret": secret, "security-token": token,
	})
	s.env["RUNNER_DEBUG"] = "1"
	// A core trace that (wrongly) carried a secret would still be masked by
	// the runner; this checks the masks are registered before it.
	var debugged bool
	s.run(core.option(), WithRequest(func(r *imagefamily.Request) {
		debugged = r.Debug != nil
		if r.Credentials.SecurityToken != token {
			t.Errorf("security token not passed")
		}
	}))
	if s.err != nil {
		t.Fatal(s.err)
	}
	if !debugged {
		t.Error("RUNNER_DEBUG=1 did not enable the core's trace")
	}
	lines := strings.Split(s.stdout.String(), "\n")
	if len(lines) < 2 || lines[0] != "::add-mask::"+secret || lines[1] != "::add-mask::"+token {
		t.Errorf("the first lines are not the masks:\n%s", s.stdout)
	}
	s.assertNoSecrets(secret, token)
}

func TestMultiLineSecretMaskedPerLine(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"access-key-id": "id", "access-key-secret": "line-one\nline-two",
	}).run(core.option())
	out := s.stdout.String()
	for _, w := range []string{"::add-mask::line-one%0Aline-two\n", "::add-mask::line-one\n", "::add-mask::line-two\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
}

func TestDebugWriterForwardsTrace(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"})
	s.env["RUNNER_DEBUG"] = "1"
	s.run(core.option(), WithRequest(func(r *imagefamily.Request) {
		fmt.Fprint(r.Debug, "POST https://ecs.cn-hangzhou.aliyuncs.com/\nstatus 200")
	}))
	out := s.stdout.String()
	if !strings.Contains(out, "::debug::POST https://ecs.cn-hangzhou.aliyuncs.com/\n") || !strings.Contains(out, "::debug::status 200\n") {
		t.Errorf("trace not forwarded as ::debug:: lines:\n%s", out)
	}

	// Without step debug there is no trace.
	s2 := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"})
	s2.run(core.option(), WithRequest(func(r *imagefamily.Request) {
		if r.Debug != nil {
			t.Error("trace enabled without RUNNER_DEBUG")
		}
	}))
}

func TestHyphenatedInputNames(t *testing.T) {
	// A JavaScript-style runner passes INPUT_IMAGE-FAMILY; accept it too.
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, nil)
	s.env["INPUT_REGION"] = "cn-hangzhou"
	s.env["INPUT_IMAGE-FAMILY"] = "web-base"
	s.run(core.option())
	if s.err != nil || s.outputs()["image-id"] != "m-1" {
		t.Fatalf("err=%v outputs=%v", s.err, s.outputs())
	}
}

func TestNotFoundFails(t *testing.T) {
	core := &fakeCore{}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"}).run(core.option())
	// Not found alone is exit code 3, as in the CLI.
	if s.code != 3 || !errors.Is(s.err, imagefamily.ErrNotFound) {
		t.Fatalf("code %d err %v", s.code, s.err)
	}
	out := s.stdout.String()
	if !strings.Contains(out, "::error title=Image family lookup failed in cn-hangzhou::no available image in family \"web-base\" in region cn-hangzhou") ||
		!strings.Contains(out, "copies of an image carry no family") {
		t.Errorf("no error annotation with the hint:\n%s", out)
	}
	if n := strings.Count(out, "::error"); n != 1 {
		t.Errorf("%d error annotations, want 1:\n%s", n, out)
	}
	outs := s.outputs()
	if outs["found"] != "false" || outs["image-id"] != "" || outs["image-ids"] != "{}" {
		t.Errorf("outputs = %v", outs)
	}
	if !strings.Contains(s.summary(), "| cn-hangzhou | not found |") {
		t.Errorf("summary:\n%s", s.summary())
	}
}

func TestNotFoundAllowed(t *testing.T) {
	core := &fakeCore{}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base", "fail-if-not-found": "false"}).run(core.option())
	if s.err != nil {
		t.Fatalf("Run: %v", s.err)
	}
	outs := s.outputs()
	if outs["found"] != "false" || outs["image-id"] != "" || outs["json"] != "" {
		t.Errorf("outputs = %v", outs)
	}
	out := s.stdout.String()
	if strings.Contains(out, "::error") || !strings.Contains(out, "::warning title=No image in family web-base::") {
		t.Errorf("want a warning, no error:\n%s", out)
	}
}

func TestOtherErrorsFailEvenIfNotFoundAllowed(t *testing.T) {
	core := &fakeCore{errs: map[string]error{"cn-hangzhou": &imagefamily.APIError{
		Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web-base",
		Code: "Forbidden.RAM", HTTPStatus: 403, RequestID: "R1", Message: "User not authorized",
		Hint: "grant ecs:DescribeImageFromFamily to the caller",
	}}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base", "fail-if-not-found": "false"}).run(core.option())
	if s.code != 1 {
		t.Fatalf("code %d", s.code)
	}
	if !strings.Contains(s.stdout.String(), "::error title=Image family lookup failed in cn-hangzhou::ECS DescribeImageFromFamily for family \"web-base\" in region cn-hangzhou failed: Forbidden.RAM (HTTP 403)") ||
		!strings.Contains(s.stdout.String(), "grant ecs:DescribeImageFromFamily") {
		t.Errorf("annotation lacks the error or hint:\n%s", s.stdout)
	}
}

func TestSeveralRegions(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{
		"cn-hangzhou": sampleImage("m-hz"), "cn-shanghai": sampleImage("m-sh"), "ap-southeast-1": sampleImage("m-sg"),
	}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou, cn-shanghai\nap-southeast-1", "image-family": "web-base"}).run(core.option())
	if s.err != nil {
		t.Fatalf("Run: %v\n%s", s.err, s.stdout)
	}
	if strings.Join(core.regions, " ") != "cn-hangzhou cn-shanghai ap-southeast-1" {
		t.Errorf("regions passed to ResolveRegions: %v", core.regions)
	}
	outs := s.outputs()
	var ids map[string]string
	if err := json.Unmarshal([]byte(outs["image-ids"]), &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids["cn-hangzhou"] != "m-hz" || ids["cn-shanghai"] != "m-sh" || ids["ap-southeast-1"] != "m-sg" {
		t.Errorf("image-ids = %s", outs["image-ids"])
	}
	var whole map[string]imagefamily.Image
	if err := json.Unmarshal([]byte(outs["json"]), &whole); err != nil || whole["cn-shanghai"].ImageID != "m-sh" {
		t.Errorf("json = %s (%v)", outs["json"], err)
	}
	// Scalar outputs describe the first region listed.
	if outs["image-id"] != "m-hz" || outs["found"] != "true" {
		t.Errorf("outputs = %v", outs)
	}
	sum := s.summary()
	if strings.Index(sum, "| cn-hangzhou |") > strings.Index(sum, "| cn-shanghai |") || !strings.Contains(sum, "| ap-southeast-1 | `m-sg` |") {
		t.Errorf("summary not in input order:\n%s", sum)
	}
}

func TestSeveralRegionsPartlyMissing(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-shanghai": sampleImage("m-sh")}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base", "fail-if-not-found": "false"}).run(core.option())
	if s.err != nil {
		t.Fatal(s.err)
	}
	// The image outputs describe the first region listed that has an
	// image, as the data source's attributes do: cn-shanghai here, not an
	// empty image-id because cn-hangzhou, listed first, has none.
	outs := s.outputs()
	if outs["found"] != "false" || outs["image-ids"] != `{"cn-shanghai":"m-sh"}` || outs["image-id"] != "m-sh" ||
		outs["creation-time"] != sampleImage("m-sh").CreationTime {
		t.Errorf("outputs = %v", outs)
	}

	// With the default, one missing region fails the step but the regions
	// that resolved are still in the outputs (for continue-on-error users).
	s = newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base"}).run(core.option())
	if s.code != 3 || s.outputs()["image-ids"] != `{"cn-shanghai":"m-sh"}` || s.outputs()["image-id"] != "m-sh" {
		t.Errorf("code %d outputs %v", s.code, s.outputs())
	}

	// No region has an image: the image outputs are empty.
	none := &fakeCore{images: map[string]imagefamily.Image{}}
	s = newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base", "fail-if-not-found": "false"}).run(none.option())
	if outs := s.outputs(); outs["image-id"] != "" || outs["found"] != "false" || outs["image-ids"] != "{}" {
		t.Errorf("none found: outputs = %v", outs)
	}
}

// Exit codes are the CLI's (docs/action.md says so): an input error is 2,
// not found 3, a change with fail-on-change 4, a guard 5, anything else 1;
// with several regions the worst wins, 1 over 5 over 3 over 4.
func TestExitCodes(t *testing.T) {
	nf := func(r string) error { return &imagefamily.NotFoundError{Region: r, Family: "web-base"} }
	api := &imagefamily.APIError{Service: "ECS", Code: "Forbidden.RAM", HTTPStatus: 403}
	guard := &imagefamily.GuardError{Guard: "architecture", Region: "cn-hangzhou", Family: "web-base"}
	changed := &changedError{[]imagefamily.Change{{Region: "cn-hangzhou", Expected: "m-old", Found: imagefamily.Image{ImageID: "m-new"}}}}
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&imagefamily.ValidationError{Field: "input timeout", Value: "0", Rule: "r"}, 2},
		{nf("cn-hangzhou"), 3},
		{&reportedError{errors.Join(nf("cn-hangzhou"), nf("cn-shanghai"))}, 3},
		{&reportedError{errors.Join(nf("cn-hangzhou"), api)}, 1},
		{&reportedError{errors.Join(api)}, 1},
		{fmt.Errorf("wrapped: %w", nf("cn-hangzhou")), 3},
		{errors.New("other"), 1},
		{&reportedError{errors.Join(guard)}, 5},
		{&reportedError{errors.Join(nf("cn-shanghai"), guard)}, 5},
		{&reportedError{errors.Join(guard, api)}, 1},
		{&reportedError{errors.Join(changed)}, 4},
		{&reportedError{errors.Join(changed, nf("cn-shanghai"))}, 3},
		{&reportedError{errors.Join(guard, changed)}, 5},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestSeveralRegionsRequestRejected(t *testing.T) {
	core := &fakeCore{err: &imagefamily.ValidationError{Field: "endpoint", Value: "x y", Rule: "bad"}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base"}).run(core.option())
	if s.code != 2 || !strings.Contains(s.stdout.String(), "::error title=Image family lookup failed::invalid endpoint") {
		t.Errorf("code %d\n%s", s.code, s.stdout)
	}
}

func TestInputValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"90", 90 * time.Second}, {"2m", 2 * time.Minute}, {"1m30s", 90 * time.Second}} {
		d, err := parseTimeout(c.in)
		if err != nil || d != c.want {
			t.Errorf("parseTimeout(%q) = %v, %v", c.in, d, err)
		}
	}
	for _, v := range []string{"true", "True", "TRUE"} {
		if b, ok := parseBool(v); !ok || !b {
			t.Errorf("parseBool(%q)", v)
		}
	}
	for _, v := range []string{"false", "False", "FALSE"} {
		if b, ok := parseBool(v); !ok || b {
			t.Errorf("parseBool(%q)", v)
		}
	}
	if _, ok := parseBool("1"); ok {
		t.Error("parseBool(1) accepted")
	}
}

// max-attempts is the attempt budget of the CLI's --max-attempts and the
// data source's max_attempts: it reaches the request as it is; unset, the
// core's default (5) applies.
func TestMaxAttemptsInput(t *testing.T) {
	for _, c := range []struct {
		value string
		want  int
	}{{"", 0}, {"1", 1}, {"3", 3}, {" 20 ", 20}} {
		core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
		s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base", "max-attempts": c.value}).run(core.option())
		if s.err != nil || len(core.requests) != 1 {
			t.Fatalf("max-attempts %q: %v\n%s", c.value, s.err, s.stdout)
		}
		if got := core.requests[0].Retry.MaxAttempts; got != c.want {
			t.Errorf("max-attempts %q: the request has MaxAttempts %d, want %d", c.value, got, c.want)
		}
	}
}

func TestAssumeRoleWithStaticKeys(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"access-key-id": "LTAI", "access-key-secret": "sekrit-xyz",
		"role-to-assume": "acs:ram::123:role/reader",
	})
	s.env["GITHUB_RUN_ID"] = "4242"
	s.env["GITHUB_RUN_ATTEMPT"] = "3"
	s.run(core.option())
	if s.err != nil {
		t.Fatal(s.err)
	}
	c := core.requests[0].Credentials
	if c.AssumeRoleARN != "acs:ram::123:role/reader" || c.OIDCRoleARN != "" || c.AccessKeyID != "LTAI" || c.RoleSessionName != "github-actions-4242-3" {
		t.Errorf("credentials = %+v", c)
	}
}

func TestNoCredentialInputsLeavesChainToCore(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"}).run(core.option())
	if s.err != nil {
		t.Fatal(s.err)
	}
	c := core.requests[0].Credentials
	if c.OnSecret == nil {
		t.Error("no OnSecret hook: STS-issued credentials would not be masked")
	}
	c.Getenv, c.OnSecret = nil, nil
	if !reflect.DeepEqual(c, imagefamily.Credentials{}) {
		t.Errorf("credentials not empty: %+v", c)
	}
}

func TestDefaultSessionName(t *testing.T) {
	env := map[string]string{"GITHUB_RUN_ID": "12/34 5", "GITHUB_RUN_ATTEMPT": strings.Repeat("9", 80)}
	got := defaultSessionName(func(k string) string { return env[k] })
	if got != ("github-actions-12345-" + strings.Repeat("9", 80))[:64] {
		t.Errorf("got %q", got)
	}
	if got := defaultSessionName(func(string) string { return "" }); got != "github-actions" {
		t.Errorf("got %q", got)
	}
}

// A value with newlines and the library's fixed delimiter line must come back
// as one value and define no other output.
func TestOutputInjection(t *testing.T) {
	evil := sampleImage("m-1")
	evil.ImageName = "x\n_GitHubActionsFileCommandDelimeter_\ninjected=1\nfound<<EOF\nfalse\nEOF"
	evil.OSName = "ghadelimiter_00\r\nimage-id=m-evil"
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": evil}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"}).run(core.option())
	if s.err != nil {
		t.Fatal(s.err)
	}
	outs := s.outputs() // fails on a duplicate definition
	if _, ok := outs["injected"]; ok {
		t.Error("a value injected an output")
	}
	if outs["image-name"] != evil.ImageName || outs["os-name"] != evil.OSName || outs["image-id"] != "m-1" || outs["found"] != "true" {
		t.Errorf("values did not round-trip: %q %q %q", outs["image-name"], outs["os-name"], outs["image-id"])
	}
	if len(outs) != len(outputNames) {
		t.Errorf("%d outputs, want %d: %v", len(outs), len(outputNames), outs)
	}
	// The summary keeps one table row per region whatever the values hold.
	for _, line := range strings.Split(s.summary(), "\n") {
		if strings.HasPrefix(line, "injected") || strings.HasPrefix(line, "image-id=") {
			t.Errorf("value broke out of its table cell: %q", line)
		}
	}
}

// What the library would have written is indeed injectable; this keeps the
// reason for our own writer on record.
func TestFixedDelimiterWouldBeInjectable(t *testing.T) {
	v := "x\n_GitHubActionsFileCommandDelimeter_\ninjected<<_GitHubActionsFileCommandDelimeter_\n1"
	lib := fmt.Sprintf("name<<_GitHubActionsFileCommandDelimeter_\n%s\n_GitHubActionsFileCommandDelimeter_\n", v)
	outs, err := parseFileCommand(lib)
	if err != nil || outs["injected"] != "1" {
		t.Fatalf("expected injection with the fixed delimiter: %v %v", outs, err)
	}
}

func TestDelimiterCollisionRetried(t *testing.T) {
	defer func(old func([]byte) (int, error)) { randRead = old }(randRead)
	calls := 0
	randRead = func(b []byte) (int, error) {
		calls++
		for i := range b {
			b[i] = byte(calls) // 01 01 ... first, then 02 02 ...
		}
		return len(b), nil
	}
	first := "ghadelimiter_" + strings.Repeat("01", 16)
	d, err := delimiterFor("a\n" + first + "\nb")
	if err != nil || d == first || calls != 2 {
		t.Fatalf("delimiter %q err %v calls %d", d, err, calls)
	}
}

func TestMissingOutputFile(t *testing.T) {
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"})
	delete(s.env, "GITHUB_OUTPUT")
	delete(s.env, "GITHUB_STEP_SUMMARY")
	s.run(core.option())
	if s.code != 1 || !strings.Contains(s.stdout.String(), "::error title=Image family lookup failed::GITHUB_OUTPUT is not set") {
		t.Errorf("code %d\n%s", s.code, s.stdout)
	}
}

func TestSummaryEscapesValues(t *testing.T) {
	img := sampleImage("m-1")
	img.ImageName = "a|b<script>`x`\nnext"
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": img}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"}).run(core.option())
	sum := s.summary()
	// safetext.Markdown: the line break shown as \n (its backslash escaped),
	// no HTML, no code span, no column break.
	if !strings.Contains(sum, `a\|b&lt;script&gt;'x'\\nnext`) || strings.Contains(sum, "<script>") {
		t.Errorf("summary:\n%s", sum)
	}
	if err := os.WriteFile(s.sumPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tokenServer stands in for the runner's ID token service.
func tokenServer(t *testing.T, token string) (*httptest.Server, *[]string) {
	var audiences []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer request-token-xyz" {
			http.Error(w, `{"message":"bad bearer"}`, http.StatusUnauthorized)
			return
		}
		audiences = append(audiences, r.URL.Query().Get("audience"))
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "api-version lost", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"count":1,"value":%q}`, token)
	}))
	t.Cleanup(srv.Close)
	return srv, &audiences
}

const fakeJWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdHMuYWxpeXVuY3MuY29tIn0.c2lnbmF0dXJlLXNlY3JldA"

func TestOIDCTokenFetchedAndPassed(t *testing.T) {
	srv, auds := tokenServer(t, fakeJWT)
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"role-to-assume":    "acs:ram::123:role/reader",
		"oidc-provider-arn": "acs:ram::123:oidc-provider/github",
	})
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.URL + "/token?api-version=2.0"
	s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token-xyz"
	s.env["RUNNER_DEBUG"] = "1"
	s.run(core.option())
	if s.err != nil {
		t.Fatalf("Run: %v\n%s", s.err, s.stdout)
	}
	if len(*auds) != 1 || (*auds)[0] != "sts.aliyuncs.com" {
		t.Errorf("audiences requested: %v", *auds)
	}
	c := core.requests[0].Credentials
	if c.OIDCToken != fakeJWT || c.OIDCRoleARN != "acs:ram::123:role/reader" || c.OIDCProviderARN != "acs:ram::123:oidc-provider/github" || c.AssumeRoleARN != "" {
		t.Errorf("credentials = %+v", c)
	}
	if c.RoleSessionName != "github-actions" {
		t.Errorf("session name %q", c.RoleSessionName)
	}
	// The token is masked before anything else is printed about it.
	lines := strings.Split(s.stdout.String(), "\n")
	if len(lines) < 2 || lines[0] != "::add-mask::request-token-xyz" || lines[1] != "::add-mask::"+fakeJWT {
		t.Errorf("masks are not first:\n%s", s.stdout)
	}
	s.assertNoSecrets(fakeJWT, "request-token-xyz")
}

func TestOIDCCustomAudience(t *testing.T) {
	srv, auds := tokenServer(t, fakeJWT)
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"role-to-assume": "acs:ram::123:role/reader", "oidc-provider-arn": "acs:ram::123:oidc-provider/github",
		"audience": "my-client-id", "role-session-name": "deploy",
	})
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.URL + "/token?api-version=2.0"
	s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token-xyz"
	s.run(core.option())
	if s.err != nil || (*auds)[0] != "my-client-id" || core.requests[0].Credentials.RoleSessionName != "deploy" {
		t.Fatalf("err %v audiences %v", s.err, *auds)
	}
}

func TestOIDCMissingPermission(t *testing.T) {
	core := &fakeCore{}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"role-to-assume": "acs:ram::123:role/reader", "oidc-provider-arn": "acs:ram::123:oidc-provider/github",
	}).run(core.option())
	if s.code != 2 || core.calls() != 0 {
		t.Fatalf("code %d calls %d", s.code, core.calls())
	}
	out := s.stdout.String()
	if !strings.Contains(out, "::error title=Image family lookup failed::") ||
		!strings.Contains(out, "permissions: id-token: write") || !strings.Contains(out, "ACTIONS_ID_TOKEN_REQUEST_URL is not set") {
		t.Errorf("annotation does not say how to fix it:\n%s", out)
	}
}

func TestOIDCTokenServiceRefuses(t *testing.T) {
	srv, _ := tokenServer(t, fakeJWT)
	core := &fakeCore{}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"role-to-assume": "acs:ram::123:role/reader", "oidc-provider-arn": "acs:ram::123:oidc-provider/github",
	})
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.URL + "/token?api-version=2.0"
	s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
	s.run(core.option())
	if s.code != 1 || !errors.Is(s.err, imagefamily.ErrCredentials) || !strings.Contains(s.err.Error(), `audience "sts.aliyuncs.com" (HTTP 401)`) {
		t.Fatalf("code %d err %v", s.code, s.err)
	}
}

func TestOIDCAudienceMismatchExplained(t *testing.T) {
	srv, _ := tokenServer(t, fakeJWT)
	core := &fakeCore{errs: map[string]error{"cn-hangzhou": &imagefamily.APIError{
		Service: "STS", Action: "AssumeRoleWithOIDC", Code: "AuthenticationFail.OIDCToken.AudienceNotMatch",
		HTTPStatus: 400, Message: "The audience of the OIDC token does not match the client IDs of the provider.",
	}}}
	s := newStep(t, map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"role-to-assume": "acs:ram::123:role/reader", "oidc-provider-arn": "acs:ram::123:oidc-provider/github",
		"audience": "wrong-aud",
	})
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.URL + "/token?api-version=2.0"
	s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token-xyz"
	s.run(core.option())
	if s.code != 1 {
		t.Fatalf("code %d", s.code)
	}
	if !strings.Contains(s.stdout.String(), `requested with audience \"wrong-aud\"`) && !strings.Contains(s.stdout.String(), `requested with audience "wrong-aud"`) {
		t.Errorf("annotation does not name the audience sent:\n%s", s.stdout)
	}
	s.assertNoSecrets(fakeJWT)
}

// Server text printed to the step log is escaped, whatever reaches the
// front: the core refuses control characters in labels, but the action does
// not rely on it. An image name holding "\n::warning ..." used to become a
// real workflow command through the info line.
func TestLogEscapesServerText(t *testing.T) {
	img := sampleImage("m-1")
	img.ImageName = "web\n::warning::forged-by-name"
	img.ImageVersion = "7\r::add-mask::m-1"
	img.CreationTime = "2024\x1b]0;title\x07\u202e\u2028::error::forged-by-time"
	core := &fakeCore{
		images: map[string]imagefamily.Image{"cn-hangzhou": img},
		errs: map[string]error{"cn-shanghai": &imagefamily.APIError{
			Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-shanghai", Family: "web-base",
			Code: "Forbidden\n::warning::forged-code", HTTPStatus: 403, Message: "denied\x1b[2J\u2028::error::forged-message",
		}},
	}
	s := newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base"})
	s.env["RUNNER_DEBUG"] = "1"
	s.run(core.option())
	if s.code != 1 {
		t.Fatalf("code %d", s.code)
	}
	out := s.stdout.String()
	if !strings.Contains(out, `cn-hangzhou: the newest image in family web-base is m-1 (web\n::warning::forged-by-name, version 7\r::add-mask::m-1, created 2024\x1b]0;title\x07\u202e\u2028::error::forged-by-time)`) {
		t.Errorf("info line not escaped as expected:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "::") && !hasAnyPrefix(line, ourCommands) {
			t.Errorf("a workflow command that is not ours: %q", line)
		}
		if strings.HasPrefix(line, "::add-mask::") {
			t.Errorf("a mask was planted: %q", line)
		}
	}
	if strings.ContainsAny(out, "\x1b\r\u202e\u2028") {
		t.Errorf("stdout holds control or format characters: %q", out)
	}
	if !strings.Contains(out, `::error title=Image family lookup failed in cn-shanghai::`) || !strings.Contains(out, `denied\x1b[2J\u2028::error::forged-message`) {
		t.Errorf("annotation not escaped as expected:\n%s", out)
	}
	// The outputs stay exact.
	if outs := s.outputs(); outs["image-name"] != img.ImageName || outs["creation-time"] != img.CreationTime {
		t.Errorf("outputs changed: %q %q", outs["image-name"], outs["creation-time"])
	}
	sum := s.summary()
	if strings.ContainsAny(sum, "\x1b\r\u202e\u2028<") {
		t.Errorf("summary holds control characters or HTML: %q", sum)
	}
}

// Annotation properties: go-githubactions escapes ':' and ',' in property
// values (as the runner requires), besides '%' and line breaks; the message
// keeps to one line.
func TestAnnotationEscaping(t *testing.T) {
	var buf bytes.Buffer
	a := githubactions.New(githubactions.WithWriter(&buf), githubactions.WithGetenv(func(string) string { return "" }))
	annotate(a, "a: b, c\n::warning::x", errors.New("line one\r\n::error::forged 100%\x1b[2J"))
	got := buf.String()
	want := "::error title=a%3A b%2C c\\n%3A%3Awarning%3A%3Ax::line one\\r\\n::error::forged 100%25\\x1b[2J\n"
	if got != want {
		t.Errorf("annotation\n got %q\nwant %q", got, want)
	}
}

// A multi-line secret is masked whole and line by line, but a short line is
// not masked on its own: "e" would star out every later "e" in the log.
func TestMaskSkipsShortLines(t *testing.T) {
	var out bytes.Buffer
	a := githubactions.New(githubactions.WithWriter(&out), githubactions.WithGetenv(func(string) string { return "" }))
	mask(a, "first-line-secret\ne\n::\nsecond-line-secret")
	got := out.String()
	for _, want := range []string{"::add-mask::first-line-secret", "::add-mask::second-line-secret"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %q in %q", want, got)
		}
	}
	for _, bad := range []string{"::add-mask::e\n", "::add-mask:::\n"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q registered: %q", bad, got)
		}
	}
}
