package action

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

	// Every field's output: TestEveryFieldIsAnOutput.
	outs := s.outputs()
	if outs["image-id"] != "m-hz1" || outs["found"] != "true" || outs["image-ids"] != `{"cn-hangzhou":"m-hz1"}` {
		t.Errorf("outputs %v", outs)
	}
	// json is the whole image with the API's field names, as MarshalJSON
	// writes it.
	if wantJSON, _ := json.Marshal(sampleImage("m-hz1")); outs["json"] != string(wantJSON) || !strings.Contains(outs["json"], `"ImageId":"m-hz1"`) {
		t.Errorf("json = %s\nwant %s", outs["json"], wantJSON)
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
}

// Secrets are masked before any other line, also with step debug on; a
// multi-line secret is masked whole and line by line.
func TestMaskingComesFirst(t *testing.T) {
	const secret, token = "sekrit/KEY+value\nline-two-secret", "STS.token-abcdef0123456789"
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
	if s.err != nil || !debugged {
		t.Fatalf("err %v, trace enabled %v", s.err, debugged)
	}
	want := "::add-mask::sekrit/KEY+value%0Aline-two-secret\n::add-mask::sekrit/KEY+value\n::add-mask::line-two-secret\n::add-mask::" + token + "\n"
	if !strings.HasPrefix(s.stdout.String(), want) {
		t.Errorf("the first lines are not the masks:\n%s", s.stdout)
	}
	s.assertNoSecrets(secret, token)
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

	// Without step debug there is no trace: the harness checks every other
	// run's step log for the signed query (checkSinks).
}

