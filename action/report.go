package action

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

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
// passes through the step log's writers (steplog.go), so none can end the
// line and start a workflow command of its own; outputs and JSON stay exact.
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
			logInfo(a, fmt.Sprintf("%s: the newest image in family %s is %s (%s, version %s, created %s)",
				r.Region, in.family, r.Image.ImageID, orDash(r.Image.ImageName), orDash(r.Image.ImageVersion),
				orDash(r.Image.CreationTime)))
		case errors.Is(r.Err, imagefamily.ErrNotFound) && !in.failIfNotFound:
			warn(a, "No image in family "+in.family, r.Err.Error()+" (fail-if-not-found is false, so the step succeeds with found=false)")
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
		title := "Newest image changed in " + ch.Region
		if in.failOnChange {
			fail(a, title, ch.String())
		} else {
			warn(a, title, ch.String())
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
		warn(a, "", err.Error())
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
