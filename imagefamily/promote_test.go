package imagefamily

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

const (
	oldImage = "m-bp1demowebbase000002"
	shanghai = "cn-shanghai"
	beijing  = "cn-beijing"
)

func promoteReq(srv *ecstest.Server, images map[string]string) PromoteRequest {
	return PromoteRequest{Request: request(srv), Images: images}
}

func rollbackReq(srv *ecstest.Server, images map[string]string) RollbackRequest {
	return RollbackRequest{Request: request(srv), Images: images}
}

func one(t *testing.T) func([]RegionOutcome, error) RegionOutcome {
	return func(out []RegionOutcome, err error) RegionOutcome {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 {
			t.Fatalf("%d outcomes", len(out))
		}
		return out[0]
	}
}

func familyOf(t *testing.T, srv *ecstest.Server, region, id string) (string, string) {
	t.Helper()
	img, ok := srv.Image(region, id)
	if !ok {
		t.Fatalf("no image %s in %s", id, region)
	}
	return img.ImageFamily, img.Status
}

// The copy problem and its fix: a copy resolves nowhere until promote puts
// it in the family; a second promote changes nothing.
func TestPromoteCopies(t *testing.T) {
	srv := emulator(t)
	srv.SetCopyPolls(2)
	a := srv.CopyImage(hangzhou, wantNewest, shanghai)
	b := srv.CopyImage(hangzhou, wantNewest, beijing)
	ctx := context.Background()

	// Without a wait, a copy still Creating is a failure that says to wait.
	out, err := Promote(ctx, promoteReq(srv, map[string]string{shanghai: a}))
	if o := one(t)(out, err); o.Outcome != Failed || !strings.Contains(o.Err.Error(), "still Creating") || srv.Requests("ModifyImageAttribute") != 0 {
		t.Fatalf("%+v", o)
	}

	req := promoteReq(srv, map[string]string{hangzhou: wantNewest, shanghai: a, beijing: b})
	req.Wait = time.Minute
	// Regions wait at once: the hook is called from their goroutines.
	var mu sync.Mutex
	var polls []WaitProgress
	req.OnProgress = func(p WaitProgress) { mu.Lock(); polls = append(polls, p); mu.Unlock() }
	out, err = Promote(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{beijing: Promoted, hangzhou: Already, shanghai: Promoted}
	for _, o := range out {
		if o.Outcome != want[o.Region] || o.Resolves != o.ImageID || o.Err != nil {
			t.Errorf("%s: %+v", o.Region, o)
		}
		if o.Outcome == Promoted && (len(o.Changes) != 1 || !strings.Contains(o.Changes[0], `ImageFamily "" -> "web-base"`)) {
			t.Errorf("%s: changes %q", o.Region, o.Changes)
		}
	}
	if out[0].Region != beijing || out[2].Region != shanghai {
		t.Fatalf("order %v", out)
	}
	if len(polls) == 0 || !strings.Contains(polls[0].String(), "Creating") {
		t.Fatalf("progress %v", polls)
	}
	if f, st := familyOf(t, srv, shanghai, a); f != webBase || st != "Available" {
		t.Fatal(f, st)
	}
	// The lookup now resolves in every region.
	for _, r := range []string{shanghai, beijing} {
		lr := request(srv)
		lr.Region = r
		img, err := Resolve(ctx, lr)
		if err != nil || img.ImageID != map[string]string{shanghai: a, beijing: b}[r] {
			t.Fatal(r, img.ImageID, err)
		}
	}
	// Idempotent.
	mods := srv.Requests("ModifyImageAttribute")
	out, err = Promote(ctx, promoteReq(srv, map[string]string{shanghai: a, beijing: b}))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Outcome != Already || len(o.Changes) != 0 {
			t.Errorf("second run %+v", o)
		}
	}
	if srv.Requests("ModifyImageAttribute") != mods {
		t.Fatal("a second promote changed something")
	}
}

