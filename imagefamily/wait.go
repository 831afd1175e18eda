package imagefamily

import (
	"context"
	"errors"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Pauses between polls while waiting for an image: short at first (an image
// may be moments from Available), then growing to a minute, so a long wait
// costs a few dozen requests, not hundreds. The pause before the next poll
// never runs past the deadline: it shrinks to the time left, and the last
// poll is made at the deadline itself, so a wait lasts what was asked
// (--wait 40s polls at 0, 2, 6, 14, 30 and 40 seconds), plus the last
// request's own latency.
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
	now := s.req.clock
	if now == nil {
		now = time.Now
	}
	start := now()
	// elapsed is how long the wait has lasted: by the clock, and never less
	// than the pauses taken so far. A Sleep that returns early without an
	// error (the fronts' tests inject one that returns at once) still moves
	// the wait on by its pause, so the polls keep their schedule and their
	// number instead of repeating until the clock catches up.
	var paused time.Duration
	elapsed := func() time.Duration { return max(now().Sub(start), paused) }
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
		waited := elapsed()
		left := s.req.Wait - waited
		if left <= 0 || ctx.Err() != nil {
			// This poll was made at the deadline (or the wait was cut
			// short): the wait is over.
			out := &NotFoundError{Region: region, Family: s.req.Family, NewerThan: s.req.NewerThan,
				Waited: roundWait(waited), Polls: poll, LastSeen: seen}
			if nf != nil {
				out.RequestID = nf.RequestID
			} else {
				out.RequestID = img.RequestID
			}
			return Image{}, out
		}
		next := min(pause, left)
		if s.req.OnProgress != nil {
			s.req.OnProgress(WaitProgress{Region: region, Poll: poll, Seen: seen, Next: next, Last: next == left})
		}
		if s.req.Retry.sleep(ctx, next) != nil {
			continue // the context ended: the next poll fails at once and reports it
		}
		paused = waited + next
		pause = min(pause*2, maxPoll)
	}
}

// roundWait rounds a wait for messages: to the second, or to the
// millisecond below a second (a wait of 500ms is not "0s").
func roundWait(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
