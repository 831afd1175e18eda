package actione2e

// Release promotion under act: a workflow reads image ids committed to the
// repository (testdata/expected-image-ids.json, the image-ids output of an
// earlier run) into expected-image-ids and asserts `changed` in a later
// step; its job runs once with the family as committed and once after it
// moved.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const driftWorkflow = "test/action/testdata/workflows/drift.yml"

func TestActDrift(t *testing.T) {
	// The committed file is what the fixture resolves to today.
	b, err := os.ReadFile(filepath.Join("testdata", "expected-image-ids.json"))
	if err != nil {
		t.Fatal(err)
	}
	var committed map[string]string
	if err := json.Unmarshal(b, &committed); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"cn-hangzhou": "m-bp1e2enew000000002", "cn-shanghai": "m-uf6e2eshanghai00001"}; !reflect.DeepEqual(committed, want) {
		t.Fatalf("testdata/expected-image-ids.json = %v, want %v", committed, want)
	}

	w := newWorld(t)
	// The wait step's image appears after its first poll.
	w.emu.AddImageAfter("cn-beijing", familyImage("m-bp1e2ebeijing00001", "4", "2024-05-01T00:00:00Z"), 1)

	r := w.act(driftWorkflow, []string{w.gate(func(path string) bool {
		if path == "newer" {
			w.emu.AddImage("cn-hangzhou", familyImage("m-bp1e2enewer0000004", "4", "2024-05-02T00:00:00Z"))
		}
		return path == "newer"
	})})
	r.must(t)
	jobs := jobSections(r.out, "action drift")
	// Unchanged: the family is as committed.
	unchanged := actResult{out: jobs["promote-1"]}
	unchanged.must(t, "E2E-DRIFT-OK changed=false", "E2E-DRIFT-ROUNDTRIP-OK",
		"waiting in cn-beijing: poll 1 saw no available image; next poll in 2s",
		"Unchanged: every region compared with `expected-image-ids` has the expected image.")
	if strings.Contains(unchanged.out, "Newest image changed") {
		t.Errorf("a change was reported for an unchanged family:\n%s", unchanged.out)
	}
	// Changed: a newer cn-hangzhou image was published since the commit.
	changed := actResult{out: jobs["promote-2"]}
	const change = "cn-hangzhou: m-bp1e2enew000000002 -> m-bp1e2enewer0000004 (created 2024-05-02T00:00:00Z)"
	changed.must(t, "E2E-DRIFT-OK changed=true", "E2E-DRIFT-ROUNDTRIP-OK",
		// check: a warning; gate (fail-on-change: true): an error.
		"::warning title=Newest image changed in cn-hangzhou::"+change,
		"::error title=Newest image changed in cn-hangzhou::"+change,
		"- cn-hangzhou: m-bp1e2enew000000002 -&gt; m-bp1e2enewer0000004 (created 2024-05-02T00:00:00Z)")
	if strings.Contains(changed.out, "cn-shanghai: m-") {
		t.Errorf("cn-shanghai reported as changed:\n%s", changed.out)
	}
}
