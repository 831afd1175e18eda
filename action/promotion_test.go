package action

// Release promotion through the action's entry point (Main) against the real
// core and the in-process emulator: guards, drift (expected-image-ids,
// changed, fail-on-change), waiting (wait-timeout, newer-than), retry lines,
// the GitHub ID-token request's retries, the one-wave fan-out and shared
// families. The bad values of each input are rows of
// action_badinput_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/sethvargo/go-githubactions"

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


// linesWith returns the step's stdout lines that start with prefix.
func linesWith(s *step, prefix string) []string { return annotations(s, prefix) }

func fixedClock(ts string) func(*imagefamily.Request) {
	now, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		panic(err)
	}
	return func(r *imagefamily.Request) { r.Guards.Now = func() time.Time { return now } }
}

// ---- guards ----

func TestGuardsPass(t *testing.T) {
	srv := emulator(t)
	for _, in := range [][]string{
		{"architecture", "x86_64"},
		{"os-type", "Linux"}, // the API's values, in any case
		{"architecture", "X86_64", "os-type", "linux", "max-age", "30d"},
		{"max-age", "720h"},
		{"region", "cn-hangzhou,cn-shanghai", "architecture", "x86_64", "max-age", "30d"},
	} {
		t.Run(strings.Join(in, " "), func(t *testing.T) {
			srv.ResetCounts()
			// m-hznew0001 was created 2024-02-01, m-shnew0001 2024-02-02: ten days old.
			s := newStep(t, keyed(srv, in...)).runMain(viaEmulator(srv), WithRequest(fixedClock("2024-02-11T00:00:00Z")))
			if s.code != 0 || s.outputs()["image-id"] == "" || s.outputs()["found"] != "true" {
				t.Fatalf("exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
			}
		})
	}
}

func TestGuardsRefuse(t *testing.T) {
	srv := emulator(t)
	rows := []struct {
		name  string
		in    []string
		frags []string
	}{
		{"architecture", []string{"architecture", "arm64"},
			[]string{"fails the architecture guard: expected \"arm64\", found \"x86_64\""}},
		{"fail-if-not-found false does not let a refused image through", []string{"architecture", "i386", "fail-if-not-found", "false"},
			[]string{"expected \"i386\", found \"x86_64\""}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			srv.ResetCounts()
			s := newStep(t, keyed(srv, row.in...)).runMain(viaEmulator(srv))
			if s.code != 5 {
				t.Errorf("exit %d, want 5 (a guard, as in the CLI)", s.code)
			}
			errs := annotations(s, "::error ")
			if len(errs) != 1 {
				t.Fatalf("%d ::error annotations, want 1:\n%s", len(errs), s.stdout)
			}
			// The image's id, name and creation time, and expected vs found.
			for _, f := range append([]string{
				"::error title=Image refused by a guard in cn-hangzhou::",
				`image family "web-base" in region cn-hangzhou resolved to m-hznew0001 (web-base-m-hznew0001, created 2024-02-01T00:00:00Z)`,
			}, row.frags...) {
				if !strings.Contains(errs[0], f) {
					t.Errorf("annotation lacks %q:\n%s", f, errs[0])
				}
			}
			// Outputs as on any failure: nothing usable was found.
			checkFailureOutputs(t, s)
			if sum := s.summary(); !strings.Contains(sum, "| cn-hangzhou | failed: image refused by a guard |") {
				t.Errorf("summary:\n%s", sum)
			}
			if n := srv.Requests(describeAction); n != 1 {
				t.Errorf("%d requests, want 1 (a refused image is not retried)", n)
			}
		})
	}
}

