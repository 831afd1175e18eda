package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The lifecycle's rows of the fault table (conformance.LifecycleFaultRows),
// one row per command, outcome class and kind (a dry run, a write not read
// back), through the binary's promote and rollback, each in text and in
// --output json, against a fresh emulator process each: the exit code,
// stdout (the outcome line, or the JSON with the changes and whether they
// were made), stderr's fragment, the retry lines, the requests by action,
// the emulator's log of writes (a dry run's are all DryRun=true) and its
// image (changed exactly when the row says so). The core runs every row
// (imagefamily/lifecycle_faults_test.go).
func TestLifecycleFaultMatrixCLI(t *testing.T) {
	seen := map[string]bool{}
	for _, row := range conformance.LifecycleFaultRows() {
		class := fmt.Sprintf("%s/%s/dry-run=%v/unconfirmed=%v", row.Command, row.Outcome, row.DryRun, row.Unconfirmed)
		if seen[class] {
			continue
		}
		seen[class] = true
		t.Run(row.Name, func(t *testing.T) {
			for _, output := range []string{"text", "json"} {
				t.Run(output, func(t *testing.T) { runLifecycleFaultRow(t, row, output) })
			}
		})
	}
}

func runLifecycleFaultRow(t *testing.T, row conformance.FaultRow, output string) {
	e := startEmulatorWith(t, conformance.LifecycleFixture())
	env := demoEnv
	switch row.Credentials {
	case conformance.CredKeys:
	case conformance.CredReadOnly:
		env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": conformance.ReadOnlyKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": conformance.ReadOnlyKeySecret}
	case conformance.CredNoWrite:
		env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": conformance.NoWriteKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": conformance.NoWriteKeySecret}
	default:
		t.Fatalf("row %q: credentials %d have no mapping in the CLI's lifecycle runner", row.Name, row.Credentials)
	}
	region, id := "cn-hangzhou", conformance.LifecycleRollbackImage
	outcome := "rolled-back"
	changed := func(family, status string) bool { return status == "Deprecated" }
	if row.Command == conformance.CommandPromote {
		if err := e.Control.SetCopyPolls(0); err != nil {
			t.Fatal(err)
		}
		cp, err := e.Control.CopyImage("cn-hangzhou", conformance.LifecycleCopySource, conformance.LifecycleCopyRegion)
		if err != nil {
			t.Fatal(err)
		}
		region, id, outcome = conformance.LifecycleCopyRegion, cp, "promoted"
		changed = func(family, status string) bool { return family == "web-base" }
	}
	for _, f := range row.Faults {
		if err := e.Control.Fault(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Control.ResetCounts(); err != nil {
		t.Fatal(err)
	}
	args := []string{row.Command, "--endpoint", e.Endpoint, "--image-family", "web-base",
		"--image-ids", region + "=" + id, "--max-attempts", strconv.Itoa(row.MaxAttempts), "--output", output}
	if row.Timeout > 0 {
		args = append(args, "--timeout", row.Timeout.String())
	}
	if row.DryRun {
		args = append(args, "--dry-run")
		outcome = map[string]string{conformance.CommandPromote: "would-promote", conformance.CommandRollback: "would-roll-back"}[row.Command]
	}
	r := runCLI(t, e, env, args...)
	t.Logf("exit %d after %v: %s", r.code, r.elapsed.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code != row.ExitCode() {
		t.Errorf("exit code %d, want %d", r.code, row.ExitCode())
	}
	wantChanged := (row.Outcome == conformance.FaultFound && !row.DryRun) || row.Unconfirmed
	if row.ExitCode() != exitOK {
		outcome = "failed"
		if !strings.Contains(r.stderr, row.Fragment) {
			t.Errorf("stderr lacks %q", row.Fragment)
		}
	}
	// What was (or would be) changed is said on stderr, and only then.
	wantSaid := ""
	switch {
	case row.Unconfirmed:
		wantSaid = region + ": " + map[string]string{conformance.CommandPromote: "family set", conformance.CommandRollback: "status set"}[row.Command] +
			" on " + id + " (" + lifecycleChange[row.Command] + "), " + conformance.UnconfirmedFragment
	case row.ExitCode() == exitOK:
		wantSaid = lifecycleChange[row.Command]
	}
	if wantSaid != "" && !strings.Contains(r.stderr, wantSaid) {
		t.Errorf("stderr does not say %q", wantSaid)
	}
	if wantSaid == "" && strings.Contains(r.stderr, lifecycleChange[row.Command]) {
		t.Errorf("stderr names the change %q, which was not made", lifecycleChange[row.Command])
	}
	listed := ""
	if row.ExitCode() == exitOK || row.Unconfirmed {
		listed = lifecycleChange[row.Command]
	}
	checkLifecycleStdout(t, output, r.stdout, region, id, outcome, wantChanged, listed)
	counts := checkFaultRowRun(t, e, row, r)
	for _, w := range counts.Writes {
		if row.DryRun && w.DryRun != "true" {
			t.Errorf("a dry run sent a write without DryRun=true: %+v", w)
		}
	}
	if family, status := imageState(t, e, region, id); changed(family, status) != wantChanged {
		t.Errorf("the emulator's image is in family %q, %s; want changed: %v", family, status, wantChanged)
	}
}

// lifecycleChange is the change each command of the lifecycle's rows makes
// (RegionOutcome.Changes).
var lifecycleChange = map[string]string{
	conformance.CommandPromote:  `ImageFamily "" -> "web-base"`,
	conformance.CommandRollback: "Status Available -> Deprecated",
}

// checkLifecycleStdout: one region's outcome line, or its JSON listing the
// change made or that would be (listed, "" for none) and whether it was
// made (changed).
func checkLifecycleStdout(t *testing.T, output, stdout, region, id, outcome string, changed bool, listed string) {
	t.Helper()
	if output == "text" {
		if want := region + "\t" + outcome + "\t" + id + "\n"; stdout != want {
			t.Errorf("stdout %q, want %q", stdout, want)
		}
		return
	}
	var js []struct {
		Region   string   `json:"region"`
		ImageID  string   `json:"image_id"`
		Outcome  string   `json:"outcome"`
		Changes  []string `json:"changes"`
		Changed  *bool    `json:"changed"`
		Resolves *string  `json:"resolves"`
		Error    string   `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || len(js) != 1 {
		t.Fatalf("stdout is not a JSON array of one outcome (%v): %q", err, stdout)
	}
	o := js[0]
	if o.Region != region || o.ImageID != id || o.Outcome != outcome || o.Changed == nil || *o.Changed != changed || o.Resolves == nil {
		t.Errorf("JSON %+v; want %s %s %s, changed %v", o, region, id, outcome, changed)
	}
	if want := []string{listed}; (listed == "" && len(o.Changes) != 0) || (listed != "" && !slices.Equal(o.Changes, want)) {
		t.Errorf("JSON changes %q; want %q", o.Changes, listed)
	}
	if (outcome == "failed") != (o.Error != "") {
		t.Errorf("JSON error %q for outcome %s", o.Error, outcome)
	}
}