func TestPromoteSupersededAndDryRun(t *testing.T) {
	srv := emulator(t)
	ctx := context.Background()
	// The older image, already in the family: superseded by the newest.
	o := one(t)(Promote(ctx, promoteReq(srv, map[string]string{hangzhou: oldImage})))
	if o.Outcome != Superseded || o.Resolves != wantNewest || !errors.Is(o.Err, ErrLifecycle) || !strings.Contains(o.Err.Error(), wantNewest) {
		t.Fatalf("%+v", o)
	}
	// A dry run names the change and makes none.
	cp := srv.CopyImage(hangzhou, wantNewest, shanghai)
	req := promoteReq(srv, map[string]string{shanghai: cp})
	req.DryRun, req.Wait = true, time.Minute
	o = one(t)(Promote(ctx, req))
	if o.Outcome != WouldPromote || len(o.Changes) != 1 || o.Err != nil {
		t.Fatalf("%+v", o)
	}
	if f, _ := familyOf(t, srv, shanghai, cp); f != "" {
		t.Fatalf("a dry run changed the family: %q", f)
	}
	if got := srv.LastRequest("ModifyImageAttribute").Params.Get("DryRun"); got != "true" {
		t.Fatalf("DryRun %q", got)
	}
}

func TestRollbackAndUndo(t *testing.T) {
	srv := emulator(t)
	ctx := context.Background()
	// Compare-and-swap: the older image is not what the family resolves to.
	o := one(t)(Rollback(ctx, rollbackReq(srv, map[string]string{hangzhou: oldImage})))
	if o.Outcome != Moved || o.Resolves != wantNewest || srv.Requests("ModifyImageAttribute") != 0 {
		t.Fatalf("%+v", o)
	}
	// Dry run.
	req := rollbackReq(srv, map[string]string{hangzhou: wantNewest})
	req.DryRun = true
	o = one(t)(Rollback(ctx, req))
	if o.Outcome != WouldRollBack || o.Resolves != oldImage {
		t.Fatalf("%+v", o)
	}
	if _, st := familyOf(t, srv, hangzhou, wantNewest); st != "Available" {
		t.Fatal(st)
	}
	// The rollback.
	o = one(t)(Rollback(ctx, rollbackReq(srv, map[string]string{hangzhou: wantNewest})))
	if o.Outcome != RolledBack || o.Resolves != oldImage || len(o.Changes) != 1 {
		t.Fatalf("%+v", o)
	}
	// The last image: refused as a guard, unless AllowEmpty.
	o = one(t)(Rollback(ctx, rollbackReq(srv, map[string]string{hangzhou: oldImage})))
	if o.Outcome != Refused || !errors.Is(o.Err, ErrGuard) {
		t.Fatalf("%+v", o)
	}
	if _, st := familyOf(t, srv, hangzhou, oldImage); st != "Available" {
		t.Fatal(st)
	}
	req = rollbackReq(srv, map[string]string{hangzhou: oldImage})
	req.AllowEmpty = true
	o = one(t)(Rollback(ctx, req))
	if o.Outcome != RolledBack || o.Resolves != "" {
		t.Fatalf("%+v", o)
	}
	// Undo by promote: restores the newest first.
	o = one(t)(Promote(ctx, promoteReq(srv, map[string]string{hangzhou: wantNewest})))
	if o.Outcome != Promoted || o.Resolves != wantNewest || len(o.Changes) != 1 || o.Changes[0] != "Status Deprecated -> Available" {
		t.Fatalf("%+v", o)
	}
}