// With several regions every region is checked; the one that passes is
// still in image-ids.
func TestGuardsSeveralRegions(t *testing.T) {
	srv := emulator(t)
	srv.AddImage("cn-beijing", ecs.Image{ImageId: "m-bjarm", ImageName: "web-base-arm", ImageFamily: "web-base",
		Status: "Available", CreationTime: "2024-02-03T00:00:00Z", Architecture: "arm64", OSType: "linux", Size: 40, IsSelfShared: "false"})
	s := newStep(t, keyed(srv, "region", "cn-hangzhou,cn-beijing", "architecture", "x86_64")).runMain(viaEmulator(srv))
	if s.code != 5 {
		t.Errorf("exit %d, want 5 (a guard, as in the CLI)", s.code)
	}
	errs := annotations(s, "::error ")
	if len(errs) != 1 || !strings.Contains(errs[0], "title=Image refused by a guard in cn-beijing::") ||
		!strings.Contains(errs[0], `resolved to m-bjarm (web-base-arm, created 2024-02-03T00:00:00Z)`) ||
		!strings.Contains(errs[0], `expected "x86_64", found "arm64"`) {
		t.Errorf("annotations %q", errs)
	}
	if outs := s.outputs(); outs["image-ids"] != `{"cn-hangzhou":"m-hznew0001"}` || outs["found"] != "false" || outs["image-id"] != "m-hznew0001" {
		t.Errorf("outputs %v", outs)
	}
}

// ---- drift ----

func TestDriftUnchanged(t *testing.T) {
	srv := emulator(t)
	for _, fail := range []string{"false", "true"} {
		s := newStep(t, keyed(srv, "expected-image-ids", `{"cn-hangzhou":"m-hznew0001"}`, "fail-on-change", fail)).runMain(viaEmulator(srv))
		if s.code != 0 || s.outputs()["changed"] != "false" || s.outputs()["image-id"] != "m-hznew0001" {
			t.Errorf("fail-on-change %s: exit %d, outputs %v\n%s", fail, s.code, s.outputs(), s.stdout)
		}
		if w := annotations(s, "::warning"); len(w) != 0 {
			t.Errorf("warnings %q", w)
		}
		if !strings.Contains(s.summary(), "Unchanged: every region compared with `expected-image-ids` has the expected image.") {
			t.Errorf("summary:\n%s", s.summary())
		}
	}
}

func TestDriftChanged(t *testing.T) {
	srv := emulator(t)
	s := newStep(t, keyed(srv, "expected-image-ids", `{"cn-hangzhou":"m-hzold0001"}`)).runMain(viaEmulator(srv))
	if s.code != 0 {
		t.Errorf("exit %d, want 0 (fail-on-change defaults to false)", s.code)
	}
	outs := s.outputs()
	if outs["changed"] != "true" || outs["image-id"] != "m-hznew0001" || outs["image-ids"] != `{"cn-hangzhou":"m-hznew0001"}` || outs["found"] != "true" {
		t.Errorf("outputs %v", outs)
	}
	const line = "cn-hangzhou: m-hzold0001 -> m-hznew0001 (created 2024-02-01T00:00:00Z)"
	w := annotations(s, "::warning ")
	if len(w) != 1 || w[0] != "::warning title=Newest image changed in cn-hangzhou::"+line {
		t.Errorf("warnings %q", w)
	}
	if len(annotations(s, "::error")) != 0 {
		t.Errorf("an ::error without fail-on-change:\n%s", s.stdout)
	}
	sum := s.summary()
	if !strings.Contains(sum, "**Changed** since `expected-image-ids` (so `changed` is `true`):") ||
		!strings.Contains(sum, "- cn-hangzhou: m-hzold0001 -&gt; m-hznew0001 (created 2024-02-01T00:00:00Z)\n") {
		t.Errorf("summary:\n%s", sum)
	}
}

func TestDriftFailOnChange(t *testing.T) {
	srv := emulator(t)
	s := newStep(t, keyed(srv, "expected-image-ids", `{"cn-hangzhou":"m-hzold0001"}`, "fail-on-change", "true")).runMain(viaEmulator(srv))
	if s.code != 4 {
		t.Errorf("exit %d, want 4 (a change, as in the CLI)", s.code)
	}
	outs := s.outputs()
	if outs["changed"] != "true" || outs["image-id"] != "m-hznew0001" || outs["image-ids"] != `{"cn-hangzhou":"m-hznew0001"}` {
		t.Errorf("outputs %v (they must still hold the new ids)", outs)
	}
	e := annotations(s, "::error ")
	if len(e) != 1 || e[0] != "::error title=Newest image changed in cn-hangzhou::cn-hangzhou: m-hzold0001 -> m-hznew0001 (created 2024-02-01T00:00:00Z)" {
		t.Errorf("errors %q", e)
	}
	if len(annotations(s, "::warning")) != 0 {
		t.Errorf("a warning as well as the error:\n%s", s.stdout)
	}
	if !strings.Contains(s.summary(), "and `fail-on-change` is `true`, so the step fails") {
		t.Errorf("summary:\n%s", s.summary())
	}
}

