package actione2e

// The lock file under act: one workflow (testdata/workflows/lock.yml) pins
// two regions, refreshes with nothing new, checks, then (after the gate
// publishes a newer image) checks drifted and refreshes, asserting every
// step's outcome and outputs and the file in a last step. This test
// publishes the image when the workflow calls the gate, and checks the
// step log lines, the annotations and the exit codes.

import (
	"fmt"
	"testing"
)

const lockWorkflow = "test/action/testdata/workflows/lock.yml"

func TestActLock(t *testing.T) {
	w := newWorld(t)
	r := w.act(lockWorkflow, []string{w.gate(func(path string) bool {
		if path == "newer" {
			w.emu.AddImage("cn-hangzhou", familyImage("m-bp1e2enewer0000004", "4", "2024-05-02T00:00:00Z"))
		}
		return true
	})})
	r.must(t, "E2E-LOCK-OK",
		// The step log: each change, and what became of the file.
		"web-base cn-hangzhou: none -> m-bp1e2enew000000002 (created 2024-03-05T08:30:00Z)",
		"wrote images.lock.json: 2 entries changed",
		"images.lock.json is current; nothing was written (2 entries looked up)",
		"images.lock.json is current (2 entries checked)",
		"::error title=Lock file differs::images.lock.json: 1 difference; nothing was written (check): web-base cn-hangzhou: m-bp1e2enew000000002 -> m-bp1e2enewer0000004 (created 2024-05-02T00:00:00Z)",
		"wrote images.lock.json: 1 entry changed",
		// act shows each step's job summary.
		"Summary - ### Alibaba Cloud image family lock file `images.lock.json` (check: nothing is written)",
		// The refreshed file, as the workflow printed it.
		`LOCKFILE         "image_id": "m-bp1e2enewer0000004",`,
	)
	if codes := exitCodes(r.out); fmt.Sprint(codes) != "[4]" {
		t.Errorf("exit codes of the failed steps %v, want [4] (the drifted check)", codes)
	}
}
