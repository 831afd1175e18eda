package main

import (
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// --output text: a header line, then one line per region found, columns
// separated by tabs. The columns are REGION and every field of the core's
// table whose value is one string, number or boolean, named as the GitHub
// Action names its outputs (Field.ActionName) and holding the same text
// (Field.Text); tags and disk mappings, which are JSON, are left to
// --output json. docs/cli.md lists the columns (generated from the same
// table).

// regionColumn is the first column's name (declared for the docs in
// tools/fieldgen too).
const regionColumn = "REGION"

// textFields are the table's fields that have a column, in its order.
func textFields() []imagefamily.Field {
	var out []imagefamily.Field
	for _, f := range imagefamily.Fields() {
		if f.Kind.Scalar() {
			out = append(out, f)
		}
	}
	return out
}

// textColumns are the column names, REGION first.
func textColumns() []string {
	cols := []string{regionColumn}
	for _, f := range textFields() {
		cols = append(cols, f.ActionName())
	}
	return cols
}

func textHeader() string { return strings.Join(textColumns(), "\t") + "\n" }

// textLine is one region's line. Every value passes through
// safetext.Printable, which writes a tab, a line break or any other control
// character visibly (\t, \n, \x1b), so a value can neither split its
// column nor start a line. The core lets such characters through only in
// the description; the rest are checked one-line labels. Printable, not
// Terminal: this is machine output, read by scripts, and keeps every
// printable character as the API sent it, "##[" included (docs/security.md:
// capture it rather than letting it reach a GitHub step log).
func textLine(region string, img imagefamily.Image) string {
	vals := []string{safetext.Printable(region)}
	for _, f := range textFields() {
		vals = append(vals, safetext.Printable(f.Text(img)))
	}
	return strings.Join(vals, "\t") + "\n"
}
