//go:build reviewholes

package imagefamily

// Holes found in review and not fixed here (the fix is a design choice):
// go test -tags reviewholes ./imagefamily -run TestReviewOpen

import (
	"context"
	"net/http"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// A typo in the family (web-bsae for web-base) makes promote take the
// family's newest image out of web-base: ModifyImageAttribute sets
// ImageFamily, and an image has one family. web-base silently falls back
// to its previous image (a rollback nobody asked for) and the run exits 0
// ("promoted"). Moving a live member of another family should be refused
// (a guard, exit 5) unless asked for explicitly.
func TestReviewOpenPromoteTakesTheImageOutOfItsFamily(t *testing.T) {
	f := &fakeFamily{images: map[string]*fakeImage{
		"m-old0000000000000001": {family: "web-base", status: "Available", created: "2024-01-01T00:00:00Z"},
		"m-new0000000000000002": {family: "web-base", status: "Available", created: "2024-06-01T00:00:00Z"},
	}}
	f.modify = func(w http.ResponseWriter, _ *http.Request, apply func()) {
		apply()
		w.Write([]byte(`{"RequestId":"R-3"}`))
	}
	h := ecstest.StartHostile(ecstest.HostileRow{Name: "fake", Family: "web-bsae", Serve: f.serve})
	defer h.Close()
	out, err := Promote(context.Background(), PromoteRequest{Request: hostileRequest(h), Images: map[string]string{hangzhou: "m-new0000000000000002"}})
	o := one(t)(out, err)
	if f.images["m-new0000000000000002"].family != "web-base" || o.ExitCode() == ExitOK {
		t.Fatalf("promote into web-bsae took the image out of web-base (%s, exit %d, changes %q); web-base now resolves to the older image",
			o.Outcome, o.ExitCode(), o.Changes)
	}
}
