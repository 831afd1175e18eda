package action

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The action's commands, chosen by the command input: resolve (the
// default: look the family up), promote and rollback (the family
// lifecycle, lifecycle.go), lock (the lock file, lock.go). A command is one row of the table below: the
// inputs it reads besides the connection's, the family rule it needs, how
// it checks the complete request offline, and how it runs. Adding a command
// is adding a row.

// command is one row of the command table.
type command struct {
	// inputs are the inputs the command reads besides connectionInputs;
	// any other input given (set to anything but its default) is refused
	// as bad input naming it, as the CLI refuses a flag its subcommand
	// does not have.
	inputs []string
	// title heads the annotation of a failure of the whole step.
	title string
	// family checks the image-family input (the lookup's rule or
	// ModifyImageAttribute's).
	family func(string) error
	// read reads and checks the command's own inputs, offline.
	read func(a *githubactions.Action, in *inputs) error
	// validate checks the complete request offline (the core's rules);
	// nothing has been sent when it fails.
	validate func(in *inputs, req imagefamily.Request) error
	// run sends the request and reports: outputs, summary, annotations.
	run func(c *config, ctx context.Context, a *githubactions.Action, in *inputs, req imagefamily.Request) error
}

// defaultCommand is what an empty command input means: today's lookup.
const defaultCommand = "resolve"

// defaultTitle heads the annotation of a failure before the command is
// known.
const defaultTitle = "Image family lookup failed"

var commands = map[string]command{
	"lock": {
		inputs: []string{"lock-file", "check", "region", "architecture", "os-type", "max-age", "owners"},
		title:  "Image family lock failed",
		family: lockFamily,
		read:   readLockInputs,
		validate: func(in *inputs, req imagefamily.Request) error {
			_, err := imagefamily.PlanLock(in.lockRequest(req))
			return in.asWritten(err)
		},
		run: (*config).runLock,
	},
	"resolve": {
		inputs: []string{"region", "fail-if-not-found", "architecture", "os-type", "max-age", "owners",
			"expected-image-ids", "fail-on-change", "wait-timeout", "newer-than"},
		title:  defaultTitle,
		family: imagefamily.ValidateFamily,
		read:   readResolveInputs,
		validate: func(in *inputs, req imagefamily.Request) error {
			return imagefamily.Validate(req)
		},
		run: (*config).runResolve,
	},
	"promote": {
		inputs:   []string{"image-ids", "dry-run", "wait-timeout"},
		title:    "Image family promote failed",
		family:   imagefamily.ValidateTargetFamily,
		read:     readLifecycleInputs,
		validate: func(in *inputs, req imagefamily.Request) error { return imagefamily.ValidatePromote(in.promote(req)) },
		run: func(c *config, ctx context.Context, a *githubactions.Action, in *inputs, req imagefamily.Request) error {
			outs, err := imagefamily.Promote(ctx, in.promote(req))
			return c.reportLifecycle(a, in, outs, err)
		},
	},
	"rollback": {
		inputs:   []string{"image-ids", "dry-run", "allow-empty"},
		title:    "Image family rollback failed",
		family:   imagefamily.ValidateTargetFamily,
		read:     readLifecycleInputs,
		validate: func(in *inputs, req imagefamily.Request) error { return imagefamily.ValidateRollback(in.rollback(req)) },
		run: func(c *config, ctx context.Context, a *githubactions.Action, in *inputs, req imagefamily.Request) error {
			outs, err := imagefamily.Rollback(ctx, in.rollback(req))
			return c.reportLifecycle(a, in, outs, err)
		},
	},
}

// connectionInputs are read by every command: which command, the family,
// credentials, endpoints, the time and attempt budgets, and the launcher's
// own.
var connectionInputs = []string{"command", "image-family", "access-key-id", "access-key-secret", "security-token",
	"role-to-assume", "oidc-provider-arn", "audience", "role-session-name", "endpoint", "sts-endpoint",
	"timeout", "max-attempts", "action-ref", "action-repository"}

// inputDefaults are the defaults action.yml declares for the commands' own
// inputs: the composite action passes a default whether or not the
// workflow set the input, so a default is "not given".
var inputDefaults = map[string]string{
	"fail-if-not-found": "true",
	"fail-on-change":    "false",
	"wait-timeout":      "0",
	"dry-run":           "false",
	"allow-empty":       "false",
	"check":             "false",
}

// commandNames lists the commands, sorted.
func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// readCommand reads the command input and refuses every input the command
// does not read.
func readCommand(a *githubactions.Action) (string, command, error) {
	name := input(a, "command")
	if name == "" {
		name = defaultCommand
	}
	cmd, ok := commands[name]
	if !ok {
		return "", command{}, &imagefamily.ValidationError{Field: "input command", Value: safetext.Excerpt(name, 40),
			Rule: "it must be one of " + strings.Join(commandNames(), ", ") + " (empty: " + defaultCommand + ")"}
	}
	var all []string
	for _, c := range commands {
		all = append(all, c.inputs...)
	}
	sort.Strings(all)
	for _, in := range slices.Compact(all) {
		v := input(a, in)
		if v == "" || v == inputDefaults[in] || slices.Contains(cmd.inputs, in) {
			continue
		}
		var takers []string
		for _, n := range commandNames() {
			if slices.Contains(commands[n].inputs, in) {
				takers = append(takers, n)
			}
		}
		return "", command{}, &imagefamily.ValidationError{Field: "input " + in, Value: safetext.Excerpt(v, 80),
			Rule: "it has no meaning with command " + name + " (only with " + strings.Join(takers, " or ") + "); leave it out"}
	}
	return name, cmd, nil
}

// promote is the PromoteRequest of the inputs over req.
func (in *inputs) promote(req imagefamily.Request) imagefamily.PromoteRequest {
	return imagefamily.PromoteRequest{Request: req, Images: in.images, DryRun: in.dryRun}
}

// rollback is the RollbackRequest of the inputs over req.
func (in *inputs) rollback(req imagefamily.Request) imagefamily.RollbackRequest {
	return imagefamily.RollbackRequest{Request: req, Images: in.images, AllowEmpty: in.allowEmpty, DryRun: in.dryRun}
}
