package action

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// panicBoom is a panic value holding the step's secret, a forged workflow
// command on a line of its own and an escape sequence.
const panicBoom = "boom " + emuSecret + "\n::error::forged\x1b[2J"

// randReadOnce replaces randRead for the test: the first call runs first,
// every later one reads random bytes as usual.
func randReadOnce(t *testing.T, first func([]byte) (int, error)) {
	old := randRead
	t.Cleanup(func() { randRead = old })
	var calls atomic.Int32
	randRead = func(b []byte) (int, error) {
		if calls.Add(1) == 1 {
			return first(b)
		}
		return old(b)
	}
}

// A panic anywhere, and an error while reporting, leave every output
// written once, with found=false (docs/action.md), exit code 1 (never Go's
// 2, never a goroutine dump) and an escaped internal-error annotation
// without the secret. The other classes' failure outputs are checked by
// their runners: runBadInput (2), runTableRow (1, 3), TestIDTokenService
// (the token request), TestOutcomeClasses (a lookup failing as a whole).
func TestFailureOutputsForEveryClass(t *testing.T) {
	srv := emulator(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	for _, c := range []struct {
		name     string
		step     func(t *testing.T) *step
		opts     []Option
		setup    func(t *testing.T)
		code     int
		json     string // the json output: "" for one region, "{}" for several with no image
		internal int    // ::error lines saying "internal error"
	}{
		{name: "panic in the step's goroutine", code: 1, internal: 1,
			step: func(t *testing.T) *step { return newStep(t, emuInputs(srv, keys...)) },
			opts: []Option{func(c *config) {
				c.resolve = func(context.Context, imagefamily.Request) (imagefamily.Image, error) { panic(panicBoom) }
			}}},
		{name: "panic in the regions' goroutines", code: 1, internal: 2, json: "{}",
			step: func(t *testing.T) *step {
				return newStep(t, emuInputs(srv, append(keys, "region", "cn-hangzhou,cn-shanghai", "max-age", "3650d")...))
			},
			// The guard's clock runs in each region's goroutine, after
			// the answer was accepted.
			opts: []Option{WithRequest(func(r *imagefamily.Request) { r.Guards.Now = func() time.Time { panic(panicBoom) } })}},
		{name: "panic in report", code: 1, internal: 1,
			step:  func(t *testing.T) *step { return newStep(t, emuInputs(srv, keys...)) },
			setup: func(t *testing.T) { randReadOnce(t, func([]byte) (int, error) { panic(panicBoom) }) }},
		{name: "error in report", code: 1,
			step:  func(t *testing.T) *step { return newStep(t, emuInputs(srv, keys...)) },
			setup: func(t *testing.T) { randReadOnce(t, func([]byte) (int, error) { return 0, errors.New("no entropy") }) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.step(t)
			if c.setup != nil {
				c.setup(t)
			}
			s.runMain(append([]Option{viaEmulator(srv)}, c.opts...)...) // scans every sink, for the secrets too
			out := s.stdout.String()
			if s.code != c.code {
				t.Errorf("exit %d, want %d\n%s", s.code, c.code, out)
			}
			checkFailureOutputs(t, s, c.json)
			if !strings.Contains(out, "::error ") {
				t.Errorf("no ::error annotation:\n%s", out)
			}
			internal := 0
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "::error") && strings.Contains(line, "internal error: boom [REDACTED]") && strings.Contains(line, "please report it") {
					internal++
				}
			}
			if internal != c.internal {
				t.Errorf("%d internal-error annotations, want %d:\n%s", internal, c.internal, out)
			}
			// The harness finds forged lines and escape sequences; no crash.
			for _, crash := range []string{"goroutine ", "panic:", "[running]", "\n::error::forged"} {
				if strings.Contains(out, crash) {
					t.Errorf("%q in the step log:\n%s", crash, out)
				}
			}
		})
	}
}

// panicWriter panics on every write: the step log itself failing.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic(panicBoom) }

// Main's own recover is the last line of defence: a panic while Run reports
// a panic, and again while it writes the failure outputs, is still exit
// code 1 and no crash.
func TestMainPanicBeyondRun(t *testing.T) {
	old := randRead
	t.Cleanup(func() { randRead = old })
	randRead = func([]byte) (int, error) { panic(panicBoom) }
	core := &fakeCore{images: map[string]imagefamily.Image{"cn-hangzhou": sampleImage("m-1")}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base"})
	if code := Main(context.Background(), s.getenv, panicWriter{}, core.option()); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}

	// With a step log that works, the line Main writes is one escaped
	// ::error line without the secret.
	var buf bytes.Buffer
	s.env["INPUT_ACCESS-KEY-ID"], s.env["INPUT_ACCESS-KEY-SECRET"] = emuKeyID, emuSecret
	if code := Main(context.Background(), s.getenv, &onlyAfter{w: &buf, panics: 2}, core.option()); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := buf.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "::error title=Image family lookup failed::internal error: boom [REDACTED]") ||
		strings.Contains(got, emuSecret) || strings.Contains(got, "\x1b") {
		t.Errorf("step log %q", got)
	}
}

// onlyAfter panics on its first writes (the line of the image found, then
// the annotation of the panic that caused), then writes; the ::add-mask::
// commands pass.
type onlyAfter struct {
	w      io.Writer
	panics int
}

func (o *onlyAfter) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("::add-mask::")) {
		return len(p), nil
	}
	if o.panics > 0 {
		o.panics--
		panic(panicBoom)
	}
	return o.w.Write(p)
}
