package ecstest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/emulatorproc"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
)

func newControlled(t *testing.T, tls bool) *ecstest.Server {
	t.Helper()
	s, err := ecstest.Start(ecstest.DemoFixtureT(t), ecstest.Options{TLS: tls, Control: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func wantControlError(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var ce *emulatorproc.ControlError
	if !errors.As(err, &ce) || ce.StatusCode != status || !strings.Contains(ce.Message, msg) {
		t.Fatalf("want control error %d %q, got %v", status, msg, err)
	}
}

func counts(t *testing.T, c *emulatorproc.Control) ecstest.RequestCounts {
	t.Helper()
	rc, err := c.Requests()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// A library user's server has no control API: /_emulator/ answers a clear
// 404, changes nothing and is not counted, so a test of "exactly N requests"
// is undisturbed.
func TestControlOffByDefault(t *testing.T) {
	s := ecstest.NewDemo(t, false)
	c := &emulatorproc.Control{BaseURL: s.URL} // nil Client: the default one, fine for plain HTTP
	_, err := c.Requests()
	wantControlError(t, err, 404, "control API is disabled")
	wantControlError(t, c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultDrop}), 404, "disabled")
	if _, err := ecstest.Describe(ecstest.ECSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, ""), s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatalf("a refused control call injected a fault: %v", err)
	}
	if n := s.Requests(""); n != 1 {
		t.Fatalf("Requests = %d, want 1 (control calls are not API requests)", n)
	}
}

func TestControlCountsAndFaults(t *testing.T) {
	s := newControlled(t, true)
	c := controlOf(s)
	ec := ecstest.ECSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, "")

	if rc := counts(t, c); rc.All != 0 || len(rc.ByAction) != 0 {
		t.Fatalf("fresh counts %+v", rc)
	}
	if _, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // asking twice proves the control calls are not counted
		if rc := counts(t, c); rc.All != 1 || rc.ByAction[ecstest.DescribeAction] != 1 || len(rc.ByAction) != 1 {
			t.Fatalf("counts %+v", rc)
		}
	}
	if s.Requests("") != 1 || s.LastRequest("").Action != ecstest.DescribeAction {
		t.Fatalf("server counted control calls: %d", s.Requests(""))
	}

	// A fault set over the control API answers the next SDK-ecstest.Signed requests.
	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultStatus, Action: ecstest.DescribeAction, N: 2, Status: 503}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base")
		ecstest.WantServerError(t, err, 503, "ServiceUnavailable")
	}
	if _, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatalf("after n=2: %v", err)
	}
	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultThrottle}); err != nil { // n defaults to 1, every ecstest.DescribeAction
		t.Fatal(err)
	}
	_, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base")
	ecstest.WantServerError(t, err, 400, "Throttling.User")
	if err := c.Fault(ecstest.FaultSpec{Kind: "status", Status: 500, Code: "InternalError", Action: "AssumeRole", N: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatalf("a fault for another ecstest.DescribeAction applied: %v", err)
	}
	// Skip lets the first matching requests through: the fault answers a
	// later call (a read back).
	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultStatus, Action: ecstest.DescribeAction, N: 1, Skip: 2, Status: 503}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base"); err != nil {
			t.Fatalf("request %d, skipped: %v", i+1, err)
		}
	}
	_, err = ecstest.Describe(ec, s, "cn-hangzhou", "web-base")
	ecstest.WantServerError(t, err, 503, "ServiceUnavailable")
	if _, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatalf("after skip 2, n 1: %v", err)
	}
	if err := c.ClearFaults(); err != nil {
		t.Fatal(err)
	}
	if _, err := ecstest.AssumeRoleT(ecstest.STSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, ""), s, ecstest.ReaderRole, "after-clear"); err != nil {
		t.Fatalf("ClearFaults left a fault: %v", err)
	}

	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultThrottle429, RetryAfter: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	a := ecstest.Raw(t, s, http.MethodPost, ecstest.Signed("POST", ecstest.DemoKey, ecstest.DemoSecret, nil), nil)
	if e := ecstest.DecodeError(t, a); a.Status != 429 || e.Code != "Throttling" || a.Header.Get("x-acs-retry-after") != "1500" {
		t.Fatalf("throttle429: %d %+v %v", a.Status, e, a.Header)
	}
	// "retry_after": "0s" sends the header with 0, as a server may.
	req, _ := http.NewRequest(http.MethodPost, s.URL+ecstest.ControlPrefix+"faults", strings.NewReader(`{"kind": "throttle", "retry_after": "0s"}`))
	if resp, err := s.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("retry_after 0s: %v %v", resp, err)
	}
	a = ecstest.Raw(t, s, http.MethodPost, ecstest.Signed("POST", ecstest.DemoKey, ecstest.DemoSecret, nil), nil)
	if v, ok := a.Header["X-Acs-Retry-After"]; a.Status != 400 || !ok || len(v) != 1 || v[0] != "0" {
		t.Fatalf("throttle with retry_after 0s: %d %v", a.Status, a.Header)
	}

	// The body faults and drop, each once.
	for _, tc := range []struct {
		kind ecstest.FaultKind
		ok   func(ecstest.RawAnswer) bool
	}{
		{ecstest.FaultMalformed, func(a ecstest.RawAnswer) bool { return a.Err == nil && a.Status == 200 && !json.Valid(a.Body) }},
		{ecstest.FaultEmpty, func(a ecstest.RawAnswer) bool { return a.Err == nil && a.Status == 200 && len(a.Body) == 0 }},
		{ecstest.FaultTruncated, func(a ecstest.RawAnswer) bool { return errors.Is(a.Err, io.ErrUnexpectedEOF) }},
		{ecstest.FaultDrop, func(a ecstest.RawAnswer) bool { return a.Err != nil && a.Status == 0 }},
	} {
		if err := c.Fault(ecstest.FaultSpec{Kind: tc.kind, Action: ecstest.DescribeAction}); err != nil {
			t.Fatal(err)
		}
		if a := ecstest.Raw(t, s, http.MethodPost, ecstest.Signed("POST", ecstest.DemoKey, ecstest.DemoSecret, nil), nil); !tc.ok(a) {
			t.Fatalf("%s: %v %d %q", tc.kind, a.Err, a.Status, a.Body)
		}
		if a := ecstest.Raw(t, s, http.MethodPost, ecstest.Signed("POST", ecstest.DemoKey, ecstest.DemoSecret, nil), nil); a.Err != nil || a.Status != 200 {
			t.Fatalf("%s lasted past n=1: %v %d", tc.kind, a.Err, a.Status)
		}
	}

	if err := c.ResetCounts(); err != nil {
		t.Fatal(err)
	}
	if rc := counts(t, c); rc.All != 0 || len(rc.ByAction) != 0 || s.Requests(ecstest.DescribeAction) != 0 {
		t.Fatalf("after reset %+v", rc)
	}
}

