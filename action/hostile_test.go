package action

// The action's runner of the hostile-endpoint table (conformance.HostileRows,
// which the core and the CLI binary run in full): the rows
// conformance.Sample picks for an in-process front, through Main, as the `alicloud-image-family action` subcommand
// calls it, with real GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, in one
// region and in two. Each run states the exit code (never 2), every output
// (read with the runner's model reader of fuzz_test.go), that the step log
// holds no workflow command but ours and no line starting with forged text,
// the ::error annotation, a summary without HTML or broken rows, the
// requests each listener saw, and that the secret appears nowhere.
//
// TestHostileIDTokenService does the same for the one HTTP exchange the
// action makes itself: the GitHub ID-token request.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	hostileKeyID  = "LTAIHOSTILEACTION0001"
	hostileSecret = "action-hostile-secret-MUST-NOT-LEAK-0001"
)


func TestHostileEndpoints(t *testing.T) {
	for _, row := range conformance.Sample(conformance.HostileRows(), conformance.InProcess) {
		for _, regions := range [][]string{{"cn-hangzhou"}, {"cn-hangzhou", "cn-shanghai"}} {
			name := row.Name + "/one region"
			if len(regions) > 1 {
				name = row.Name + "/two regions"
			}
			t.Run(name, func(t *testing.T) {
				h := conformance.StartHostile(row)
				defer h.Close()
				rec := &answerRecorder{base: h.Transport()}
				s := hostileStep(t, h, regions)
				if len(regions) > 1 {
					// Step debug logging on: the core's trace becomes
					// ::debug:: lines, which must stay ours too.
					s.env["RUNNER_DEBUG"] = "1"
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				s.runMain(WithRequest(func(r *imagefamily.Request) {
					r.Transport = rec
					r.Retry.MaxAttempts = conformance.HostileMaxAttempts
					r.Retry.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
				}))
				elapsed := time.Since(start)
				runtime.ReadMemStats(&after)
				checkHostileStep(t, row, h, s, regions, rec)
				if grew := after.TotalAlloc - before.TotalAlloc; grew > h.AllocBound() {
					t.Errorf("the step allocated %d MiB for %d bytes served; reads are not bounded", grew>>20, h.ServedBytes())
				}
				t.Logf("%s, %d region(s): exit %d, stdout %d bytes, %d requests, %v",
					row.Outcome, len(regions), s.code, len(s.stdout.String()), h.Requests(), elapsed.Round(time.Millisecond))
			})
		}
	}
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

func checkHostileStep(t *testing.T, row conformance.HostileRow, h *conformance.HostileServer, s *step, regions []string, rec *answerRecorder) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s", excerptForLog(s.stdout.String()))
		}
	}()
	found := row.Outcome == conformance.HostileFound

	// Exit code.
	if s.code != row.ExitCode {
		t.Errorf("exit code %d, want %d (%v)", s.code, row.ExitCode, row.Outcome)
	}
	if s.code == 2 {
		t.Errorf("a server answer became an input error (exit 2)")
	}

	// Requests.
	if n, want := h.Requests(), row.Requests*len(regions); n != want {
		t.Errorf("the ECS listener saw %d requests, want %d", n, want)
	}
	if n := h.OtherRequests(); n != 0 {
		t.Errorf("the second listener (a redirect target) saw %d requests, want 0", n)
	}

	// Every sink together (step log, GITHUB_OUTPUT, summary) stays within a
	// small multiple of what was served.
	if n := int64(len(s.everything())); n > h.OutputBound() {
		t.Errorf("the step wrote %d bytes for %d served: more than %d times the answer", n, h.ServedBytes(), conformance.HostileOutputRatio)
	}

	// Outputs, read the way the runner reads GITHUB_OUTPUT.
	raw, err := os.ReadFile(s.outPath)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := runnerOutputs(string(raw), false)
	if err != nil {
		t.Fatalf("the runner would reject GITHUB_OUTPUT: %v", err)
	}
	outs := map[string]string{}
	for _, p := range pairs {
		if _, dup := outs[p.name]; dup {
			t.Errorf("output %s defined twice", p.name)
		}
		outs[p.name] = p.value
	}
	for _, name := range outputNames {
		if _, ok := outs[name]; !ok {
			t.Errorf("output %s not written", name)
		}
	}
	if len(outs) != len(outputNames) {
		t.Errorf("%d outputs, want %d", len(outs), len(outputNames))
	}
	wantID, wantFound, wantIDs := "", "false", "{}"
	if found {
		wantID, wantFound = conformance.HostileImageID, "true"
		ids := map[string]string{}
		for _, r := range regions {
			ids[r] = conformance.HostileImageID
		}
		b, _ := json.Marshal(ids)
		wantIDs = string(b)
	}
	if outs["image-id"] != wantID || outs["found"] != wantFound || outs["image-ids"] != wantIDs {
		t.Errorf("image-id %q found %q image-ids %q; want %q %q %q",
			outs["image-id"], outs["found"], outs["image-ids"], wantID, wantFound, wantIDs)
	}
	switch {
	case found:
		checkJSONOutput(t, outs["json"], regions, rec)
	case len(regions) == 1 && outs["json"] != "":
		t.Errorf("json output %s of a failed lookup, want empty", excerptForLog(outs["json"]))
	case len(regions) > 1 && outs["json"] != "{}":
		// Several regions: an object region -> image, empty.
		t.Errorf("json output %s of a failed lookup, want {}", excerptForLog(outs["json"]))
	}
	if found {
		// The description output is the accepted image's, exact, as the
		// data source's attribute is: outputs are machine values, written
		// to GITHUB_OUTPUT, never to the step log.
		if sent := rec.images(); len(sent) > 0 {
			d, _ := sent[0].(map[string]any)["Description"].(string)
			if outs["description"] != d {
				t.Errorf("description output %q, want the first region's %q", excerptForLog(outs["description"]), excerptForLog(d))
			}
		}
	}
	served := rec.servedStrings()
	for name, v := range outs {
		for _, f := range row.Forged {
			if (name == "json" || name == "description") && found {
				continue // the accepted image, exact (JSON-escaped in json)
			}
			if found && served[v] {
				continue // a member of the accepted image, exactly as served
			}
			if strings.Contains(v, f) {
				t.Errorf("output %s holds forged text %q", name, f)
			}
		}
	}

	// The step log: our commands only, nothing forged at a line start, no
	// control bytes, the masks ours.
	stdout := s.stdout.String()
	for i := 0; i < len(stdout); i++ {
		if c := stdout[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Errorf("stdout holds control byte %#x at %d", c, i)
			break
		}
	}
	var annotations []string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "::") && !hasAnyPrefix(line, ourCommands) {
			t.Errorf("stdout line is a workflow command that is not ours: %q", excerptForLog(line))
		}
		// Our own mask of the secret starts like the row that plants
		// "::add-mask::"; any other mask is reported below.
		ownMask := line == "::add-mask::"+hostileSecret
		for _, f := range row.Forged {
			if strings.HasPrefix(line, f) && !ownMask {
				t.Errorf("stdout line starts with forged text %q", f)
			}
			// The runner finds a legacy command anywhere in a line.
			if strings.Contains(f, "##[") && strings.Contains(line, f) {
				t.Errorf("stdout line holds the forged legacy command %q as it is: %s", f, excerptForLog(line))
			}
		}
		// Nothing the action writes holds the legacy prefix but a mask of
		// a secret that does (StepLog).
		if strings.Contains(line, "##[") && !strings.HasPrefix(line, "::add-mask::") {
			t.Errorf("stdout line holds the legacy command prefix \"##[\": %s", excerptForLog(line))
		}
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok && v != hostileSecret {
			t.Errorf("a value other than the secret was masked: %q", excerptForLog(v))
		}
		if strings.HasPrefix(line, "::error ") {
			annotations = append(annotations, line)
		}
	}
	if found {
		if len(annotations) != 0 {
			t.Errorf("%d ::error annotations for an accepted answer", len(annotations))
		}
		for _, r := range regions {
			if want := r + ": the newest image in family web-base is " + conformance.HostileImageID; !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
	} else {
		frag := escapeData(h.Fill(row.Fragment))
		n := 0
		for _, a := range annotations {
			if strings.Contains(a, frag) {
				n++
			}
		}
		if n != len(regions) {
			t.Errorf("%d ::error annotations hold %q, want one per region (%d)", n, frag, len(regions))
		}
	}

	// The job summary: a table of one row per region, no HTML, no control
	// bytes.
	sum := s.summary()
	if strings.Contains(sum, "<") {
		t.Errorf("summary holds a raw '<'")
	}
	rows := 0
	for _, line := range strings.Split(sum, "\n") {
		for _, c := range []byte(line) {
			if c < 0x20 || c == 0x7f {
				t.Errorf("summary holds control byte %#x", c)
				break
			}
		}
		switch {
		case line == "" || strings.HasPrefix(line, "### "):
		case strings.HasPrefix(line, "| ") && strings.HasSuffix(line, " |"):
			if strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 8 {
				t.Errorf("summary row with other than 7 cells: %q", excerptForLog(line))
			}
			rows++
		case line == "|---|---|---|---|---|---|---|":
		default:
			t.Errorf("summary line outside the table (a line break inside a row?): %q", excerptForLog(line))
		}
	}
	if rows != 1+len(regions) {
		t.Errorf("summary has %d table rows, want a header and %d", rows, len(regions))
	}

	// The secret and the signed request, nowhere.
	everything := s.unmasked()
	secretscan.New(hostileSecret).Check(t, "everything the step wrote", everything)
	// The step debug trace names the parameters of the signed request, with
	// the signature redacted; nothing else may show it.
	if n, redacted := strings.Count(everything, "Signature="), strings.Count(everything, "Signature=[REDACTED]"); n != redacted {
		t.Errorf("the step wrote %d signatures that are not redacted", n-redacted)
	}
	if !strings.Contains(s.env["RUNNER_DEBUG"], "1") && strings.Contains(everything, "SignatureNonce") {
		t.Errorf("the step wrote the signed query without step debug logging")
	}
}

