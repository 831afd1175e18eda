package action

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// output is one name/value pair for GITHUB_OUTPUT, kept in order so the file
// reads the same way every run.
type output struct{ name, value string }

// outputName is what GitHub accepts as an output id; checking it keeps a
// name from ever carrying "<<" or a line break into the file.
var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// writeOutputs appends the outputs to the GITHUB_OUTPUT file in the heredoc
// form with a fresh random delimiter per value. go-githubactions' SetOutput
// uses one fixed, public delimiter, so a value containing a line equal to it
// (an image description, say) would end the value early and let the rest of
// the value define outputs of its own. A 128-bit random delimiter cannot be
// predicted by whoever wrote the value; we still check it is absent.
func writeOutputs(path string, outs []output) error {
	if path == "" {
		return errors.New("GITHUB_OUTPUT is not set: this command writes step outputs and must run inside a GitHub Actions step (or act)")
	}
	var b strings.Builder
	for _, o := range outs {
		if !outputName.MatchString(o.name) {
			return fmt.Errorf("internal error: invalid output name %q", o.name)
		}
		delim, err := delimiterFor(o.value)
		if err != nil {
			return err
		}
		// name<<delim \n value EOL delim \n — the same framing the official
		// toolkit writes (actions/toolkit prepareKeyValueMessage).
		fmt.Fprintf(&b, "%s<<%s\n%s%s%s\n", o.name, delim, o.value, valueEnd(runnerOS, o.value), delim)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing step outputs: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("writing step outputs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing step outputs: %w", err)
	}
	return nil
}

// valueEnd ends a value's last line. The Windows runner ends a line at
// "\r\n" as well as "\n", so there a value ending in "\r" followed by a bare
// "\n" would lose its "\r"; "\r\n" keeps it (found by FuzzWriteOutputs).
// Every other value keeps the bare "\n" on every OS.
func valueEnd(goos, value string) string {
	if goos == "windows" && strings.HasSuffix(value, "\r") {
		return "\r\n"
	}
	return "\n"
}

// runnerOS is the runner's OS as the runner's file reader sees it; tests
// write for both.
var runnerOS = runtime.GOOS

// randRead is crypto/rand.Read; tests replace it to force a collision.
var randRead = rand.Read

// delimiterFor returns a random delimiter that does not occur in value.
func delimiterFor(value string) (string, error) {
	for range 8 {
		var buf [16]byte
		if _, err := randRead(buf[:]); err != nil {
			return "", fmt.Errorf("random delimiter: %w", err)
		}
		d := "ghadelimiter_" + hex.EncodeToString(buf[:])
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", errors.New("could not choose an output delimiter absent from the value")
}

// appendSummary appends markdown to the job summary. A missing
// GITHUB_STEP_SUMMARY (old runners, some local runners) only loses the table,
// so it is not an error.
func appendSummary(path, markdown string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing job summary: %w", err)
	}
	if _, err := f.WriteString(markdown); err != nil {
		f.Close()
		return fmt.Errorf("writing job summary: %w", err)
	}
	return f.Close()
}

// mdCell makes an API-supplied string safe inside a Markdown table cell of
// the job summary (which renders HTML too): no line or column breaks, no
// HTML, no links or emphasis, no control characters (safetext.Markdown).
func mdCell(s string) string { return safetext.Markdown(s) }

// codeSpan makes a string safe inside a `code span` of a table cell. Inside
// a code span Markdown's backslash escapes show literally, so only what
// could end the span, the cell or the row, or open HTML, is replaced; the
// values shown this way (image ids, the family) are checked by the core and
// never hold any of it.
func codeSpan(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`, "&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(safetext.Terminal(s))
}
