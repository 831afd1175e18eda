package imagefamily

import (
	"context"
	"math/rand/v2"
	"time"
)

const (
	defaultMaxAttempts = 5
	defaultBaseDelay   = 200 * time.Millisecond
	defaultMaxDelay    = 5 * time.Second
	// maxAttempts bounds what a user may configure, so a typo cannot turn a
	// throttled pipeline into an hour of retries.
	maxAttemptsLimit = 20
)

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts <= 0 {
		return defaultMaxAttempts
	}
	return p.MaxAttempts
}

// delay is the wait before attempt n+1 after attempt n failed: full jitter
// over an exponentially growing window (AWS's "exponential backoff and
// jitter"), so many clients throttled together do not retry in lock-step.
// A server's x-acs-retry-after, when present, is honoured as a floor.
func (p RetryPolicy) delay(n int, retryAfter time.Duration) time.Duration {
	base, ceil := p.BaseDelay, p.MaxDelay
	if base <= 0 {
		base = defaultBaseDelay
	}
	if ceil <= 0 {
		ceil = defaultMaxDelay
	}
	window := ceil
	if n < 30 {
		if w := base << (n - 1); w > 0 && w < ceil {
			window = w
		}
	}
	jitter := p.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	d := time.Duration(jitter() * float64(window))
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