// Throttling and 5xx are retried; the rollback re-checks its
// compare-and-swap before a retried attempt.
func TestLifecycleRetries(t *testing.T) {
	srv := emulator(t)
	ctx := context.Background()
	srv.Throttle("ModifyImageAttribute", 2)
	srv.FailStatus("DescribeImages", 1, 503, "ServiceUnavailable")
	cp := srv.CopyImage(hangzhou, wantNewest, shanghai)
	srv.SetImageStatus(shanghai, cp, "Available")
	var retries []RetryNotice
	req := promoteReq(srv, map[string]string{shanghai: cp})
	req.Retry.OnRetry = func(n RetryNotice) { retries = append(retries, n) }
	o := one(t)(Promote(ctx, req))
	if o.Outcome != Promoted || len(retries) != 3 {
		t.Fatalf("%+v, %d retries", o, len(retries))
	}

	// A rollback whose first attempt fails while another pipeline moves
	// the family: the re-check sees it and changes nothing.
	srv.FailStatus("ModifyImageAttribute", 1, 503, "ServiceUnavailable")
	srv.AddImage(hangzhou, ecs.Image{ImageId: "m-bp1demowebbase000009", ImageFamily: webBase, Status: "Available", CreationTime: "2025-01-01T00:00:00Z"})
	// The family resolves to the new image now, but the rollback was asked
	// for before: simulate that by naming it and moving the family after
	// the first check, through a newer image added after one more lookup.
	srv.AddImageAfter(hangzhou, ecs.Image{ImageId: "m-bp1demowebbase000010", ImageFamily: webBase, Status: "Available", CreationTime: "2025-02-01T00:00:00Z"}, 1)
	o = one(t)(Rollback(ctx, rollbackReq(srv, map[string]string{hangzhou: "m-bp1demowebbase000009"})))
	if o.Outcome != Moved || o.Resolves != "m-bp1demowebbase000010" {
		t.Fatalf("%+v", o)
	}
	if _, st := familyOf(t, srv, hangzhou, "m-bp1demowebbase000009"); st != "Available" {
		t.Fatal("the image was deprecated after the family moved")
	}
}

func TestLifecycleForbidden(t *testing.T) {
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		t.Fatal(err)
	}
	f.Accounts = append(f.Accounts, ecstest.Account{AccessKeyID: "LTAIREADONLY00000001", AccessKeySecret: "read-only-secret-0001",
		Actions: []string{"ecs:DescribeImageFromFamily", "ecs:DescribeImages"}})
	srv := ecstest.NewTLSServer(f)
	defer srv.Close()
	req := rollbackReq(srv, map[string]string{hangzhou: wantNewest})
	req.Credentials.AccessKeyID, req.Credentials.AccessKeySecret = "LTAIREADONLY00000001", "read-only-secret-0001"
	o := one(t)(Rollback(context.Background(), req))
	if o.Outcome != Failed || !errors.Is(o.Err, ErrAccessDenied) || !strings.Contains(o.Err.Error(), "ecs:ModifyImageAttribute") || !strings.Contains(o.Err.Error(), "Forbidden.RAM") {
		t.Fatalf("%+v", o)
	}
}

func TestLifecycleBadInputSendsNothing(t *testing.T) {
	srv := emulator(t)
	cases := []struct {
		name   string
		family string
		images map[string]string
		frag   string
	}{
		{"empty map", webBase, nil, "at least one"},
		{"bad region", webBase, map[string]string{"CN-HANGZHOU": wantNewest}, "region"},
		{"bad id", webBase, map[string]string{hangzhou: "web-base"}, "not an image id"},
		{"no family", "", map[string]string{hangzhou: wantNewest}, "required"},
		{"acs family", "acs:web", map[string]string{hangzhou: wantNewest}, "acs:"},
		{"aliyun family", "aliyun-web", map[string]string{hangzhou: wantNewest}, "aliyun"},
		{"URL family", "web-https://x", map[string]string{hangzhou: wantNewest}, "http"},
		{"dot family", "web.base", map[string]string{hangzhou: wantNewest}, "DescribeImageFromFamily"},
		{"digit first", "1web", map[string]string{hangzhou: wantNewest}, "letter"},
		{"too long", "w" + strings.Repeat("x", 128), map[string]string{hangzhou: wantNewest}, "128"},
	}
	for _, c := range cases {
		p := promoteReq(srv, c.images)
		p.Family = c.family
		_, err := Promote(context.Background(), p)
		if !IsInputError(err) || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("promote %s: %v", c.name, err)
		}
		r := rollbackReq(srv, c.images)
		r.Family = c.family
		if _, err := Rollback(context.Background(), r); !IsInputError(err) {
			t.Errorf("rollback %s: %v", c.name, err)
		}
	}
	if n := srv.Requests(""); n != 0 {
		t.Fatalf("%d requests", n)
	}
}

