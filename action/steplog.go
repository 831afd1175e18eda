package action

import (
	"bytes"
	"io"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

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
