package action

import (
	"bytes"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"
)

// minMaskedLine is the shortest line of a multi-line secret that is masked
// on its own.
const minMaskedLine = 6

// mask registers a secret with the runner. A multi-line value is masked line
// by line too, because the runner matches masks against single log lines.
func mask(a *githubactions.Action, secret string) {
	if strings.TrimSpace(secret) == "" {
		return
	}
	a.AddMask(secret)
	if strings.ContainsAny(secret, "\r\n") {
		for _, line := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\r' || r == '\n' }) {
			// A short line ("e", ":") would star out that text in every
			// later log line; no real secret has a line that short.
			if len(strings.TrimSpace(line)) >= minMaskedLine {
				a.AddMask(line)
			}
		}
	}
}

// debugWriter turns the core's trace into ::debug:: lines, which the runner
// shows only with step debug logging on. It is safe for the concurrent
// lookups of several regions.
type debugWriter struct {
	mu  sync.Mutex
	log *stepLog
	buf bytes.Buffer
}

func (w *debugWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			// Incomplete line: keep it for the next write.
			w.buf.Reset()
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.log.debug(strings.TrimRight(line, "\r\n"))
	}
}

func (w *debugWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.log.debug(w.buf.String())
		w.buf.Reset()
	}
}
