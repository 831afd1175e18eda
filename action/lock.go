package action

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The command lock: pin, refresh or check a lock file in the workspace
// (imagefamily.Lock holds every rule: the format, the plan, the guards, the
// compare-before-swap write, the check). This file maps the inputs onto a
// LockRequest and puts the outcomes in the step log, the annotations, the
// outputs (changed, and changes: a Markdown list for a pull request's
// body) and the job summary.

// lockFamily is lock's rule for the image-family input: optional (without
// it, every family of the file), the lookup's rule when given.
func lockFamily(f string) error {
	if f == "" {
		return nil
	}
	return imagefamily.ValidateFamily(f)
}

// readLockInputs reads lock's own inputs: lock-file (required), check, the
// regions (optional: without them, every region of the file) and the
// guards.
func readLockInputs(a *githubactions.Action, in *inputs) error {
	path, err := workspacePath(a.Getenv("GITHUB_WORKSPACE"), input(a, "lock-file"))
	if err != nil {
		return err
	}
	in.lockFile, in.lockFileInput = path, input(a, "lock-file")
	if v := input(a, "region"); strings.TrimSpace(v) != "" {
		regions, err := imagefamily.ParseRegions(v)
		if err != nil {
			return err
		}
		in.regions = regions
	}
	if err := readBool(a, "check", &in.check); err != nil {
		return err
	}
	return readGuards(a, in)
}

// workspacePath is the lock-file input as a path: a relative path is the
// workspace's (GITHUB_WORKSPACE, the repository checked out; the working
// directory when unset), and must stay inside it, since a relative path
// names a file of the repository that a later step commits; an absolute
// path is taken as it is.
func workspacePath(workspace, v string) (string, error) {
	bad := func(rule string) error {
		return &imagefamily.ValidationError{Field: "input lock-file", Value: safetext.Excerpt(v, 200), Rule: rule}
	}
	switch {
	case strings.TrimSpace(v) == "":
		return "", bad("it is required with command lock: the lock file's path in the workspace, such as images.lock.json")
	case strings.ContainsAny(v, "\x00\r\n"):
		return "", bad("a path is one line")
	case filepath.IsAbs(v):
		return filepath.Clean(v), nil
	case !filepath.IsLocal(v):
		return "", bad("a relative path is the workspace's (GITHUB_WORKSPACE) and must stay inside it; write an absolute path for a file elsewhere")
	case workspace == "":
		return filepath.Clean(v), nil
	}
	return filepath.Join(workspace, v), nil
}

// lockRequest is the LockRequest of the inputs over req.
func (in *inputs) lockRequest(req imagefamily.Request) imagefamily.LockRequest {
	req.Region = ""
	return imagefamily.LockRequest{Request: req, Path: in.lockFile, Regions: in.regions, Check: in.check}
}

// runLock runs the lock and reports it.
func (c *config) runLock(ctx context.Context, a *githubactions.Action, in *inputs, req imagefamily.Request) error {
	res, err := imagefamily.Lock(ctx, in.lockRequest(req))
	if err != nil {
		return actionNames.FirstRefusal(in.asWritten(err))
	}
	// No credentials is an input error found before anything was sent: one
	// annotation (Run's), exit 2.
	for _, o := range res.Outcomes {
		if o.Err != nil && imagefamily.IsInputError(o.Err) {
			return actionNames.FirstRefusal(o.Err)
		}
	}
	log := &stepLog{a: a}
	failures := &failureLog{a: a, in: in}
	var differences []string
	for _, o := range res.Outcomes {
		if o.Action != imagefamily.LockCurrent {
			log.info(o.String())
		}
		if line := o.PinnedString(); line != "" {
			log.info(line)
			if o.Pinned != "" { // not a pin that could not be looked up: the entry's failure says why
				differences = append(differences, line)
			}
		}
		if o.Changed() {
			differences = append(differences, o.String())
		}
		if o.Err != nil {
			failures.add(fmt.Sprintf("Image family lock kept %s in %s", o.Family, o.Region), o.Err)
		}
	}
	if res.Check && len(differences) > 0 {
		failures.errs = append(failures.errs, errors.New(strings.Join(differences, "; ")))
		annotate(a, "Lock file differs", fmt.Errorf("%s: %s", res.Verdict(in.lockFileShown(), "check"), strings.Join(differences, "; ")))
	}
	if res.Err != nil {
		failures.errs = append(failures.errs, res.Err)
		annotate(a, "Lock file not written", res.Err)
	}
	log.info(lockVerdict(in, res))

	found := true
	for _, o := range res.Outcomes {
		found = found && o.Err == nil
	}
	outs := allOutputs(nil, found && len(res.Outcomes) > 0, "", "{}", res.Changed(), lockChanges(res), "[]")
	if err := writeOutputs(a.Getenv("GITHUB_OUTPUT"), outs); err != nil {
		return err
	}
	c.outputsWritten = true
	if err := appendSummary(a.Getenv("GITHUB_STEP_SUMMARY"), lockSummary(in, res)); err != nil {
		warn(a, "", err.Error())
	}
	code := res.ExitCode()
	if code == imagefamily.ExitOK {
		return nil
	}
	joined := errors.Join(failures.errs...)
	if joined == nil {
		joined = errors.New("image family lock did not do what was asked")
	}
	return &reportedError{&outcomesError{code: code, err: joined}}
}