// checkJSONOutput: the json output is the accepted image as the endpoint
// sent it, every member (the description, forged workflow command and all)
// kept exactly.
func checkJSONOutput(t *testing.T, out string, regions []string, rec *answerRecorder) {
	t.Helper()
	sent := rec.images()
	if len(sent) != len(regions) {
		t.Fatalf("recorded %d answers, want %d", len(sent), len(regions))
	}
	var images []any
	if len(regions) == 1 {
		var img any
		if err := json.Unmarshal([]byte(out), &img); err != nil {
			t.Fatalf("json output: %v", err)
		}
		images = append(images, img)
	} else {
		var byRegion map[string]any
		if err := json.Unmarshal([]byte(out), &byRegion); err != nil {
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
}

// answerRecorder keeps the start of every answer body the core reads, to
// compare the json output with what the endpoint actually sent.
type answerRecorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies [][]byte
}

func (a *answerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &teeBody{ReadCloser: resp.Body, rec: a}
	return resp, nil
}

// servedStrings is the set of string members of every complete JSON
// answer's Image: the values the accepted image's outputs hold exactly.
func (a *answerRecorder) servedStrings() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]bool{}
	for _, b := range a.bodies {
		var v struct{ Image map[string]any }
		if json.Unmarshal(b, &v) == nil {
			for _, m := range v.Image {
				if s, ok := m.(string); ok {
					out[s] = true
				}
			}
		}
	}
	return out
}

