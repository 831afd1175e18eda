package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// The family lifecycle's report (commands promote and rollback): the core
// did the work (imagefamily.Promote, imagefamily.Rollback) and words each
// region's outcome (RegionOutcome.Note, Record, ExitCode) as the CLI does;
// this file only puts the words in the step log, the annotations, the
// outputs and the job summary.

// reportLifecycle reports the outcomes of promote or rollback: one step-log
// line per region saying exactly what changed (or would change, in a dry
// run), an annotation per region that did not do what was asked, the
// outputs and the job summary. The step's exit code is the worst region's,
// the CLI's: 4 superseded or moved, 5 refused, 1 failed.
func (c *config) reportLifecycle(a *githubactions.Action, in *inputs, outs []imagefamily.RegionOutcome, err error) error {
	if err != nil {
		// Refused before anything was sent (validated already, so not
		// expected here).
		return actionNames.FirstRefusal(err)
	}
	// No credentials is an input error found before anything was sent, and
	// the same in every region: one annotation (Run's), exit 2.
	for _, o := range outs {
		if o.Err != nil && imagefamily.IsInputError(o.Err) {
			return actionNames.FirstRefusal(o.Err)
		}
	}
	log := &stepLog{a: a}
	code := imagefamily.ExitOK
	failures := &failureLog{a: a, in: in}
	for _, o := range outs {
		code = imagefamily.WorseExit(code, o.ExitCode())
		if note := o.Note(); note != "" {
			log.info(note)
		}
		if o.Err != nil {
			failures.add(fmt.Sprintf("Image family %s %s in %s", in.command, o.Outcome, o.Region), o.Err)
		}
	}

	outputs, err := lifecycleOutputs(outs)
	if err != nil {
		return err
	}
	if err := writeOutputs(a.Getenv("GITHUB_OUTPUT"), outputs); err != nil {
		return err
	}
	c.outputsWritten = true
	if err := appendSummary(a.Getenv("GITHUB_STEP_SUMMARY"), lifecycleSummary(in, outs)); err != nil {
		warn(a, "", err.Error())
	}
	if code == imagefamily.ExitOK {
		return nil
	}
	joined := errors.Join(failures.errs...)
	if joined == nil {
		joined = errors.New("image family " + in.command + " did not do what was asked")
	}
	return &reportedError{&outcomesError{code: code, err: joined}}
}

// outcomesError carries the exit code of a promote or rollback that did not
// do what was asked in some region: the worst region's, from the outcomes
// (a superseded promote is exit 4, though its error's class is the
// lifecycle's, not drift's).
type outcomesError struct {
	code int
	err  error
}

func (e *outcomesError) Error() string { return e.err.Error() }
func (e *outcomesError) Unwrap() error { return e.err }

// resolvesNow is what the family resolves to in the region after the step:
// the read back, except in a rollback's dry run, where the core names the
// image the family would fall back to and nothing changed, so the family
// still resolves to the image named (the compare-and-swap checked it).
func resolvesNow(o imagefamily.RegionOutcome) string {
	if o.Outcome == imagefamily.WouldRollBack {
		return o.ImageID
	}
	return o.Resolves
}

// lifecycleOutputs is every output of promote and rollback: the image
// outputs empty (a lifecycle step describes several images' outcomes, in
// results), found (the family resolves to an image in every region named),
// image-ids (what it resolves to), changed (an image was changed: never in
// a dry run) and results (one record per region, the CLI's --output json).
func lifecycleOutputs(outs []imagefamily.RegionOutcome) ([]output, error) {
	ids := map[string]string{}
	found := len(outs) > 0
	changed := false
	records := make([]imagefamily.OutcomeRecord, 0, len(outs))
	for _, o := range outs {
		if now := resolvesNow(o); now != "" {
			ids[o.Region] = now
		} else {
			found = false
		}
		changed = changed || o.Changed
		records = append(records, o.Record())
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	results, err := json.Marshal(records)
	if err != nil {
		return nil, err
	}
	return allOutputs(nil, found, "", string(idsJSON), changed, "", string(results)), nil
}

// lifecycleSummary renders the job summary of promote or rollback: one row
// per region (the region, the image named, the outcome, the changes made or
// that would be made, what the family resolves to), then each region's
// error in full. Every value passes mdCell or codeSpan.
func lifecycleSummary(in *inputs, outs []imagefamily.RegionOutcome) string {
	var b strings.Builder
	mode := ""
	if in.dryRun {
		mode = " (dry run: nothing was changed)"
	}
	fmt.Fprintf(&b, "### Alibaba Cloud image family `%s`: %s%s\n\n", codeSpan(in.family), in.command, mode)
	b.WriteString("| Region | Image | Outcome | Changes | Family resolves to |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, o := range outs {
		changes := "none"
		if len(o.Changes) > 0 {
			changes = strings.Join(o.Changes, ", ")
		}
		now := resolvesNow(o)
		resolves := "no Available image"
		switch {
		case now != "" && o.Outcome == imagefamily.WouldRollBack && o.Resolves != "":
			resolves = fmt.Sprintf("`%s` (after the rollback: `%s`)", codeSpan(now), codeSpan(o.Resolves))
		case now != "" && o.Outcome == imagefamily.WouldRollBack:
			resolves = fmt.Sprintf("`%s` (after the rollback: no Available image)", codeSpan(now))
		case now != "":
			resolves = "`" + codeSpan(now) + "`"
		case o.Outcome == imagefamily.Failed:
			resolves = "not read back"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", mdCell(o.Region), codeSpan(o.ImageID), mdCell(string(o.Outcome)), mdCell(changes), resolves)
	}
	b.WriteString("\n")
	errs := 0
	for _, o := range outs {
		if o.Err != nil {
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", mdCell(o.Region), mdCell(string(o.Outcome)), mdCell(o.Err.Error()))
			errs++
		}
	}
	if errs > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