// Promote and rollback go where lookups go: ALIBABA_CLOUD_ECS_ENDPOINT sets
// the ECS endpoint when no setting does, and a bad value is bad input with
// nothing sent.
func TestLifecycleECSEndpointFromEnvironment(t *testing.T) {
	srv := emulator(t)
	req := promoteReq(srv, map[string]string{hangzhou: wantNewest})
	req.Endpoint = ""
	req.Credentials.Getenv = envFunc(map[string]string{EnvECSEndpoint: srv.Endpoint()})
	if o := one(t)(Promote(context.Background(), req)); o.Outcome != Already {
		t.Fatalf("%+v", o)
	}
	if n := srv.Requests("DescribeImageFromFamily"); n == 0 {
		t.Fatal("the emulator named by the environment saw no request")
	}
	srv.ResetCounts()
	req.Credentials.Getenv = envFunc(map[string]string{EnvECSEndpoint: "ftp://ecs.example.com"})
	var ve *ValidationError
	if err := ValidatePromote(req); !errors.As(err, &ve) || ve.Field != EnvECSEndpoint {
		t.Fatalf("ValidatePromote = %v, want a refusal of %s", err, EnvECSEndpoint)
	}
	rr := rollbackReq(srv, map[string]string{hangzhou: wantNewest})
	rr.Endpoint, rr.Credentials.Getenv = "", req.Credentials.Getenv
	if err := ValidateRollback(rr); !errors.As(err, &ve) {
		t.Fatalf("ValidateRollback = %v", err)
	}
}

// A copy that ends CreateFailed while promote waits for it is a terminal
// failure, seen at the first poll that shows it, not a wait until the
// deadline; that region is left untouched and the others are promoted.
func TestPromoteWaitStopsAtCreateFailed(t *testing.T) {
	srv := emulator(t)
	srv.SetCopyPolls(2)
	srv.FailCopiesTo(beijing)
	sh := srv.CopyImage(hangzhou, wantNewest, shanghai)
	bj := srv.CopyImage(hangzhou, wantNewest, beijing)
	req := promoteReq(srv, map[string]string{shanghai: sh, beijing: bj})
	req.Wait = time.Hour
	var mu sync.Mutex
	polls := map[string]int{}
	req.OnProgress = func(p WaitProgress) { mu.Lock(); polls[p.Region]++; mu.Unlock() }
	out, err := Promote(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Region != beijing || out[1].Region != shanghai {
		t.Fatalf("%+v", out)
	}
	failed := out[0]
	var le *LifecycleError
	if failed.Outcome != Failed || !errors.As(failed.Err, &le) || !strings.Contains(failed.Err.Error(), "CreateFailed") ||
		!strings.Contains(failed.Err.Error(), "can never become Available") || strings.Contains(failed.Err.Error(), "after waiting") {
		t.Fatalf("the failed copy: %+v", failed)
	}
	// Two polls see Creating (the copy's polls), the third CreateFailed.
	if polls[beijing] != 2 {
		t.Errorf("%d progress lines in %s, want 2: the wait went on after CreateFailed", polls[beijing], beijing)
	}
	if f, st := familyOf(t, srv, beijing, bj); f != "" || st != "CreateFailed" {
		t.Errorf("the failed copy was changed: family %q, status %s", f, st)
	}
	if n := srv.Requests("ModifyImageAttribute"); n != 1 {
		t.Errorf("%d ModifyImageAttribute calls, want 1 (the other region's)", n)
	}
	if o := out[1]; o.Outcome != Promoted || o.Resolves != sh {
		t.Errorf("the other region: %+v", o)
	}
}
