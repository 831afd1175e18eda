//go:build unix

package imagefamily

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A lock file path that is a named pipe (a careless --lock-file, or a
// hostile checkout) must be refused as bad input, not block the run in
// open(2) forever: a blocked open ignores the context, and the CLI's
// SIGTERM handler then keeps the process alive.
func TestReviewLockFileFIFOIsRefusedNotAHang(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.lock.json")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := PlanLock(LockRequest{Request: Request{Front: FrontCLI}, Path: path})
		done <- err
	}()
	select {
	case err := <-done:
		if !IsInputError(err) {
			t.Fatalf("a FIFO lock file: %v", err)
		}
	case <-time.After(20 * time.Second):
		// Unblock the reader so the goroutine ends, then fail.
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("reading a FIFO lock file blocked until a writer came")
	}
}

// A lock file path that is a symbolic link has its target replaced (the
// documented rule, and what happens once the target exists). A link whose
// target does not exist yet must be written the same way: through the link,
// creating the target, not by replacing the link with a regular file.
func TestReviewLockFileDanglingSymlinkIsWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "shared"), 0o755)
	os.Mkdir(filepath.Join(dir, "work"), 0o755)
	link := filepath.Join(dir, "work", "images.lock.json")
	if err := os.Symlink("../shared/images.lock.json", link); err != nil {
		t.Fatal(err)
	}
	if err := writeLockFile(link, nil, false, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symbolic link was replaced: %v %v", fi.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "shared", "images.lock.json")); err != nil || string(b) != "new\n" {
		t.Fatalf("the link's target: %q %v", b, err)
	}
}
