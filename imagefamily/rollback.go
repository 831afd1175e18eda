package imagefamily

import (
	"context"
	"errors"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Rollback deprecates, in each region, the image named, so that the family
// resolves to its previous Available image: the ECS documentation's way to
// roll a family back. It is a compare-and-swap: where the family does not
// resolve to the image named (someone moved it already), nothing is changed
// (Moved), and the check is made again before every retried attempt. Where
// no other Available image would remain in the family, it refuses (Refused)
// unless AllowEmpty: a family with no Available image cannot launch
// instances. Promote of the same image is its undo.
func Rollback(ctx context.Context, req RollbackRequest) ([]RegionOutcome, error) {
	if err := ValidateRollback(req); err != nil {
		return nil, err
	}
	return fanOut(ctx, req.Request, req.Images, func(ctx context.Context, s *session, region, id string) RegionOutcome {
		return s.rollback(ctx, region, id, req.AllowEmpty, req.DryRun)
	}), nil
}

// errMoved is what the compare-and-swap re-check returns.
var errMoved = errors.New("the family no longer resolves to the image")

func (s *session) rollback(ctx context.Context, region, id string, allowEmpty, dryRun bool) RegionOutcome {
	o := RegionOutcome{Region: region, ImageID: id, Outcome: Failed}
	family := s.req.Family
	lerr := func(outcome Outcome, class error, detail string) *LifecycleError {
		return &LifecycleError{Region: region, Family: family, ImageID: id, Outcome: outcome, Detail: detail, RequestID: o.RequestID, class: class}
	}
	// resolves is what the family resolves to now ("" for nothing).
	resolves := func(ctx context.Context) (string, error) {
		img, err := s.resolveOnce(ctx, region)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			o.RequestID = nf.RequestID
			return "", nil
		}
		if err != nil {
			return "", err
		}
		o.RequestID = img.RequestID
		return img.ImageID, nil
	}
	moved := func(now string) RegionOutcome {
		o.Outcome, o.Resolves = Moved, now
		seen := "no Available image"
		if now != "" {
			seen = safetext.Excerpt(now, 128)
		}
		o.Err = lerr(Moved, ErrLifecycle, "the family resolves to "+seen+", not to this image: someone moved it already; nothing was changed")
		return o
	}

	now, err := resolves(ctx)
	if err != nil {
		o.Err = err
		return o
	}
	if now != id {
		return moved(now)
	}
	others, err := s.availableInFamily(ctx, region, family)
	if err != nil {
		o.Err = err
		return o
	}
	o.RequestID = others.RequestID
	next := ""
	for _, img := range others.Images {
		if img.ID != id {
			next = img.ID // newest first
			break
		}
	}
	if next == "" && !allowEmpty {
		o.Outcome = Refused
		o.Resolves = id
		o.Err = lerr(Refused, ErrGuard, "it is the family's only Available image: deprecating it would leave the family unable to launch instances; nothing was changed (allow it with --allow-empty, allow-empty, allow_empty)")
		return o
	}
	o.Changes = []string{"Status Available -> Deprecated"}
	// Before every retried attempt, the compare-and-swap is checked again:
	// a throttled or failed attempt must not deprecate an image that is no
	// longer the family's newest.
	recheck := func(ctx context.Context) error {
		now, err := resolves(ctx)
		if err != nil {
			return err
		}
		if now != id {
			o.Resolves = now
			return errMoved
		}
		return nil
	}
	rid, err := s.modifyImage(ctx, region, id, "", "Deprecated", dryRun, recheck)
	if rid != "" {
		o.RequestID = rid
	}
	if errors.Is(err, errMoved) {
		// The re-check runs only after an attempt was sent: an attempt
		// whose answer was lost (a 5xx or a dropped connection after the
		// change) moves the family too. Where the image is now Deprecated,
		// the rollback asked for is done; only where it is not did someone
		// else move the family.
		// A dry run changes nothing, whatever the image became meanwhile.
		if !dryRun {
			if img, _, found, derr := s.describeImage(ctx, region, id); derr == nil && found && img.Status == "Deprecated" {
				o.Outcome, o.Changed, o.Err = RolledBack, true, nil
				return o
			}
		}
		o.Changes = nil
		return moved(o.Resolves)
	}
	if err != nil {
		o.Changes = nil
		o.Err = err
		return o
	}
	if dryRun {
		o.Outcome, o.Resolves = WouldRollBack, next
		return o
	}
	o.Changed = true
	now, err = resolves(ctx)
	if err != nil {
		return o.unconfirmed("rollback", err)
	}
	o.Resolves = now
	if now == id {
		o.Err = lerr(Failed, ErrAPI, "ModifyImageAttribute answered success, but the family still resolves to the image")
		return o
	}
	o.Outcome = RolledBack
	return o
}
