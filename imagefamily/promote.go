package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The family lifecycle's writes. ECS copies of a custom image do not inherit
// its family, so after a multi-region build the family resolves to the new
// image only where it was built. Promote makes the named images live members
// of the family, region by region; Rollback deprecates a family's newest
// image so that it resolves to the previous one. Both are deliberate: the
// input is checked offline first (nothing is sent on a bad one), DryRun
// asks the API whether each change would be accepted without making it,
// Rollback is a compare-and-swap, every change is read back, and the
// outcome says exactly what changed.

// Outcome is what happened in one region.
type Outcome string

const (
	// Promoted: the image was changed and the family now resolves to it.
	Promoted Outcome = "promoted"
	// Already: nothing needed to change; the family resolves to the image.
	Already Outcome = "already"
	// Superseded: the image is a live member of the family, but the family
	// resolves to a newer image (RegionOutcome.Resolves names it).
	Superseded Outcome = "superseded"
	// RolledBack: the image was deprecated; Resolves is what the family
	// resolves to now ("" for nothing, with AllowEmpty).
	RolledBack Outcome = "rolled-back"
	// Moved: the family did not resolve to the image named (someone moved
	// it already): nothing was changed. Resolves is what it resolves to.
	Moved Outcome = "moved"
	// Refused: promote would move an image out of another family, or the
	// rollback would leave the family without an Available
	// image, and AllowEmpty was not given: nothing was changed.
	Refused Outcome = "refused"
	// WouldPromote and WouldRollBack: a dry run's answer; the API accepted
	// the change (DryRunOperation) and nothing was changed.
	WouldPromote  Outcome = "would-promote"
	WouldRollBack Outcome = "would-roll-back"
	// Failed: see RegionOutcome.Err.
	Failed Outcome = "failed"
)

// RegionOutcome is one region's result of Promote or Rollback.
type RegionOutcome struct {
	Region  string
	ImageID string // the image named for the region
	Outcome Outcome
	// Changes are the attribute changes made (or, in a dry run, that would
	// be made), such as `ImageFamily "" -> "web-base"` or `Status Deprecated
	// -> Available`; empty when nothing changed or the write failed.
	Changes []string
	// Changed: the Changes were made (ModifyImageAttribute answered
	// success; never in a dry run). With Failed, the read back failed after
	// the write: Err is then an *UnconfirmedError saying what was changed,
	// which a front must show, since the image did change.
	Changed bool
	// Resolves is the image the family resolves to in the region after the
	// operation (read back), "" for none.
	Resolves string
	// RequestID is the last request's RequestId.
	RequestID string
	// Err is set for Failed, Refused and Moved (a *LifecycleError, or the
	// API's or the transport's error).
	Err error
}

// PromoteRequest: make Images (region -> image id) live members of
// Request.Family. The embedded Request gives the credentials, endpoint,
// timeout (per region, the wait added), retries, front, transport and debug
// trace as for a lookup; its Region, Guards and NewerThan are not used.
// Request.Wait, when positive, waits that long for an image that is still
// Creating (a fresh copy) to become Available, polling DescribeImages by id;
// Request.OnProgress is told of every poll.
type PromoteRequest struct {
	Request
	Images map[string]string
	DryRun bool
}

// RollbackRequest: deprecate the image named for each region, only where it
// is the family's newest (compare-and-swap), and only while another
// Available image remains in the family unless AllowEmpty.
type RollbackRequest struct {
	Request
	Images     map[string]string
	AllowEmpty bool
	DryRun     bool
}

// ErrLifecycle is the class of a promote or rollback that did not do what
// was asked: superseded, moved or refused (RegionOutcome.Outcome says
// which).
var ErrLifecycle = errors.New("family lifecycle refused")

// LifecycleError explains a Superseded, Moved or Refused outcome, or a
// failure found by the lifecycle itself (an image not found, still Creating,
// not the caller's).
type LifecycleError struct {
	Region, Family, ImageID string
	Outcome                 Outcome
	Detail                  string // escaped
	RequestID               string
	class                   error
}

