package imagefamily

import (
	"context"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The lifecycle's rows of the hostile table (conformance.LifecycleHostileRows)
// through Promote and Rollback, checked as the lookup's rows are
// (checkHostileOutcome): the class, the fragment, one bounded line with
// nothing forged and no secret, the requests of the hostile call, none at
// the redirect target, and the writes the endpoint took (the change made
// exactly where the row says so, and said so in the outcome).
func TestLifecycleHostileEndpoints(t *testing.T) {
	for _, row := range conformance.LifecycleHostileRows() {
		t.Run(row.Name, func(t *testing.T) {
			h := conformance.StartHostile(row)
			defer h.Close()
			req := hostileRequest(h)
			images := map[string]string{hangzhou: conformance.HostileImageID}
			var out []RegionOutcome
			var err error
			want := Promoted
			switch row.Command {
			case conformance.CommandPromote:
				out, err = Promote(context.Background(), PromoteRequest{Request: req, Images: images})
			case conformance.CommandRollback:
				want = RolledBack
				out, err = Rollback(context.Background(), RollbackRequest{Request: req, Images: images})
			default:
				t.Fatalf("command %q has no mapping in the core's runner", row.Command)
			}
			if err != nil {
				t.Fatalf("the request was refused: %v", err)
			}
			o := out[0]
			var img Image
			if o.Err == nil && o.Outcome == want {
				img.ImageID = o.ImageID
			} else if o.Err == nil {
				t.Fatalf("outcome %+v, want %s", o, want)
			}
			if n := h.Writes(); n != row.Writes || o.Changed != (row.Writes > 0) || (len(o.Changes) > 0) != (row.Writes > 0) {
				t.Errorf("the endpoint took %d writes, want %d; the outcome says changed %v, changes %q", n, row.Writes, o.Changed, o.Changes)
			}
			checkHostileOutcome(t, row, h, img, o.Err)
		})
	}
}
