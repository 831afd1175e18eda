package main

// End-to-end tests of lock: the real CLI binary against the emulator
// process, the lock file on disk read back byte for byte.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	before := stateOf(t, path)

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
	wantRun(t, "guard", r, 5, "", "the entry is kept: m-bp1demowebbase000003", "fails the architecture guard", "nothing was written; 2 entries kept as they were")
	if !stateOf(t, path).same(before) {
		t.Fatal("a refused image was written")
	}

	// Refresh takes it, with the summary on stdout.
	r = runCLI(t, e, demoEnv, lockArgs(e, path, "--output", "json")...)
	wantRun(t, "refresh", r, 0, "\x00", "web-base cn-hangzhou: m-bp1demowebbase000003 -> "+newer)
	var sum lockSummaryJSON
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || !sum.Changed || !sum.Written || len(sum.Entries) != 2 ||
		sum.Entries[0] != (lockEntryJSON{Family: "web-base", Region: "cn-hangzhou", Action: "updated", OldImageID: "m-bp1demowebbase000003",
			ImageID: newer, ImageName: "web-base-0009", CreationTime: "2024-03-20T00:00:00Z"}) {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	if b := stateOf(t, path).bytes; !strings.Contains(b, `"image_id": "`+newer+`"`) || strings.Contains(b, "m-bp1demowebbase000003") {
		t.Fatalf("after refresh:\n%s", b)
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
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(lockWebBase), 0o644)
	missing := filepath.Join(dir, "none.json")
	cases := []struct {
		name string
		args []string
		frag string
	}{
		{"no lock file", []string{"lock", "--image-family", "web-base", "--region", "cn-hangzhou"}, `invalid --lock-file "": it is required`},
		{"missing file, nothing named", lockArgs(e, missing), "there is no such file"},
		{"a directory", lockArgs(e, dir), "not a regular file"},
		{"bad guard", lockArgs(e, good, "--architecture", "sparc"), "--architecture"},
		{"bad output", lockArgs(e, good, "--output", "text"), "--output"},
		{"extra argument", lockArgs(e, good, "now"), "unexpected argument"},
		{"no credentials", lockArgs(e, good), "no Alibaba Cloud credentials"},
	}
	for _, c := range cases {
		before := stateOf(t, good)
		wantRefused(t, e, c.name, c.frag, c.args...)
		if !stateOf(t, good).same(before) {
			t.Errorf("%s: the lock file was touched", c.name)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a refused run created the lock file")
	}
}