func (e *LifecycleError) Error() string {
	msg := fmt.Sprintf("image %s in region %s, family %s: %s", safetext.Excerpt(e.ImageID, 128), e.Region, safetext.Quote(e.Family, 160), e.Detail)
	if e.RequestID != "" {
		msg += " [RequestId " + safetext.Excerpt(e.RequestID, 80) + "]"
	}
	return msg
}

func (e *LifecycleError) Is(target error) bool { return target == e.class }

// UnconfirmedError is a region's failure after its change was made:
// ModifyImageAttribute answered success, but the read back
// (DescribeImageFromFamily) failed, so what the family resolves to now is
// not known. Its message says exactly what was changed and how to confirm
// it; Err is the read back's error, whose class (errors.Is) it keeps.
type UnconfirmedError struct {
	Region, ImageID string
	// Command is "promote" or "rollback".
	Command string
	// Changes are the changes made (RegionOutcome.Changes, escaped).
	Changes []string
	Err     error
}

func (e *UnconfirmedError) Error() string {
	what, confirm := "status set", "look the family up (resolve) to confirm what it resolves to now; a rollback run again finds it moved and changes nothing"
	for _, c := range e.Changes {
		if strings.HasPrefix(c, "ImageFamily ") {
			what = "family set"
		}
	}
	if e.Command == "promote" {
		confirm = "run promote again to confirm (it changes nothing where the change holds)"
	}
	return fmt.Sprintf("%s: %s on %s (%s), but reading back failed: %v; %s", e.Region, what,
		safetext.Excerpt(e.ImageID, 128), strings.Join(e.Changes, ", "), e.Err, confirm)
}

func (e *UnconfirmedError) Unwrap() error { return e.Err }

// unconfirmed marks o as a failure of the read back after its change was
// made.
func (o *RegionOutcome) unconfirmed(command string, err error) RegionOutcome {
	o.Outcome = Failed
	o.Err = &UnconfirmedError{Region: o.Region, ImageID: o.ImageID, Command: command, Changes: o.Changes, Err: err}
	return *o
}

// Promote makes each named image a live member of the family in its region,
// all regions in one wave (up to DefaultConcurrency at once): it waits for
// the image to be Available when asked, sets ImageFamily when the image is
// not in the family, sets Status=Available when it is Deprecated (promote is
// the undo of a rollback), and reads back what the family resolves to.
// Running it again changes nothing (Already). An invalid request is
// returned as err before anything is sent; each region's own result is in
// its RegionOutcome, in the order of the regions' names.
func Promote(ctx context.Context, req PromoteRequest) ([]RegionOutcome, error) {
	if err := ValidatePromote(req); err != nil {
		return nil, err
	}
	return fanOut(ctx, req.Request, req.Images, func(ctx context.Context, s *session, region, id string) RegionOutcome {
		return s.promote(ctx, region, id, req.DryRun)
	}), nil
}

// fanOut runs one lifecycle operation per region in one wave.
func fanOut(ctx context.Context, req Request, images map[string]string, do func(ctx context.Context, s *session, region, id string) RegionOutcome) []RegionOutcome {
	regions := make([]string, 0, len(images))
	for r := range images {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	ctx, cancel := withTimeout(ctx, lookupDeadline(req))
	defer cancel()
	s := newSession(req)
	defer s.end()
	out := make([]RegionOutcome, len(regions))
	sem := make(chan struct{}, min(len(regions), DefaultConcurrency))
	var wg sync.WaitGroup
	for i, region := range regions {
		out[i] = RegionOutcome{Region: region, ImageID: images[region], Outcome: Failed}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					out[i].Outcome, out[i].Err = Failed, internalError("family lifecycle in region "+region, r, s.scrub)
				}
			}()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				_, out[i].Err = classify(ctx, operation{Service: "ECS", Action: "DescribeImages", Region: region}, ctx.Err(), s.scrub)
				return
			}
			out[i] = do(ctx, s, region, images[region])
		}()
	}
	wg.Wait()
	return out
}

