package imagefamily

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// fakeFamily is a tiny honest-or-lying ECS for one region and one family:
// images by id with their family, status and creation time; the family
// resolves to its newest Available member. modify decides what a
// ModifyImageAttribute does (apply it or not) and answers.
type fakeFamily struct {
	mu     sync.Mutex
	images map[string]*fakeImage
	modify func(w http.ResponseWriter, r *http.Request, apply func())
	writes int
}

type fakeImage struct{ family, status, created string }

func (f *fakeFamily) img(id string, im *fakeImage) map[string]any {
	return map[string]any{"ImageId": id, "ImageName": "n-" + id, "ImageFamily": im.family, "Status": im.status,
		"CreationTime": im.created, "ImageOwnerAlias": "self", "Architecture": "x86_64", "OSType": "linux"}
}

func (f *fakeFamily) serve(w http.ResponseWriter, r *http.Request, _ conformance.HostileEnv) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	write := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch q.Get("Action") {
	case "DescribeImageFromFamily":
		var bestID string
		for id, im := range f.images {
			if im.family == q.Get("ImageFamily") && im.status == "Available" && (bestID == "" || im.created > f.images[bestID].created) {
				bestID = id
			}
		}
		img := map[string]any{}
		if bestID != "" {
			img = f.img(bestID, f.images[bestID])
		}
		write(map[string]any{"RequestId": "R-1", "Image": img})
	case "DescribeImages":
		var list []any
		for id, im := range f.images {
			if (q.Get("ImageId") == "" || q.Get("ImageId") == id) && (q.Get("ImageFamily") == "" || q.Get("ImageFamily") == im.family) &&
				strings.Contains(q.Get("Status"), im.status) {
				list = append(list, f.img(id, im))
			}
		}
		write(map[string]any{"RequestId": "R-2", "RegionId": q.Get("RegionId"), "TotalCount": len(list), "Images": map[string]any{"Image": list}})
	case "ModifyImageAttribute":
		f.writes++
		im := f.images[q.Get("ImageId")]
		apply := func() {
			if v := q.Get("ImageFamily"); v != "" {
				im.family = v
			}
			if v := q.Get("Status"); v != "" {
				im.status = v
			}
		}
		f.modify(w, r, apply)
	}
}

func startFake(t *testing.T, f *fakeFamily) Request {
	t.Helper()
	h := conformance.StartHostile(conformance.HostileRow{Name: "fake", Serve: f.serve})
	t.Cleanup(h.Close)
	return hostileRequest(h)
}

