package actione2e

// The family lifecycle under act: one workflow
// (testdata/workflows/lifecycle.yml) whose jobs run promote, rollback and
// the undo against the emulator, each job asserting its steps' outcomes and
// outputs in a last step. This test gives the workflow a copy still
// Creating, and checks the annotations, the step log lines, the exit codes
// and the emulator's state after the run.

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const lifecycleWorkflow = "test/action/testdata/workflows/lifecycle.yml"

func TestActLifecycle(t *testing.T) {
	w := newWorld(t)
	const newest, older = "m-bp1e2enew000000002", "m-bp1e2eold000000001"
	w.emu.SetCopyPolls(1)
	cp := w.emu.CopyImage("cn-hangzhou", newest, "cn-beijing")
	if cp == "" {
		t.Fatal("no copy")
	}

	r := w.act(lifecycleWorkflow, []string{"COPY_ID=" + cp})
	r.must(t, "E2E-LIFECYCLE-PROMOTE-OK", "E2E-LIFECYCLE-ROLLBACK-OK", "E2E-LIFECYCLE-UNDO-OK",
		// The dry run waits for the copy, then says what would change.
		"waiting in cn-beijing: poll 1 saw "+cp+" Creating",
		"cn-beijing: dry run: "+cp+` would change: ImageFamily "" -> "web-base" (the API accepted it with DryRun); nothing was changed`,
		"cn-beijing: promoted "+cp+`: ImageFamily "" -> "web-base"; the family resolves to `+cp,
		"cn-hangzhou: "+newest+" is already a live member of the family, and the family resolves to it; nothing changed",
		"::error title=Image family promote superseded in cn-hangzhou::",
		"::error title=Image family rollback moved in cn-hangzhou::",
		"cn-hangzhou: dry run: "+newest+" would change: Status Available -> Deprecated",
		"cn-hangzhou: rolled-back "+newest+": Status Available -> Deprecated; the family resolves to "+older,
		"::error title=Image family rollback refused in cn-hangzhou::",
		"cn-hangzhou: rolled-back "+older+": Status Available -> Deprecated; the family resolves to no Available image",
		"cn-hangzhou: promoted "+newest+": Status Deprecated -> Available; the family resolves to "+newest,
		// act shows each step's job summary.
		"Summary - ### Alibaba Cloud image family `web-base`: promote (dry run: nothing was changed)",
	)

	// The exit codes of the steps that failed: superseded and moved 4,
	// refused 5.
	codes := exitCodes(r.out)
	want := []int{4, 4, 5}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("exit codes of the failed steps %v, want %v", codes, want)
	}

	// The emulator's state: the copy is in the family, NEW is Available
	// again (the undo), OLD stays deprecated (allow-empty), and the dry
	// runs were sent with DryRun.
	img, ok := w.emu.Image("cn-beijing", cp)
	if !ok || img.ImageFamily != "web-base" || img.Status != "Available" {
		t.Errorf("the copy: %+v", img)
	}
	if img, _ := w.emu.Image("cn-hangzhou", newest); img.Status != "Available" {
		t.Errorf("%s is %s after the undo", newest, img.Status)
	}
	if img, _ := w.emu.Image("cn-hangzhou", older); img.Status != "Deprecated" {
		t.Errorf("%s is %s after allow-empty", older, img.Status)
	}
}

// exitStatusLine is act's line for a step whose process failed, in the
// job's log ("[workflow/job] exit status 4").
var exitStatusLine = regexp.MustCompile(`\] exit status (\d+)$`)

// exitCodes are the exit codes act reports for failed steps, sorted.
func exitCodes(out string) []int {
	var codes []int
	for _, l := range strings.Split(out, "\n") {
		if m := exitStatusLine.FindStringSubmatch(strings.TrimRight(l, "\r")); m != nil {
			n, _ := strconv.Atoi(m[1])
			codes = append(codes, n)
		}
	}
	sort.Ints(codes)
	return codes
}
