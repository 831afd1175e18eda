package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// --output dotenv: KEY=value lines for GitLab's artifacts:reports:dotenv.
// The keys are the one-line fields of the core's table (textFields, the
// text output's columns) in upper snake case (IMAGE_ID, CREATION_TIME), and
// REGION. With several regions each found region's fields carry its id as
// a prefix (CN_HANGZHOU_IMAGE_ID), and the unprefixed keys (REGION among
// them) describe the
// first region found (imagefamily.FirstFound), as the action's and the data
// source's single-image outputs do: a job written for one region keeps
// reading IMAGE_ID when a region is added.
//
// GitLab reads each line as KEY=value up to the line's end, keeps the value
// literally (quotes are not removed, nothing is unescaped) and strips white
// space around it. So a value is written as it is, or refused (never
// escaped or trimmed): a value holding a line break or another control
// character, or white space at either end, cannot be written so that
// GitLab reads it back unchanged.

// dotenvKey is GitLab's rule for a dotenv variable name.
var dotenvKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// dotenvRegionKey is REGION, the key of the region the unprefixed keys
// describe.
const dotenvRegionKey = regionColumn

// dotenvName is a field's (or a region's) name as a dotenv key part.
func dotenvName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

// dotenvLines renders found results (in the order asked) as dotenv text.
// A value that cannot be written on one line as GitLab reads it is an
// error naming the key and the field; nothing is returned then, so that
// nothing partial is printed.
func dotenvLines(results []imagefamily.Result) (string, error) {
	var b strings.Builder
	seen := map[string]bool{}
	line := func(key, field, region, value string) error {
		switch {
		case !dotenvKey.MatchString(key):
			return fmt.Errorf("--output dotenv: the key %s is not a dotenv name (letters, digits and '_', not starting with a digit)", safetext.Quote(key, 80))
		case seen[key]:
			return fmt.Errorf("--output dotenv: the key %s would be written twice", key)
		}
		seen[key] = true
		if rule := dotenvValueRule(value); rule != "" {
			return fmt.Errorf("--output dotenv: %s (the field %s of the image in region %s) cannot be written as a dotenv value: %s; use --output json",
				key, field, region, rule)
		}
		b.WriteString(key + "=" + value + "\n")
		return nil
	}
	write := func(prefix string, r imagefamily.Result) error {
		if prefix == "" {
			if err := line(dotenvRegionKey, "region", r.Region, r.Region); err != nil {
				return err
			}
		}
		for _, f := range textFields() {
			if err := line(prefix+dotenvName(f.Name), f.Name, r.Region, f.Text(r.Image)); err != nil {
				return err
			}
		}
		return nil
	}
	first, ok := imagefamily.FirstFound(results)
	if !ok {
		return "", nil
	}
	if err := write("", first); err != nil {
		return "", err
	}
	if len(results) > 1 {
		for _, r := range results {
			if r.Err == nil && r.Image.ImageID != "" {
				if err := write(dotenvName(r.Region)+"_", r); err != nil {
					return "", err
				}
			}
		}
	}
	return b.String(), nil
}

// dotenvValueRule is why v cannot be a dotenv value that GitLab reads back
// unchanged, "" when it can.
func dotenvValueRule(v string) string {
	switch {
	case strings.ContainsAny(v, "\r\n"):
		return "it holds a line break (GitLab's dotenv values are one line)"
	case !safetext.IsClean(v):
		return "it holds a control character"
	case strings.TrimSpace(v) != v:
		return "it starts or ends with white space, which GitLab strips"
	}
	return ""
}
