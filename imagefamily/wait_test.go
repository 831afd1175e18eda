package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// Waiting for a family that gains an image after a few polls, for one whose
// newest image changes (newer-than), and up to a deadline that passes.
func TestWait(t *testing.T) {
	srv := emulator(t)
	var progress []WaitProgress
	base := func() Request {
		r := request(srv)
		r.Wait = time.Minute
		r.OnProgress = func(p WaitProgress) { progress = append(progress, p) }
		return r
	}

	// A new family whose first image appears after 2 answers.
	srv.AddImageAfter("cn-hangzhou", ecs.Image{ImageId: "m-bp1newfamily0000001", ImageFamily: "new-family", Status: "Available", CreationTime: "2024-05-01T00:00:00Z"}, 2)
	r := base()
	r.Family = "new-family"
	img, err := Resolve(context.Background(), r)
	if err != nil || img.ImageID != "m-bp1newfamily0000001" || len(progress) != 2 {
		t.Fatalf("gained image: %q %v, %d progress lines", img.ImageID, err, len(progress))
	}
	if p := progress[0]; p.Poll != 1 || p.Seen != "no available image" || p.Next != firstPoll || !strings.Contains(p.String(), "waiting in cn-hangzhou: poll 1 saw no available image; next poll in 2s") {
		t.Fatalf("progress line: %s", p)
	}

	// newer-than: the newest is the known one until a newer image lands.
	progress = nil
	srv.AddImageAfter("cn-hangzhou", ecs.Image{ImageId: "m-bp1demowebbase000009", ImageFamily: "web-base", Status: "Available", CreationTime: "2024-05-02T00:00:00Z"}, 1)
	r = base()
	r.NewerThan = wantNewest
	img, err = Resolve(context.Background(), r)
	if err != nil || img.ImageID != "m-bp1demowebbase000009" || len(progress) == 0 || !strings.Contains(progress[0].Seen, wantNewest) {
		t.Fatalf("newer-than: %q %v %+v", img.ImageID, err, progress)
	}

	// The deadline passes: not found, with what was last seen.
	progress = nil
	r = base()
	r.Family = "never-published"
	r.Wait = 3 * time.Second
	_, err = Resolve(context.Background(), r)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Polls < 1 || !strings.Contains(err.Error(), "after waiting") || !strings.Contains(err.Error(), "last seen: no available image") {
		t.Fatalf("deadline: %v", err)
	}

	// Bad values are input errors, before anything is sent.
	for _, bad := range []func(*Request){
		func(r *Request) { r.Wait = -time.Second },
		func(r *Request) { r.Wait = MaxWait + time.Second },
		func(r *Request) { r.Wait = 0; r.NewerThan = wantNewest },
		func(r *Request) { r.NewerThan = "m-x;rm" },
	} {
		srv.ResetCounts()
		r := base()
		bad(&r)
		if _, err := Resolve(context.Background(), r); !IsInputError(err) || srv.Requests("") != 0 {
			t.Errorf("%v, %d requests", err, srv.Requests(""))
		}
	}
}

// With newer-than, a newest image older than the known one (the family
// rolled back) keeps the wait going; a newer one ends it.
func TestWaitNewerThanIgnoresOlder(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	r.Wait = time.Minute
	r.NewerThan = wantNewest // created 2024-03-14
	var seen []string
	r.OnProgress = func(p WaitProgress) { seen = append(seen, p.Seen) }
	// Poll 1 sees wantNewest; then it becomes UnAvailable, so poll 2 sees the
	// older build 2 (2024-02-12); then a newer image lands.
	srv.AddImageAfter("cn-hangzhou", ecs.Image{ImageId: "m-bp1demowebbase000010", ImageFamily: "web-base", Status: "Available", CreationTime: "2024-06-01T00:00:00Z"}, 2)
	calls := 0
	r.OnProgress = func(p WaitProgress) {
		seen = append(seen, p.Seen)
		calls++
		if calls == 1 {
			srv.SetImageStatus("cn-hangzhou", wantNewest, "UnAvailable")
		}
	}
	img, err := Resolve(context.Background(), r)
	if err != nil || img.ImageID != "m-bp1demowebbase000010" {
		t.Fatalf("%q %v (seen %q)", img.ImageID, err, seen)
	}
	if len(seen) != 2 || !strings.Contains(seen[1], "m-bp1demowebbase000002") {
		t.Fatalf("seen %q, want the older image to keep the wait going", seen)
	}
}

// waitClock is the wait's clock in tests: Sleep moves it on by the pause
// asked for, and each request to ECS by latency, so the schedule of polls is
// exact and no test waits in real time.
type waitClock struct {
	mu      sync.Mutex
	t       time.Time
	start   time.Time
	latency time.Duration
	polls   []time.Duration // when each DescribeImageFromFamily request started, from start
}

func newWaitClock(latency time.Duration) *waitClock {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	return &waitClock{t: t0, start: t0, latency: latency}
}

func (c *waitClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *waitClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return ctx.Err()
}

func (c *waitClock) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.Sub(c.start)
}

// RoundTrip records when a lookup started and takes latency on the clock.
func (c *waitClock) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("Action") == "DescribeImageFromFamily" {
			c.mu.Lock()
			c.polls = append(c.polls, c.t.Sub(c.start))
			c.t = c.t.Add(c.latency)
			c.mu.Unlock()
		}
		return base.RoundTrip(r)
	})
}

