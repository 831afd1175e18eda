//go:build unix

package main

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A second SIGTERM ends the process even when the first could not: the
// expect file is a named pipe with no writer, so opening it blocks where no
// context reaches. The first signal cancels the work; the second one, with
// the default handling restored, ends the process.
func TestSecondSignalEndsABlockedRun(t *testing.T) {
	bin := cliBinary(t)
	fifo := filepath.Join(t.TempDir(), "expect.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--expect-file", fifo)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(300 * time.Millisecond) // let it reach the blocking open
	for i := 0; i < 2; i++ {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("signal %d: %v", i+1, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the run outlived two SIGTERMs")
	}
}