func (s *session) promote(ctx context.Context, region, id string, dryRun bool) RegionOutcome {
	o := RegionOutcome{Region: region, ImageID: id, Outcome: Failed}
	family := s.req.Family
	fail := func(err error) RegionOutcome { o.Outcome, o.Err = Failed, err; return o }
	lerr := func(outcome Outcome, class error, detail string) *LifecycleError {
		return &LifecycleError{Region: region, Family: family, ImageID: id, Outcome: outcome, Detail: detail, RequestID: o.RequestID, class: class}
	}

	img, err := s.waitAvailable(ctx, region, id, &o)
	if err != nil {
		return fail(err)
	}
	var family0 = img.Family
	if family0 != "" && family0 != family {
		// An image has one family: setting ImageFamily would take it out
		// of the family it serves, which then falls back to its previous
		// image unasked, a rollback nobody named (a mistyped family does
		// exactly this). Moving an image between families is left to the
		// console or the API, deliberately.
		o.Outcome = Refused
		o.Err = lerr(Refused, ErrGuard, "the image is a member of another family, "+safetext.Quote(family0, 160)+
			": promote does not move an image between families (that family would fall back to its previous image); check the family's name, or take the image out of "+
			safetext.Quote(family0, 160)+" first; nothing was changed")
		return o
	}
	var changeFamily, changeStatus string
	if img.Family != family {
		changeFamily = family
		o.Changes = append(o.Changes, fmt.Sprintf("ImageFamily %s -> %s", safetext.Quote(family0, 160), safetext.Quote(family, 160)))
	}
	if img.Status == "Deprecated" {
		changeStatus = "Available"
		o.Changes = append(o.Changes, "Status Deprecated -> Available")
	}
	if len(o.Changes) > 0 {
		rid, err := s.modifyImage(ctx, region, id, changeFamily, changeStatus, dryRun, nil)
		if rid != "" {
			o.RequestID = rid
		}
		if err != nil {
			o.Changes = nil
			return fail(err)
		}
		o.Changed = !dryRun
	}
	now, err := s.resolveOnce(ctx, region)
	var nf *NotFoundError
	switch {
	case errors.As(err, &nf):
		o.RequestID = nf.RequestID
	case err != nil && o.Changed:
		return o.unconfirmed("promote", err)
	case err != nil:
		return fail(err)
	default:
		o.Resolves, o.RequestID = now.ImageID, now.RequestID
	}
	if dryRun && len(o.Changes) > 0 {
		o.Outcome = WouldPromote
		return o
	}
	switch {
	case o.Resolves == id && len(o.Changes) == 0:
		o.Outcome = Already
		return o
	case o.Resolves == id:
		o.Outcome = Promoted
		return o
	case o.Resolves == "":
		return fail(lerr(Failed, ErrAPI, "the read back (DescribeImageFromFamily) found no Available image in the family after the change"))
	}
	// The family resolves elsewhere. That is "superseded" only if the image
	// is an Available member of the family: a write that answered success
	// without effect, or the image deprecated by someone else meanwhile,
	// leaves it out, and then the other image need not be newer.
	st, rid, found, err := s.describeImage(ctx, region, id)
	if rid != "" {
		o.RequestID = rid
	}
	switch {
	case err != nil && o.Changed:
		return o.unconfirmed("promote", err)
	case err != nil:
		return fail(err)
	case !found || st.Family != family || st.Status != "Available":
		state := "no such image"
		if found {
			state = "family " + safetext.Quote(st.Family, 160) + ", status " + safetext.Excerpt(st.Status, 40)
		}
		detail := "the family resolves to " + safetext.Excerpt(o.Resolves, 128) + ", and the image is not an Available member of the family (DescribeImages: " + state + ")"
		if o.Changed {
			detail = "ModifyImageAttribute answered success, but the change did not hold: " + detail
		} else {
			detail += "; it changed while promote ran: run promote again"
		}
		return fail(lerr(Failed, ErrAPI, detail))
	}
	if older(now.CreationTime, img.CreationTime) {
		// A family resolves to its newest Available image: an older one is
		// a read back that does not see the change yet (ECS is eventually
		// consistent) or an inconsistent answer, not a newer image.
		detail := fmt.Sprintf("the family resolves to %s (created %s), older than this image (created %s), which is an Available member of the family: the read back does not show the change yet",
			safetext.Excerpt(now.ImageID, 128), safetext.Excerpt(now.CreationTime, 64), safetext.Excerpt(img.CreationTime, 64))
		if o.Changed {
			return o.unconfirmed("promote", lerr(Failed, ErrAPI, detail))
		}
		return fail(lerr(Failed, ErrAPI, detail+"; run promote again to confirm"))
	}
	o.Outcome = Superseded
	o.Err = lerr(Superseded, ErrLifecycle, fmt.Sprintf("the image is in the family, but the family resolves to a newer image, %s (created %s)",
		safetext.Excerpt(now.ImageID, 128), safetext.Excerpt(now.CreationTime, 64)))
	return o
}

