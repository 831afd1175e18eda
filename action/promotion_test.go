package action

// Release promotion through the action's entry point (Main) against the real
// core and the in-process emulator: guards, drift (expected-image-ids,
// changed, fail-on-change), waiting (wait-timeout, newer-than), retry lines,
// the GitHub ID-token request's retries, the one-wave fan-out and shared
// families. The bad values of each input are rows of
// action_badinput_test.go.

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
)

var emuKeys = []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}

// keyed is emuInputs with the emulator's static keys and kv.
func keyed(srv *ecstest.Server, kv ...string) map[string]string {
	return emuInputs(srv, append(append([]string{}, emuKeys...), kv...)...)
}

// emuImage is an Available image of web-base, as the emulator fixture's.
func emuImage(id, created string) ecs.Image {
	return ecs.Image{
		ImageId: id, ImageName: "web-base-" + id, ImageFamily: "web-base", ImageVersion: "8",
		Status: "Available", CreationTime: created, Architecture: "x86_64", OSType: "linux",
		OSName: "Alibaba Cloud Linux 3", Platform: "Aliyun", Size: 40, IsSelfShared: "false",
	}
}

func fixedClock(ts string) func(*imagefamily.Request) {
	now, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		panic(err)
	}
	return func(r *imagefamily.Request) { r.Guards.Now = func() time.Time { return now } }
}

// ---- guards ----

