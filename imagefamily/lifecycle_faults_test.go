package imagefamily

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The lifecycle's rows of the fault table (conformance.LifecycleFaultRows)
// through Promote and Rollback, by the fault table's runner (runFaultRow),
// each row against a fresh emulator: the row's outcome class, message,
// retries and requests by action, and, when the row ends well, the change
// read back from the emulator.
func TestLifecycleFaultMatrix(t *testing.T) {
	f, err := ecstest.ParseFixture(conformance.LifecycleFixture())
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range conformance.LifecycleFaultRows() {
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
// the region's error. The image is changed exactly when the row ends well
// without a dry run or is Unconfirmed (the write went through, the read
// back failed, and the error says what was changed); a dry run's writes
// are all DryRun=true.
func runLifecycleRow(t *testing.T, srv *ecstest.Server, row conformance.FaultRow, r Request) error {
	t.Helper()
	ctx := context.Background()
	var out []RegionOutcome
	var err error
	var region, id string
	changed := func(img ecs.Image) bool { return img.ImageFamily == webBase }
	wantOutcome := Promoted
	switch row.Command {
	case conformance.CommandPromote:
		srv.SetCopyPolls(0)
		region, id = conformance.LifecycleCopyRegion, srv.CopyImage(hangzhou, conformance.LifecycleCopySource, conformance.LifecycleCopyRegion)
		srv.ResetCounts()
		if row.DryRun {
			wantOutcome = WouldPromote
		}
		out, err = Promote(ctx, PromoteRequest{Request: r, Images: map[string]string{region: id}, DryRun: row.DryRun})
	case conformance.CommandRollback:
		region, id = hangzhou, conformance.LifecycleRollbackImage
		changed = func(img ecs.Image) bool { return img.Status == "Deprecated" }
		wantOutcome = RolledBack
		if row.DryRun {
			wantOutcome = WouldRollBack
		}
		out, err = Rollback(ctx, RollbackRequest{Request: r, Images: map[string]string{region: id}, DryRun: row.DryRun})
	default:
		t.Fatalf("row %q: command %q has no mapping in the core's runner", row.Name, row.Command)
	}
	if err != nil {
		t.Fatalf("the request was refused: %v", err)
	}
	o := out[0]
	img, _ := srv.Image(region, id)
	wantChanged := (row.Outcome == conformance.FaultFound && !row.DryRun) || row.Unconfirmed
	if changed(img) != wantChanged || o.Changed != wantChanged {
		t.Errorf("the emulator's image changed: %v, the outcome says Changed %v; want %v (%+v)", changed(img), o.Changed, wantChanged, o)
	}
	for _, w := range srv.Writes() {
		if row.DryRun && w.DryRun != "true" {
			t.Errorf("a dry run sent a write without DryRun=true: %+v", w)
		}
	}
	if row.Unconfirmed {
		var ue *UnconfirmedError
		if !errors.As(o.Err, &ue) || len(o.Changes) == 0 {
			t.Fatalf("want an *UnconfirmedError naming the changes, got %+v", o)
		}
		if code := ExitCode(o.Err); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		msg := o.Err.Error()
		for _, want := range append([]string{conformance.UnconfirmedFragment, region + ": ", id, "again"}, o.Changes...) {
			if !strings.Contains(msg, want) {
				t.Errorf("the message lacks %q: %s", want, msg)
			}
		}
	}
	if row.Outcome != conformance.FaultFound {
		if o.Outcome != Failed {
			t.Errorf("outcome %s, want failed", o.Outcome)
		}
		if !row.Unconfirmed && len(o.Changes) > 0 {
			t.Errorf("changes %q listed for a write that was not made", o.Changes)
		}
		return o.Err
	}
	if o.Err != nil {
		return o.Err
	}
	wantResolves := id
	if row.Command == conformance.CommandRollback {
		wantResolves = conformance.LifecyclePreviousImage
	} else if row.DryRun {
		wantResolves = "" // the copy is in no family, which has no image in the region
	}
	if o.Outcome != wantOutcome || o.Resolves != wantResolves || len(o.Changes) != 1 {
		t.Errorf("%s: %+v; want %s, resolving to %q, one change", row.Command, o, wantOutcome, wantResolves)
	}
	return nil
}