// older reports whether creation time a is before b; false when either
// cannot be read.
func older(a, b string) bool {
	ta, okA := parseAPITime(a)
	tb, okB := parseAPITime(b)
	return okA && okB && ta.Before(tb)
}

// waitAvailable looks the image up by id and, with Request.Wait, polls
// while it is Creating or Waiting, on the lookup's wait schedule (wait.go).
func (s *session) waitAvailable(ctx context.Context, region, id string, o *RegionOutcome) (imageState, error) {
	now := s.req.clock
	if now == nil {
		now = time.Now
	}
	start := now()
	var paused time.Duration
	pause := firstPoll
	for poll := 1; ; poll++ {
		img, rid, found, err := s.describeImage(ctx, region, id)
		if rid != "" {
			o.RequestID = rid
		}
		if err != nil {
			return imageState{}, err
		}
		bad := func(detail string) error {
			return &LifecycleError{Region: region, Family: s.req.Family, ImageID: id, Outcome: Failed, Detail: detail, RequestID: rid, class: ErrNotFound}
		}
		switch {
		case !found:
			return imageState{}, bad("no such image of this account in the region (DescribeImages); check the id and the region")
		case img.OwnerAlias != "" && img.OwnerAlias != "self":
			return imageState{}, bad("the image is not this account's own (ImageOwnerAlias " + safetext.Quote(img.OwnerAlias, 40) + "): only your own images can be put in a family")
		case img.Status == "Available" || img.Status == "Deprecated":
			return img, nil
		case img.Status != "Creating" && img.Status != "Waiting":
			return imageState{}, bad("the image is " + safetext.Excerpt(img.Status, 40) + " and can never become Available")
		}
		waited := max(now().Sub(start), paused)
		left := s.req.Wait - waited
		if s.req.Wait <= 0 {
			return imageState{}, bad("the image is still " + img.Status + " (a copy is Creating for minutes after a build); wait for it (--wait, wait-timeout, wait_timeout)")
		}
		if left <= 0 || ctx.Err() != nil {
			return imageState{}, bad(fmt.Sprintf("the image is still %s after waiting %s (%d polls)", img.Status, roundWait(waited), poll))
		}
		next := min(pause, left)
		if s.req.OnProgress != nil {
			s.req.OnProgress(WaitProgress{Region: region, Poll: poll, Seen: id + " " + img.Status, Next: next, Last: next == left})
		}
		if s.req.Retry.sleep(ctx, next) != nil {
			continue
		}
		paused = waited + next
		pause = min(pause*2, maxPoll)
	}
}
