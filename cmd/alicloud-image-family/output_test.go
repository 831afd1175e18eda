package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

func TestReportEscapesEachLine(t *testing.T) {
	var errb bytes.Buffer
	a := &app{stderr: &errb}
	a.report("first \x1b[31mred\x1b[0m\n::error::forged\r", "second line\u202e")
	want := `first \x1b[31mred\x1b[0m\n::error::forged\r` + "\n" + `second line\u202e` + "\n"
	if got := errb.String(); got != want {
		t.Fatalf("report wrote\n%q\nwant\n%q", got, want)
	}
}

// fail keeps only the line breaks of the core's own multi-line guidance
// (imagefamily.MessageLines: it reads as a list; TestNoCredentialsGuidanceCLI),
// escapes every line, and indents every line after the first, so no line
// of stderr can start with text the CLI did not write. Any other message,
// as this one, is one line with its line breaks written \n.
func TestFailEscapesAndIndentsEachLine(t *testing.T) {
	var errb bytes.Buffer
	a := &app{stderr: &errb}
	code := a.fail(errors.New("refused\n::warning::x\x1b]0;t\x07\r\ncn-shanghai\tm-forged\n   ::add-mask::y"))
	if code != exitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	got := errb.String()
	if strings.ContainsAny(got, "\x1b\x07\r\t") {
		t.Errorf("fail wrote %q; want escaped lines", got)
	}
	for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if i > 0 && !strings.HasPrefix(line, "  ") {
			t.Errorf("line %d %q is not indented", i, line)
		}
		// The runner trims leading white space before it looks for "::".
		if trimmed := strings.TrimLeft(line, " \t"); strings.HasPrefix(trimmed, "::") || strings.HasPrefix(trimmed, "cn-shanghai\t") {
			t.Errorf("line %d %q starts with forged text", i, line)
		}
	}
}

func TestEscapingWriter(t *testing.T) {
	for _, c := range []struct {
		keepTabs bool
		in, want string
	}{
		{false, "> POST https://x/?a=1\n< 200 OK\n", "> POST https://x/?a=1\n< 200 OK\n"},
		{false, "a\tb\x1b[2J\r\n", `a\tb\x1b[2J\r` + "\n"},
		{true, "  -flag\n    \tusage \x1b[1m\n", "  -flag\n    \tusage \\x1b[1m\n"},
		{true, "bad \xff byte", `bad \xff byte`},
	} {
		var b bytes.Buffer
		n, err := escapingWriter{w: &b, keepTabs: c.keepTabs}.Write([]byte(c.in))
		if err != nil || n != len(c.in) {
			t.Errorf("Write(%q) = %d, %v", c.in, n, err)
		}
		if b.String() != c.want {
			t.Errorf("Write(%q) wrote %q, want %q", c.in, b.String(), c.want)
		}
	}
}

// A panic below run (here in the CLI's own goroutine, quoting a secret of
// the environment) is exit 1 and one escaped line, the secret gone: never
// 2 (bad input), never a goroutine dump unless asked for.
func TestPanicIsAnInternalError(t *testing.T) {
	var errb bytes.Buffer
	env := map[string]string{"ALICLOUD_SECRET_KEY": demoSecret}
	a := &app{getenv: func(k string) string { return env[k] }, stdout: secretPanicWriter{}, stderr: &errb}
	if code := a.run(context.Background(), []string{"version"}); code != exitFailure {
		t.Errorf("exit %d after a panic, want 1", code)
	}
	if got := errb.String(); got != "alicloud-image-family: internal error: boom [REDACTED]\\n::error::forged\\x1b[2J; this is a bug, please report it\n" {
		t.Errorf("stderr %q", got)
	}
	// The stack only on request, still escaped.
	errb.Reset()
	env["ALICLOUD_IMAGE_FAMILY_TRACEBACK"] = "1"
	if code := a.run(context.Background(), []string{"version"}); code != exitFailure || !strings.Contains(errb.String(), "goroutine ") ||
		strings.ContainsAny(errb.String(), "\x1b\r") {
		t.Errorf("with ALICLOUD_IMAGE_FAMILY_TRACEBACK=1: exit %d, stderr %q", code, errb.String())
	}
}

func TestTimeoutFlag(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want time.Duration // 0: refused
	}{
		{"100ms", 100 * time.Millisecond},
		{"1h", time.Hour},
		{"3600", time.Hour},
		{"90", 90 * time.Second},
		{"1m30s", 90 * time.Second},
		{"99ms", 0},
		{"1h0m0.001s", 0},
		{"3601", 0},
		{"0", 0},
		{"-5s", 0},
		{"99999999999h", 0},
		{"18446744074", 0},
		{"soon", 0},
		{"", 0},
	} {
		var f timeoutFlag
		f.Set(c.raw)
		d, err := f.duration()
		if c.want == 0 {
			var ve *imagefamily.ValidationError
			if !errors.As(err, &ve) || ve.Field != "--timeout" || !imagefamily.IsInputError(err) {
				t.Errorf("--timeout %q: %v, %v; want an input error naming --timeout", c.raw, d, err)
			}
			continue
		}
		if err != nil || d != c.want {
			t.Errorf("--timeout %q = %v, %v; want %v", c.raw, d, err, c.want)
		}
	}
	var unset timeoutFlag
	if d, err := unset.duration(); err != nil || d != imagefamily.DefaultTimeout {
		t.Errorf("unset --timeout = %v, %v; want the default %v", d, err, imagefamily.DefaultTimeout)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", time.Minute: "1m", 100 * time.Millisecond: "100ms", 90 * time.Second: "1m30s",
		10 * time.Second: "10s", 90 * time.Minute: "1h30m", time.Hour + time.Second: "1h0m1s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// writeIndented is json.Indent without holding the result: same bytes for
// every shape of the hostile generator (accepted or not) and for ordinary
// values with strings that hold brackets, quotes and escapes.
func TestWriteIndentedIsJSONIndent(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[1,2,{"c":null}]}`, `"x"`, `12`,
		`{"s":"a,b:{[\"]}\\","t":"\u2028##[error]x","u":[[],[[]],{}]}`,
	}
	for _, s := range conformance.HostileShapes() {
		if b := s.Body("web-base", 64<<10); json.Valid(b) {
			inputs = append(inputs, string(b)) // deeper than encoding/json reads: not valid
		}
	}
	for _, in := range inputs {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(in)); err != nil {
			t.Fatalf("%.60s: %v", in, err)
		}
		var want bytes.Buffer
		json.Indent(&want, compact.Bytes(), "", "  ")
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		writeIndented(w, compact.Bytes(), "  ")
		w.Flush()
		if got.String() != want.String() {
			t.Errorf("%.60s: writeIndented differs from json.Indent (%d vs %d bytes)", in, got.Len(), want.Len())
		}
	}
}
