package imagefamily

import (
	"fmt"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Drift: did the base image move? A pipeline records the image ids it built
// on (the action's image-ids output: a JSON object region -> image id) and
// the next run compares: every front reads the same shapes and reports the
// same change lines. The expectations are read and checked in
// validate_expected.go.

// Change is one region whose newest image is not the expected one.
type Change struct {
	Region   string
	Expected string
	Found    Image
}

// String is the line every front prints: "region: old -> new (created ...)".
func (c Change) String() string {
	return fmt.Sprintf("%s: %s -> %s (created %s)", c.Region, c.Expected, c.Found.ImageID, safetext.Excerpt(c.Found.CreationTime, 64))
}

// Changes compares the found images with the expected ids, in the order of
// results; regions without an expectation, or without an image, are not
// changes.
func Changes(expected map[string]string, results []Result) []Change {
	var out []Change
	for _, r := range results {
		want, ok := expected[r.Region]
		if !ok || r.Err != nil || r.Image.ImageID == want {
			continue
		}
		out = append(out, Change{Region: r.Region, Expected: want, Found: r.Image})
	}
	return out
}
