package imagefamily

import (
	"errors"
	"strings"
)

// What every front says about one region's outcome of Promote or Rollback:
// the line that says exactly what changed (Note), the record machine
// outputs carry (Record), and the exit code (ExitCode). They live here so
// that the CLI and the action word and rank outcomes alike.

// Note is the line that says what changed in the region, or would change in
// a dry run, or that nothing needed to; "" when the outcome is only its
// error (Failed), whose message the front reports. A Superseded promote
// that did change the image says what changed here, and its error says why
// the family still resolves elsewhere. The line holds checked ids and the
// core's escaped change descriptions; fronts still escape it for their sink.
func (o RegionOutcome) Note() string {
	resolves := o.Resolves
	if resolves == "" {
		resolves = "no Available image"
	}
	changes := strings.Join(o.Changes, ", ")
	switch o.Outcome {
	case Promoted, RolledBack:
		return o.Region + ": " + string(o.Outcome) + " " + o.ImageID + ": " + changes + "; the family resolves to " + resolves
	case WouldPromote, WouldRollBack:
		return o.Region + ": dry run: " + o.ImageID + " would change: " + changes + " (the API accepted it with DryRun); nothing was changed"
	case Already:
		return o.Region + ": " + o.ImageID + " is already a live member of the family, and the family resolves to it; nothing changed"
	}
	// A change not read back is said by its error (an *UnconfirmedError);
	// any other change made is said here, before the failure or refusal.
	var unconfirmed *UnconfirmedError
	if o.Changed && !errors.As(o.Err, &unconfirmed) {
		return o.Region + ": " + o.ImageID + " changed: " + changes
	}
	return ""
}

// ExitCode is the outcome's exit code (docs/cli.md, docs/action.md): 4 for
// superseded and moved (the family is not where you named), 5 for refused
// (the last-image guard), 1 for failed, 0 otherwise. Fronts take the worst
// of several regions with WorseExit.
func (o RegionOutcome) ExitCode() int {
	switch o.Outcome {
	case Superseded, Moved:
		return ExitChanged
	case Refused:
		return ExitGuard
	case Failed:
		return ExitFailure
	}
	return ExitOK
}

// OutcomeRecord is one region's outcome as machine outputs carry it (the
// CLI's --output json, the action's results output).
type OutcomeRecord struct {
	Region    string   `json:"region"`
	ImageID   string   `json:"image_id"`
	Outcome   string   `json:"outcome"`
	Changes   []string `json:"changes"`
	Changed   bool     `json:"changed"`
	Resolves  string   `json:"resolves"`
	RequestID string   `json:"request_id,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// Record is the outcome's OutcomeRecord: Changes never null, Error the
// error's message when there is one.
func (o RegionOutcome) Record() OutcomeRecord {
	r := OutcomeRecord{Region: o.Region, ImageID: o.ImageID, Outcome: string(o.Outcome), Changes: o.Changes, Changed: o.Changed, Resolves: o.Resolves, RequestID: o.RequestID}
	if r.Changes == nil {
		r.Changes = []string{}
	}
	if o.Err != nil {
		r.Error = o.Err.Error()
	}
	return r
}