// A ModifyImageAttribute that answers success without making the change:
// the family still resolves to an older image. Promote must not report
// "superseded" (exit 4: "the image is in the family, but the family
// resolves to a newer image"): the image is not in the family at all, and
// the other image is older. The read back must catch the lie (exit 1).
func TestReviewPromoteReadBackCatchesALyingWrite(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: conformance.HostileFamily, status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: "", status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	f.modify = func(w http.ResponseWriter, _ *http.Request, _ func()) {
		w.Write([]byte(`{"RequestId":"R-3"}`)) // success, nothing done
	}
	req := startFake(t, f)
	out, err := Promote(context.Background(), PromoteRequest{Request: req, Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if o.Outcome == Superseded || o.ExitCode() != ExitFailure {
		t.Fatalf("a write that did nothing is reported as %s (exit %d): %v", o.Outcome, o.ExitCode(), o.Err)
	}
}

// The rollback's write goes through but its answer is lost (a 503 after
// the change, or a dropped connection): the retry's compare-and-swap
// re-check sees the family moved, by this very run. The outcome must not
// say "someone moved it already; nothing was changed" (Moved, exit 4):
// the image was deprecated by this run.
func TestReviewRollbackRetryAfterALostAnswerIsNotMoved(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: conformance.HostileFamily, status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: conformance.HostileFamily, status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	f.modify = func(w http.ResponseWriter, _ *http.Request, apply func()) {
		apply()
		w.WriteHeader(503)
		w.Write([]byte(`{"RequestId":"R-4","Code":"ServiceUnavailable","Message":"lost"}`))
	}
	req := startFake(t, f)
	out, err := Rollback(context.Background(), RollbackRequest{Request: req, Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if f.images["m-new0000000000000002"].status != "Deprecated" {
		t.Fatal("the fake did not deprecate")
	}
	if o.Outcome == Moved || strings.Contains(errText(o.Err), "nothing was changed") {
		t.Fatalf("this run deprecated the image, and the outcome says %s: %v", o.Outcome, o.Err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The image is an Available member of the family when promote looks, so
// nothing is written; then another pipeline deprecates it before the read
// back, and the family falls back to an older image. That is not
// "superseded by a newer image" (exit 4).
func TestReviewPromoteImageDeprecatedMeanwhileIsNotSuperseded(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: conformance.HostileFamily, status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: conformance.HostileFamily, status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	h := conformance.StartHostile(conformance.HostileRow{Name: "fake", Serve: func(w http.ResponseWriter, r *http.Request, env conformance.HostileEnv) {
		if r.URL.Query().Get("Action") == "DescribeImageFromFamily" {
			f.mu.Lock()
			f.images["m-new0000000000000002"].status = "Deprecated" // another pipeline's rollback
			f.mu.Unlock()
		}
		f.serve(w, r, env)
	}})
	defer h.Close()
	out, err := Promote(context.Background(), PromoteRequest{Request: hostileRequest(h), Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if o.Outcome == Superseded || o.Changed || !strings.Contains(errText(o.Err), "run promote again") {
		t.Fatalf("%s (exit %d, changed %v): %v", o.Outcome, o.ExitCode(), o.Changed, o.Err)
	}
}

// A dry run's first DryRun=true attempt fails (503), and another pipeline
// rolls the image back meanwhile: the dry run changed nothing, so it must
// not say rolled back.
func TestReviewRollbackDryRunNeverClaimsTheChange(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: conformance.HostileFamily, status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: conformance.HostileFamily, status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	f.modify = func(w http.ResponseWriter, _ *http.Request, _ func()) {
		f.images["m-new0000000000000002"].status = "Deprecated" // another pipeline
		w.WriteHeader(503)
		w.Write([]byte(`{"RequestId":"R-4","Code":"ServiceUnavailable","Message":"busy"}`))
	}
	req := startFake(t, f)
	out, err := Rollback(context.Background(), RollbackRequest{Request: req, DryRun: true, Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if o.Outcome != Moved || o.Changed {
		t.Fatalf("a dry run says %s, changed %v: %v", o.Outcome, o.Changed, o.Err)
	}
}

// The read back lags the write (ECS is eventually consistent): right after
// ModifyImageAttribute, DescribeImageFromFamily still answers the family's
// previous, older image, while DescribeImages by id already shows the
// change. Promote must not call that "superseded by a newer image" (exit
// 4): the image named is the newer one.
func TestReviewPromoteLaggingReadBackIsNotSupersededByAnOlderImage(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: conformance.HostileFamily, status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: "", status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	f.modify = func(w http.ResponseWriter, _ *http.Request, apply func()) {
		apply()
		w.Write([]byte(`{"RequestId":"R-3"}`))
	}
	lagging := true
	h := conformance.StartHostile(conformance.HostileRow{Name: "fake", Serve: func(w http.ResponseWriter, r *http.Request, env conformance.HostileEnv) {
		if r.URL.Query().Get("Action") == "DescribeImageFromFamily" && lagging {
			lagging = false
			w.Write([]byte(`{"RequestId":"R-9","Image":{"ImageId":"m-old0000000000000001","ImageFamily":"web-base","Status":"Available","CreationTime":"2024-01-01T00:00:00Z"}}`))
			return
		}
		f.serve(w, r, env)
	}})
	defer h.Close()
	out, err := Promote(context.Background(), PromoteRequest{Request: hostileRequest(h), Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if o.Outcome == Superseded {
		t.Fatalf("superseded by an older image: %v", o.Err)
	}
}
