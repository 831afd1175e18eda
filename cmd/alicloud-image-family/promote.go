package main

// Release promotion: guards (--architecture, --os-type, --max-age, --owners), drift
// (--expect, --expect-file) and waiting (--wait, --newer-than), under the
// names the GitHub Action and the Packer data source use too. The core does
// the work (imagefamily: guards.go, drift.go, wait.go); this file reads the
// flags and reports.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// maxExpectFile bounds what --expect-file reads: an object of every region's
// image id is a few KiB.
const maxExpectFile = 1 << 20

type promotion struct {
	guards imagefamily.Guards
	wait   time.Duration
}

// promotionFlags are the flags this file reads. Given with an empty value
// they are refused rather than read as "not given": a guard or a drift check
// silently switched off by an empty shell variable would pass a pipeline
// that should have stopped.
var promotionFlags = []string{"architecture", "os-type", "max-age", "owners", "expect", "expect-file", "wait", "newer-than"}

// promotion parses the guard and wait flags; every error is a
// *imagefamily.ValidationError naming the flag (exit 2, nothing sent).
// Unknown guard values and --newer-than are checked by imagefamily.Validate
// (cliNames gives their flag names).
func (f *resolveFlags) promotion(fs *flag.FlagSet, set map[string]bool) (promotion, error) {
	p := promotion{guards: imagefamily.Guards{Architecture: f.architecture, OSType: f.osType}}
	for _, name := range promotionFlags {
		if set[name] && fs.Lookup(name).Value.String() == "" {
			return p, &imagefamily.ValidationError{Field: "--" + name, Value: "", Rule: "it is empty: give a value, or leave --" + name + " out"}
		}
	}
	if f.maxAge != "" {
		age, err := imagefamily.ParseMaxAge("max age", f.maxAge)
		if err != nil {
			return p, err
		}
		p.guards.MaxAge = age
	}
	if f.owners != "" {
		owners, err := imagefamily.ParseOwners(f.owners)
		if err != nil {
			return p, err
		}
		p.guards.Owners = owners
	}
	if f.wait != "" {
		d, err := imagefamily.ParseDuration("wait", f.wait, 0, imagefamily.MaxWait)
		if err != nil {
			return p, err
		}
		p.wait = d
	}
	return p, nil
}

// expectation reads --expect or --expect-file (not both) and checks that
// every region in it is being looked up. nil when neither is given.
func (f *resolveFlags) expectation(set map[string]bool, regions []string) (map[string]string, error) {
	field := ""
	var expected map[string]string
	var err error
	switch {
	case set["expect"] && set["expect-file"]:
		return nil, &imagefamily.ValidationError{Field: "--expect", Value: f.expect,
			Rule: "give the expected image ids once: --expect or --expect-file, not both"}
	case set["expect"]:
		field = "--expect"
		expected, err = imagefamily.ParseExpected(field, f.expect)
	case set["expect-file"]:
		field = "--expect-file"
		var b []byte
		if b, err = readExpectFile(f.expectFile); err != nil {
			return nil, err
		}
		expected, err = imagefamily.ParseExpectedJSON(field, b)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := imagefamily.CheckExpectedRegions(field, expected, regions); err != nil {
		return nil, err
	}
	return expected, nil
}

func readExpectFile(path string) ([]byte, error) {
	bad := func(rule string) ([]byte, error) {
		return nil, &imagefamily.ValidationError{Field: "--expect-file", Value: path, Rule: rule}
	}
	file, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return bad("it cannot be read: " + err.Error())
	}
	defer file.Close()
	if st, err := file.Stat(); err == nil && st.IsDir() {
		return bad("it is a directory, not a file")
	}
	b, err := io.ReadAll(io.LimitReader(file, maxExpectFile+1))
	if err != nil {
		return bad("it cannot be read: " + err.Error())
	}
	if len(b) > maxExpectFile {
		return bad(fmt.Sprintf("it is larger than %d KiB; it should hold one image id per region", maxExpectFile>>10))
	}
	return b, nil
}

// reportChanges writes one line per region whose newest image is not the
// expected one ("region: old -> new (created ...)") and returns exit 4 when
// there is any, else 0.
func (a *app) reportChanges(expected map[string]string, results []imagefamily.Result) int {
	changes := imagefamily.Changes(expected, results)
	for _, c := range changes {
		a.note("%s", c.String())
	}
	if len(changes) > 0 {
		return exitChanged
	}
	return exitOK
}
