package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// The family lifecycle's commands: promote (promote_cmd.go) and rollback
// (rollback_cmd.go). Both are thin mappings onto imagefamily.Promote and
// imagefamily.Rollback: flags in, one line per region out
// (region<TAB>outcome<TAB>image), details on stderr, exit codes from the
// outcomes. (promote.go is about the lookup's guards and drift, not this.)

// lifecycleFlags are the flags of promote and rollback.
type lifecycleFlags struct {
	resolveFlags
	imageIDs     string
	manifest     string
	packerBuild  string
	allowEmpty   bool
	dryRun       bool
	lifecycleCmd string
}

func newLifecycleFlagSet(cmd string, f *lifecycleFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("alicloud-image-family "+cmd, flag.ContinueOnError)
	stderr = escapingWriter{w: stderr, keepTabs: true}
	fs.SetOutput(stderr)
	f.lifecycleCmd = cmd
	fs.StringVar(&f.family, "image-family", "", "image family name (required); ModifyImageAttribute's rule: 2-128 letters, digits, ':', '_', '-', starting with a letter")
	fs.StringVar(&f.imageIDs, "image-ids", "", "the images, as REGION=IMAGE_ID `pairs` separated by commas")
	fs.StringVar(&f.output, "output", "text", "text: region<TAB>outcome<TAB>image per line; json: the outcomes as a JSON array")
	fs.BoolVar(&f.dryRun, "dry-run", false, "ask the API whether each change would be accepted (DryRun=true) and print what would change; nothing is changed")
	addConnectionFlags(fs, &f.resolveFlags)
	if cmd == "promote" {
		fs.StringVar(&f.manifest, "packer-manifest", "", "take the images from Packer's manifest post-processor `file`: the alicloud-ecs builds of its last run")
		fs.StringVar(&f.packerBuild, "packer-build", "", "with --packer-manifest, the build `name` to take when the last run has several")
		fs.StringVar(&f.wait, "wait", "", fmt.Sprintf("wait up to this `duration` (0 to %s) for images still Creating (fresh copies) to become Available, polling", shortDuration(imagefamily.MaxWait)))
	} else {
		fs.BoolVar(&f.allowEmpty, "allow-empty", false, "deprecate the image even when it is the family's only Available image (the family then launches nothing)")
	}
	fs.Usage = func() {
		if cmd == "promote" {
			fmt.Fprint(stderr, `Usage: alicloud-image-family promote --image-family F (--image-ids R=ID[,R=ID] | --packer-manifest FILE [--packer-build NAME]) [--wait D] [--dry-run] [flags]

Makes each image a live member of family F in its region: sets ImageFamily (copies carry no family), restores a
Deprecated image to Available, and reads back what F resolves to. Running it again changes nothing.
Needs ecs:DescribeImages, ecs:ModifyImageAttribute and ecs:DescribeImageFromFamily.

Flags:
`)
		} else {
			fmt.Fprint(stderr, `Usage: alicloud-image-family rollback --image-family F --image-ids R=ID[,R=ID] [--allow-empty] [--dry-run] [flags]

Deprecates each image named, only where family F resolves to it (compare-and-swap) and only while another
Available image remains in F, so that F resolves to its previous image. Undo it with promote.
Needs ecs:DescribeImages, ecs:ModifyImageAttribute and ecs:DescribeImageFromFamily.

Flags:
`)
		}
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nOutput: one line per region on stdout, region<TAB>outcome<TAB>image; details on stderr.\n"+
			"Exit codes: 0 done or nothing to do; 2 invalid usage or input (nothing was sent); 4 superseded (promote: the family\n"+
			"resolves to a newer image) or moved (rollback: the family did not resolve to the image; nothing changed); 5 refused\n"+
			"(rollback: the family's last Available image; see --allow-empty); 1 any other failure. The worst region wins.\n")
	}
	return fs
}

func (a *app) promote(ctx context.Context, args []string) int {
	return a.lifecycle(ctx, "promote", args)
}

