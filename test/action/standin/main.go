// Command standin plays `alicloud-image-family` in the action's end-to-end
// tests until the real CLI has its `action` subcommand: it serves the same
// two subcommands the tests use, with the same entry points the CLI wires
// (action.Main and ecstest.Main).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/action"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: standin action | emulator [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "action":
		os.Exit(action.Main(ctx, os.Getenv, os.Stdout))
	case "emulator":
		os.Exit(ecstest.Main(ctx, os.Args[2:], os.Stdout, os.Stderr))
	default:
		fmt.Fprintf(os.Stderr, "standin: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
}