// asWritten names the lock file in a refusal as the workflow wrote it
// (the core names the path it read, resolved against the workspace).
func (in *inputs) asWritten(err error) error {
	var ve *imagefamily.ValidationError
	if errors.As(err, &ve) && ve.Field == "lock file" && ve.Value == in.lockFile {
		shown := *ve
		shown.Value = in.lockFileShown()
		return &shown
	}
	return err
}

// lockFileShown is the lock-file input as the workflow wrote it, for
// messages.
func (in *inputs) lockFileShown() string {
	if in.lockFileInput != "" {
		return in.lockFileInput
	}
	return in.lockFile
}

// lockVerdict is the step log's last line: what became of the file.
func lockVerdict(in *inputs, res imagefamily.LockResult) string {
	return res.Verdict(in.lockFileShown(), "check")
}

// lockChanges is the changes output: one Markdown list item per entry that
// changed (or, with check, would), "family region: old -> new (created
// ..., named ...)", for a pull request's body; "" when nothing changed.
// Every server string is escaped for Markdown (safetext.Markdown: no HTML,
// no links, no mentions).
func lockChanges(res imagefamily.LockResult) string {
	var b strings.Builder
	for _, o := range res.Outcomes {
		if !o.Changed() {
			continue
		}
		old := "none"
		if o.Old.ImageID != "" {
			old = o.Old.ImageID
		}
		fmt.Fprintf(&b, "- %s %s: %s -> %s (created %s", mdCell(o.Family), mdCell(o.Region), mdCell(old),
			mdCell(o.New.ImageID), mdCell(o.New.CreationTime))
		if o.New.ImageName != "" {
			fmt.Fprintf(&b, ", named %s", mdCell(safetext.Cut(o.New.ImageName, 128)))
		}
		b.WriteString(")\n")
	}
	return b.String()
}

// lockSummary renders the job summary of lock: what became of the file,
// the changes, the entries kept and the pins that went stale.
func lockSummary(in *inputs, res imagefamily.LockResult) string {
	var b strings.Builder
	mode := ""
	if res.Check {
		mode = " (check: nothing is written)"
	}
	fmt.Fprintf(&b, "### Alibaba Cloud image family lock file `%s`%s\n\n", codeSpan(in.lockFileShown()), mode)
	fmt.Fprintf(&b, "%s\n\n", mdCell(lockVerdict(in, res)))
	if changes := lockChanges(res); changes != "" {
		if res.Check {
			b.WriteString("Would change:\n\n")
		} else {
			b.WriteString("Changed:\n\n")
		}
		b.WriteString(changes + "\n")
	}
	var other []string
	for _, o := range res.Outcomes {
		if o.Action == imagefamily.LockKept {
			other = append(other, o.String())
		}
		if line := o.PinnedString(); line != "" {
			other = append(other, line)
		}
	}
	if len(other) > 0 {
		for _, l := range other {
			fmt.Fprintf(&b, "- %s\n", mdCell(l))
		}
		b.WriteString("\n")
	}
	return b.String()
}