// images lists the Image of every complete JSON answer, decoded.
func (a *answerRecorder) images() []any {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []any
	for _, b := range a.bodies {
		var v struct{ Image any }
		if json.Unmarshal(b, &v) == nil && v.Image != nil {
			out = append(out, v.Image)
		}
	}
	return out
}

type teeBody struct {
	io.ReadCloser
	rec  *answerRecorder
	buf  bytes.Buffer
	once sync.Once
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.buf.Len() < 2<<20 { // the whole of any answer the core reads (it caps at 1 MiB)
		b.buf.Write(p[:n])
	}
	return n, err
}

func (b *teeBody) Close() error {
	b.once.Do(func() {
		b.rec.mu.Lock()
		b.rec.bodies = append(b.rec.bodies, bytes.Clone(b.buf.Bytes()))
		b.rec.mu.Unlock()
	})
	return b.ReadCloser.Close()
}


// The GitHub ID-token request goes through the core's trust boundary
// (imagefamily.GuardTransport, NoRedirects, a timeout): a token service that
// redirects, streams without end, promises a huge body, drips, or plants
// workflow commands in its error page fails the step with exit code 1,
// every output written, the runner's bearer token sent nowhere else and
// printed nowhere, and nothing sent to STS.
func TestHostileIDTokenService(t *testing.T) {
	srv := emulator(t)
	type env struct {
		other string // the second listener's URL
	}
	rows := []struct {
		name    string
		serve   func(w http.ResponseWriter, r *http.Request, e env)
		timeout string
		frag    string // in the ::error annotation; "{other}" is the second listener
		forged  []string
		within  time.Duration
		// requests the token service sees: 1 unless the failure is one
		// worth retrying (5xx), then every attempt of the retry policy,
		// each announced by a retry line.
		requests int
	}{
		{name: "302 to another listener, echoing the query",
			serve: func(w http.ResponseWriter, r *http.Request, e env) {
				http.Redirect(w, r, e.other+"/steal?"+r.URL.RawQuery, http.StatusFound)
			},
			frag: "GitHub ID-token service: refused the answer from http://127.0.0.1:"},
		{name: "307 to another listener (would re-send the bearer token)",
			serve: func(w http.ResponseWriter, r *http.Request, e env) {
				http.Redirect(w, r, e.other+"/steal", http.StatusTemporaryRedirect)
			},
			frag: "redirect HTTP 307 to {other}"},
		{name: "308 to another listener",
			serve: func(w http.ResponseWriter, r *http.Request, e env) {
				http.Redirect(w, r, e.other+"/", http.StatusPermanentRedirect)
			},
			frag: "redirect HTTP 308 to {other}"},
		{name: "endless chunked 200 body",
			serve: func(w http.ResponseWriter, r *http.Request, _ env) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"count":1,"value":"`)
				streamUntilGone(w, r, bytes.Repeat([]byte("A"), 64<<10), 0)
			},
			frag: "requesting a GitHub ID token"},
		{name: "endless 500 error page with escapes and a workflow command",
			serve: func(w http.ResponseWriter, r *http.Request, _ env) {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, "oops\x1b[2J\n::error::forged-by-token-service ##[error]forged-legacy-by-token-service\n")
				streamUntilGone(w, r, bytes.Repeat([]byte("<p>error \x1b[31m</p>\n"), 2048), 0)
			},
			frag: "GitHub refused to mint an ID token", forged: []string{"::error::forged-by-token-service", "\x1b", "##[error]forged-legacy-by-token-service"}, requests: 5},
		{name: "deep arrays under the cap",
			serve: func(w http.ResponseWriter, r *http.Request, _ env) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"count":1,"value":"x","nested":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`)
			},
			frag: "nested more than 12 deep"},
		{name: "Content-Length of 2 GiB",
			serve: func(w http.ResponseWriter, r *http.Request, _ env) {
				w.Header().Set("Content-Length", "2147483648")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, `{"count":1,"value":"`)
			},
			frag: "body of 2147483648 bytes (Content-Length)"},
		{name: "a token with line breaks (one add-mask per line)",
			serve: func(w http.ResponseWriter, r *http.Request, _ env) {
				fmt.Fprint(w, `{"count":1,"value":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\ne\n::\n"}`)
			},
			frag: "not a JWT", forged: []string{"::add-mask::e", "::add-mask:::"}},
		{name: "slow drip (one byte every 200ms) past the timeout input",
			serve: func(w http.ResponseWriter, r *http.Request, _ env) {
				w.WriteHeader(http.StatusOK)
				streamUntilGone(w, r, []byte(" "), 200*time.Millisecond)
			},
			timeout: "1s", frag: "did not answer within 1s", within: 5 * time.Second},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var otherRequests, otherBearer atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				otherRequests.Add(1)
				if r.Header.Get("Authorization") != "" {
					otherBearer.Add(1)
				}
				fmt.Fprint(w, `{"count":1,"value":"stolen"}`)
			}))
			defer other.Close()
			stop := make(chan struct{})
			var tokenRequests atomic.Int64
			tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tokenRequests.Add(1)
				row.serve(w, r.WithContext(context.WithValue(r.Context(), stopKey{}, stop)), env{other: other.URL})
			}))
			defer tokens.Close()
			defer close(stop)
			defer tokens.CloseClientConnections()

			srv.ResetCounts()
			s := oidcStep(t, srv, tokens)
			if row.timeout != "" {
				s.env["INPUT_TIMEOUT"] = row.timeout
			}
			start := time.Now()
			s.runMain(viaEmulator(srv))
			elapsed := time.Since(start)

			if s.code != 1 {
				t.Errorf("exit %d, want 1", s.code)
			}
			wantRequests := max(row.requests, 1)
			if n := tokenRequests.Load(); n != int64(wantRequests) {
				t.Errorf("the token service saw %d requests, want %d", n, wantRequests)
			}
			if n := strings.Count(s.stdout.String(), "\nretrying GitHub ID-token request"); n != wantRequests-1 {
				t.Errorf("%d retry lines, want %d", n, wantRequests-1)
			}
			if n := otherRequests.Load(); n != 0 {
				t.Errorf("the redirect target saw %d requests (%d with the bearer token), want 0", n, otherBearer.Load())
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; nothing may reach STS without a token", n)
			}
			checkFailureOutputs(t, s)
			frag := escapeData(strings.ReplaceAll(row.frag, "{other}", other.URL))
			stdout := s.stdout.String()
			var annotation string
			for _, line := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(line, "::") && !hasAnyPrefix(line, ourCommands) {
					t.Errorf("stdout line is a workflow command that is not ours: %q", line)
				}
				for _, f := range row.forged {
					if strings.HasPrefix(line, f) {
						t.Errorf("stdout line starts with forged text %q", f)
					}
					if strings.Contains(f, "##[") && strings.Contains(line, f) {
						t.Errorf("stdout line holds the forged legacy command %q as it is: %q", f, line)
					}
				}
				if strings.HasPrefix(line, "::error ") {
					annotation = line
				}
			}
			if !strings.Contains(annotation, frag) {
				t.Errorf("no ::error annotation with %q", frag)
			}
			if len(annotation) > 2048 {
				t.Errorf("the annotation is %d bytes; server text must be a bounded excerpt", len(annotation))
			}
			if strings.ContainsAny(stdout, "\x1b\r") {
				t.Errorf("stdout holds control characters")
			}
			// runMain's scan covers the bearer token; "stolen" would be the
			// redirect target's token.
			secretscan.New("runtime-request-token", "stolen").IgnoreLines("::add-mask::").Check(t, "stdout", stdout)
			if row.within > 0 && elapsed > row.within {
				t.Errorf("took %v, want at most %v", elapsed, row.within)
			}
			t.Logf("exit %d in %v, stdout %d bytes", s.code, elapsed.Round(time.Millisecond), len(stdout))
			if t.Failed() {
				t.Logf("stdout:\n%s", excerptForLog(stdout))
			}
		})
	}
}

type stopKey struct{}

// streamUntilGone writes chunk until the client goes away or the test ends
// (at most a minute).
func streamUntilGone(w http.ResponseWriter, r *http.Request, chunk []byte, every time.Duration) {
	flusher, _ := w.(http.Flusher)
	stop, _ := r.Context().Value(stopKey{}).(chan struct{})
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if every > 0 {
			time.Sleep(every)
		}
	}
}
