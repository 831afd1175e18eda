package imagefamily

import (
	"context"
	"errors"
	"strings"
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