// One run per outcome class of the guards' mapping (the core proves each
// guard's rule: imagefamily TestGuardsOnResolve, TestOwnersGuard).
func TestGuards(t *testing.T) {
	srv := emulator(t)
	srv.AddImage("cn-beijing", ecs.Image{ImageId: "m-bjarm", ImageName: "web-base-arm", ImageFamily: "web-base",
		Status: "Available", CreationTime: "2024-02-03T00:00:00Z", Architecture: "arm64", OSType: "linux", Size: 40, IsSelfShared: "false"})
	// m-hznew0001 was created 2024-02-01, m-shnew0001 2024-02-02: ten days old.
	s := newStep(t, keyed(srv, "region", "cn-hangzhou,cn-shanghai", "architecture", "X86_64", "os-type", "Linux", "max-age", "30d")).
		runMain(viaEmulator(srv), WithRequest(fixedClock("2024-02-11T00:00:00Z")))
	if s.code != 0 || s.outputs()["found"] != "true" {
		t.Fatalf("guards passing: exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
	for _, failIfNotFound := range []string{"true", "false"} { // false does not let a refused image through
		srv.ResetCounts()
		s := newStep(t, keyed(srv, "architecture", "arm64", "fail-if-not-found", failIfNotFound)).runMain(viaEmulator(srv))
		errs := annotations(s, "::error ")
		if s.code != 5 || len(errs) != 1 {
			t.Fatalf("exit %d, %d ::error annotations; want 5 (a guard, as in the CLI) and 1:\n%s", s.code, len(errs), s.stdout)
		}
		// The image's id, name and creation time, and expected vs found.
		for _, f := range []string{
			"::error title=Image refused by a guard in cn-hangzhou::",
			`image family "web-base" in region cn-hangzhou resolved to m-hznew0001 (web-base-m-hznew0001, created 2024-02-01T00:00:00Z)`,
			`fails the architecture guard: expected "arm64", found "x86_64"`,
		} {
			if !strings.Contains(errs[0], f) {
				t.Errorf("annotation lacks %q:\n%s", f, errs[0])
			}
		}
		checkFailureOutputs(t, s)
		if sum := s.summary(); !strings.Contains(sum, "| cn-hangzhou | failed: image refused by a guard |") {
			t.Errorf("summary:\n%s", sum)
		}
		if n := srv.Requests(describeAction); n != 1 {
			t.Errorf("%d requests, want 1 (a refused image is not retried)", n)
		}
	}
	// With several regions every region is checked; the one that passes is
	// still in image-ids.
	s = newStep(t, keyed(srv, "region", "cn-hangzhou,cn-beijing", "architecture", "x86_64")).runMain(viaEmulator(srv))
	if errs := annotations(s, "::error "); s.code != 5 || len(errs) != 1 || !strings.Contains(errs[0], "title=Image refused by a guard in cn-beijing::") {
		t.Errorf("exit %d, annotations %q", s.code, errs)
	}
	if outs := s.outputs(); outs["image-ids"] != `{"cn-hangzhou":"m-hznew0001"}` || outs["found"] != "false" || outs["image-id"] != "m-hznew0001" {
		t.Errorf("outputs %v", outs)
	}
}

// ---- drift ----

// One run per outcome of expected-image-ids: unchanged, changed (a warning,
// exit 0) and changed with fail-on-change (an error, exit 4); the core
// proves which regions are changes (imagefamily TestExpectedAndChanges).
func TestDrift(t *testing.T) {
	srv := emulator(t)
	const line = "cn-hangzhou: m-hzold0001 -> m-hznew0001 (created 2024-02-01T00:00:00Z)"
	for _, c := range []struct {
		expected, fail string
		code           int
		changed        string
		warnings, errs []string
		summary        string
	}{
		{"m-hznew0001", "true", 0, "false", nil, nil, "Unchanged: every region compared with `expected-image-ids` has the expected image."},
		{"m-hzold0001", "false", 0, "true", []string{"::warning title=Newest image changed in cn-hangzhou::" + line}, nil,
			"**Changed** since `expected-image-ids` (so `changed` is `true`):\n\n- cn-hangzhou: m-hzold0001 -&gt; m-hznew0001 (created 2024-02-01T00:00:00Z)\n"},
		{"m-hzold0001", "true", 4, "true", nil, []string{"::error title=Newest image changed in cn-hangzhou::" + line},
			"and `fail-on-change` is `true`, so the step fails"},
	} {
		s := newStep(t, keyed(srv, "expected-image-ids", `{"cn-hangzhou":"`+c.expected+`"}`, "fail-on-change", c.fail)).runMain(viaEmulator(srv))
		outs := s.outputs()
		// The outputs hold the new ids whatever the step's outcome.
		if s.code != c.code || outs["changed"] != c.changed || outs["image-id"] != "m-hznew0001" || outs["image-ids"] != `{"cn-hangzhou":"m-hznew0001"}` {
			t.Errorf("%s, fail-on-change %s: exit %d, outputs %v\n%s", c.expected, c.fail, s.code, outs, s.stdout)
		}
		if w, e := annotations(s, "::warning"), annotations(s, "::error"); !slices.Equal(w, c.warnings) || !slices.Equal(e, c.errs) {
			t.Errorf("%s, fail-on-change %s: warnings %q, errors %q", c.expected, c.fail, w, e)
		}
		if !strings.Contains(s.summary(), c.summary) {
			t.Errorf("summary lacks %q:\n%s", c.summary, s.summary())
		}
	}
}

// The image-ids output of one run is exactly what the next run's
// expected-image-ids reads: committed as it is (here with the trailing
// newline of a file), it reads as unchanged until the family moves.
func TestDriftRoundTrip(t *testing.T) {
	srv := emulator(t)
	first := newStep(t, keyed(srv, "region", "cn-hangzhou\ncn-shanghai")).runMain(viaEmulator(srv))
	committed := first.outputs()["image-ids"] + "\n"
	next := func() *step {
		return newStep(t, keyed(srv, "region", "cn-hangzhou\ncn-shanghai", "expected-image-ids", committed, "fail-on-change", "true")).runMain(viaEmulator(srv))
	}
	if s := next(); s.code != 0 || s.outputs()["changed"] != "false" {
		t.Fatalf("exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
	srv.AddImage("cn-shanghai", emuImage("m-shnewer001", "2024-03-03T00:00:00Z"))
	s := next()
	if s.code != 4 || s.outputs()["image-ids"] != `{"cn-hangzhou":"m-hznew0001","cn-shanghai":"m-shnewer001"}` {
		t.Fatalf("exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
	if e := annotations(s, "::error "); len(e) != 1 || !strings.HasSuffix(e[0], "::cn-shanghai: m-shnew0001 -> m-shnewer001 (created 2024-03-03T00:00:00Z)") {
		t.Errorf("errors %q", e)
	}
}

// ---- waiting ----

// The progress lines of a wait in the step log, then the image; at the
// deadline the step fails as "not found" (exit 3), saying how long it
// waited, how many polls and what it last saw. The schedule itself is the
// core's (imagefamily TestWaitScheduleReachesTheDeadline).
func TestWait(t *testing.T) {
	srv := emulator(t)
	// cn-beijing has no web-base image; one appears after two more answers.
	srv.AddImageAfter("cn-beijing", emuImage("m-bjnew0001", "2024-05-01T00:00:00Z"), 2)
	s := newStep(t, keyed(srv, "region", "cn-beijing", "wait-timeout", "10m")).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["image-id"] != "m-bjnew0001" || srv.Requests(describeAction) != 3 {
		t.Fatalf("exit %d outputs %v, %d requests\n%s", s.code, s.outputs(), srv.Requests(describeAction), s.stdout)
	}
	want := []string{
		"waiting in cn-beijing: poll 1 saw no available image; next poll in 2s",
		"waiting in cn-beijing: poll 2 saw no available image; next poll in 4s",
	}
	if got := annotations(s, "waiting in "); !slices.Equal(got, want) {
		t.Errorf("progress lines %q, want %q", got, want)
	}

	s = newStep(t, keyed(srv, "region", "cn-shanghai", "image-family", "never-published", "wait-timeout", "3s")).runMain(viaEmulator(srv))
	e := annotations(s, "::error ")
	if s.code != 3 || len(e) != 1 || !strings.Contains(e[0], `no available image in family "never-published" in region cn-shanghai after waiting 3s (3 polls; last seen: no available image)`) {
		t.Errorf("exit %d, errors %q", s.code, e)
	}
	checkFailureOutputs(t, s)
	if p := annotations(s, "waiting in cn-shanghai: poll "); len(p) != 2 || !strings.HasSuffix(p[1], "(the last, at the deadline)") {
		t.Errorf("progress lines %q, want 2, the second announcing the last poll", p)
	}
}

// ---- retries ----

// retryLine is a lookup's retry line (TestTableRows counts them in one
// region's step log).
var retryLine = regexp.MustCompile(`^retrying ECS DescribeImageFromFamily for family "web-base" in region cn-[a-z]+: attempt \d of 5 failed \(Throttling\.User, HTTP 400, RequestId [0-9A-F-]+\); next attempt in [0-9.]+m?s$`)

// overlapWriter is a step's stdout that notices two writes at once: a
// write that started while another was in progress could interleave with
// it on a real pipe.
type overlapWriter struct {
	syncio.Buffer
	inside, overlaps atomic.Int32
}

func (w *overlapWriter) Write(p []byte) (int, error) {
	if w.inside.Add(1) > 1 {
		w.overlaps.Add(1)
	}
	defer w.inside.Add(-1)
	time.Sleep(2 * time.Millisecond) // widen the window
	return w.Buffer.Write(p)
}

// The regions' lookups retry concurrently; every retry line is whole, and no
// two writes overlap.
func TestRetryLinesConcurrentRegions(t *testing.T) {
	srv := emulator(t)
	srv.AddImage("cn-beijing", emuImage("m-bjnew0001", "2024-02-05T00:00:00Z"))
	srv.Throttle(describeAction, 9)
	srv.Delay(describeAction, 20*time.Millisecond)
	s := newStep(t, keyed(srv, "region", "cn-hangzhou,cn-shanghai,cn-beijing"))
	s.env["RUNNER_DEBUG"] = "1" // the core's trace is written concurrently too
	w := &overlapWriter{}
	s.code = Main(context.Background(), s.getenv, w, viaEmulator(srv))
	out := w.String()
	if s.code != 0 {
		t.Fatalf("exit %d\n%s", s.code, out)
	}
	if n := w.overlaps.Load(); n != 0 {
		t.Errorf("%d writes overlapped another", n)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "retrying") && !retryLine.MatchString(l) {
			t.Errorf("broken retry line %q", l)
		}
		if retryLine.MatchString(l) {
			n++
		}
	}
	if n != 9 {
		t.Errorf("%d retry lines, want 9", n)
	}
}

// ---- fan-out ----

// Several regions are passed to the core with concurrency 0: one wave, up
// to imagefamily.DefaultConcurrency (imagefamily TestFanOutRespectsConcurrencyCap).
func TestFanOutOneWave(t *testing.T) {
	var got []int
	core := &fakeCore{images: map[string]imagefamily.Image{}}
	record := func(c *config) {
		inner := c.resolveRegions
		c.resolveRegions = func(ctx context.Context, req imagefamily.Request, regions []string, n int) ([]imagefamily.Result, error) {
			got = append(got, n)
			return inner(ctx, req, regions, n)
		}
	}
	regions := []string{"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "ap-southeast-1"}
	for _, r := range regions {
		core.images[r] = sampleImage("m-" + r)
	}
	s := newStep(t, map[string]string{"region": strings.Join(regions, ","), "image-family": "web-base"}).run(core.option(), record)
	if s.code != 0 || len(got) != 1 || got[0] != 0 {
		t.Fatalf("exit %d, concurrency passed %v, want [0]", s.code, got)
	}
}

// ---- action.yml ----

// TestActionYAMLPassesEveryInput: every input action.yml declares reaches
// the runtime (a composite action passes each one explicitly as
// INPUT_<NAME>; a forgotten line would make the input silently do
// nothing), and every input the runtime reads is declared.
func TestActionYAMLPassesEveryInput(t *testing.T) {
	yml, declared := actionYAML(t, "inputs:", "# fields:begin")
	internal := map[string]bool{"action-ref": true, "action-repository": true}
	for _, name := range declared {
		if internal[name] {
			continue
		}
		env := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if line := "        " + env + ": ${{ inputs." + name + " }}\n"; !strings.Contains(yml, line) {
			t.Errorf("action.yml declares input %s but does not pass it (%q)", name, strings.TrimSpace(line))
		}
	}
	for _, m := range regexp.MustCompile(`input\(a, "([a-z-]+)"\)`).FindAllStringSubmatch(readFile(t, "inputs.go"), -1) {
		if !slices.Contains(declared, m[1]) {
			t.Errorf("the runtime reads input %s, which action.yml does not declare", m[1])
		}
	}
	for _, name := range []string{"architecture", "os-type", "max-age", "owners", "expected-image-ids", "fail-on-change", "wait-timeout", "newer-than"} {
		if !slices.Contains(declared, name) {
			t.Errorf("input %s is not declared", name)
		}
	}
}

// actionYAML reads ../action.yml and the names declared (two spaces in) in
// its block from the line start to the line end.
func actionYAML(t *testing.T, start, end string) (string, []string) {
	yml := readFile(t, "../action.yml")
	_, block, _ := strings.Cut(yml, "\n"+start+"\n")
	block, _, _ = strings.Cut(block, "\n"+end)
	var declared []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z-]+):$`).FindAllStringSubmatch(block, -1) {
		declared = append(declared, m[1])
	}
	return yml, declared
}
