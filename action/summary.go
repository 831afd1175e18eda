package action

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// summary renders the job summary table, one row per region in input order,
// and the drift check when expected-image-ids was given.
func summary(in *inputs, results []imagefamily.Result, changes []imagefamily.Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Alibaba Cloud image family `%s`\n\n", codeSpan(in.family))
	b.WriteString("| Region | Image ID | Name | Version | Created | Architecture | OS |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		switch {
		case r.Err == nil:
			img := r.Image
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s |\n",
				mdCell(r.Region), codeSpan(img.ImageID), mdCell(img.ImageName), mdCell(img.ImageVersion),
				mdCell(img.CreationTime), mdCell(img.Architecture), mdCell(img.OSName))
		case errors.Is(r.Err, imagefamily.ErrNotFound):
			fmt.Fprintf(&b, "| %s | not found | | | | | |\n", mdCell(r.Region))
		default:
			fmt.Fprintf(&b, "| %s | failed: %s | | | | | |\n", mdCell(r.Region), mdCell(errorClass(r.Err)))
		}
	}
	b.WriteString("\n")
	switch {
	case in.expected == nil:
	case len(changes) == 0:
		b.WriteString("Unchanged: every region compared with `expected-image-ids` has the expected image.\n\n")
	default:
		verdict := "so `changed` is `true`"
		if in.failOnChange {
			verdict = "and `fail-on-change` is `true`, so the step fails"
		}
		fmt.Fprintf(&b, "**Changed** since `expected-image-ids` (%s):\n\n", verdict)
		for _, ch := range changes {
			fmt.Fprintf(&b, "- %s\n", mdCell(ch.String()))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// errorClass names the sentinel an error matches, for the short summary cell;
// the full message is in the annotation.
func errorClass(err error) string {
	for _, s := range []error{
		imagefamily.ErrGuard, imagefamily.ErrInvalidInput, imagefamily.ErrNoCredentials, imagefamily.ErrCredentials,
		imagefamily.ErrAccessDenied, imagefamily.ErrRegionNotFound, imagefamily.ErrAuthFailed,
		imagefamily.ErrThrottled, imagefamily.ErrTimeout, imagefamily.ErrNetwork, imagefamily.ErrAPI, imagefamily.ErrInternal,
	} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "error"
}

// appendSummary appends markdown to the job summary. A missing
// GITHUB_STEP_SUMMARY (old runners, some local runners) only loses the table,
// so it is not an error.
func appendSummary(path, markdown string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing job summary: %w", err)
	}
	if _, err := f.WriteString(markdown); err != nil {
		f.Close()
		return fmt.Errorf("writing job summary: %w", err)
	}
	return f.Close()
}

// mdCell makes an API-supplied string safe inside a Markdown table cell of
// the job summary (which renders HTML too): no line or column breaks, no
// HTML, no links or emphasis, no control characters (safetext.Markdown).
func mdCell(s string) string { return safetext.Markdown(s) }

// codeSpan makes a string safe inside a `code span` of a table cell. Inside
// a code span Markdown's backslash escapes show literally, so only what
// could end the span, the cell or the row, or open HTML, is replaced; the
// values shown this way (image ids, the family) are checked by the core and
// never hold any of it.
func codeSpan(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`, "&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(safetext.Terminal(s))
}
