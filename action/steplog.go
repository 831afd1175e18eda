package action

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The step log is the action's one sink for text a person reads: every
// line and workflow command the action writes passes through the functions
// below, which escape all of it (safetext.Terminal), and then through
// StepLog, the stream guard behind them. Callers hand them raw text.

// annotate writes an ::error annotation. go-githubactions escapes '%', '\r'
// and '\n' in the message (and also ':' and ',' in properties such as the
// title), so the annotation stays one line; safetext.Terminal escapes what
// that leaves (other controls, escape sequences, bidi overrides, Unicode line
// separators), whatever the core already escaped.
//
// The core's own multi-line guidance (no credentials found) keeps its line
// breaks, which go-githubactions writes %0A: the annotation shows it as the
// list it is, with the action's inputs named (actionNames).
func annotate(a *githubactions.Action, title string, err error) {
	lines := imagefamily.MessageLines(actionNames.NoCredentials(err))
	for i, l := range lines {
		lines[i] = safetext.Terminal(l)
	}
	a.WithFieldsMap(map[string]string{"title": safetext.Terminal(title)}).Errorf("%s", strings.Join(lines, "\n"))
}

// stepLog prints whole lines to the step log from any goroutine: the
// lookups of several regions report retries and polls concurrently, and
// their lines must not interleave.
type stepLog struct {
	mu sync.Mutex
	a  *githubactions.Action
}

// info prints one line, escaped (its parts came from servers).
func (l *stepLog) info(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	logInfo(l.a, line)
}

// debug prints one ::debug:: line, escaped.
func (l *stepLog) debug(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.Debugf("%s", safetext.Terminal(line))
}

// warn writes a ::warning annotation, with a title unless title is "".
func warn(a *githubactions.Action, title, msg string) {
	if title != "" {
		a = a.WithFieldsMap(map[string]string{"title": safetext.Terminal(title)})
	}
	a.Warningf("%s", safetext.Terminal(msg))
}

// fail writes an ::error annotation of one line.
func fail(a *githubactions.Action, title, msg string) {
	a.WithFieldsMap(map[string]string{"title": safetext.Terminal(title)}).Errorf("%s", safetext.Terminal(msg))
}

// logInfo writes one line to the step log.
func logInfo(a *githubactions.Action, line string) { a.Infof("%s", safetext.Terminal(line)) }

// panicAnnotation writes the ::error annotation of a recovered panic
// straight to the step's stdout: the data of a workflow command, with '%'
// written %25 (Terminal escapes line breaks and every other control).
func panicAnnotation(stdout io.Writer, msg string) {
	fmt.Fprintf(stdout, "::error title=Image family lookup failed::%s\n", strings.ReplaceAll(safetext.Terminal(msg), "%", "%25"))
}

// StepLog wraps a step's standard output for Run's *githubactions.Action
// (githubactions.WithWriter; Main does this): every "##[" is written "##\[",
// also where a server string ending in "##" meets a "[" of ours or a Write's
// end, so no line of the step log holds the runner's legacy command prefix
// (which it looks for anywhere in a line). Every server string is already
// escaped by safetext.Terminal; this is the line-level guard behind it.
//
// The action's own workflow commands keep working: the runner parses a line
// that starts with "::" and a command it knows as that command, never as a
// legacy one, so "::error ...::" and "::warning ...::" lines are safe as
// they are rewritten. An "::add-mask::" line is passed exactly, so the value
// masked is the secret itself; if the secret holds "##[", a second
// "::add-mask::" line masks it as it appears in the rewritten log too.
//
// Writes must not run concurrently (go-githubactions writes each command or
// line in one Write; the action serialises its lines, stepLog).
func StepLog(w io.Writer) io.Writer {
	return &stepLogWriter{w: w, filter: safetext.NoLegacyCommands(w), lineStart: true}
}

type stepLogWriter struct {
	w         io.Writer // the step's stdout
	filter    io.Writer // w behind safetext.NoLegacyCommands
	lineStart bool      // the last byte written ended a line
}

var addMask = []byte("::add-mask::")

func (s *stepLogWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.lineStart && isMaskLine(p) {
		if n, err := s.w.Write(p); err != nil {
			return n, err
		}
		if bytes.Contains(p, []byte("##[")) {
			// The line ends in a line break, so the filter's state (no "#"
			// pending) is the same before and after.
			if _, err := s.filter.Write(p); err != nil {
				return len(p), err
			}
		}
		return len(p), nil
	}
	n, err := s.filter.Write(p)
	if n > 0 {
		s.lineStart = p[n-1] == '\n'
	}
	return n, err
}

// isMaskLine: p is one whole "::add-mask::" line as go-githubactions writes
// it (its data escaped, so no line break but the one that ends it).
func isMaskLine(p []byte) bool {
	if !bytes.HasPrefix(p, addMask) || p[len(p)-1] != '\n' {
		return false
	}
	body := bytes.TrimSuffix(p[:len(p)-1], []byte("\r"))
	return !bytes.ContainsAny(body, "\r\n")
}
