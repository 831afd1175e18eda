package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// LockRequest asks Lock to pin, refresh or check the entries of a lock
// file (lock.go). The embedded Request gives the connection, credentials,
// retries, guards, front and hooks as for a lookup; its Family, with
// Regions, names the entries to look up:
//
//   - Family and Regions: those pairs, added to the file when new; the
//     file's other entries are kept as they are;
//   - Family alone: that family's entries in the file;
//   - Regions alone: every family's entries in those regions;
//   - neither: every entry of the file.
//
// Its Region, Wait and NewerThan are not used.
type LockRequest struct {
	Request
	Path    string
	Regions []string
	// Check compares and writes nothing: every entry that would change is a
	// difference (exit code 4), and so is a pinned image that no longer
	// exists or is Deprecated.
	Check bool
}

// LockAction is what Lock did, or with Check would do, to one entry.
type LockAction string

const (
	// LockCurrent: the family resolves to the pinned image.
	LockCurrent LockAction = "current"
	// LockUpdated: the family resolves to another image, now pinned.
	LockUpdated LockAction = "updated"
	// LockAdded: a new entry, pinned to what the family resolves to.
	LockAdded LockAction = "added"
	// LockKept: the lookup found no image, refused the one it found
	// (guards) or failed (Err says which): the entry was left as it was
	// (a new one was not added).
	LockKept LockAction = "kept"
)

// LockOutcome is one entry's outcome.
type LockOutcome struct {
	Family, Region string
	// Old is the entry as the file had it; its ImageID is "" for a new
	// entry.
	Old LockEntry
	// New is what the family resolves to now; zero when Err is set.
	New    LockEntry
	Action LockAction
	// Err is the lookup's error (not found, a guard, a failure) for
	// LockKept.
	Err error
	// Pinned, with Check, says what became of the pinned image when the
	// family no longer resolves to it: "missing" (no such image: deleted),
	// an image status other than Available (such as "Deprecated"), or ""
	// (not looked at, or Available). PinnedErr is the error of that look
	// (DescribeImages), when it failed.
	Pinned    string
	PinnedErr error
}

// Changed reports whether the entry moved (or, with Check, would).
func (o LockOutcome) Changed() bool { return o.Action == LockUpdated || o.Action == LockAdded }

// String is the outcome's line, every server string bounded
// (safetext.Excerpt): "family region: old -> new (created ...)" for a
// change; for a kept entry, the lookup's error and what was kept.
func (o LockOutcome) String() string {
	head := safetext.Excerpt(o.Family, maxLabelBytes) + " " + safetext.Excerpt(o.Region, maxLabelBytes) + ": "
	old := "none"
	if o.Old.ImageID != "" {
		old = safetext.Excerpt(o.Old.ImageID, 128)
	}
	switch o.Action {
	case LockUpdated, LockAdded:
		return head + old + " -> " + safetext.Excerpt(o.New.ImageID, 128) + " (created " + safetext.Excerpt(o.New.CreationTime, 64) + ")"
	case LockCurrent:
		return head + old + " is current"
	}
	kept := "the entry is kept: " + old
	if o.Old.ImageID == "" {
		kept = "nothing is added"
	}
	if errors.Is(o.Err, ErrNotFound) {
		return head + "no available image in the family; " + kept
	}
	return head + kept + "; " + o.Err.Error()
}

// PinnedString is the line about the pinned image for a Check, "" when
// there is nothing to say.
func (o LockOutcome) PinnedString() string {
	head := safetext.Excerpt(o.Family, maxLabelBytes) + " " + safetext.Excerpt(o.Region, maxLabelBytes) + ": the pinned image " + safetext.Excerpt(o.Old.ImageID, 128)
	switch {
	case o.PinnedErr != nil:
		return head + " could not be looked up: " + o.PinnedErr.Error()
	case o.Pinned == "missing":
		return head + " no longer exists (DescribeImages does not know it)"
	case o.Pinned != "":
		return head + " is " + safetext.Excerpt(o.Pinned, 40)
	}
	return ""
}

// LockResult is what Lock did.
type LockResult struct {
	Path     string
	Check    bool
	Outcomes []LockOutcome // by family, then region, sorted
	// Written: the file was written (only when an entry changed; never
	// with Check).
	Written bool
	// Err is the write's failure, when it failed; the file is then as it
	// was.
	Err error
}

// Changed reports whether any entry moved (or, with Check, would).
func (r LockResult) Changed() bool {
	for _, o := range r.Outcomes {
		if o.Changed() {
			return true
		}
	}
	return false
}

// ExitCode is the run's exit code: the worst of its entries (WorseExit):
// a kept entry's error class; with Check, 4 for an entry that would change
// or a pinned image missing or not Available; 1 for a failed write.
func (r LockResult) ExitCode() int {
	code := ExitCode(r.Err)
	for _, o := range r.Outcomes {
		code = WorseExit(code, ExitCode(o.Err))
		code = WorseExit(code, ExitCode(o.PinnedErr))
		if r.Check && (o.Changed() || o.Pinned != "") {
			code = WorseExit(code, ExitChanged)
		}
	}
	return code
}

