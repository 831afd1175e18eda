package imagefamily

import (
	"context"
	"errors"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Pauses between polls while waiting for an image: short at first (an image
// may be moments from Available), then growing to a minute, so a long wait
// costs a few dozen requests, not hundreds.
const (
	firstPoll = 2 * time.Second
	maxPoll   = time.Minute
)

// resolve is one region's lookup, waiting for an image when the request says
// so (Request.Wait, Request.NewerThan).
func (s *session) resolve(ctx context.Context, region string) (Image, error) {
	if s.req.Wait <= 0 {
		return s.resolveOnce(ctx, region)
	}
	deadline := time.Now().Add(s.req.Wait)
	pause := firstPoll
	// knownCreated is NewerThan's creation time, once a poll has seen it as
	// the newest image: a newest image created no later than it (the family
	// rolled back, or an older image was re-enabled) is "still NewerThan or
	// older" and the wait goes on.
	var knownCreated time.Time
	for poll := 1; ; poll++ {
		img, err := s.resolveOnce(ctx, region)
		var nf *NotFoundError
		notYet := errors.As(err, &nf)
		stale := false
		if err == nil && s.req.NewerThan != "" {
			created, ok := parseAPITime(img.CreationTime)
			switch {
			case img.ImageID == s.req.NewerThan:
				stale = true
				if ok {
					knownCreated = created
				}
			case !knownCreated.IsZero() && ok && !created.After(knownCreated):
				stale = true
			}
		}
		if !notYet && !stale {
			return img, err
		}
		seen := "no available image"
		if stale {
			seen = safetext.Excerpt(img.ImageID, 128) + " (created " + safetext.Excerpt(img.CreationTime, 64) + ")"
		}
		waited := s.req.Wait - time.Until(deadline)
		if time.Until(deadline) < pause || ctx.Err() != nil {
			out := &NotFoundError{Region: region, Family: s.req.Family, NewerThan: s.req.NewerThan,
				Waited: waited.Round(time.Second), Polls: poll, LastSeen: seen}
			if nf != nil {
				out.RequestID = nf.RequestID
			} else {
				out.RequestID = img.RequestID
			}
			return Image{}, out
		}
		if s.req.OnProgress != nil {
			s.req.OnProgress(WaitProgress{Region: region, Poll: poll, Seen: seen, Next: pause})
		}
		if s.req.Retry.sleep(ctx, pause) != nil {
			continue // the context ended: the next poll fails at once and reports it
		}
		pause = min(pause*2, maxPoll)
	}
}
