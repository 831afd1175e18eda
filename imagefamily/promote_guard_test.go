package imagefamily

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// A typo in the family (web-bsae for web-base) makes promote take the
// family's newest image out of web-base: ModifyImageAttribute sets
// ImageFamily, and an image has one family. web-base silently falls back
// to its previous image (a rollback nobody asked for) and the run exits 0
// ("promoted"). Promote refuses to move a member of another family (a
// guard, exit 5), and sends no write.
func TestPromoteRefusesToMoveAnImageBetweenFamilies(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: "web-base", status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: "web-base", status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	f.modify = func(w http.ResponseWriter, _ *http.Request, apply func()) {
		apply()
		w.Write([]byte(`{"RequestId":"R-3"}`))
	}
	h := conformance.StartHostile(conformance.HostileRow{Name: "fake", Family: "web-bsae", Serve: f.serve})
	defer h.Close()
	out, err := Promote(context.Background(), PromoteRequest{Request: hostileRequest(h), Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if f.images["m-new0000000000000002"].family != "web-base" || o.Outcome != Refused || o.ExitCode() != ExitGuard || !errors.Is(o.Err, ErrGuard) {
		t.Fatalf("promote into web-bsae took the image out of web-base or was not refused (%s, exit %d, changes %q, err %v)",
			o.Outcome, o.ExitCode(), o.Changes, o.Err)
	}
	if msg := o.Err.Error(); !strings.Contains(msg, `"web-base"`) || !strings.Contains(msg, "nothing was changed") {
		t.Errorf("the refusal does not name the image's family or say nothing changed: %s", msg)
	}
	if o.Changed || len(o.Changes) != 0 {
		t.Errorf("a refusal reports changes: %v %q", o.Changed, o.Changes)
	}
}
