package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// lock pins, refreshes or checks a lock file of families × regions: a thin
// mapping onto imagefamily.Lock, which holds every rule (the format, the
// plan, the guards, the compare-before-swap write, the check). stderr says
// what changed, one line per entry ("family region: old -> new (created
// ...)"); stdout is empty unless --output json asks for the summary.

type lockFlags struct {
	resolveFlags
	lockFile string
	check    bool
}

func newLockFlagSet(f *lockFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("alicloud-image-family lock", flag.ContinueOnError)
	stderr = escapingWriter{w: stderr, keepTabs: true}
	fs.SetOutput(stderr)
	fs.StringVar(&f.lockFile, "lock-file", "", "the lock `file` to write or check (required), such as images.lock.json; created when --image-family and --region are given")
	fs.StringVar(&f.family, "image-family", "", "the family to pin (with --region: add or refresh those entries; alone: refresh the family's entries in the file)")
	fs.Var(&f.regions, "region", "region ids; repeat or comma-separate (with --image-family: the regions to pin; alone: refresh every family's entries in these regions)")
	fs.BoolVar(&f.check, "check", false, "compare the file with what each family resolves to now and change nothing: exit 4 on any difference,\n"+
		"a pinned image that no longer exists or is Deprecated included; 0 when it is current")
	fs.StringVar(&f.output, "output", "none", "none: nothing on stdout (the changes are on stderr); json: a summary of every entry on stdout")
	addGuardFlags(fs, &f.resolveFlags)
	addConnectionFlags(fs, &f.resolveFlags)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: alicloud-image-family lock --lock-file FILE [--image-family F --region R[,R]] [--check] [flags]

Pins the image each family resolves to in each region in FILE, a JSON file that Terraform and Packer read with
jsondecode(file(...)). With --image-family and --region, adds or refreshes those entries; without, refreshes every
entry of the file. An entry whose image did not change keeps its bytes; when nothing changed the file is not written.
The write is atomic (a temporary file renamed over FILE). The guards apply: a refused image is never pinned.
Needs ecs:DescribeImageFromFamily; --check also needs ecs:DescribeImages for a pin that drifted.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExit codes: 0 written, or nothing to change (--check: current); 2 invalid usage, a malformed lock file or an\n"+
			"unknown version (nothing was sent, the file is untouched); 3 a family has no available image in a region (its\n"+
			"entry is kept); 4 --check found a difference, or the file changed while lock ran (nothing written); 5 an image\n"+
			"refused by a guard (its entry is kept); 1 any other failure. The worst entry wins.\n")
	}
	return fs
}

func (a *app) lock(ctx context.Context, args []string) int {
	const cmd = "lock"
	var f lockFlags
	fs := newLockFlagSet(&f, a.stderr)
	if code, ok := a.parseFlagsAs(cmd, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return a.commandUsage(cmd, "unexpected argument %q", fs.Arg(0))
	}
	if f.output != "none" && f.output != "json" {
		return a.commandUsage(cmd, "%v", &imagefamily.ValidationError{Field: "--output", Value: f.output, Rule: "it must be none or json"})
	}
	timeout, maxAttempts, err := f.budget()
	if err != nil {
		return a.commandUsage(cmd, "%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	promo, err := f.promotion(fs, set)
	if err != nil {
		return a.commandUsage(cmd, "%v", err)
	}
	var regions []string
	if len(f.regions) > 0 {
		if regions, err = imagefamily.ParseRegions(f.regions.String()); err != nil {
			return a.commandUsage(cmd, "%v", err)
		}
	}
	req := imagefamily.LockRequest{Request: a.request(&f.resolveFlags, f.credentials(a.getenv), timeout, maxAttempts, 0),
		Path: f.lockFile, Regions: regions, Check: f.check}
	req.Guards = promo.guards
	res, err := imagefamily.Lock(ctx, req)
	if err != nil {
		return a.fail(cliNames.FirstRefusal(err))
	}
	a.reportLock(res)
	code := res.ExitCode()
	if f.output == "json" {
		code = worse(code, a.printJSON(lockSummary(res)))
	}
	return code
}

// reportLock writes, on stderr, one line per entry that changed (or would),
// was kept, or whose pin went stale, then what happened to the file.
func (a *app) reportLock(res imagefamily.LockResult) {
	credentialsReported := false
	for _, o := range res.Outcomes {
		switch {
		case o.Err != nil && errors.As(o.Err, new(*imagefamily.CredentialsError)):
			// Obtained once for every entry: one failure, reported once.
			if !credentialsReported {
				credentialsReported = true
				a.fail(o.Err)
			}
		case o.Action != imagefamily.LockCurrent:
			a.note("%s", o.String())
		}
		if line := o.PinnedString(); line != "" {
			a.note("%s", line)
		}
	}
	if res.Err != nil {
		a.fail(res.Err)
		return
	}
	a.note("%s", res.Verdict(res.Path, "--check"))
}

// lockSummaryJSON is --output json: the run, and every entry looked up.
type lockSummaryJSON struct {
	LockFile string          `json:"lock_file"`
	Check    bool            `json:"check"`
	Changed  bool            `json:"changed"`
	Written  bool            `json:"written"`
	Entries  []lockEntryJSON `json:"entries"`
}

type lockEntryJSON struct {
	Family       string `json:"family"`
	Region       string `json:"region"`
	Action       string `json:"action"`
	OldImageID   string `json:"old_image_id"`
	ImageID      string `json:"image_id"`
	ImageName    string `json:"image_name"`
	CreationTime string `json:"creation_time"`
	Pinned       string `json:"pinned_status,omitempty"`
	Error        string `json:"error,omitempty"`
}

func lockSummary(res imagefamily.LockResult) lockSummaryJSON {
	out := lockSummaryJSON{LockFile: res.Path, Check: res.Check, Changed: res.Changed(), Written: res.Written, Entries: []lockEntryJSON{}}
	for _, o := range res.Outcomes {
		e := lockEntryJSON{Family: o.Family, Region: o.Region, Action: string(o.Action), OldImageID: o.Old.ImageID,
			ImageID: o.New.ImageID, ImageName: o.New.ImageName, CreationTime: o.New.CreationTime, Pinned: o.Pinned}
		if o.Err != nil {
			e.Error = o.Err.Error()
		} else if o.PinnedErr != nil {
			e.Error = o.PinnedErr.Error()
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}