// One step per outcome class of a lookup and fail-if-not-found (the core's
// rules and messages: imagefamily TestResolveErrors, TestExitCode).
func TestOutcomeClasses(t *testing.T) {
	forbidden := &imagefamily.APIError{
		Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web-base",
		Code: "Forbidden.RAM", HTTPStatus: 403, RequestID: "R1", Message: "User not authorized",
		Hint: "grant ecs:DescribeImageFromFamily to the caller",
	}
	for _, c := range []struct {
		name, region, failIfNotFound string
		core                         *fakeCore
		code                         int
		log                          []string
		summary                      string
	}{
		{"not found", "cn-hangzhou", "", &fakeCore{}, 3, []string{
			"::error title=Image family lookup failed in cn-hangzhou::no available image in family \"web-base\" in region cn-hangzhou",
			"copies of an image carry no family"}, "| cn-hangzhou | not found |"},
		{"not found allowed", "cn-hangzhou", "false", &fakeCore{}, 0, []string{"::warning title=No image in family web-base::"}, ""},
		{"other errors fail even if not found is allowed", "cn-hangzhou", "false", &fakeCore{errs: map[string]error{"cn-hangzhou": forbidden}}, 1, []string{
			"::error title=Image family lookup failed in cn-hangzhou::ECS DescribeImageFromFamily for family \"web-base\" in region cn-hangzhou failed: Forbidden.RAM (HTTP 403)",
			"grant ecs:DescribeImageFromFamily"}, ""},
		{"request rejected by the core, several regions", "cn-hangzhou,cn-shanghai", "",
			&fakeCore{err: &imagefamily.ValidationError{Field: "endpoint", Value: "x y", Rule: "bad"}}, 2,
			[]string{"::error title=Image family lookup failed::invalid endpoint"}, ""},
		{"a lookup failing as a whole", "cn-hangzhou,cn-shanghai", "", &fakeCore{err: errors.New("the whole lookup failed")}, 1,
			[]string{"::error title=Image family lookup failed::the whole lookup failed"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStep(t, map[string]string{"region": c.region, "image-family": "web-base", "fail-if-not-found": c.failIfNotFound}).run(c.core.option())
			out := s.stdout.String()
			if s.code != c.code {
				t.Errorf("exit %d, want %d", s.code, c.code)
			}
			for _, f := range c.log {
				if !strings.Contains(out, f) {
					t.Errorf("step log lacks %q:\n%s", f, out)
				}
			}
			if n := strings.Count(out, "::error"); n != min(c.code, 1) {
				t.Errorf("%d error annotations, want %d:\n%s", n, min(c.code, 1), out)
			}
			if !strings.Contains(s.summary(), c.summary) {
				t.Errorf("summary:\n%s", s.summary())
			}
			checkFailureOutputs(t, s)
		})
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
	var whole map[string]imagefamily.Image
	if err := json.Unmarshal([]byte(outs["json"]), &whole); err != nil || whole["cn-shanghai"].ImageID != "m-sh" {
		t.Errorf("json = %s (%v)", outs["json"], err)
	}
	// Scalar outputs describe the first region listed.
	if outs["image-ids"] != `{"ap-southeast-1":"m-sg","cn-hangzhou":"m-hz","cn-shanghai":"m-sh"}` || outs["image-id"] != "m-hz" || outs["found"] != "true" {
		t.Errorf("outputs = %v", outs)
	}
	sum := s.summary()
	if strings.Index(sum, "| cn-hangzhou |") > strings.Index(sum, "| cn-shanghai |") || !strings.Contains(sum, "| ap-southeast-1 | `m-sg` |") {
		t.Errorf("summary not in input order:\n%s", sum)
	}

	// The image outputs describe the first region listed that has an
	// image, as the data source's attributes do; with the default, a
	// missing region fails the step, the regions that resolved still in the
	// outputs (for continue-on-error users).
	core = &fakeCore{images: map[string]imagefamily.Image{"cn-shanghai": sampleImage("m-sh")}}
	for _, c := range []struct {
		failIfNotFound string
		code           int
	}{{"false", 0}, {"", 3}} {
		s = newStep(t, map[string]string{"region": "cn-hangzhou,cn-shanghai", "image-family": "web-base", "fail-if-not-found": c.failIfNotFound}).run(core.option())
		if outs := s.outputs(); s.code != c.code || outs["found"] != "false" || outs["image-ids"] != `{"cn-shanghai":"m-sh"}` || outs["image-id"] != "m-sh" ||
			outs["creation-time"] != sampleImage("m-sh").CreationTime {
			t.Errorf("fail-if-not-found %q: exit %d, outputs = %v", c.failIfNotFound, s.code, outs)
		}
	}
}

// Exit codes are the CLI's (docs/action.md says so), from the core's one
// table (imagefamily TestExitCode proves the precedence of joined errors);
// here the action's own error types map into it: a reported error, a change
// with fail-on-change.
func TestExitCodes(t *testing.T) {
	nf := func(r string) error { return &imagefamily.NotFoundError{Region: r, Family: "web-base"} }
	guard := &imagefamily.GuardError{Guard: "architecture", Region: "cn-hangzhou", Family: "web-base"}
	changed := &changedError{[]imagefamily.Change{{Region: "cn-hangzhou", Expected: "m-old", Found: imagefamily.Image{ImageID: "m-new"}}}}
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&imagefamily.ValidationError{Field: "input timeout", Value: "0", Rule: "r"}, 2},
		{&reportedError{errors.Join(nf("cn-hangzhou"), nf("cn-shanghai"))}, 3},
		{&reportedError{errors.Join(&imagefamily.APIError{Service: "ECS", Code: "Forbidden.RAM", HTTPStatus: 403})}, 1},
		{&reportedError{errors.Join(changed)}, 4},
		{&reportedError{errors.Join(changed, nf("cn-shanghai"))}, 3},
		{&reportedError{errors.Join(guard, changed)}, 5},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestInputValues(t *testing.T) {
	for in, want := range map[string]time.Duration{"90": 90 * time.Second, "2m": 2 * time.Minute, "1m30s": 90 * time.Second} {
		if d, err := parseTimeout(in); err != nil || d != want {
			t.Errorf("parseTimeout(%q) = %v, %v", in, d, err)
		}
	}
	// 1 true, 0 false, -1 refused.
	for in, want := range map[string]int{"true": 1, "True": 1, "TRUE": 1, "false": 0, "False": 0, "FALSE": 0, "1": -1} {
		if b, ok := parseBool(in); ok != (want >= 0) || ok && b != (want == 1) {
			t.Errorf("parseBool(%q) = %v, %v", in, b, ok)
		}
	}
}

// How the inputs reach the core's request: the attempt budget (the CLI's
// --max-attempts, the data source's max_attempts; unset, the core's
// default), a role assumed with static keys and its session name, and no
// credential inputs at all (the core's chain, with the hook that masks
// what STS issues).
func TestRequestMapping(t *testing.T) {
	for _, c := range []struct {
		name   string
		inputs map[string]string
		check  func(r imagefamily.Request) bool
	}{
		{"max-attempts unset", nil, func(r imagefamily.Request) bool { return r.Retry.MaxAttempts == 0 }},
		{"max-attempts 1", map[string]string{"max-attempts": "1"}, func(r imagefamily.Request) bool { return r.Retry.MaxAttempts == 1 }},
		{"max-attempts with spaces", map[string]string{"max-attempts": " 20 "}, func(r imagefamily.Request) bool { return r.Retry.MaxAttempts == 20 }},
		{"role with static keys", map[string]string{"access-key-id": "LTAI", "access-key-secret": "sekrit-xyz", "role-to-assume": "acs:ram::123:role/reader"},
			func(r imagefamily.Request) bool {
				c := r.Credentials
				return c.AssumeRoleARN == "acs:ram::123:role/reader" && c.OIDCRoleARN == "" && c.AccessKeyID == "LTAI" && c.RoleSessionName == "github-actions-4242-3"
			}},
		{"role-session-name", map[string]string{"access-key-id": "LTAI", "access-key-secret": "sekrit-xyz", "role-to-assume": "acs:ram::123:role/reader", "role-session-name": "deploy"},
			func(r imagefamily.Request) bool { return r.Credentials.RoleSessionName == "deploy" }},
		{"no credential inputs", nil, func(r imagefamily.Request) bool {
			c := r.Credentials
			hook := c.OnSecret != nil
			c.Getenv, c.OnSecret = nil, nil
			return hook && reflect.DeepEqual(c, imagefamily.Credentials{})
		}},
	} {
		core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
		in := map[string]string{"region": "cn-hangzhou", "image-family": "web-base"}
		maps.Copy(in, c.inputs)
		s := newStep(t, in)
		s.env["GITHUB_RUN_ID"], s.env["GITHUB_RUN_ATTEMPT"] = "4242", "3"
		if s.run(core.option()); s.err != nil || len(core.requests) != 1 {
			t.Fatalf("%s: %v\n%s", c.name, s.err, s.stdout)
		}
		if !c.check(core.requests[0]) {
			t.Errorf("%s: request %+v", c.name, core.requests[0])
		}
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

// Without GITHUB_OUTPUT (and the summary) the step fails saying so; an
// input error is still exit 2, with no warning about the missing file.
func TestMissingOutputFile(t *testing.T) {
	for _, c := range []struct {
		timeout, want string
		code          int
	}{{"", "::error title=Image family lookup failed::GITHUB_OUTPUT is not set", 1}, {"0", `invalid input timeout "0"`, 2}} {
		core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
		s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base", "timeout": c.timeout})
		delete(s.env, "GITHUB_OUTPUT")
		delete(s.env, "GITHUB_STEP_SUMMARY")
		s.run(core.option())
		if out := s.stdout.String(); s.code != c.code || !strings.Contains(out, c.want) || strings.Contains(out, "::warning") {
			t.Errorf("exit %d, want %d and %q:\n%s", s.code, c.code, c.want, out)
		}
	}
}

const fakeJWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdHMuYWxpeXVuY3MuY29tIn0.c2lnbmF0dXJlLXNlY3JldA"

// Server text printed to the step log and the summary is escaped,
// whatever reaches the front: the core refuses control characters in
// labels, but the action does not rely on it. An image name holding
// "\n::warning ..." used to become a real workflow command through the
// info line. The harness checks every sink's invariants (checkSinks: no
// command but ours, no control or format character, no HTML, whole table
// rows); this checks the escaped text and that the outputs stay exact.
func TestLogEscapesServerText(t *testing.T) {
	img := sampleImage("m-1")
	img.ImageName = "web\n::warning::forged-by-name|b<script>`x`"
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
	for _, want := range []string{
		"cn-hangzhou: the newest image in family web-base is m-1 (web\\n::warning::forged-by-name|b<script>`x`, version 7\\r::add-mask::m-1, created 2024\\x1b]0;title\\x07\\u202e\\u2028::error::forged-by-time)",
		`::error title=Image family lookup failed in cn-shanghai::`, `denied\x1b[2J\u2028::error::forged-message`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("step log lacks %q:\n%s", want, out)
		}
	}
	if m := s.masked(); len(m) != 0 {
		t.Errorf("masks were planted: %q", m)
	}
	// safetext.Markdown: the line break shown as \n (its backslash escaped),
	// no HTML, no code span, no column break.
	if sum := s.summary(); !strings.Contains(sum, `web\\n::warning::forged-by-name\|b&lt;script&gt;'x'`) {
		t.Errorf("summary:\n%s", sum)
	}
	if outs := s.outputs(); outs["image-name"] != img.ImageName || outs["creation-time"] != img.CreationTime {
		t.Errorf("outputs changed: %q %q", outs["image-name"], outs["creation-time"])
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
