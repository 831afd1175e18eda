// Command alicloud-image-family answers one question for release pipelines:
// which is the newest available custom image in this ECS image family, in
// this region? It also carries the emulator (for tests and demos) and the
// GitHub Action runtime, so that one release binary serves every front.
//
// Exit codes: 0 found; 2 invalid usage or input (nothing was sent); 3 no
// available image (in a requested region, or none newer before a --wait
// deadline); 4 found, but an image differs from the expected one (--expect,
// --expect-file); 5 found, but refused by a guard (--architecture,
// --os-type, --max-age, --owners); 1 anything else, including an answer refused at the
// trust boundary and an internal error (a panic). With several regions the
// worst wins: 1, then 5, then 3, then 4.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/action"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/emulatorproc"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

// The exit codes are the core's table, which the action shares
// (imagefamily.ExitCode).
const (
	exitOK       = imagefamily.ExitOK
	exitFailure  = imagefamily.ExitFailure
	exitUsage    = imagefamily.ExitUsage
	exitNotFound = imagefamily.ExitNotFound
	exitChanged  = imagefamily.ExitChanged
	exitGuard    = imagefamily.ExitGuard
)

// app is the command with its surroundings injected, so tests can run it in
// process with their own environment and streams.
type app struct {
	getenv    func(string) string
	stdin     io.Reader // the query of terraform-external; nil reads as none
	stdout    io.Writer
	stderr    io.Writer         // run wraps it in a stderrWriter
	transport http.RoundTripper // nil: the default; the demo passes the emulator's
}

// stderrWriter is stderr as run hands it on: Writes serialised, "##["
// rewritten (safetext.NoLegacyCommands). The demo's inner app gets it as it
// is.
type stderrWriter struct{ *syncio.Writer }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels the work, which then ends cleanly;
		// restoring the default handling lets a second one end the process
		// even when a call blocks where no context reaches (a named pipe
		// with no writer opened as a file).
		<-ctx.Done()
		stop()
	}()
	code := (&app{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

const usage = `alicloud-image-family: the newest available custom image of an Alibaba Cloud ECS image family.

Usage:
  alicloud-image-family resolve --region R --image-family F [flags]   look up the newest image
  alicloud-image-family promote --image-family F --image-ids R=ID,...  put images (copies too) in family F
  alicloud-image-family rollback --image-family F --image-ids R=ID,... deprecate F's newest image (compare-and-swap)
  alicloud-image-family lock --lock-file FILE [--image-family F --region R,...] [--check]
                                                                      pin each family's image per region in FILE
  alicloud-image-family terraform-external                            Terraform's external data source protocol (JSON on stdin/stdout)
  alicloud-image-family demo                                          run a lookup against the embedded emulator
  alicloud-image-family emulator --fixture FILE [flags]               run the ECS/STS emulator for tests
  alicloud-image-family action                                        GitHub Action runtime (used by action.yml)
  alicloud-image-family version                                       print the version

Run 'alicloud-image-family resolve -h' for the lookup's flags.
Exit codes: 0 found; 2 invalid usage or input (nothing was sent); 3 no available image; 4 an image differs
from --expect; 5 an image refused by a guard (--architecture, --os-type, --max-age, --owners); 1 any other failure.
`

// run is the whole command. A panic in its goroutine becomes one line,
// "internal error", and exit 1 (recoverInternal); that covers the action
// runtime (action.Main, which recovers its own first, to write its failure
// outputs). A recover reaches only its own goroutine: the core recovers
// every panic in the goroutines it starts (one per region, one per SDK
// call) and returns it as that lookup's error, also exit 1.
func (a *app) run(ctx context.Context, args []string) (code int) {
	defer a.recoverInternal(&code)
	// Regions are resolved concurrently and each may report (retries, wait
	// progress): every message is one Write, and Writes are serialised, so
	// lines never interleave mid-line. Below the lock, every "##[" is
	// written "##\[": in a GitHub Actions run: step, stderr is the step log,
	// where the runner looks for that legacy command prefix anywhere in a
	// line. Every path to stderr (report, the flag package, the --debug
	// trace, the emulator's log) passes here.
	if _, ok := a.stderr.(stderrWriter); !ok && a.stderr != nil {
		a.stderr = stderrWriter{syncio.NewWriter(safetext.NoLegacyCommands(a.stderr))}
	}
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "resolve":
		return a.resolve(ctx, args[1:])
	case "promote":
		return a.promote(ctx, args[1:])
	case "rollback":
		return a.rollback(ctx, args[1:])
	case "lock":
		return a.lock(ctx, args[1:])
	case "terraform-external":
		return a.terraformExternal(ctx, args[1:])
	case "demo":
		return a.demo(ctx, args[1:])
	case "emulator":
		return emulatorproc.Main(ctx, args[1:], a.stdout, a.stderr)
	case "action":
		return action.Main(ctx, a.getenv, a.stdout)
	case "version", "--version", "-version":
		fmt.Fprintln(a.stdout, "alicloud-image-family", version.String())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(a.stdout, usage)
		return exitOK
	}
	a.report(fmt.Sprintf("alicloud-image-family: unknown command %q", args[0]), "Run 'alicloud-image-family -h' for usage.")
	return exitUsage
}