// Several regions: only the regions that moved are changes, in input order;
// a region missing from expected-image-ids is not compared.
func TestDriftSeveralRegions(t *testing.T) {
	srv := emulator(t)
	srv.AddImage("cn-beijing", emuImage("m-bjnew0001", "2024-02-05T00:00:00Z"))
	s := newStep(t, keyed(srv, "region", "cn-shanghai,cn-beijing,cn-hangzhou",
		"expected-image-ids", `{"cn-hangzhou":"m-hzold0001","cn-shanghai":"m-shnew0001"}`)).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["changed"] != "true" {
		t.Fatalf("exit %d outputs %v", s.code, s.outputs())
	}
	w := annotations(s, "::warning ")
	if len(w) != 1 || !strings.HasSuffix(w[0], "::cn-hangzhou: m-hzold0001 -> m-hznew0001 (created 2024-02-01T00:00:00Z)") {
		t.Errorf("warnings %q", w)
	}
	if got := s.outputs()["image-ids"]; got != `{"cn-beijing":"m-bjnew0001","cn-hangzhou":"m-hznew0001","cn-shanghai":"m-shnew0001"}` {
		t.Errorf("image-ids %s", got)
	}
}

// The image-ids output of one run is exactly what the next run's
// expected-image-ids reads: committed as it is (here with the trailing
// newline of a file), it reads as unchanged until the family moves.
func TestDriftRoundTrip(t *testing.T) {
	srv := emulator(t)
	first := newStep(t, keyed(srv, "region", "cn-hangzhou\ncn-shanghai")).runMain(viaEmulator(srv))
	committed := first.outputs()["image-ids"] + "\n"

	s := newStep(t, keyed(srv, "region", "cn-hangzhou\ncn-shanghai", "expected-image-ids", committed, "fail-on-change", "true")).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["changed"] != "false" {
		t.Fatalf("exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}

	srv.AddImage("cn-shanghai", emuImage("m-shnewer001", "2024-03-03T00:00:00Z"))
	s = newStep(t, keyed(srv, "region", "cn-hangzhou\ncn-shanghai", "expected-image-ids", committed, "fail-on-change", "true")).runMain(viaEmulator(srv))
	if s.code != 4 || s.outputs()["changed"] != "true" ||
		s.outputs()["image-ids"] != `{"cn-hangzhou":"m-hznew0001","cn-shanghai":"m-shnewer001"}` {
		t.Fatalf("exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
	if e := annotations(s, "::error "); len(e) != 1 || !strings.HasSuffix(e[0], "::cn-shanghai: m-shnew0001 -> m-shnewer001 (created 2024-03-03T00:00:00Z)") {
		t.Errorf("errors %q", e)
	}
}

// A region that failed is not a change (its failure is reported as such),
// and changed stays false.
func TestDriftRegionNotFound(t *testing.T) {
	srv := emulator(t)
	s := newStep(t, keyed(srv, "region", "cn-beijing", "expected-image-ids", `{"cn-beijing":"m-bjold0001"}`,
		"fail-if-not-found", "false")).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["changed"] != "false" || s.outputs()["found"] != "false" {
		t.Errorf("exit %d outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
}

// ---- waiting ----

func TestWaitForImage(t *testing.T) {
	srv := emulator(t)
	// cn-beijing has no web-base image; one appears after two more answers.
	srv.AddImageAfter("cn-beijing", emuImage("m-bjnew0001", "2024-05-01T00:00:00Z"), 2)
	s := newStep(t, keyed(srv, "region", "cn-beijing", "wait-timeout", "10m")).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["image-id"] != "m-bjnew0001" {
		t.Fatalf("exit %d outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
	want := []string{
		"waiting in cn-beijing: poll 1 saw no available image; next poll in 2s",
		"waiting in cn-beijing: poll 2 saw no available image; next poll in 4s",
	}
	if got := linesWith(s, "waiting in "); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines %q, want %q", got, want)
	}
	if n := srv.Requests(describeAction); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestWaitNewerThan(t *testing.T) {
	srv := emulator(t)
	srv.AddImageAfter("cn-hangzhou", emuImage("m-hznewer001", "2024-04-01T00:00:00Z"), 1)
	s := newStep(t, keyed(srv, "newer-than", "m-hznew0001", "wait-timeout", "3600")).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["image-id"] != "m-hznewer001" {
		t.Fatalf("exit %d outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
	got := linesWith(s, "waiting in ")
	if len(got) != 1 || got[0] != "waiting in cn-hangzhou: poll 1 saw m-hznew0001 (created 2024-02-01T00:00:00Z); next poll in 2s" {
		t.Errorf("progress lines %q", got)
	}
	// newer-than combines with drift: the new image is a change.
	srv.AddImageAfter("cn-hangzhou", emuImage("m-hznewest", "2024-04-02T00:00:00Z"), 1)
	s = newStep(t, keyed(srv, "newer-than", "m-hznewer001", "wait-timeout", "1h",
		"expected-image-ids", `{"cn-hangzhou":"m-hznewer001"}`)).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["image-id"] != "m-hznewest" || s.outputs()["changed"] != "true" {
		t.Errorf("exit %d outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}
}

// At the deadline the step fails as "not found" (exit 3), saying how long it
// waited, how many polls and what it last saw; with fail-if-not-found
// false it is a warning.
func TestWaitDeadline(t *testing.T) {
	srv := emulator(t)
	// Real pauses: poll at 0s, pause 2s, poll at 2s, pause 1s (not 4s: the
	// time left), the last poll at the 3s deadline.
	start := time.Now()
	s := newStep(t, keyed(srv, "region", "cn-beijing", "wait-timeout", "3s")).runMain(realSleep(srv))
	elapsed := time.Since(start)
	if s.code != 3 {
		t.Errorf("exit %d, want 3", s.code)
	}
	e := annotations(s, "::error ")
	if len(e) != 1 || !strings.Contains(e[0], `no available image in family "web-base" in region cn-beijing after waiting 3s (3 polls; last seen: no available image)`) {
		t.Errorf("errors %q", e)
	}
	if elapsed < 3*time.Second || elapsed > 7*time.Second {
		t.Errorf("took %v, want about 3s", elapsed)
	}
	checkFailureOutputs(t, s)
	if p := linesWith(s, "waiting in cn-beijing: poll "); len(p) != 2 || !strings.HasSuffix(p[1], "(the last, at the deadline)") {
		t.Errorf("progress lines %q, want 2, the second announcing the last poll", p)
	}

	// newer-than: the last image seen is named.
	s = newStep(t, keyed(srv, "newer-than", "m-hznew0001", "wait-timeout", "3s", "fail-if-not-found", "false")).runMain(viaEmulator(srv))
	if s.code != 0 || s.outputs()["found"] != "false" {
		t.Errorf("exit %d, outputs %v", s.code, s.outputs())
	}
	w := annotations(s, "::warning ")
	if len(w) != 1 || !strings.Contains(w[0], "no available image newer than m-hznew0001 in family \"web-base\" in region cn-hangzhou after waiting") ||
		!strings.Contains(w[0], "last seen: m-hznew0001 (created 2024-02-01T00:00:00Z)") {
		t.Errorf("warnings %q", w)
	}
}

// wait-timeout 0 is no waiting: one request, no progress line.
func TestWaitZero(t *testing.T) {
	srv := emulator(t)
	s := newStep(t, keyed(srv, "region", "cn-beijing", "wait-timeout", "0")).runMain(viaEmulator(srv))
	if s.code != 3 || srv.Requests(describeAction) != 1 || len(linesWith(s, "waiting in ")) != 0 {
		t.Errorf("exit %d, %d requests\n%s", s.code, srv.Requests(describeAction), s.stdout)
	}
}

// ---- retries ----

var retryLine = regexp.MustCompile(`^retrying ECS DescribeImageFromFamily for family "web-base" in region (cn-[a-z]+): attempt (\d) of 5 failed \(Throttling\.User, HTTP 400, RequestId [0-9A-F-]+\); next attempt in [0-9.]+m?s$`)

func TestRetryLines(t *testing.T) {
	srv := emulator(t)
	srv.Throttle(describeAction, 2)
	s := newStep(t, keyed(srv)).runMain(viaEmulator(srv))
	if s.code != 0 {
		t.Fatalf("exit %d\n%s", s.code, s.stdout)
	}
	lines := linesWith(s, "retrying ")
	if len(lines) != 2 {
		t.Fatalf("%d retry lines, want 2:\n%s", len(lines), s.stdout)
	}
	for i, l := range lines {
		m := retryLine.FindStringSubmatch(l)
		if m == nil || m[1] != "cn-hangzhou" || m[2] != fmt.Sprint(i+1) {
			t.Errorf("retry line %q", l)
		}
	}
}

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
	regions := map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "retrying") {
			m := retryLine.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("broken retry line %q", l)
				continue
			}
			regions[m[1]]++
		}
	}
	if regions["cn-hangzhou"]+regions["cn-shanghai"]+regions["cn-beijing"] != 9 {
		t.Errorf("retry lines per region %v, want 9 in all", regions)
	}
}

// ---- the GitHub ID-token request ----

// flakyTokenService answers the first failures requests with fail, then
// mints tokens as githubTokenService does.
func flakyTokenService(t *testing.T, failures int, fail func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32, *[]string) {
	var n atomic.Int32
	var mu sync.Mutex
	var minted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= failures {
			fail(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer runtime-request-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := jwt(r.URL.Query().Get("audience"), time.Now().Add(5*time.Minute))
		mu.Lock()
		minted = append(minted, tok)
		mu.Unlock()
		fmt.Fprintf(w, `{"count":1,"value":%q}`, tok)
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &minted
}

var tokenRetryLine = regexp.MustCompile(`^retrying GitHub ID-token request for audience "sts\.aliyuncs\.com": attempt (\d) of 5 failed \((.+)\); next attempt in [0-9.]+m?s$`)

func TestOIDCTokenRetried(t *testing.T) {
	srv := emulator(t)
	status := func(code int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "try later", code) }
	}
	reset := func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
			conn.Close()
		}
	}
	rows := []struct {
		name     string
		failures int
		fail     func(http.ResponseWriter, *http.Request)
		code     int
		requests int
		reasons  []string // of the retry lines
		frag     string   // in the ::error annotation
	}{
		{"503 twice then a token", 2, status(503), 0, 3, []string{"HTTP 503", "HTTP 503"}, ""},
		{"500 once then a token", 1, status(500), 0, 2, []string{"HTTP 500"}, ""},
		{"connection reset once then a token", 1, reset, 0, 2, []string{"connection reset"}, ""},
		{"503 on every attempt", 100, status(503), 1, 5, []string{"HTTP 503", "HTTP 503", "HTTP 503", "HTTP 503"},
			`GitHub refused to mint an ID token for audience "sts.aliyuncs.com" (HTTP 503 after 5 attempts): try later`},
		{"401 is not retried", 100, status(401), 1, 1, nil, "(HTTP 401): try later"},
		{"403 is not retried", 100, status(403), 1, 1, nil, "(HTTP 403): try later"},
		{"429 is not retried (a 4xx)", 100, status(429), 1, 1, nil, "(HTTP 429): try later"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			srv.ResetCounts()
			tokens, n, minted := flakyTokenService(t, row.failures, row.fail)
			s := oidcStep(t, srv, tokens).runMain(viaEmulator(srv))
			s.assertNoSecrets(*minted...)
			if s.code != row.code {
				t.Errorf("exit %d, want %d", s.code, row.code)
			}
			if got := int(n.Load()); got != row.requests {
				t.Errorf("the token service saw %d requests, want %d", got, row.requests)
			}
			lines := linesWith(s, "retrying ")
			if len(lines) != len(row.reasons) {
				t.Errorf("%d retry lines, want %d", len(lines), len(row.reasons))
			}
			for i, l := range lines {
				m := tokenRetryLine.FindStringSubmatch(l)
				if m == nil || m[1] != fmt.Sprint(i+1) || i >= len(row.reasons) || !strings.Contains(m[2], row.reasons[i]) {
					t.Errorf("retry line %q", l)
				}
			}
			if row.code == 0 {
				if s.outputs()["image-id"] != "m-hznew0001" || srv.Requests("AssumeRoleWithOIDC") != 1 || len(*minted) != 1 {
					t.Errorf("outputs %v, AssumeRoleWithOIDC %d, minted %d", s.outputs(), srv.Requests("AssumeRoleWithOIDC"), len(*minted))
				}
				// The token is masked before it is used, retries or not.
				if !strings.Contains(s.stdout.String(), "::add-mask::"+(*minted)[0]+"\n") {
					t.Error("the ID token was not masked")
				}
			} else {
				e := annotations(s, "::error ")
				if len(e) != 1 || !strings.Contains(e[0], row.frag) {
					t.Errorf("errors %q, want %q", e, row.frag)
				}
				checkFailureOutputs(t, s)
				if srv.Requests("") != 0 {
					t.Errorf("the emulator saw %d requests", srv.Requests(""))
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s", s.stdout)
			}
		})
	}
}

// A token request that times out (the HTTP client's timeout, well inside
// the timeout input) is retried; one that runs into the timeout input is
// not, there is no time left.
func TestOIDCTokenTimeoutRetried(t *testing.T) {
	srv := emulator(t)
	tokens, n, minted := flakyTokenService(t, 1, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	s := oidcStep(t, srv, tokens)
	a := githubactions.New(githubactions.WithGetenv(s.getenv), githubactions.WithWriter(s.stdout),
		githubactions.WithHTTPClient(&http.Client{
			Transport:     imagefamily.GuardTransport(nil, idTokenService),
			CheckRedirect: imagefamily.NoRedirects,
			Timeout:       300 * time.Millisecond,
		}))
	s.err = Run(context.Background(), a, viaEmulator(srv))
	s.code = ExitCode(s.err)
	s.scanAll()
	s.assertNoSecrets(*minted...)
	if s.code != 0 || n.Load() != 2 {
		t.Fatalf("exit %d, %d token requests\n%s", s.code, n.Load(), s.stdout)
	}
	lines := linesWith(s, "retrying ")
	if len(lines) != 1 || !strings.Contains(lines[0], "attempt 1 of 5 failed (no answer in time: ") {
		t.Errorf("retry lines %q", lines)
	}
}

// ---- fan-out ----

// Several regions are passed to the core with concurrency 0: one wave, up
// to imagefamily.DefaultConcurrency.
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

	// Against the emulator: six regions, each answer delayed 400ms, take
	// about one answer's time, not six.
	srv := emulator(t)
	var six []string
	for i := 1; i <= 6; i++ {
		r := fmt.Sprintf("cn-wave-%d", i)
		srv.AddImage(r, emuImage("m-wave"+fmt.Sprint(i), "2024-02-01T00:00:00Z"))
		six = append(six, r)
	}
	srv.Delay(describeAction, 400*time.Millisecond)
	start := time.Now()
	s = newStep(t, keyed(srv, "region", strings.Join(six, ","))).runMain(viaEmulator(srv))
	elapsed := time.Since(start)
	if s.code != 0 {
		t.Fatalf("exit %d\n%s", s.code, s.stdout)
	}
	var ids map[string]string
	if err := json.Unmarshal([]byte(s.outputs()["image-ids"]), &ids); err != nil || len(ids) != 6 {
		t.Errorf("image-ids %s", s.outputs()["image-ids"])
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("six regions took %v; one wave takes about 400ms, one at a time 2.4s", elapsed)
	}
	t.Logf("six regions with 400ms answers: %v", elapsed.Round(time.Millisecond))
}

// ---- shared families ----

func demoEmulator(t *testing.T) *ecstest.Server {
	t.Helper()
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ecstest.Start(f, ecstest.Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestSharedFamily(t *testing.T) {
	srv := demoEmulator(t)
	keys := []string{"access-key-id", "LTAIDEMOACCESSKEYID0001", "access-key-secret", "demo-secret-NOT-A-REAL-SECRET-0001"}
	step := func(kv ...string) *step {
		s := newStep(t, emuInputs(srv, append(append([]string{}, keys...), kv...)...)).runMain(viaEmulator(srv))
		s.assertNoSecrets("demo-secret-NOT-A-REAL-SECRET-0001")
		return s
	}

	s := step("image-family", "acs:210987654321:golden-base")
	outs := s.outputs()
	if s.code != 0 || outs["image-id"] != "m-bp1sharedgolden00001" || outs["image-owner-alias"] != "others" || outs["image-owner-id"] != "210987654321" {
		t.Errorf("shared: exit %d outputs %v\n%s", s.code, outs, s.stdout)
	}
	if !strings.Contains(s.summary(), "### Alibaba Cloud image family `acs:210987654321:golden-base`") {
		t.Errorf("summary:\n%s", s.summary())
	}
	// Guards and drift work on a shared family as on any.
	s = step("image-family", "acs:210987654321:golden-base", "architecture", "x86_64",
		"expected-image-ids", `{"cn-hangzhou":"m-bp1sharedgolden00001"}`, "fail-on-change", "true")
	if s.code != 0 || s.outputs()["changed"] != "false" {
		t.Errorf("shared with guards and drift: exit %d outputs %v", s.code, s.outputs())
	}

	// The owners guard: the owner's account id or "others" pass; "self"
	// refuses the shared image (exit 5), naming the owner found and the
	// owners allowed.
	for _, owners := range []string{"210987654321", "self\nothers"} {
		if s = step("image-family", "acs:210987654321:golden-base", "owners", owners); s.code != 0 {
			t.Errorf("owners %q: exit %d\n%s", owners, s.code, s.stdout)
		}
	}
	s = step("image-family", "acs:210987654321:golden-base", "owners", "self, 123456789012")
	if e := annotations(s, "::error "); s.code != 5 || len(e) != 1 ||
		!strings.Contains(e[0], `fails the owners guard: expected an image owned by one of self, 123456789012, found ImageOwnerAlias \"others\", ImageOwnerId 210987654321`) &&
			!strings.Contains(e[0], `fails the owners guard: expected an image owned by one of self, 123456789012, found ImageOwnerAlias "others", ImageOwnerId 210987654321`) {
		t.Errorf("owners refused: exit %d, errors %q", s.code, e)
	}

	s = step("image-family", "acs:alibaba_cloud_linux_3_2104_lts_x64")
	if s.code != 0 || s.outputs()["image-id"] != "aliyun_3_x64_20G_alibase_20240819.vhd" {
		t.Errorf("public: exit %d outputs %v\n%s", s.code, s.outputs(), s.stdout)
	}

	// Shared by another owner, or not shared with this account: not found,
	// with the share hint.
	const hint = "a shared family is seen only when its owner (account 999999999999) has shared an Available image of it with this account in this region"
	s = step("image-family", "acs:999999999999:golden-base")
	e := annotations(s, "::error ")
	if s.code != 3 || len(e) != 1 || !strings.Contains(e[0], `no available image in family \"acs:999999999999:golden-base\" in region cn-hangzhou`) && !strings.Contains(e[0], `no available image in family "acs:999999999999:golden-base" in region cn-hangzhou`) ||
		!strings.Contains(e[0], hint) {
		t.Errorf("missing share: exit %d, errors %q", s.code, e)
	}
	checkFailureOutputs(t, s)
	s = step("image-family", "acs:999999999999:golden-base", "fail-if-not-found", "false")
	if w := annotations(s, "::warning "); s.code != 0 || len(w) != 1 || !strings.Contains(w[0], hint) {
		t.Errorf("missing share, fail-if-not-found false: exit %d, warnings %q", s.code, w)
	}
}

// ---- action.yml ----

// TestActionYAMLPassesEveryInput: every input action.yml declares reaches
// the runtime (a composite action passes each one explicitly as
// INPUT_<NAME>; a forgotten line would make the input silently do
// nothing), and every input the runtime reads is declared.
func TestActionYAMLPassesEveryInput(t *testing.T) {
	yml, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(yml), "\ninputs:\n")
	block, _, _ = strings.Cut(block, "\n# fields:begin")
	var declared []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z-]+):$`).FindAllStringSubmatch(block, -1) {
		declared = append(declared, m[1])
	}
	internal := map[string]bool{"action-ref": true, "action-repository": true}
	for _, name := range declared {
		if internal[name] {
			continue
		}
		env := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if line := "        " + env + ": ${{ inputs." + name + " }}\n"; !strings.Contains(string(yml), line) {
			t.Errorf("action.yml declares input %s but does not pass it (%q)", name, strings.TrimSpace(line))
		}
	}
	src, err := os.ReadFile("inputs.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`input\(a, "([a-z-]+)"\)`).FindAllStringSubmatch(string(src), -1) {
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
