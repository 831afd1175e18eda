package action

// The action's one runner of the conformance tables, which the core and the
// CLI binary run in full: the rows conformance.Sample picks for an
// in-process front (one per outcome class and set of sinks), the fault rows
// (conformance.FaultRows) against the in-process emulator and the hostile
// rows (conformance.HostileRows) against a hostile endpoint, through Main as
// the `alicloud-image-family action` subcommand calls it. A row is checked
// for the action's mapping: exit code, outputs found or empty, the ::error
// annotation of each region, retry lines, requests, and planted text that
// starts no line; the harness checks every sink after every run
// (checkSinks). test/action runs a smaller sample through act.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const describeAction = conformance.ActionDescribe

const (
	hostileKeyID  = "LTAIHOSTILEACTION0001"
	hostileSecret = "action-hostile-secret-MUST-NOT-LEAK-0001"
)

// tableRow is one row of either table, mapped onto a step.
type tableRow struct {
	step    *step
	opts    []Option
	regions []string
	code    int
	imageID string // of every region when the row finds one
	frag    string // in one ::error annotation per region otherwise
	forged  []string
	retries int // retry lines in the step log
	// after checks what the row's server saw and, for an accepted hostile
	// answer, the outputs against what was sent.
	after func(t *testing.T, s *step)
}

// stepRetryLine is the step log's line for a retry (imagefamily.RetryNotice).
var stepRetryLine = regexp.MustCompile(`^retrying .+: attempt \d+ of \d+ failed \(.+\); next attempt in \S+$`)

func runTableRow(t *testing.T, r tableRow) {
	t.Helper()
	s := r.step.runMain(r.opts...)
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s", excerptForLog(s.stdout.String()))
		}
	}()
	if s.code != r.code {
		t.Errorf("exit %d, want %d", s.code, r.code)
	}
	outs := s.outputs()
	errs := annotations(s, "::error ")
	if r.imageID != "" {
		ids := map[string]string{}
		for _, region := range r.regions {
			ids[region] = r.imageID
			if want := region + ": the newest image in family web-base is " + r.imageID; !strings.Contains(s.stdout.String(), want) {
				t.Errorf("step log lacks %q", want)
			}
		}
		b, _ := json.Marshal(ids)
		if outs["image-id"] != r.imageID || outs["found"] != "true" || outs["image-ids"] != string(b) || len(errs) != 0 {
			t.Errorf("outputs %v, %d ::error annotations; want %s found", outs, len(errs), r.imageID)
		}
	} else {
		json := "" // one region's image; an object of regions with several
		if len(r.regions) > 1 {
			json = "{}"
		}
		checkFailureOutputs(t, s, json)
		n, frag := 0, escapeData(r.frag)
		for _, e := range errs {
			if strings.Contains(e, frag) {
				n++
			}
		}
		if n != len(r.regions) {
			t.Errorf("%d ::error annotations hold %q, want one per region (%d)", n, frag, len(r.regions))
		}
	}
	retries := annotations(s, "retrying ")
	for _, l := range retries {
		if !stepRetryLine.MatchString(l) {
			t.Errorf("retry line %q", l)
		}
	}
	if len(retries) != r.retries {
		t.Errorf("%d retry lines, want %d", len(retries), r.retries)
	}
	checkForged(t, s, r.forged)
	if r.after != nil {
		r.after(t, s)
	}
}

