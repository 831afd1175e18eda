// Command rusage runs one program and records its wall time and peak RSS:
//
//	rusage FILE PROG [ARGS...]
//
// PROG is a path (no PATH lookup). It runs PROG with this process's environment and stdio, waits for it,
// writes "WALL_NS MAXRSS_KIB EXIT CPU_NS" to FILE (CPU_NS: user plus system time) and exits as PROG did (1 if PROG
// could not start). bench/report runs every measured command through it.
//
// It exists because of how Linux counts peak RSS: Go starts children with
// vfork (the child shares the parent's memory until exec), and exec folds
// the high-water mark of the memory it leaves into the process's ru_maxrss.
// A child of a large process (bench/report, which runs emulators and
// hostile servers in process) would report at least its parent's peak; a
// child of this small program reports its own (this program's peak, about
// 2 MiB, is the floor).
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rusage FILE PROG [ARGS...]")
		os.Exit(2)
	}
	prog := os.Args[2]
	start := time.Now()
	pid, err := syscall.ForkExec(prog, os.Args[2:], &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "rusage: %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rusage: wait: %v\n", err)
		os.Exit(1)
	}
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if err := os.WriteFile(os.Args[1], fmt.Appendf(nil, "%d %d %d %d\n", wall.Nanoseconds(), ru.Maxrss, code, cpu(ru)), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "rusage: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// cpu is the user plus system time the program used.
func cpu(ru syscall.Rusage) int64 {
	return syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)
}