// lifecycle parses and checks everything offline (exit 2, nothing sent on
// a bad input), then calls the core and prints the outcomes.
func (a *app) lifecycle(ctx context.Context, cmd string, args []string) int {
	var f lifecycleFlags
	fs := newLifecycleFlagSet(cmd, &f, a.stderr)
	if code, ok := a.parseFlagsAs(cmd, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return a.commandUsage(cmd, "unexpected argument %q", fs.Arg(0))
	}
	if f.output != "text" && f.output != "json" {
		return a.commandUsage(cmd, "--output must be text or json, not %q", f.output)
	}
	timeout, maxAttempts, err := f.budget()
	if err != nil {
		return a.commandUsage(cmd, "%v", err)
	}
	if f.family == "" {
		return a.commandUsage(cmd, "--image-family is required")
	}
	var images map[string]string
	switch {
	case f.imageIDs != "" && f.manifest != "":
		return a.commandUsage(cmd, "give --image-ids or --packer-manifest, not both")
	case f.packerBuild != "" && f.manifest == "":
		return a.commandUsage(cmd, "--packer-build needs --packer-manifest")
	case f.manifest != "":
		images, err = readPackerManifest(f.manifest, f.packerBuild)
	case f.imageIDs != "":
		images, err = imagefamily.ParseExpected("image ids", f.imageIDs)
	default:
		if cmd == "promote" {
			return a.commandUsage(cmd, "--image-ids or --packer-manifest is required")
		}
		return a.commandUsage(cmd, "--image-ids is required")
	}
	if err != nil {
		return a.commandUsage(cmd, "%v", err)
	}
	var wait time.Duration
	if f.wait != "" {
		wait, err = imagefamily.ParseDuration("wait", f.wait, 0, imagefamily.MaxWait)
		if err != nil {
			return a.commandUsage(cmd, "%v", err)
		}
	}
	req := a.request(&f.resolveFlags, f.credentials(a.getenv), timeout, maxAttempts, wait)
	var out []imagefamily.RegionOutcome
	if cmd == "promote" {
		pr := imagefamily.PromoteRequest{Request: req, Images: images, DryRun: f.dryRun}
		if err := imagefamily.ValidatePromote(pr); err != nil {
			return a.fail(cliNames.FirstRefusal(err))
		}
		out, err = imagefamily.Promote(ctx, pr)
	} else {
		rr := imagefamily.RollbackRequest{Request: req, Images: images, AllowEmpty: f.allowEmpty, DryRun: f.dryRun}
		if err := imagefamily.ValidateRollback(rr); err != nil {
			return a.fail(cliNames.FirstRefusal(err))
		}
		out, err = imagefamily.Rollback(ctx, rr)
	}
	if err != nil {
		return a.fail(cliNames.FirstRefusal(err))
	}
	return a.printOutcomes(out, f.output)
}

// outcomeJSON is one region's outcome in --output json, the record the
// action's results output carries too.
type outcomeJSON = imagefamily.OutcomeRecord

// printOutcomes writes one line per region on stdout and the details on
// stderr, and returns the worst region's exit code.
func (a *app) printOutcomes(out []imagefamily.RegionOutcome, output string) int {
	// No credentials is an input error found before anything was sent, and
	// the same in every region: one message, exit 2, no outcome lines.
	for _, o := range out {
		if o.Err != nil && imagefamily.IsInputError(o.Err) {
			return a.fail(o.Err)
		}
	}
	code := exitOK
	var b strings.Builder
	var js []outcomeJSON
	for _, o := range out {
		code = worse(code, o.ExitCode())
		fmt.Fprintf(&b, "%s\t%s\t%s\n", o.Region, o.Outcome, o.ImageID)
		js = append(js, o.Record())
		a.reportOutcome(o)
	}
	if output == "json" {
		return worse(code, a.printJSON(js))
	}
	io.WriteString(a.stdout, b.String())
	return code
}

// reportOutcome says on stderr exactly what changed (or would change) in a
// region, and why not when nothing did.
func (a *app) reportOutcome(o imagefamily.RegionOutcome) {
	if note := o.Note(); note != "" {
		a.note("%s", note)
	}
	if o.Err != nil {
		a.fail(o.Err)
	}
}

// maxManifest bounds the Packer manifest read: it lists builds, a few KiB.
const maxManifest = 4 << 20

// readPackerManifest takes the images of Packer's manifest post-processor
// file: the builds of last_run_uuid whose builder_type is alicloud-ecs,
// their artifact_id "region:id,region:id"; build names one when there are
// several.
func readPackerManifest(path, build string) (map[string]string, error) {
	bad := func(rule string) (map[string]string, error) {
		return nil, &imagefamily.ValidationError{Field: "--packer-manifest", Value: path, Rule: rule}
	}
	file, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return bad("it cannot be read: " + err.Error())
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxManifest+1))
	if err != nil {
		return bad("it cannot be read: " + err.Error())
	}
	if len(b) > maxManifest {
		return bad(fmt.Sprintf("it is larger than %d MiB; a Packer manifest lists builds", maxManifest>>20))
	}
	var m struct {
		Builds []struct {
			Name        string `json:"name"`
			BuilderType string `json:"builder_type"`
			ArtifactID  string `json:"artifact_id"`
			RunUUID     string `json:"packer_run_uuid"`
		} `json:"builds"`
		LastRunUUID string `json:"last_run_uuid"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return bad("it is not a Packer manifest (JSON with builds and last_run_uuid): " + err.Error())
	}
	if m.LastRunUUID == "" {
		return bad("it has no last_run_uuid")
	}
	var names []string
	var artifact string
	for _, bd := range m.Builds {
		if bd.RunUUID != m.LastRunUUID || bd.BuilderType != "alicloud-ecs" {
			continue
		}
		names = append(names, bd.Name)
		if build == "" || bd.Name == build {
			if artifact != "" && build == "" {
				sort.Strings(names)
				return bad("the last run has several alicloud-ecs builds (" + strings.Join(names, ", ") + "); pick one with --packer-build")
			}
			artifact = bd.ArtifactID
		}
	}
	switch {
	case len(names) == 0:
		return bad("the last run (" + m.LastRunUUID + ") has no alicloud-ecs build")
	case artifact == "" && build != "":
		return bad("the last run has no alicloud-ecs build named " + build + " (it has " + strings.Join(names, ", ") + ")")
	}
	var pairs []string
	for _, p := range strings.Split(artifact, ",") {
		region, id, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			return bad("its artifact_id " + artifact + " is not region:id[,region:id]")
		}
		pairs = append(pairs, region+"="+id)
	}
	return imagefamily.ParseExpected("--packer-manifest", strings.Join(pairs, ","))
}
