package action

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

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
	l.a.Infof("%s", safetext.Terminal(line))
}

// debug prints one ::debug:: line, escaped.
func (l *stepLog) debug(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.Debugf("%s", safetext.Terminal(line))
}

// failureLog collects the failures of a step's entries (the regions of
// promote and rollback, the entries of a lock) and annotates each, with
// what only the action knows added (explain). Credentials are obtained once
// for every entry: their failure is annotated once.
type failureLog struct {
	a           *githubactions.Action
	in          *inputs
	errs        []error
	credentials bool
}

func (f *failureLog) add(title string, err error) {
	explained := explain(err, f.in)
	f.errs = append(f.errs, explained)
	creds := errors.As(err, new(*imagefamily.CredentialsError))
	if creds && f.credentials {
		return
	}
	f.credentials = f.credentials || creds
	annotate(f.a, title, explained)
}

// report prints what was found, writes outputs and summary, and annotates
// each failed region. Every server-provided string printed to the step log
// passes through safetext.Terminal, so none can end the line and start a
// workflow command of its own; outputs and JSON stay exact.
func (c *config) report(a *githubactions.Action, in *inputs, results []imagefamily.Result) error {
	var failures []error
	images := map[string]imagefamily.Image{}
	credentialsReported := false
	for _, r := range results {
		switch {
		case errors.As(r.Err, new(*imagefamily.CredentialsError)) && credentialsReported:
			// Credentials are obtained once for every region: one failure,
			// annotated once (with its guidance, over lines).
			failures = append(failures, r.Err)
		case errors.As(r.Err, new(*imagefamily.CredentialsError)):
			credentialsReported = true
			err := explain(r.Err, in)
			annotate(a, fmt.Sprintf("Image family lookup failed in %s", r.Region), err)
			failures = append(failures, err)
		case r.Err == nil:
			images[r.Region] = r.Image
			a.Infof("%s: the newest image in family %s is %s (%s, version %s, created %s)",
				safetext.Terminal(r.Region), safetext.Terminal(in.family), safetext.Terminal(r.Image.ImageID),
				safetext.Terminal(orDash(r.Image.ImageName)), safetext.Terminal(orDash(r.Image.ImageVersion)),
				safetext.Terminal(orDash(r.Image.CreationTime)))
		case errors.Is(r.Err, imagefamily.ErrNotFound) && !in.failIfNotFound:
			a.WithFieldsMap(map[string]string{"title": "No image in family " + safetext.Terminal(in.family)}).
				Warningf("%s (fail-if-not-found is false, so the step succeeds with found=false)", safetext.Terminal(r.Err.Error()))
		case errors.Is(r.Err, imagefamily.ErrGuard):
			annotate(a, fmt.Sprintf("Image refused by a guard in %s", r.Region), r.Err)
			failures = append(failures, r.Err)
		default:
			err := explain(r.Err, in)
			annotate(a, fmt.Sprintf("Image family lookup failed in %s", r.Region), err)
			failures = append(failures, err)
		}
	}

	// Drift: one annotation per region whose newest image is not the
	// expected one, a warning, or an error that fails the step with
	// fail-on-change. The outputs hold the new ids either way.
	changes := imagefamily.Changes(in.expected, results)
	for _, ch := range changes {
		title := map[string]string{"title": "Newest image changed in " + safetext.Terminal(ch.Region)}
		if in.failOnChange {
			a.WithFieldsMap(title).Errorf("%s", safetext.Terminal(ch.String()))
		} else {
			a.WithFieldsMap(title).Warningf("%s", safetext.Terminal(ch.String()))
		}
	}
	if len(changes) > 0 && in.failOnChange {
		failures = append(failures, &changedError{changes})
	}

	outs, err := outputsFor(in, results, images, len(changes) > 0)
	if err != nil {
		return err
	}
	if err := writeOutputs(a.Getenv("GITHUB_OUTPUT"), outs); err != nil {
		// Not written (writeOutputs refuses before it touches the file),
		// or the file could not be written: Run writes the failure
		// outputs, or says why it could not.
		return err
	}
	c.outputsWritten = true
	if err := appendSummary(a.Getenv("GITHUB_STEP_SUMMARY"), summary(in, results, changes)); err != nil {
		// The summary is a convenience; losing it must not fail a lookup
		// whose outputs were written.
		a.Warningf("%s", safetext.Terminal(err.Error()))
	}
	if len(failures) > 0 {
		return &reportedError{errors.Join(failures...)}
	}
	return nil
}

// changedError fails a step whose newest images differ from
// expected-image-ids while fail-on-change is true (exit code 4, as in the
// CLI).
type changedError struct{ changes []imagefamily.Change }

func (e *changedError) Error() string {
	lines := make([]string, len(e.changes))
	for i, ch := range e.changes {
		lines[i] = ch.String()
	}
	return "the newest image differs from expected-image-ids (fail-on-change is true): " + strings.Join(lines, "; ")
}

// Is makes a change that fails the step the core's ErrChanged, exit code 4
// as in the CLI.
func (e *changedError) Is(target error) bool { return target == imagefamily.ErrChanged }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
