package imagefamily

import (
	"context"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// The lifecycle's rows of the fault table (ecstest.LifecycleFaultRows)
// through Promote and Rollback, by the fault table's runner (runFaultRow),
// each row against a fresh emulator: the row's outcome class, message,
// retries and requests by action, and, when the row ends well, the change
// read back from the emulator.
func TestLifecycleFaultMatrix(t *testing.T) {
	f, err := ecstest.ParseFixture(ecstest.LifecycleFixture())
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range ecstest.LifecycleFaultRows() {
		t.Run(row.Name, func(t *testing.T) {
			srv := ecstest.NewTLSServer(f)
			t.Cleanup(srv.Close)
			runFaultRow(t, srv, row, func(r Request) error {
				return runLifecycleRow(t, srv, row, r)
			})
		})
	}
}

// runLifecycleRow prepares the row's images, runs its command and returns
// the region's error; a row that ends well must have made its change.
func runLifecycleRow(t *testing.T, srv *ecstest.Server, row ecstest.FaultRow, r Request) error {
	t.Helper()
	ctx := context.Background()
	var out []RegionOutcome
	var err error
	var region, id string
	switch row.Command {
	case ecstest.CommandPromote:
		srv.SetCopyPolls(0)
		region, id = ecstest.LifecycleCopyRegion, srv.CopyImage(hangzhou, ecstest.LifecycleCopySource, ecstest.LifecycleCopyRegion)
		srv.ResetCounts()
		out, err = Promote(ctx, PromoteRequest{Request: r, Images: map[string]string{region: id}})
	case ecstest.CommandRollback:
		region, id = hangzhou, ecstest.LifecycleRollbackImage
		out, err = Rollback(ctx, RollbackRequest{Request: r, Images: map[string]string{region: id}})
	default:
		t.Fatalf("row %q: command %q has no mapping in the core's runner", row.Name, row.Command)
	}
	if err != nil {
		t.Fatalf("the request was refused: %v", err)
	}
	o := out[0]
	if row.Outcome != ecstest.FaultFound {
		if o.Outcome != Failed {
			t.Errorf("outcome %s, want failed", o.Outcome)
		}
		return o.Err
	}
	img, _ := srv.Image(region, id)
	switch {
	case o.Err != nil:
		return o.Err
	case row.Command == ecstest.CommandPromote && (o.Outcome != Promoted || o.Resolves != id || img.ImageFamily != webBase):
		t.Errorf("promote: %+v; the image is in family %q", o, img.ImageFamily)
	case row.Command == ecstest.CommandRollback && (o.Outcome != RolledBack || o.Resolves != ecstest.LifecyclePreviousImage || img.Status != "Deprecated"):
		t.Errorf("rollback: %+v; the image is %s", o, img.Status)
	}
	return nil
}
