package main

// End-to-end tests of promote and rollback: the real CLI binary against the
// emulator process, whose state is read back through its control API.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lifecycleArgs(e *emulatorProcess, cmd string, extra ...string) []string {
	return append([]string{cmd, "--endpoint", e.Endpoint, "--sts-endpoint", e.Endpoint, "--image-family", "web-base"}, extra...)
}

// imageState is an image's family and status as the emulator holds it.
func imageState(t *testing.T, e *emulatorProcess, region, id string) (family, status string) {
	t.Helper()
	st, err := e.Control.State()
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range st.Images[region] {
		if img.ImageId == id {
			return img.ImageFamily, img.Status
		}
	}
	t.Fatalf("no image %s in %s", id, region)
	return "", ""
}

func requests(t *testing.T, e *emulatorProcess) int {
	t.Helper()
	rc, err := e.Control.Requests()
	if err != nil {
		t.Fatal(err)
	}
	return rc.All
}

func wantRun(t *testing.T, name string, r run, code int, stdout string, frags ...string) {
	t.Helper()
	if r.code != code || (stdout != "\x00" && r.stdout != stdout) {
		t.Fatalf("%s: code=%d stdout=%q stderr=%q", name, r.code, r.stdout, r.stderr)
	}
	for _, f := range frags {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("%s: stderr %q lacks %q", name, r.stderr, f)
		}
	}
}

func TestE2EPromoteAndRollback(t *testing.T) {
	e := startEmulator(t, "--copy-polls", "1")
	const newest, older = "m-bp1demowebbase000003", "m-bp1demowebbase000002"
	cp, err := e.Control.CopyImage("cn-hangzhou", newest, "cn-beijing")
	if err != nil {
		t.Fatal(err)
	}
	// The copy problem: the copy resolves nowhere.
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--region", "cn-beijing", "--image-family", "web-base")...)
	wantRun(t, "resolve a copy", r, 3, "", "copies of an image carry no family", "promote")

	// Dry run: names the change, changes nothing.
	ids := "cn-hangzhou=" + newest + ",cn-beijing=" + cp
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "promote", "--image-ids", ids, "--wait", "30s", "--dry-run")...)
	wantRun(t, "dry run", r, 0, "cn-beijing\twould-promote\t"+cp+"\ncn-hangzhou\talready\t"+newest+"\n", `ImageFamily "" -> "web-base"`, "nothing was changed")
	if f, _ := imageState(t, e, "cn-beijing", cp); f != "" {
		t.Fatalf("dry run changed the family: %q", f)
	}

	// Promote, waiting for the copy.
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "promote", "--image-ids", ids, "--wait", "30s")...)
	wantRun(t, "promote", r, 0, "cn-beijing\tpromoted\t"+cp+"\ncn-hangzhou\talready\t"+newest+"\n", "the family resolves to "+cp)
	r = runCLI(t, e, demoEnv, resolveArgs(e, "--region", "cn-beijing", "--image-family", "web-base")...)
	wantRun(t, "resolve after promote", r, 0, cp+"\n")

	// Idempotent.
	before, _ := e.Control.Requests()
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "promote", "--image-ids", ids, "--output", "json")...)
	wantRun(t, "promote again", r, 0, "\x00")
	var js []outcomeJSON
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js) != 2 || js[0].Outcome != "already" || js[1].Outcome != "already" {
		t.Fatalf("json %q: %v", r.stdout, err)
	}
	after, _ := e.Control.Requests()
	if after.ByAction["ModifyImageAttribute"] != before.ByAction["ModifyImageAttribute"] {
		t.Fatal("a second promote sent ModifyImageAttribute")
	}

	// Superseded: an older image of the family.
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "promote", "--image-ids", "cn-hangzhou="+older)...)
	wantRun(t, "superseded", r, 4, "cn-hangzhou\tsuperseded\t"+older+"\n", newest)

	// Compare-and-swap refusal.
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "rollback", "--image-ids", "cn-hangzhou="+older)...)
	wantRun(t, "moved", r, 4, "cn-hangzhou\tmoved\t"+older+"\n", "nothing was changed")

	// Rollback dry run, then rollback.
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "rollback", "--image-ids", "cn-hangzhou="+newest, "--dry-run")...)
	wantRun(t, "rollback dry run", r, 0, "cn-hangzhou\twould-roll-back\t"+newest+"\n", "Status Available -> Deprecated")
	if _, st := imageState(t, e, "cn-hangzhou", newest); st != "Available" {
		t.Fatal(st)
	}
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "rollback", "--image-ids", "cn-hangzhou="+newest)...)
	wantRun(t, "rollback", r, 0, "cn-hangzhou\trolled-back\t"+newest+"\n", "the family resolves to "+older)

	// The last image: refused (exit 5), then --allow-empty.
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "rollback", "--image-ids", "cn-hangzhou="+older)...)
	wantRun(t, "last image", r, 5, "cn-hangzhou\trefused\t"+older+"\n", "--allow-empty")
	if _, st := imageState(t, e, "cn-hangzhou", older); st != "Available" {
		t.Fatal(st)
	}
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "rollback", "--image-ids", "cn-hangzhou="+older, "--allow-empty")...)
	wantRun(t, "allow empty", r, 0, "cn-hangzhou\trolled-back\t"+older+"\n", "no Available image")

	// Undo by promote, from a Packer manifest.
	dir := t.TempDir()
	manifest := filepath.Join(dir, "packer-manifest.json")
	os.WriteFile(manifest, []byte(`{"builds":[
	  {"name":"old","builder_type":"alicloud-ecs","artifact_id":"cn-hangzhou:m-bp1demowebbase000001","packer_run_uuid":"run-1"},
	  {"name":"web","builder_type":"alicloud-ecs","artifact_id":"cn-hangzhou:`+newest+`,cn-beijing:`+cp+`","packer_run_uuid":"run-2"},
	  {"name":"web","builder_type":"null","artifact_id":"x","packer_run_uuid":"run-2"}],
	  "last_run_uuid":"run-2"}`), 0o600)
	r = runCLI(t, e, demoEnv, lifecycleArgs(e, "promote", "--packer-manifest", manifest)...)
	wantRun(t, "undo from a manifest", r, 0, "cn-beijing\talready\t"+cp+"\ncn-hangzhou\tpromoted\t"+newest+"\n", "Status Deprecated -> Available")
	r = runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base")...)
	wantRun(t, "resolve after undo", r, 0, newest+"\n")
}