// The wait lasts what was asked: the pause before the next poll shrinks to
// the time left and the last poll is made at the deadline (a 40s wait does
// not end at 30s, nor 5s at 2s). The progress lines say the pause that
// follows, and which poll is the last.
func TestWaitScheduleReachesTheDeadline(t *testing.T) {
	srv := emulator(t)
	s := time.Second
	for _, tc := range []struct {
		name     string
		wait     time.Duration
		latency  time.Duration
		polls    []time.Duration // start of each poll, from the start of the wait
		lines    []string        // progress lines, from "poll 1 saw no available image; "
		waited   string          // as the error says it
		took     time.Duration   // the whole wait on the clock
		pollWord string
	}{
		{name: "40s", wait: 40 * s, polls: []time.Duration{0, 2 * s, 6 * s, 14 * s, 30 * s, 40 * s},
			lines:  []string{"next poll in 2s", "next poll in 4s", "next poll in 8s", "next poll in 16s", "next poll in 10s (the last, at the deadline)"},
			waited: "after waiting 40s (6 polls;", took: 40 * s},
		{name: "10 seconds", wait: 10 * s, polls: []time.Duration{0, 2 * s, 6 * s, 10 * s},
			lines:  []string{"next poll in 2s", "next poll in 4s", "next poll in 4s (the last, at the deadline)"},
			waited: "after waiting 10s (4 polls;", took: 10 * s},
		{name: "5s", wait: 5 * s, polls: []time.Duration{0, 2 * s, 5 * s},
			lines:  []string{"next poll in 2s", "next poll in 3s (the last, at the deadline)"},
			waited: "after waiting 5s (3 polls;", took: 5 * s},
		{name: "shorter than one pause", wait: 1 * s, polls: []time.Duration{0, 1 * s},
			lines:  []string{"next poll in 1s (the last, at the deadline)"},
			waited: "after waiting 1s (2 polls;", took: 1 * s},
		{name: "under a second", wait: 500 * time.Millisecond, polls: []time.Duration{0, 500 * time.Millisecond},
			lines:  []string{"next poll in 500ms (the last, at the deadline)"},
			waited: "after waiting 500ms (2 polls;", took: 500 * time.Millisecond},
		// Each request takes 300ms: the pauses follow the end of each poll,
		// the last poll still starts at the deadline, and the wait ends one
		// request's latency after it.
		{name: "40s with 300ms requests", wait: 40 * s, latency: 300 * time.Millisecond,
			polls: []time.Duration{0, 2300 * time.Millisecond, 6600 * time.Millisecond, 14900 * time.Millisecond, 31200 * time.Millisecond, 40 * s},
			lines: []string{"next poll in 2s", "next poll in 4s", "next poll in 8s", "next poll in 16s", "next poll in 9s (the last, at the deadline)"},
			// 8.5s left after poll 5 ends at 31.5s: printed rounded.
			waited: "after waiting 40s (6 polls;", took: 40*s + 300*time.Millisecond},
		// A request slower than the whole wait: no second poll past the
		// deadline.
		{name: "a poll longer than the wait", wait: 1 * s, latency: 3 * s, polls: []time.Duration{0},
			waited: "after waiting 3s (1 poll;", took: 3 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newWaitClock(tc.latency)
			var lines []string
			var progress []WaitProgress
			r := request(srv)
			r.Family = "never-published"
			r.Wait = tc.wait
			r.clock = clock.now
			r.Retry.Sleep = clock.sleep
			r.Transport = clock.wrap(srv.Transport())
			r.OnProgress = func(p WaitProgress) { progress = append(progress, p); lines = append(lines, p.String()) }
			_, err := Resolve(context.Background(), r)
			var nf *NotFoundError
			if !errors.As(err, &nf) || !strings.Contains(err.Error(), tc.waited) {
				t.Fatalf("err = %v, want %q", err, tc.waited)
			}
			if !slices.Equal(clock.polls, tc.polls) {
				t.Errorf("polls at %v, want %v", clock.polls, tc.polls)
			}
			if got := clock.elapsed(); got != tc.took {
				t.Errorf("the wait took %s, want %s", got, tc.took)
			}
			if len(lines) != len(tc.lines) || nf.Polls != len(tc.polls) {
				t.Fatalf("%d progress lines for %d polls (error says %d): %q", len(lines), len(clock.polls), nf.Polls, lines)
			}
			for i, l := range lines {
				want := fmt.Sprintf("waiting in cn-hangzhou: poll %d saw no available image; %s", i+1, tc.lines[i])
				if l != want {
					t.Errorf("progress line %d = %q, want %q", i+1, l, want)
				}
				// Truthful: the pause announced is the pause taken, and the
				// poll it announces is the next one.
				if i+1 < len(clock.polls) {
					if end := clock.polls[i] + tc.latency; end+progress[i].Next != clock.polls[i+1] {
						t.Errorf("poll %d announced a pause of %s, but poll %d came at %s", i+1, progress[i].Next, i+2, clock.polls[i+1])
					}
				}
			}
		})
	}
}

// A front whose Sleep returns at once (every front's tests do this) keeps
// the schedule's number of polls: the pauses count as taken.
func TestWaitScheduleWithInstantSleep(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	r.Family = "never-published"
	r.Wait = 40 * time.Second
	_, err := Resolve(context.Background(), r)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Polls != 6 || nf.Waited != 40*time.Second || srv.Requests("DescribeImageFromFamily") != 6 {
		t.Fatalf("err = %v (%d requests), want 6 polls over 40s", err, srv.Requests("DescribeImageFromFamily"))
	}
}