func TestTableRows(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	for _, row := range conformance.Sample(conformance.FaultRows(), conformance.InProcess) {
		t.Run("fault/"+row.Name, func(t *testing.T) {
			srv.ClearFaults()
			t.Cleanup(srv.ClearFaults)
			s, opts := faultStep(t, srv, tokens, row)
			srv.Inject(row.Faults...)
			srv.ResetCounts()
			id := ""
			if row.ExitCode() == 0 {
				id = "m-hznew0001"
			}
			start := time.Now()
			runTableRow(t, tableRow{step: s, opts: opts, regions: []string{"cn-hangzhou"}, code: row.ExitCode(), imageID: id,
				frag: row.Fragment, retries: row.Retries,
				after: func(t *testing.T, s *step) {
					s.assertNoSecrets(*minted...) // the minted ID tokens are secrets too
					for action, n := range row.Requests {
						if got := srv.Requests(action); got != n {
							t.Errorf("the emulator saw %d %q requests, want %d", got, action, n)
						}
					}
					if el := time.Since(start); row.Within > 0 && el > row.Within {
						t.Errorf("took %v, want at most %v", el, row.Within)
					}
				}})
		})
	}
	for _, row := range conformance.Sample(conformance.HostileRows(), conformance.InProcess) {
		// Every row in two regions with step debug logging (each region's
		// annotation, the core's trace as ::debug:: lines); an accepted
		// answer in one region too, where the json output is the image
		// itself rather than an object of regions.
		shapes := [][]string{{"cn-hangzhou", "cn-shanghai"}}
		if row.Outcome == conformance.HostileFound {
			shapes = append(shapes, []string{"cn-hangzhou"})
		}
		for _, regions := range shapes {
			t.Run("hostile/"+row.Name+"/"+strconv.Itoa(len(regions)), func(t *testing.T) {
				h := conformance.StartHostile(row)
				defer h.Close()
				rec := &answerRecorder{base: h.Transport()}
				s := hostileStep(t, h, regions)
				if len(regions) > 1 {
					s.env["RUNNER_DEBUG"] = "1"
				}
				id := ""
				if row.Outcome == conformance.HostileFound {
					id = conformance.HostileImageID
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				runTableRow(t, tableRow{step: s, regions: regions, code: row.ExitCode, imageID: id,
					frag: h.Fill(row.Fragment), forged: row.Forged, retries: (row.Requests - 1) * len(regions),
					opts: []Option{WithRequest(func(r *imagefamily.Request) {
						r.Transport = rec
						r.Retry.MaxAttempts = conformance.HostileMaxAttempts
						r.Retry.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
					})},
					after: func(t *testing.T, s *step) {
						runtime.ReadMemStats(&after)
						if grew := after.TotalAlloc - before.TotalAlloc; grew > h.AllocBound() {
							t.Errorf("the step allocated %d MiB for %d bytes served; reads are not bounded", grew>>20, h.ServedBytes())
						}
						if n, want := h.Requests(), row.Requests*len(regions); n != want || h.OtherRequests() != 0 {
							t.Errorf("the listeners saw %d and %d requests, want %d and 0", n, h.OtherRequests(), want)
						}
						if n := int64(len(s.everything())); n > h.OutputBound() {
							t.Errorf("the step wrote %d bytes for %d served", n, h.ServedBytes())
						}
						for _, v := range s.masked() {
							if v != hostileSecret {
								t.Errorf("a value other than the secret was masked: %s", excerptForLog(v))
							}
						}
						if id != "" {
							checkAcceptedOutputs(t, s.outputs(), regions, rec)
						}
					}})
			})
		}
	}
}

// faultStep maps a fault row onto a step: its inputs and environment, and
// the options that point it at the emulator. The row's attempt budget is
// the max-attempts input. Secrets the row brings in are inputs, which
// scanAll scans for.
func faultStep(t *testing.T, srv *ecstest.Server, tokens *httptest.Server, row conformance.FaultRow) (*step, []Option) {
	t.Helper()
	keys := func(id, secret, token string) *step {
		return newStep(t, emuInputs(srv, "access-key-id", id, "access-key-secret", secret, "security-token", token))
	}
	assumeRole := func() ecstest.STSCredentials {
		c, err := ecstest.AssumeRole(srv.Client(), srv.URL, emuKeyID, emuSecret, keyRole)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var s *step
	switch row.Credentials {
	case conformance.CredKeys:
		s = keys(emuKeyID, emuSecret, "")
	case conformance.CredWrongSecret:
		s = keys(emuKeyID, conformance.FaultWrongSecret, "")
	case conformance.CredSTSWrongSecret:
		c := assumeRole()
		s = keys(c.AccessKeyID, conformance.FaultWrongSecret, c.SecurityToken)
	case conformance.CredSTSExpired:
		c := assumeRole()
		srv.ExpireSessions()
		s = keys(c.AccessKeyID, c.AccessKeySecret, c.SecurityToken)
	case conformance.CredSTSOtherToken:
		a, b := assumeRole(), assumeRole()
		s = keys(a.AccessKeyID, a.AccessKeySecret, b.SecurityToken)
	case conformance.CredOIDC:
		s = oidcStep(t, srv, tokens)
	default:
		t.Fatalf("row %q: credentials %d have no mapping in the action's runner", row.Name, row.Credentials)
	}
	if row.STSUnreachable {
		s.env["INPUT_STS_ENDPOINT"] = "127.0.0.1:1"
	}
	if row.Timeout > 0 {
		s.env["INPUT_TIMEOUT"] = row.Timeout.String()
	}
	if row.MaxAttempts > 0 {
		s.env["INPUT_MAX_ATTEMPTS"] = strconv.Itoa(row.MaxAttempts)
	}
	opts := []Option{viaEmulator(srv)}
	if row.Within > 0 {
		// The real retry waits, for the rows about deadlines.
		opts = []Option{WithRequest(func(r *imagefamily.Request) { r.Transport = srv.Transport() })}
	}
	if row.Untrusted {
		// Trusts no certificate at all.
		tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
		opts = append(opts, WithRequest(func(r *imagefamily.Request) { r.Transport = tr }))
	}
	return s, opts
}

// hostileStep is a step whose inputs arrive as a JavaScript-style runner
// passes them (hyphens kept), pointed at the row's ECS listener.
func hostileStep(t *testing.T, h *conformance.HostileServer, regions []string) *step {
	s := newStep(t, nil)
	s.env["INPUT_REGION"] = strings.Join(regions, ",")
	s.env["INPUT_IMAGE-FAMILY"] = h.Family()
	s.env["INPUT_ENDPOINT"] = h.Endpoint()
	s.env["INPUT_ACCESS-KEY-ID"] = hostileKeyID
	s.env["INPUT_ACCESS-KEY-SECRET"] = hostileSecret
	s.env["INPUT_TIMEOUT"] = h.Timeout().String()
	return s
}

// checkAcceptedOutputs: the json output is the accepted image as the
// endpoint sent it (an object of regions with several), every member, the
// planted text included, kept exactly; so is the description output, a
// machine value written only to GITHUB_OUTPUT.
func checkAcceptedOutputs(t *testing.T, outs map[string]string, regions []string, rec *answerRecorder) {
	t.Helper()
	sent := rec.images()
	if len(sent) != len(regions) {
		t.Fatalf("recorded %d answers, want %d", len(sent), len(regions))
	}
	var images []any
	if len(regions) == 1 {
		images = append(images, nil)
		if err := json.Unmarshal([]byte(outs["json"]), &images[0]); err != nil {
			t.Fatalf("json output: %v", err)
		}
	} else {
		var byRegion map[string]any
		if err := json.Unmarshal([]byte(outs["json"]), &byRegion); err != nil {
			t.Fatalf("json output: %v", err)
		}
		for _, r := range regions {
			images = append(images, byRegion[r])
		}
	}
	for _, img := range images {
		if !reflect.DeepEqual(img, sent[0]) {
			t.Errorf("json output differs from the image as sent: %.300v", img)
		}
	}
	if d, _ := sent[0].(map[string]any)["Description"].(string); outs["description"] != d {
		t.Errorf("description output %s, want the first region's %s", excerptForLog(outs["description"]), excerptForLog(d))
	}
}

// answerRecorder keeps every answer body the core reads (it reads at most
// 1 MiB of one; a little more is kept), to compare the outputs with what
// the endpoint actually sent.
type answerRecorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies []*bytes.Buffer
}

type recordedBody struct {
	io.ReadCloser
	rec *answerRecorder
	buf *bytes.Buffer
}

func (a *answerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b := &recordedBody{ReadCloser: resp.Body, rec: a, buf: &bytes.Buffer{}}
	a.mu.Lock()
	a.bodies = append(a.bodies, b.buf)
	a.mu.Unlock()
	resp.Body = b
	return resp, nil
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.rec.mu.Lock()
	if b.buf.Len() < 2<<20 {
		b.buf.Write(p[:n])
	}
	b.rec.mu.Unlock()
	return n, err
}

// images lists the Image of every complete JSON answer, decoded.
func (a *answerRecorder) images() []any {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []any
	for _, b := range a.bodies {
		var v struct{ Image any }
		if json.Unmarshal(b.Bytes(), &v) == nil && v.Image != nil {
			out = append(out, v.Image)
		}
	}
	return out
}