// Differences counts the entries a check finds different: one that would
// change, or whose pinned image is missing or not Available.
func (r LockResult) Differences() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Changed() || o.Pinned != "" {
			n++
		}
	}
	return n
}

// Verdict is the run's last line, what became of the file; path is the
// file as the user named it, check the front's name of the check option
// ("--check", "check").
func (r LockResult) Verdict(path, check string) string {
	n, differences, kept := len(r.Outcomes), r.Differences(), 0
	for _, o := range r.Outcomes {
		if o.Action == LockKept {
			kept++
		}
	}
	entries := func(n int) string { return fmt.Sprintf("%d %s", n, plural(n, "entry", "entries")) }
	tail := ""
	if kept > 0 {
		tail = fmt.Sprintf("; %s kept as %s (see above)", entries(kept), plural(kept, "it was", "they were"))
	}
	switch {
	case r.Err != nil:
		return path + ": nothing was written"
	case r.Check && differences > 0:
		return fmt.Sprintf("%s: %d %s; nothing was written (%s)%s", path, differences, plural(differences, "difference", "differences"), check, tail)
	case r.Check && kept > 0:
		return fmt.Sprintf("%s: no difference found, but %d of %s could not be checked (see above)", path, kept, entries(n))
	case r.Check:
		return fmt.Sprintf("%s is current (%s checked)", path, entries(n))
	case r.Written:
		return fmt.Sprintf("wrote %s: %s changed%s", path, entries(differences), tail)
	case kept > 0:
		return path + ": nothing was written" + tail
	}
	return fmt.Sprintf("%s is current; nothing was written (%s looked up)", path, entries(n))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// LockPlan is a lock run checked offline: the file read and the entries to
// look up.
type LockPlan struct {
	File    LockFile
	targets []target
	raw     []byte // the file as read, for the compare before the swap
	exists  bool
}

// PlanLock reads the lock file and checks the request offline: every
// refusal is a *ValidationError (bad input, nothing sent), the file is
// untouched.
func PlanLock(req LockRequest) (LockPlan, error) {
	bad := func(field, value, rule string) (LockPlan, error) {
		return LockPlan{}, &ValidationError{Field: field, Value: value, Rule: rule}
	}
	if req.Path == "" {
		return bad("lock file", "", "it is required: the path of the lock file (images.lock.json)")
	}
	if req.Family != "" {
		if err := ValidateFamily(req.Family); err != nil {
			return LockPlan{}, err
		}
	}
	for _, r := range req.Regions {
		if err := ValidateRegion(r); err != nil {
			return LockPlan{}, err
		}
	}
	var p LockPlan
	raw, err := readLockFile(req.Path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !req.Check && req.Family != "" && len(req.Regions) > 0:
		p.File = LockFile{Families: map[string]map[string]LockEntry{}}
	case errors.Is(err, os.ErrNotExist):
		return bad("lock file", req.Path, "there is no such file; create it by naming the {image family} and {region} to pin")
	case err != nil:
		return bad("lock file", req.Path, "it cannot be read: "+err.Error())
	default:
		p.raw, p.exists = raw, true
		if p.File, err = ParseLock(req.Path, raw); err != nil {
			return LockPlan{}, err
		}
	}
	wantRegion := map[string]bool{}
	for _, r := range req.Regions {
		wantRegion[r] = true
	}
	seen := map[target]bool{}
	add := func(t target) {
		if !seen[t] {
			seen[t] = true
			p.targets = append(p.targets, t)
		}
	}
	for family, regions := range p.File.Families {
		if req.Family != "" && family != req.Family {
			continue
		}
		for region := range regions {
			if len(wantRegion) == 0 || wantRegion[region] {
				add(target{family, region})
			}
		}
	}
	if req.Family != "" && len(req.Regions) > 0 {
		for _, r := range req.Regions {
			add(target{req.Family, r})
		}
	}
	if len(p.targets) == 0 {
		switch {
		case req.Family != "":
			return bad("image family", req.Family, "the lock file pins no such family; give {region} to add it")
		case len(req.Regions) > 0:
			return bad("region", req.Regions[0], "the lock file pins no family in these regions; name the {image family} to add")
		}
		return bad("lock file", req.Path, "it pins nothing; name the {image family} and {region} to pin")
	}
	sort.Slice(p.targets, func(i, j int) bool {
		a, b := p.targets[i], p.targets[j]
		return a.family < b.family || (a.family == b.family && a.region < b.region)
	})
	for _, t := range p.targets {
		one := req.Request
		one.Family, one.Region, one.Wait, one.NewerThan = t.family, t.region, 0, ""
		if err := Validate(one); err != nil {
			return LockPlan{}, err
		}
	}
	return p, nil
}

// Lock looks up every entry of the plan (PlanLock: nothing is sent on bad
// input) in one wave, every family in every region, with credentials
// obtained once, applies the request's guards (a refused image is never pinned),
// and, unless req.Check, writes the file when an entry changed: atomically
// (a temporary file in the same directory, synced, renamed over the old
// one, its mode kept), and only if the file is still what was read
// (compare before the swap; another run's write is not overwritten). An
// entry whose lookup fails is kept as it was. With Check, a pinned image
// the family no longer resolves to is looked up by id (DescribeImages):
// missing or Deprecated is a difference.
//
// err is an input error only (a *ValidationError, several joined, or
// missing credentials); everything else is in the result
// (LockResult.ExitCode).
func Lock(ctx context.Context, req LockRequest) (LockResult, error) {
	plan, err := PlanLock(req)
	if err != nil {
		return LockResult{}, err
	}
	res := LockResult{Path: req.Path, Check: req.Check}
	one := req.Request
	one.Family, one.Region, one.Wait, one.NewerThan = "", "", 0, ""
	s := newSession(one)
	defer s.end()
	// The timeout bounds the run: the wave and the check of drifted pins.
	runCtx, cancel := withTimeout(ctx, lookupDeadline(one))
	defer cancel()
	results := s.resolveEach(runCtx, plan.targets, 0)
	next := plan.File.clone()
	// A lookup that timed out ran out of the run's time: an attempt's own
	// timeout is the run's (--timeout), so whichever clock fired first, the
	// run was cut short, and a half-run refresh is not written.
	cutShort := false
	for i, r := range results {
		if r.Err != nil && IsInputError(r.Err) {
			return LockResult{}, r.Err
		}
		family := plan.targets[i].family
		o := LockOutcome{Family: family, Region: r.Region, Old: plan.File.Families[family][r.Region]}
		switch {
		case r.Err != nil:
			o.Action, o.Err = LockKept, r.Err
			cutShort = cutShort || errors.Is(r.Err, ErrTimeout)
		case r.Image.ImageID == o.Old.ImageID:
			o.Action, o.New = LockCurrent, o.Old
		default:
			o.New = LockEntry{ImageID: r.Image.ImageID, ImageName: r.Image.ImageName, CreationTime: r.Image.CreationTime}
			o.Action = LockUpdated
			if o.Old.ImageID == "" {
				o.Action = LockAdded
			}
			if next.Families[family] == nil {
				next.Families[family] = map[string]LockEntry{}
			}
			next.Families[family][r.Region] = o.New
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	if req.Check {
		s.checkPins(runCtx, res.Outcomes)
	}
	if req.Check || !res.Changed() {
		return res, nil
	}
	err = ctx.Err()
	if err == nil && cutShort {
		err = fmt.Errorf("the timeout, %v, passed", lookupDeadline(one))
	}
	if err != nil {
		// Interrupted or out of time: whatever resolved before is not
		// written either; a half-run refresh is not what was asked for.
		res.Err = &LockFileError{Path: req.Path, Detail: "the run was cut short (" + err.Error() + ") before every entry was looked up"}
		return res, nil
	}
	res.Err = writeLockFile(req.Path, plan.raw, plan.exists, next.Render())
	res.Written = res.Err == nil
	return res, nil
}

// checkPins looks up, by id and at once, every pinned image the family no
// longer resolves to (the entries that did not stay current, unless the
// run has no credentials), each with its family's session.
func (s *session) checkPins(ctx context.Context, outcomes []LockOutcome) {
	sem := make(chan struct{}, DefaultConcurrency)
	var wg sync.WaitGroup
	for i := range outcomes {
		o := &outcomes[i]
		if o.Old.ImageID == "" || o.Action == LockCurrent || errors.As(o.Err, new(*CredentialsError)) {
			// Without credentials (obtained once, for every entry) there
			// is nothing to look the pin up with.
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			o.Pinned, o.PinnedErr = s.forFamily(o.Family).pinnedStatus(ctx, o.Region, o.Old.ImageID)
		}()
	}
	wg.Wait()
}

// pinnedStatus is what became of a pinned image: "missing", a status other
// than Available, or "".
func (s *session) pinnedStatus(ctx context.Context, region, id string) (status string, err error) {
	defer func() {
		if r := recover(); r != nil {
			status, err = "", internalError("lock check in region "+region, r, s.scrub)
		}
	}()
	img, _, found, err := s.describeImage(ctx, region, id)
	switch {
	case err != nil:
		return "", err
	case !found:
		return "missing", nil
	case img.Status == "Available":
		return "", nil
	}
	return img.Status, nil
}

// ErrLockFileChanged is the class of a write refused because the lock file
// changed while Lock ran (another run wrote it): nothing was written.
var ErrLockFileChanged = fmt.Errorf("%w: the lock file changed while lock ran", ErrChanged)
