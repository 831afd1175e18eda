package action

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// output is one name/value pair for GITHUB_OUTPUT, kept in order so the file
// reads the same way every run.
type output struct{ name, value string }

// outputName is what GitHub accepts as an output id; checking it keeps a
// name from ever carrying "<<" or a line break into the file.
var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// writeOutputs appends the outputs to the GITHUB_OUTPUT file in the heredoc
// form with a fresh random delimiter per value. go-githubactions' SetOutput
// uses one fixed, public delimiter, so a value containing a line equal to it
// (an image description, say) would end the value early and let the rest of
// the value define outputs of its own. A 128-bit random delimiter cannot be
// predicted by whoever wrote the value; we still check it is absent.
func writeOutputs(path string, outs []output) error {
	if path == "" {
		return errors.New("GITHUB_OUTPUT is not set: this command writes step outputs and must run inside a GitHub Actions step (or act)")
	}
	var b strings.Builder
	for _, o := range outs {
		if !outputName.MatchString(o.name) {
			return fmt.Errorf("internal error: invalid output name %q", o.name)
		}
		delim, err := delimiterFor(o.value)
		if err != nil {
			return err
		}
		// name<<delim \n value EOL delim \n — the same framing the official
		// toolkit writes (actions/toolkit prepareKeyValueMessage).
		fmt.Fprintf(&b, "%s<<%s\n%s%s%s\n", o.name, delim, o.value, valueEnd(runnerOS, o.value), delim)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing step outputs: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("writing step outputs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing step outputs: %w", err)
	}
	return nil
}

// outputsFor lists every output, including empty ones: an output that is
// always written reads as an empty string rather than being absent when nothing is found.
func outputsFor(in *inputs, results []imagefamily.Result, images map[string]imagefamily.Image, changed bool) ([]output, error) {
	// The image outputs describe the first region listed that has an
	// image, as the data source's attributes do (imagefamily.FirstFound).
	firstResult, found1 := imagefamily.FirstFound(results)
	first := firstResult.Image
	found := len(images) == len(results)

	ids := map[string]string{}
	for region, img := range images {
		ids[region] = img.ImageID
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}

	var whole []byte
	switch {
	case len(results) > 1:
		// Several regions: an object region -> image (regions with no
		// image left out), so fromJSON(...)[region] works in a matrix.
		whole, err = json.Marshal(images)
	case found1:
		whole, err = json.Marshal(first)
	}
	if err != nil {
		return nil, err
	}

	var img *imagefamily.Image
	if found1 {
		img = &first
	}
	return allOutputs(img, found, string(whole), string(idsJSON), changed, "", "[]"), nil
}

// allOutputs is every output, in the one order: every field of the image's
// table, named and written as every front names and writes it
// (imagefamily.Fields; empty when img is nil), then found, json,
// image-ids, changed, changes and results.
func allOutputs(img *imagefamily.Image, found bool, whole, imageIDs string, changed bool, changes, results string) []output {
	var outs []output
	for _, f := range imagefamily.Fields() {
		v := ""
		if img != nil {
			v = f.Text(*img)
		}
		outs = append(outs, output{f.ActionName(), v})
	}
	return append(outs,
		output{"found", strconv.FormatBool(found)},
		output{"json", whole},
		output{"image-ids", imageIDs},
		output{"changed", strconv.FormatBool(changed)},
		output{"changes", changes},
		output{"results", results},
	)
}

// failureOutputs is every output of a step that found nothing usable: an
// input error, a failed ID-token request, a lookup that failed as a whole.
func failureOutputs() []output {
	return allOutputs(nil, false, "", "{}", false, "", "[]")
}

// valueEnd ends a value's last line. The Windows runner ends a line at
// "\r\n" as well as "\n", so there a value ending in "\r" followed by a bare
// "\n" would lose its "\r"; "\r\n" keeps it (found by FuzzWriteOutputs).
// Every other value keeps the bare "\n" on every OS.
func valueEnd(goos, value string) string {
	if goos == "windows" && strings.HasSuffix(value, "\r") {
		return "\r\n"
	}
	return "\n"
}

// runnerOS is the runner's OS as the runner's file reader sees it; tests
// write for both.
var runnerOS = runtime.GOOS

// randRead is crypto/rand.Read; tests replace it to force a collision.
var randRead = rand.Read

// delimiterFor returns a random delimiter that does not occur in value.
func delimiterFor(value string) (string, error) {
	for range 8 {
		var buf [16]byte
		if _, err := randRead(buf[:]); err != nil {
			return "", fmt.Errorf("random delimiter: %w", err)
		}
		d := "ghadelimiter_" + hex.EncodeToString(buf[:])
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", errors.New("could not choose an output delimiter absent from the value")
}