func TestControlDelayLatencyHang(t *testing.T) {
	s := newControlled(t, false)
	c := controlOf(s)
	timed := func() (time.Duration, ecstest.RawAnswer) {
		start := time.Now()
		a := ecstest.Raw(t, s, http.MethodPost, ecstest.Signed("POST", ecstest.DemoKey, ecstest.DemoSecret, nil), nil)
		return time.Since(start), a
	}

	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultDelay, Action: ecstest.DescribeAction, Delay: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d, a := timed(); a.Status != 200 || d < 300*time.Millisecond {
		t.Fatalf("delay: %v %d", d, a.Status)
	}
	// Delay 0 removes it (the client sends "0s" rather than omitting it).
	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultDelay, Action: ecstest.DescribeAction}); err != nil {
		t.Fatal(err)
	}
	if d, a := timed(); a.Status != 200 || d >= 300*time.Millisecond {
		t.Fatalf("delay not removed: %v %d", d, a.Status)
	}
	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultLatency, Delay: 250 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d, a := timed(); a.Status != 200 || d < 250*time.Millisecond {
		t.Fatalf("latency: %v %d", d, a.Status)
	}

	// Hang every action: API calls get no answer, but the control API still
	// answers (it runs before faults), so the test can clear it.
	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultHang}); err != nil {
		t.Fatal(err)
	}
	hc := s.Client()
	hc.Timeout = 400 * time.Millisecond
	_, err := hc.Get(s.URL + "/?" + ecstest.Signed("GET", ecstest.DemoKey, ecstest.DemoSecret, nil).Encode())
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("hang: %v", err)
	}
	start := time.Now()
	if err := c.ClearFaults(); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("control blocked by hang: %v after %v", err, time.Since(start))
	}
	if d, a := timed(); a.Status != 200 || d >= 250*time.Millisecond {
		t.Fatalf("after clear-faults: %v %d", d, a.Status)
	}
}

