package main

// End-to-end tests of lock: the real CLI binary against the emulator
// process, the lock file on disk read back byte for byte.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func lockArgs(e *emulatorProcess, path string, extra ...string) []string {
	return append([]string{"lock", "--endpoint", e.Endpoint, "--sts-endpoint", e.Endpoint, "--lock-file", path}, extra...)
}

// lockWebBase is the file lock writes for web-base in cn-hangzhou and
// cn-shanghai of the demo fixture, byte for byte (the core's test of the
// same write reads it too).
var lockWebBase = func() string {
	b, err := os.ReadFile("../../imagefamily/testdata/lock/web-base.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// fileState is what a test compares to prove a file was not touched: its
// bytes, its inode and its modification time.
type fileState struct {
	bytes string
	info  os.FileInfo
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{string(b), st}
}

func (s fileState) same(o fileState) bool {
	return s.bytes == o.bytes && os.SameFile(s.info, o.info) && s.info.ModTime().Equal(o.info.ModTime()) && s.info.Mode() == o.info.Mode()
}

func TestE2ELock(t *testing.T) {
	e := startEmulator(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock.json")

	// The first write creates the file.
	r := runCLI(t, e, demoEnv, lockArgs(e, path, "--image-family", "web-base", "--region", "cn-shanghai,cn-hangzhou")...)
	wantRun(t, "write", r, 0, "",
		"web-base cn-hangzhou: none -> m-bp1demowebbase000003 (created 2024-03-14T02:00:00Z)",
		"web-base cn-shanghai: none -> m-uf6demowebbase000003 (created 2024-03-14T06:00:00Z)",
		"wrote "+path+": 2 entries changed")
	if got := stateOf(t, path); got.bytes != lockWebBase || got.info.Mode().Perm() != 0o644 {
		t.Fatalf("written %v:\n%s", got.info.Mode(), got.bytes)
	}
	os.Chmod(path, 0o640)

	// Nothing new: the file is not written at all (same inode, same mtime).
	before := stateOf(t, path)
	time.Sleep(10 * time.Millisecond)
	r = runCLI(t, e, demoEnv, lockArgs(e, path)...)
	wantRun(t, "refresh, nothing new", r, 0, "", "is current; nothing was written (2 entries looked up)")
	if !stateOf(t, path).same(before) {
		t.Fatal("a refresh with nothing new touched the file")
	}

	// Adding a family keeps the other entries' bytes and the file's mode.
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--image-family", "app-server", "--region", "cn-shanghai")...)
	wantRun(t, "add a family", r, 0, "", "app-server cn-shanghai: none -> m-uf6demoappserver00001")
	after := stateOf(t, path)
	webBase := strings.TrimPrefix(strings.TrimSuffix(lockWebBase, "  },\n  \"version\": 1\n}\n"), "{\n  \"families\": {\n")
	if !strings.Contains(after.bytes, webBase) || !strings.Contains(after.bytes, `"app-server": {`) || after.info.Mode().Perm() != 0o640 {
		t.Fatalf("after adding a family (%v):\n%s", after.info.Mode(), after.bytes)
	}
	if strings.Contains(r.stderr, "web-base") {
		t.Errorf("adding app-server reported web-base: %s", r.stderr)
	}

	// --check, current.
	before = stateOf(t, path)
	n0 := requests(t, e)
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--check")...)
	wantRun(t, "check clean", r, 0, "", "is current (3 entries checked)")
	if n := requests(t, e) - n0; n != 3 {
		t.Errorf("a clean check sent %d requests, want one lookup per entry", n)
	}

	// A new image: --check reports it (exit 4) and leaves the file alone.
	const newer = "m-bp1demowebbase000009"
	if err := e.Control.AddImage("cn-hangzhou", image(newer, "web-base", "2024-03-20T00:00:00Z", "x86_64")); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--check")...)
	wantRun(t, "check drifted", r, 4, "",
		"web-base cn-hangzhou: m-bp1demowebbase000003 -> "+newer+" (created 2024-03-20T00:00:00Z)", "1 difference; nothing was written (--check)")
	if !stateOf(t, path).same(before) {
		t.Fatal("--check touched the file")
	}

	// A guard refuses the new image: exit 5, the entry kept.
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--architecture", "arm64")...)
	wantRun(t, "guard", r, 5, "", "the entry is kept: m-bp1demowebbase000003", "fails the architecture guard", "nothing was written; 3 entries kept as they were")
	if !stateOf(t, path).same(before) {
		t.Fatal("a refused image was written")
	}

	// Refresh takes it, with the summary on stdout.
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--output", "json")...)
	wantRun(t, "refresh", r, 0, "\x00", "web-base cn-hangzhou: m-bp1demowebbase000003 -> "+newer)
	var sum lockSummaryJSON
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || !sum.Changed || !sum.Written || len(sum.Entries) != 3 ||
		sum.Entries[1] != (lockEntryJSON{Family: "web-base", Region: "cn-hangzhou", Action: "updated", OldImageID: "m-bp1demowebbase000003",
			ImageID: newer, ImageName: "web-base-0009", CreationTime: "2024-03-20T00:00:00Z"}) {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	if b := stateOf(t, path).bytes; !strings.Contains(b, `"image_id": "`+newer+`"`) || strings.Contains(b, "m-bp1demowebbase000003") {
		t.Fatalf("after refresh:\n%s", b)
	}

	// The pin is rolled back (Deprecated): --check says so, twice over.
	if err := e.Control.SetImageStatus("cn-hangzhou", newer, "Deprecated"); err != nil {
		t.Fatal(err)
	}
	before = stateOf(t, path)
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--check", "--image-family", "web-base")...)
	wantRun(t, "check deprecated", r, 4, "", newer+" -> m-bp1demowebbase000003", "the pinned image "+newer+" is Deprecated")
	if !stateOf(t, path).same(before) {
		t.Fatal("--check touched the file")
	}
}

func TestE2ELockDeletedPinAndMissingFamily(t *testing.T) {
	e := startEmulator(t)
	path := filepath.Join(t.TempDir(), "images.lock.json")
	// A pin of an image that no longer exists, and a family that has no
	// image in a region (web-base in cn-beijing).
	gone := strings.Replace(lockWebBase, "m-uf6demowebbase000003", "m-uf6deletedimage00001", 1)
	gone = strings.Replace(gone, `"cn-shanghai"`, `"cn-beijing": {
        "creation_time": "2024-03-01T00:00:00Z",
        "image_id": "m-2zedemowebbase000001",
        "image_name": "web-base-v1"
      },
      "cn-shanghai"`, 1)
	os.WriteFile(path, []byte(gone), 0o644)
	before := stateOf(t, path)
	r := runCLI(t, e, demoEnv, lockArgs(e, path, "--check")...)
	wantRun(t, "check", r, 3, "",
		"the pinned image m-uf6deletedimage00001 no longer exists",
		"web-base cn-shanghai: m-uf6deletedimage00001 -> m-uf6demowebbase000003",
		"web-base cn-beijing: no available image in the family; the entry is kept: m-2zedemowebbase000001",
		"the pinned image m-2zedemowebbase000001 no longer exists")
	if !stateOf(t, path).same(before) {
		t.Fatal("--check touched the file")
	}
	// lock: the missing family keeps its entry (exit 3), the rest is written.
	r = runCLI(t, e, demoEnv, lockArgs(e, path)...)
	wantRun(t, "lock", r, 3, "", "the entry is kept: m-2zedemowebbase000001", "wrote "+path+": 1 entry changed; 1 entry kept as it was")
	b := stateOf(t, path).bytes
	if !strings.Contains(b, "m-2zedemowebbase000001") || !strings.Contains(b, "m-uf6demowebbase000003") {
		t.Fatalf("after lock:\n%s", b)
	}
}

func TestE2ELockBadInputSendsNothing(t *testing.T) {
	e := startEmulator(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	good := write("good.json", lockWebBase)
	missing := filepath.Join(dir, "none.json")
	cases := []struct {
		name string
		args []string
		frag string
	}{
		{"no lock file", []string{"lock", "--image-family", "web-base", "--region", "cn-hangzhou"}, `invalid --lock-file "": it is required`},
		{"malformed", lockArgs(e, write("bad.json", `{"version": 1, "families": {`)), "it is not JSON: line 1"},
		{"unknown version", lockArgs(e, write("v2.json", strings.Replace(lockWebBase, `"version": 1`, `"version": 2`, 1))), "version: unknown version 2"},
		{"unknown member", lockArgs(e, write("extra.json", strings.Replace(lockWebBase, `"image_name": "web-base-v3"`, `"image_name": "web-base-v3", "pinned": true`, 1))), `families["web-base"]["cn-hangzhou"]["pinned"]: unknown member`},
		{"bad family in the file", lockArgs(e, write("fam.json", strings.Replace(lockWebBase, `"web-base": {`, `"aliyun-web": {`, 1))), `families["aliyun-web"]: invalid image family`},
		{"bad region in the file", lockArgs(e, write("reg.json", strings.Replace(lockWebBase, `"cn-hangzhou": {`, `"CN-Hangzhou": {`, 1))), `families["web-base"]["CN-Hangzhou"]: invalid region`},
		{"bad family flag", lockArgs(e, good, "--image-family", "web.base", "--region", "cn-hangzhou"), "--image-family"},
		{"bad region flag", lockArgs(e, good, "--image-family", "web-base", "--region", "Hangzhou"), "--region"},
		{"family not in the file", lockArgs(e, good, "--image-family", "app-server"), "pins no such family; give --region to add it"},
		{"missing file, nothing named", lockArgs(e, missing), "there is no such file"},
		{"missing file, check", lockArgs(e, missing, "--check", "--image-family", "web-base", "--region", "cn-hangzhou"), "there is no such file"},
		{"a directory", lockArgs(e, dir), "not a regular file"},
		{"bad guard", lockArgs(e, good, "--architecture", "sparc"), "--architecture"},
		{"empty guard", lockArgs(e, good, "--max-age", ""), "--max-age"},
		{"bad output", lockArgs(e, good, "--output", "text"), "--output"},
		{"extra argument", lockArgs(e, good, "now"), "unexpected argument"},
		{"no credentials", lockArgs(e, good), "no Alibaba Cloud credentials"},
	}
	for _, c := range cases {
		env := demoEnv
		if c.name == "no credentials" {
			env = nil
		}
		var files []fileState
		for _, p := range []string{good} {
			files = append(files, stateOf(t, p))
		}
		n0 := requests(t, e)
		r := runCLI(t, e, env, c.args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, c.frag) {
			t.Errorf("%s: code=%d stdout=%q stderr=%q", c.name, r.code, r.stdout, r.stderr)
		}
		if n := requests(t, e) - n0; n != 0 {
			t.Errorf("%s: %d requests sent", c.name, n)
		}
		if !stateOf(t, good).same(files[0]) {
			t.Errorf("%s: the lock file was touched", c.name)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a refused run created the lock file")
	}
}

// Several runs at once on one file: each write is whole (the file always
// parses), a run whose file changed under it writes nothing (exit 4), and
// no temporary file is left.
func TestE2ELockConcurrentRuns(t *testing.T) {
	e := startEmulator(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock.json")
	families := [][]string{{"web-base", "cn-hangzhou"}, {"web-base", "cn-shanghai"}, {"app-server", "cn-shanghai"}, {"api-base", "cn-beijing"}}
	if err := e.Control.AddImage("cn-beijing", image("m-2zeapibase000000001", "api-base", "2024-03-20T00:00:00Z", "x86_64")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]int, len(families))
	for i, fr := range families {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = runCLI(t, e, demoEnv, lockArgs(e, path, "--image-family", fr[0], "--region", fr[1])...).code
		}()
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch c {
		case 0:
			ok++
		case 4:
		default:
			t.Errorf("run %d exit %d", i, c)
		}
	}
	if ok == 0 {
		t.Fatal("no run wrote")
	}
	b := stateOf(t, path).bytes
	var f struct {
		Families map[string]map[string]map[string]string `json:"families"`
		Version  int                                     `json:"version"`
	}
	if err := json.Unmarshal([]byte(b), &f); err != nil || f.Version != 1 || len(f.Families) == 0 {
		t.Fatalf("%v:\n%s", err, b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left beside the lock file: %v", entries)
	}
	// The runs refused retry cleanly: afterwards every entry is pinned.
	for _, fr := range families {
		if r := runCLI(t, e, demoEnv, lockArgs(e, path, "--image-family", fr[0], "--region", fr[1])...); r.code != 0 {
			t.Fatalf("%v: %d %s", fr, r.code, r.stderr)
		}
	}
	if r := runCLI(t, e, demoEnv, lockArgs(e, path, "--check")...); r.code != 0 || !strings.Contains(r.stderr, "4 entries checked") {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
}