// promote's and rollback's own inputs (flags, the Packer manifest); the
// rules of families, regions and ids are the core's
// (TestLifecycleBadInputSendsNothing).
func TestE2ELifecycleBadInputSendsNothing(t *testing.T) {
	e := startEmulator(t)
	dir := t.TempDir()
	several := filepath.Join(dir, "several.json")
	os.WriteFile(several, []byte(`{"builds":[{"name":"a","builder_type":"alicloud-ecs","artifact_id":"cn-hangzhou:m-bp1demowebbase000003","packer_run_uuid":"r"},
	  {"name":"b","builder_type":"alicloud-ecs","artifact_id":"cn-hangzhou:m-bp1demowebbase000002","packer_run_uuid":"r"}],"last_run_uuid":"r"}`), 0o600)
	noECS := filepath.Join(dir, "noecs.json")
	os.WriteFile(noECS, []byte(`{"builds":[{"name":"a","builder_type":"null","artifact_id":"x","packer_run_uuid":"r"}],"last_run_uuid":"r"}`), 0o600)
	badArtifact := filepath.Join(dir, "bad.json")
	os.WriteFile(badArtifact, []byte(`{"builds":[{"name":"a","builder_type":"alicloud-ecs","artifact_id":"m-bp1demowebbase000003","packer_run_uuid":"r"}],"last_run_uuid":"r"}`), 0o600)
	notJSON := filepath.Join(dir, "x.json")
	os.WriteFile(notJSON, []byte(`nope`), 0o600)
	id := "cn-hangzhou=m-bp1demowebbase000003"
	cases := []struct {
		name string
		args []string
		frag string
	}{
		{"no family", []string{"promote", "--image-ids", id}, "--image-family"},
		{"no ids", lifecycleArgs(e, "promote"), "--image-ids"},
		{"rollback no ids", lifecycleArgs(e, "rollback"), "--image-ids"},
		{"empty ids", lifecycleArgs(e, "promote", "--image-ids", " , "), "REGION=IMAGE_ID"},
		{"bad pair", lifecycleArgs(e, "promote", "--image-ids", "cn-hangzhou"), "REGION=IMAGE_ID"},
		{"both inputs", lifecycleArgs(e, "promote", "--image-ids", id, "--packer-manifest", several), "not both"},
		{"build without manifest", lifecycleArgs(e, "promote", "--image-ids", id, "--packer-build", "a"), "--packer-manifest"},
		{"manifest missing", lifecycleArgs(e, "promote", "--packer-manifest", filepath.Join(dir, "none.json")), "cannot be read"},
		{"manifest not JSON", lifecycleArgs(e, "promote", "--packer-manifest", notJSON), "not a Packer manifest"},
		{"manifest several builds", lifecycleArgs(e, "promote", "--packer-manifest", several), "--packer-build"},
		{"manifest unknown build", lifecycleArgs(e, "promote", "--packer-manifest", several, "--packer-build", "c"), "no alicloud-ecs build named"},
		{"manifest no alicloud build", lifecycleArgs(e, "promote", "--packer-manifest", noECS), "no alicloud-ecs build"},
		{"manifest bad artifact", lifecycleArgs(e, "promote", "--packer-manifest", badArtifact), "region:id"},
		{"bad wait", lifecycleArgs(e, "promote", "--image-ids", id, "--wait", "forever"), "--wait"},
		{"bad timeout", lifecycleArgs(e, "rollback", "--image-ids", id, "--timeout", "0"), "--timeout"},
		{"bad output", lifecycleArgs(e, "promote", "--image-ids", id, "--output", "yaml"), "--output"},
		{"wait on rollback", lifecycleArgs(e, "rollback", "--image-ids", id, "--wait", "1m"), "-wait"},
		{"allow-empty on promote", lifecycleArgs(e, "promote", "--image-ids", id, "--allow-empty"), "-allow-empty"},
		{"extra argument", lifecycleArgs(e, "promote", "--image-ids", id, "now"), "unexpected argument"},
		{"no credentials", lifecycleArgs(e, "promote", "--image-ids", id), "no Alibaba Cloud credentials"},
	}
	for _, c := range cases {
		wantRefused(t, e, c.name, c.frag, c.args...)
	}
}

// wantRefused runs the CLI on bad input: exit 2, nothing on stdout, frag on
// stderr, no request sent. The case named "no credentials" runs without
// the demo keys.
func wantRefused(t *testing.T, e *emulatorProcess, name, frag string, args ...string) {
	t.Helper()
	env := demoEnv
	if name == "no credentials" {
		env = nil
	}
	before := requests(t, e)
	r := runCLI(t, e, env, args...)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, frag) {
		t.Errorf("%s: code=%d stdout=%q stderr=%q", name, r.code, r.stdout, r.stderr)
	}
	if n := requests(t, e) - before; n != 0 {
		t.Errorf("%s: %d requests sent", name, n)
	}
}