func TestControlImagesAndSessions(t *testing.T) {
	s := newControlled(t, true)
	c := controlOf(s)
	ec := ecstest.ECSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, "")

	img := ecs.Image{
		ImageId: "m-control-new", ImageFamily: "web-base", Status: "Available",
		CreationTime: "2031-01-01T00:00:00Z", Size: 60, OSType: "linux", Architecture: "arm64",
		Tags: ecs.TagsInDescribeImageFromFamily{Tag: []ecs.Tag{{TagKey: "team", TagValue: "infra"}}},
	}
	if err := c.AddImage("cn-hangzhou", img); err != nil {
		t.Fatal(err)
	}
	resp, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base")
	if err != nil || resp.Image.ImageId != "m-control-new" || resp.Image.Size != 60 || resp.Image.Architecture != "arm64" ||
		len(resp.Image.Tags.Tag) != 1 || resp.Image.Tags.Tag[0].TagValue != "infra" {
		t.Fatalf("%v %+v", err, resp)
	}
	wantControlError(t, c.AddImage("cn-hangzhou", img), 409, "already has image m-control-new")

	if err := c.SetImageStatus("cn-hangzhou", "m-control-new", "Deprecated"); err != nil {
		t.Fatal(err)
	}
	if resp, err := ecstest.Describe(ec, s, "cn-hangzhou", "web-base"); err != nil || resp.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("after Deprecated: %v %+v", err, resp)
	}
	wantControlError(t, c.SetImageStatus("cn-hangzhou", "m-nope", "Available"), 404, "no image m-nope in region cn-hangzhou")
	wantControlError(t, c.SetImageStatus("us-west-1", "m-control-new", "Available"), 404, "no image")

	// A new region becomes known.
	img.ImageId = "m-sg-1"
	if err := c.AddImage("ap-southeast-1", img); err != nil {
		t.Fatal(err)
	}
	if resp, err := ecstest.Describe(ec, s, "ap-southeast-1", "web-base"); err != nil || resp.Image.ImageId != "m-sg-1" {
		t.Fatalf("new region: %v %+v", err, resp)
	}

	// Expired STS credentials are refused on the next call.
	ar, err := ecstest.AssumeRoleT(ecstest.STSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, ""), s, ecstest.ReaderRole, "control-expiry")
	if err != nil {
		t.Fatal(err)
	}
	cr := ar.Credentials
	sc := ecstest.ECSClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)
	if _, err := ecstest.Describe(sc, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	if err := c.ExpireSessions(); err != nil {
		t.Fatal(err)
	}
	_, err = ecstest.Describe(sc, s, "cn-hangzhou", "web-base")
	ecstest.WantServerError(t, err, 400, "InvalidSecurityToken.Expired")
}

