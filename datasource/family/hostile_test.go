package family

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strconv"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The data source's in-process runner of the hostile-endpoint table
// (conformance.HostileRows, which the core and the CLI binary run in full):
// the rows conformance.Sample picks for an in-process front (one per class
// and set of sinks) through Configure and Execute (execute: PACKER_LOG on,
// both sinks checked), then the row's mapping: requests, outputs or the
// diagnostic's class and fragment. test/packer/hostile_test.go runs a
// smaller sample through a real packer build.

const hostileSecret = "hostile-datasource-secret-MUST-NOT-LEAK-0001"

func TestExecuteHostileEndpoints(t *testing.T) {
	clearEnv(t)
	for _, row := range conformance.Sample(conformance.HostileRows(), conformance.InProcess) {
		t.Run(row.Name, func(t *testing.T) {
			h := conformance.StartHostile(row)
			defer h.Close()
			d := mustConfigure(t, fmt.Sprintf(`
image_family        = %q
region              = "cn-hangzhou"
access_key          = "LTAIHOSTILEDS0001"
secret_key          = %q
custom_endpoint_ecs = %q
timeout             = %q
max_retries         = %d
`, h.Family(), hostileSecret, h.URL(), h.Timeout(), conformance.HostileMaxAttempts-1))
			d.prepare = func(r *imagefamily.Request) { r.Transport = h.Transport() }
			v, _, err := execute(t, d, row.Forged...)

			if n := h.OtherRequests(); n != 0 {
				t.Errorf("the redirect target saw %d requests", n)
			}
			if n := h.Requests(); n != row.Requests {
				t.Errorf("the endpoint saw %d requests, want %d", n, row.Requests)
			}
			if row.Outcome == conformance.HostileFound {
				if err != nil {
					t.Fatalf("Execute: %v", err)
				}
				if id := v.GetAttr("image_id").AsString(); id != conformance.HostileImageID {
					t.Errorf("image_id = %q", id)
				}
				// Outputs are exact machine values: what the row planted in
				// the description is there verbatim, never escaped.
				for _, f := range row.Forged {
					if desc := v.GetAttr("description").AsString(); !strings.Contains(desc, f) {
						t.Errorf("description %q lost %q", desc, f)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("Execute accepted the answer; want %s", row.Outcome)
			}
			msg := err.Error()
			if frag := h.Fill(row.Fragment); !strings.Contains(msg, frag) {
				t.Errorf("diagnostic lacks %q: %s", frag, msg)
			}
			if !strings.Contains(msg, strconv.Quote(h.Family())) || !strings.Contains(msg, "cn-hangzhou") ||
				strings.Count(msg, "family "+strconv.Quote(h.Family())) > 1 {
				t.Errorf("diagnostic does not name the family (once) and the region: %s", msg)
			}
			if errors.Is(err, imagefamily.ErrInvalidInput) {
				t.Errorf("a server answer became an input error: %v", err)
			}
		})
	}
}

// checkDiagnostic: the diagnostic Packer prints is one bounded line of
// printable text (the core's guidance for missing credentials alone keeps
// its lines, each printable); no line starts with forged text or holds
// forged text with the legacy command prefix "##[", which a GitHub runner
// reading Packer's output finds anywhere in a line.
func checkDiagnostic(t *testing.T, err error, forged []string) {
	t.Helper()
	msg := err.Error()
	if len(msg) > maxDiagnostic+64 || (strings.Contains(msg, "\n") && !errors.Is(err, imagefamily.ErrNoCredentials)) {
		t.Errorf("diagnostic is not one bounded line (%d bytes): %q", len(msg), msg)
	}
	checkLines(t, "diagnostic", msg, forged)
}

// checkLog: every line of the plugin log is printable, none starts with
// forged text or holds forged text with the legacy command prefix "##[",
// and the signature is only ever written redacted.
func checkLog(t *testing.T, out string, forged []string) {
	t.Helper()
	checkLines(t, "log", out, forged)
	for i, l := range strings.Split(out, "\n") {
		if j := strings.Index(l, "Signature="); j >= 0 && !strings.HasPrefix(l[j:], "Signature=[REDACTED]") {
			t.Errorf("log line %d holds a signature: %q", i+1, l)
		}
	}
}

func checkLines(t *testing.T, what, text string, forged []string) {
	t.Helper()
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !safetext.IsClean(l) {
			t.Errorf("%s line %d is not printable: %q", what, i+1, l)
		}
		for _, f := range forged {
			if strings.HasPrefix(strings.TrimLeft(l, " "), f) {
				t.Errorf("%s line %d starts with forged %q", what, i+1, f)
			}
			if strings.Contains(f, "##[") && strings.Contains(l, f) {
				t.Errorf("%s line %d holds the forged legacy command %q as it is: %q", what, i+1, f, l)
			}
		}
	}
}

// Whatever an error below the data source holds, the diagnostic Packer
// prints is one bounded line of printable text, and errors.Is/As still see
// the original.
func TestDiagnosticIsPrintable(t *testing.T) {
	inner := &imagefamily.APIError{Code: "X"}
	raw := fmt.Errorf("denied\x1b[2J\x1b]0;title\x07\n::error::forged\r\n\u202eevil %s %w", strings.Repeat("long ", 10000), inner)
	err := safeError(raw)
	checkDiagnostic(t, err, []string{"::error::forged"})
	if msg := err.Error(); !strings.Contains(msg, `denied\x1b[2J`) || !strings.Contains(msg, `\n::error::forged`) || !strings.Contains(msg, `\u202e`) {
		t.Errorf("escapes are not visible: %q", msg[:200])
	}
	var api *imagefamily.APIError
	if !errors.As(err, &api) || api != inner {
		t.Errorf("errors.As lost the wrapped error")
	}
	// A GitHub runner reading Packer's output finds "##[" anywhere in a
	// line; the diagnostic writes it "##\[", also at the excerpt's cut.
	for _, cut := range []int{0, 1, 2, 3} {
		pad := strings.Repeat("x", maxDiagnostic-len("denied ")-cut)
		msg := safeError(fmt.Errorf("denied %s##[error]forged ##[add-mask]m-x ##[stop-commands]y", pad)).Error()
		if strings.Contains(msg, "##[") {
			t.Errorf("diagnostic cut %d bytes into the prefix holds \"##[\": %q", cut, msg[len(msg)-80:])
		}
	}
	if safeError(nil) != nil {
		t.Errorf("safeError(nil) is not nil")
	}
}

// A guard error names the image by what the server said: every such value
// is escaped, even though the core refuses answers with control characters
// in the first place.
func TestGuardErrorIsPrintable(t *testing.T) {
	ge := guardDiagnostic(&imagefamily.GuardError{
		Guard: "architecture", Expected: `"arm64"`, Found: "\"x86\x1b[31m_64\n::error::f\"",
		Image:  imagefamily.Image{ImageID: "m-abc\x1b]0;t\x07", ImageName: "web\n::add-mask::x\u202e", CreationTime: "2024\r01"},
		Region: "cn-hangzhou", Family: "web-base", RequestID: "R\n::error::rid",
	})
	checkDiagnostic(t, ge, []string{"::error::f", "::add-mask::x", "::error::rid"})
	msg := ge.Error()
	for _, want := range []string{`m-abc\x1b]0;t\x07`, `web\n::add-mask::x\u202e`, `2024\r01`, `[RequestId R\n::error::rid]`,
		`fails the architecture guard: expected "arm64", found "x86\x1b[31m_64\n::error::f"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("guard error lacks %q: %s", want, msg)
		}
	}
	legacy := guardDiagnostic(&imagefamily.GuardError{
		Guard: "architecture", Expected: `"arm64"`, Found: `"x86_64##[error]f"`,
		Image:  imagefamily.Image{ImageID: "m-abc", ImageName: "web##[add-mask]m-abc", CreationTime: "2024-01-01T00:00:00Z"},
		Region: "cn-hangzhou", Family: "web##[stop-commands]x", RequestID: "R-1",
	}).Error()
	if strings.Contains(legacy, "##[") || !strings.Contains(legacy, `web##\[add-mask]m-abc`) {
		t.Errorf("guard error holds \"##[\" as it is: %s", legacy)
	}
	if !errors.Is(ge, imagefamily.ErrGuard) {
		t.Errorf("errors.Is(ErrGuard) lost the core's class")
	}
}

// The data source's own lines in the plugin log (retries, wait progress,
// the core's trace through logWriter) are escaped by logf, whatever text it
// is handed: one line each, printable, nothing forged at a line's start.
func TestPluginLogLinesAreEscaped(t *testing.T) {
	var buf syncio.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(io.Discard)
	logf("[INFO] alicloud-image-family: %s", "retry\x1b[2J\n::error::forged\u202e")
	logWriter{}.Write([]byte("trace \x1b]0;title\x07\r\n::add-mask::forged\n"))
	out := buf.String()
	checkLog(t, out, []string{"::error::forged", "::add-mask::forged"})
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d log lines, want 2:\n%s", n, out)
	}
}
