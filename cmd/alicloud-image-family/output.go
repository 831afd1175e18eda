package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// What reaches the terminal. The core already escapes and bounds every piece
// of server text in its errors; the CLI escapes again as defence in depth,
// so that no message, whatever a future error path puts in it, can carry a
// control character or escape sequence to the terminal, or start a line of
// stderr with text the CLI did not write (a GitHub workflow command, a
// forged "region<TAB>id" line).

// report writes one message to stderr. Each argument is one line, escaped
// with safetext.Terminal, so a line break inside an argument (from an error
// message or a user's flag value) is shown as \n and cannot start a line;
// the line breaks between arguments are the CLI's own.
func (a *app) report(lines ...string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(safetext.Terminal(l))
		b.WriteByte('\n')
	}
	io.WriteString(a.stderr, b.String())
}

// reportLines writes a message of several lines (the core's own guidance,
// such as the list of credential sources; imagefamily.MessageLines): each
// line is escaped, every line after the first is indented, and a
// continuation line that would read as a workflow command once the runner
// trims its leading white space (it does: "  ::error::x" is a command) gets
// a backslash in front, so that no line of stderr can act as text the CLI
// did not write.
func (a *app) reportLines(lines []string) {
	lines = append([]string(nil), lines...)
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		if t := strings.TrimLeft(l, " \t"); strings.HasPrefix(t, "::") {
			l = "\\" + t
		}
		if !strings.HasPrefix(l, "  ") {
			l = "  " + l
		}
		lines[i] = l
	}
	a.report(lines...)
}

// reportf is report of one formatted line.
func (a *app) reportf(format string, args ...any) {
	a.report(fmt.Sprintf(format, args...))
}

// escapingWriter passes text through safetext.Terminal line by line, keeping
// the line breaks (and tabs when keepTabs is set: the flag package indents
// its usage with them). It is the stderr of writers whose text the CLI does
// not compose itself: the flag package (which echoes unknown flags
// unquoted) and the --debug trace. A Write is expected to hold whole lines
// or at least whole UTF-8 sequences, as fmt's writes do; a sequence split
// across two Writes is escaped byte by byte, never passed through raw.
type escapingWriter struct {
	w        io.Writer
	keepTabs bool
}

func (e escapingWriter) Write(p []byte) (int, error) {
	var b strings.Builder
	for i, line := range strings.Split(string(p), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.keepTabs {
			for j, field := range strings.Split(line, "\t") {
				if j > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(safetext.Terminal(field))
			}
			continue
		}
		b.WriteString(safetext.Terminal(line))
	}
	if _, err := io.WriteString(e.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// recoverInternal turns a panic in the goroutine it is deferred in into one
// line on stderr and exit 1: a crash must not look like bad input (Go exits
// 2 after a panic) nor print a goroutine dump that may hold request data.
// The panic value loses every secret of the environment
// (imagefamily.NewInternalError) and is escaped and bounded. Panics in the
// goroutines the core starts (one per region, one per SDK call) never get
// here: the core recovers them and returns them as errors, which fail
// reports like any other (exit 1, class imagefamily.ErrInternal or, for the
// SDK call, ErrAPI). ALICLOUD_IMAGE_FAMILY_TRACEBACK=1 adds the stack, for a
// bug report.
func (a *app) recoverInternal(code *int) {
	r := recover()
	if r == nil {
		return
	}
	getenv := a.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a.report("alicloud-image-family: " + imagefamily.NewInternalError("", r, imagefamily.Credentials{Getenv: getenv}).Error())
	if getenv("ALICLOUD_IMAGE_FAMILY_TRACEBACK") == "1" {
		escapingWriter{w: a.stderr, keepTabs: true}.Write(debug.Stack())
	}
	*code = exitFailure
}

// writeIndented writes compact JSON (as json.Marshal makes it) to w in the
// layout of json.Indent with no prefix: one element per line, empty
// objects and arrays kept as {} and [], ": " after member names. It keeps
// no more than one token in memory, so the indented text, which grows with
// the nesting, is never built whole.
func writeIndented(w *bufio.Writer, src []byte, indent string) {
	depth := 0
	newline := func() {
		w.WriteByte('\n')
		for range depth {
			w.WriteString(indent)
		}
	}
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			w.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			w.WriteByte(c)
		case '{', '[':
			w.WriteByte(c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				w.WriteByte(src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			w.WriteByte(c)
		case ',':
			w.WriteByte(c)
			newline()
		case ':':
			w.WriteString(": ")
		case ' ', '\t', '\r', '\n':
			// Compact input has none outside strings.
		default:
			w.WriteByte(c)
		}
	}
}