// Every mistake is a 400 (or 403/404/405) with a message naming it, changes
// nothing and is not counted.
func TestControlBadRequests(t *testing.T) {
	s := newControlled(t, false)
	for _, tc := range []struct {
		method, path, body string
		header             map[string]string
		status             int
		msg                string
	}{
		{"POST", "faults", `{"kind": "throttle"`, nil, 400, "bad JSON"},
		{"POST", "faults", `not json`, nil, 400, "bad JSON"},
		{"POST", "faults", ``, nil, 400, "JSON object body is required"},
		{"POST", "faults", `{"kind": "throttle"} {}`, nil, 400, "data after the object"},
		{"POST", "faults", `{"kind": "throttle", "count": 2}`, nil, 400, `unknown field "count"`},
		{"POST", "faults", `{"kind": "explode"}`, nil, 400, `unknown kind "explode"; known kinds: throttle, throttle429, status`},
		{"POST", "faults", `{}`, nil, 400, `unknown kind ""`},
		{"POST", "faults", `{"kind": "throttle", "n": 0}`, nil, 400, `"n" must be at least 1`},
		{"POST", "faults", `{"kind": "drop", "n": -3}`, nil, 400, `"n" must be at least 1`},
		{"POST", "faults", `{"kind": "drop", "n": "2"}`, nil, 400, "bad JSON"},
		{"POST", "faults", `{"kind": "hang", "n": 2}`, nil, 400, `takes no "n"`},
		{"POST", "faults", `{"kind": "status"}`, nil, 400, `"status" between 400 and 599`},
		{"POST", "faults", `{"kind": "status", "status": 200}`, nil, 400, `"status" between 400 and 599`},
		{"POST", "faults", `{"kind": "throttle", "status": 503}`, nil, 400, `apply to kind "status" only`},
		{"POST", "faults", `{"kind": "drop", "code": "X"}`, nil, 400, `apply to kind "status" only`},
		{"POST", "faults", `{"kind": "delay", "action": "DescribeImageFromFamily"}`, nil, 400, `needs "delay"`},
		{"POST", "faults", `{"kind": "delay", "delay": "2 seconds"}`, nil, 400, `"delay" "2 seconds" is not`},
		{"POST", "faults", `{"kind": "latency", "delay": "-1s"}`, nil, 400, "non-negative"},
		{"POST", "faults", `{"kind": "latency", "delay": "1s", "action": "AssumeRole"}`, nil, 400, `use kind "delay"`},
		{"POST", "faults", `{"kind": "throttle", "delay": "1s"}`, nil, 400, `"delay" applies to kinds`},
		{"POST", "faults", `{"kind": "drop", "retry_after": "1s"}`, nil, 400, `"retry_after" applies to kinds`},
		{"POST", "faults", `{"kind": "throttle", "retry_after": "soon"}`, nil, 400, `"retry_after" "soon"`},
		{"POST", "faults", `{"kind": "hang", "skip": 1}`, nil, 400, `"skip" must be positive and applies to counted kinds only`},
		{"POST", "faults", `{"kind": "throttle", "skip": -1}`, nil, 400, `"skip" must be positive`},
		{"POST", "images", `{"image": {"ImageId": "m-1"}}`, nil, 400, `"region" is required`},
		{"POST", "images", `{"region": "cn-hangzhou"}`, nil, 400, `"image"`},
		{"POST", "images", `{"region": "cn-hangzhou", "image": {"ImageFamily": "x"}}`, nil, 400, "ImageId is required"},
		{"POST", "images", `{"region": "cn-hangzhou", "image": {"ImageId": "m-1", "Size": "big"}}`, nil, 400, "bad JSON"},
		{"POST", "images", `{"region": "cn-hangzhou", "image": {"ImageId": "m-1", "Colour": "red"}}`, nil, 400, `unknown field "Colour"`},
		{"POST", "image-status", `{"region": "cn-hangzhou", "image_id": "m-bp1demowebbase000003"}`, nil, 400, `"status" are required`},
		{"POST", "image-status", `{"region": "cn-hangzhou", "image_id": "m-x", "status": "Available"}`, nil, 404, "no image m-x"},
		{"POST", "reset-counts", `{"all": true}`, nil, 400, `unknown field "all"`},
		{"GET", "faults", ``, nil, 405, "wants POST, not GET"},
		{"POST", "requests", `{}`, nil, 405, "wants GET, not POST"},
		{"GET", "nope", ``, nil, 404, `unknown control endpoint "/_emulator/nope"; known: /_emulator/clear-faults`},
		{"GET", "", ``, nil, 404, "unknown control endpoint"},
		{"POST", "clear-faults", ``, map[string]string{"Origin": "http://evil.example"}, 403, "browser"},
	} {
		req, err := http.NewRequest(tc.method, s.URL+ecstest.ControlPrefix+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || !strings.Contains(e.Error, tc.msg) ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %s: %d %q (%v), want %d %q", tc.method, tc.path, tc.body, resp.StatusCode, e.Error, err, tc.status, tc.msg)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
	// The path without its slash is the control API too, not an API call.
	if a := rawPath(t, s, "/_emulator"); a.Status != 404 {
		t.Fatalf("/_emulator: %d", a.Status)
	}
	if _, err := ecstest.Describe(ecstest.ECSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, ""), s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatalf("a refused request changed something: %v", err)
	}
	if n := s.Requests(""); n != 1 {
		t.Fatalf("Requests = %d, want 1", n)
	}
}

func rawPath(t *testing.T, s *ecstest.Server, path string) ecstest.RawAnswer {
	t.Helper()
	resp, err := s.Client().Get(s.URL + path)
	if err != nil {
		return ecstest.RawAnswer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return ecstest.RawAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// startMain runs Main as the CLI does and returns what its ready file says.
func startMain(t *testing.T, extra ...string) emulatorproc.ReadyInfo {
	t.Helper()
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(fixture, ecstest.DemoFixture, 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncio.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- emulatorproc.Main(ctx, append([]string{"--fixture", fixture, "--tls", "--cert-file", filepath.Join(dir, "cert.pem"),
			"--ready-file", ready}, extra...), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("Main exit %d: %s", code, stderr.String())
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	info, err := emulatorproc.WaitReady(wctx, ready)
	if err != nil {
		t.Fatalf("%v; stderr: %s", err, stderr.String())
	}
	return info
}

// The way a test of a real binary uses it: read the ready file, trust its
// certificate, drive the process over TLS.
func TestControlProcessMode(t *testing.T) {
	info := startMain(t)
	if info.ControlURL != info.URL+ecstest.ControlPrefix {
		t.Fatalf("ready info %+v", info)
	}
	c, err := emulatorproc.NewControl(info.URL, info.CertFile)
	if err != nil {
		t.Fatal(err)
	}

	ec, err := ecs.NewClientWithAccessKey("cn-hangzhou", ecstest.DemoKey, ecstest.DemoSecret)
	if err != nil {
		t.Fatal(err)
	}
	ec.Domain = info.Endpoint
	// The SDK client trusts the same certificate file, as a child process
	// with SSL_CERT_FILE would (a clone: the SDK mutates its transport).
	ec.SetTransport(c.Client.Transport.(*http.Transport).Clone())
	call := func(region string) (*ecs.DescribeImageFromFamilyResponse, error) {
		req := ecs.CreateDescribeImageFromFamilyRequest()
		req.Scheme = "https"
		req.RegionId, req.ImageFamily = region, "web-base"
		return ec.DescribeImageFromFamily(req)
	}

	if err := c.Fault(ecstest.FaultSpec{Kind: ecstest.FaultThrottle, Action: ecstest.DescribeAction, N: 2}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, err := call("cn-hangzhou")
		ecstest.WantServerError(t, err, 400, "Throttling.User")
	}
	if resp, err := call("cn-hangzhou"); err != nil || resp.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("%v %+v", err, resp)
	}
	if rc := counts(t, c); rc.All != 3 || rc.ByAction[ecstest.DescribeAction] != 3 {
		t.Fatalf("counts %+v", rc)
	}

	if err := c.AddImage("cn-hangzhou", ecs.Image{ImageId: "m-proc-1", ImageFamily: "web-base", Status: "Creating",
		CreationTime: "2032-01-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	if resp, err := call("cn-hangzhou"); err != nil || resp.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("a Creating image was answered: %v %+v", err, resp)
	}
	if err := c.SetImageStatus("cn-hangzhou", "m-proc-1", "Available"); err != nil {
		t.Fatal(err)
	}
	if resp, err := call("cn-hangzhou"); err != nil || resp.Image.ImageId != "m-proc-1" {
		t.Fatalf("%v %+v", err, resp)
	}
	if err := c.ResetCounts(); err != nil {
		t.Fatal(err)
	}
	if rc := counts(t, c); rc.All != 0 {
		t.Fatalf("counts after reset %+v", rc)
	}

	// A client that does not trust the certificate cannot drive it.
	plain := &emulatorproc.Control{BaseURL: info.URL}
	if _, err := plain.Requests(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted control client: %v", err)
	}
}

func TestControlProcessModeOff(t *testing.T) {
	info := startMain(t, "--control=false")
	if info.ControlURL != "" {
		t.Fatalf("ready info %+v", info)
	}
	c, err := emulatorproc.NewControl(info.URL, info.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Requests()
	wantControlError(t, err, 404, "--control=false")
}

func TestNewControlAndWaitReadyErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, cert, msg string }{
		{"127.0.0.1:1234", "", "not an http(s) URL"},
		{"https://127.0.0.1:1234", "", "needs its certificate file"},
		{"https://127.0.0.1:1234", filepath.Join(dir, "missing.pem"), "missing.pem"},
		{"https://127.0.0.1:1234", notPEM, "no PEM certificate"},
	} {
		if _, err := emulatorproc.NewControl(tc.url, tc.cert); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewControl(%q, %q): %v", tc.url, tc.cert, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := emulatorproc.WaitReady(ctx, filepath.Join(dir, "never.json")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := emulatorproc.WaitReady(context.Background(), bad); err == nil {
		t.Fatal("WaitReady accepted a broken file")
	}
}

func TestLifecycleControl(t *testing.T) {
	s, err := ecstest.Start(ecstest.DemoFixtureT(t), ecstest.Options{TLS: true, Control: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctl := controlOf(s)
	if err := ctl.SetCopyPolls(0); err != nil {
		t.Fatal(err)
	}
	id, err := ctl.CopyImage("cn-hangzhou", "m-bp1demowebbase000003", "cn-shanghai")
	if err != nil || id == "" {
		t.Fatal(id, err)
	}
	st, err := ctl.State()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, img := range st.Images["cn-shanghai"] {
		if img.ImageId == id {
			found = img.Status == "Creating" && img.ImageFamily == ""
		}
	}
	if !found {
		t.Fatalf("copy %s not in state %+v", id, st.Images["cn-shanghai"])
	}
	// With zero polls the first look sees it Available.
	c := ecstest.ECSClient(t, s, ecstest.DemoKey, ecstest.DemoSecret, "")
	resp := ecstest.DescribeImages(t, c, s, "cn-shanghai", func(r *ecs.DescribeImagesRequest) { r.ImageId = id; r.Status = ecstest.AllStatuses })
	if resp.Images.Image[0].Status != "Available" {
		t.Fatalf("%+v", resp.Images.Image[0])
	}
	var ce *emulatorproc.ControlError
	if _, err := ctl.CopyImage("cn-hangzhou", "m-nosuch", "cn-shanghai"); err == nil || !asControlError(err, &ce) || ce.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown source: %v", err)
	}
	if s.Requests("") != 1 {
		t.Fatalf("control requests were counted: %d", s.Requests(""))
	}
}

func asControlError(err error, target **emulatorproc.ControlError) bool {
	ce, ok := err.(*emulatorproc.ControlError)
	if ok {
		*target = ce
	}
	return ok
}

func TestMainProcessMode(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(fixture, ecstest.DemoFixture, 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready.json")
	certFile := filepath.Join(dir, "cert.pem")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncio.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- emulatorproc.Main(ctx, []string{"--fixture", fixture, "--tls", "--cert-file", certFile,
			"--ready-file", ready, "--throttle", "1", "--latency", "10ms"}, &stdout, &stderr)
	}()

	var line []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, err := os.ReadFile(ready); err == nil {
			line = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var info emulatorproc.ReadyInfo
	if err := json.Unmarshal(line, &info); err != nil || !strings.HasPrefix(info.URL, "https://127.0.0.1:") ||
		info.Endpoint != strings.TrimPrefix(info.URL, "https://") || info.CertFile != certFile {
		t.Fatalf("ready line %q: %v", line, err)
	}
	for deadline := time.Now().Add(5 * time.Second); stdout.String() != string(line); {
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q, want %q", stdout.String(), line)
		}
		time.Sleep(10 * time.Millisecond)
	}

	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("bad cert file")
	}
	c, err := ecs.NewClientWithAccessKey("cn-hangzhou", ecstest.DemoKey, ecstest.DemoSecret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = info.Endpoint
	c.SetTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})
	req := ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = "https"
	req.RegionId, req.ImageFamily = "cn-hangzhou", "web-base"
	_, err = c.DescribeImageFromFamily(req)
	ecstest.WantServerError(t, err, 400, "Throttling.User") // --throttle 1
	req = ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = "https"
	req.RegionId, req.ImageFamily = "cn-hangzhou", "web-base"
	resp, err := c.DescribeImageFromFamily(req)
	if err != nil || resp.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("%v %+v", err, resp)
	}

	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Main did not stop on cancel")
	}
	if strings.Contains(stdout.String()+stderr.String(), ecstest.DemoSecret) {
		t.Fatal("secret printed")
	}
}

func TestMainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(fixture, ecstest.DemoFixture, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"nope": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "--fixture is required"},
		{[]string{"--fixture", fixture, "--addr", "0.0.0.0:0"}, 2, "not a loopback"},
		{[]string{"--fixture", fixture, "--addr", "192.168.1.1:8080"}, 2, "not a loopback"},
		{[]string{"--fixture", fixture, "--cert-file", "x.pem"}, 2, "needs --tls"},
		{[]string{"--fixture", fixture, "--throttle", "-1"}, 2, "negative"},
		{[]string{"--fixture", fixture, "extra"}, 2, "unexpected argument"},
		{[]string{"--bogus"}, 2, "bogus"},
		{[]string{"--fixture", bad}, 1, "unknown field"},
		{[]string{"--fixture", filepath.Join(dir, "missing.json")}, 1, "missing.json"},
	} {
		var stdout, stderr syncio.Buffer
		code := emulatorproc.Main(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || stdout.String() != "" {
			t.Errorf("%v: exit %d stderr %q stdout %q", tc.args, code, stderr.String(), stdout.String())
		}
	}
}

// controlOf is a control client of an in-process server, trusting its
// certificate.
func controlOf(s *ecstest.Server) *emulatorproc.Control {
	return &emulatorproc.Control{BaseURL: s.URL, Client: s.Client()}
}
