package family

import (
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/packeraccess"
)

// The data source's two sinks are here: the diagnostic Packer prints
// (safeError) and the plugin log (logf), which Packer shows with
// PACKER_LOG=1. Each escapes everything written through it; the messages
// handed to them quote server text bounded (safetext.Excerpt, Quote).

// logf writes one line to the plugin log, escaped: no control character,
// escape sequence or runner command prefix from a server reaches it.
func logf(format string, args ...any) { log.Print(safetext.Terminal(fmt.Sprintf(format, args...))) }

// attributes are the data source's names for the core's settings, its
// attributes (imagefamily.AttributeNames, the official alicloud builder's
// where it has them): a
// refusal points at the line to fix, "invalid <attribute> "<value>": <rule>"
// as on every front (imagefamily.Names.Refusal), and the guidance for
// missing credentials lists only what the data source offers.
var attributes = packeraccess.Attributes(nil)

// regionsAttrError words a refused element of regions: the attribute is
// regions, whose elements are regions.
func regionsAttrError(err error) error {
	var ve *imagefamily.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	named := *ve
	named.Field = "regions"
	return &named
}

// regionsError is the diagnostic for the regions that failed: the error
// itself when one did, else one line naming how many failed and each
// error, all of them visible to errors.Is and errors.As. noneFound says that
// ignore_missing_regions was set but no region had an image.
func regionsError(errs []error, total int, noneFound bool) error {
	if len(errs) == 1 && !noneFound {
		return errs[0]
	}
	format := fmt.Sprintf("%d of %d regions failed: ", len(errs), total)
	if noneFound {
		format = fmt.Sprintf("none of the %d regions has an available image (ignore_missing_regions needs at least one): ", total)
	}
	args := make([]any, len(errs))
	for i, e := range errs {
		if i > 0 {
			format += "; "
		}
		format += "%w"
		args[i] = e
	}
	return fmt.Errorf(format, args...)
}

// maxDiagnostic bounds the text of a diagnostic. The core's messages are one
// line of at most 2 KiB; the guard errors are shorter still.
const maxDiagnostic = 4096

// safeError wraps the error Execute returns, which Packer prints as the
// diagnostic on the data block: its text is one bounded line with every
// control character, escape sequence and bidi override written visibly, so
// an endpoint cannot start a line of Packer's output, recolour the terminal
// or retitle the window through it, whatever the layers below let through.
// errors.Is and errors.As still see the error it wraps. (The type has no
// doc comment of its own so that struct-markdown makes no docs partial of
// it.)
func safeError(err error) error {
	if err == nil {
		return nil
	}
	return &printableError{err: err}
}

type printableError struct{ err error }

// Error is the diagnostic: one escaped, bounded line, but for the core's
// own guidance (no credentials found), whose line breaks are kept, each
// line escaped: Packer prints a diagnostic over several lines.
func (e *printableError) Error() string {
	lines := imagefamily.MessageLines(e.err)
	if len(lines) == 1 {
		return safetext.Excerpt(lines[0], maxDiagnostic)
	}
	for i, l := range lines {
		lines[i] = safetext.Excerpt(l, maxDiagnostic/len(lines))
	}
	return strings.Join(lines, "\n")
}
func (e *printableError) Unwrap() error { return e.err }

// describe makes sure the diagnostic Packer prints names the family and the
// region. The core's API and not-found errors already do (with the
// RequestId), and so do its refused-answer and timeout errors for the ECS
// call (their operation names both); credential, transport and validation
// errors do not, so they get a prefix. Nothing is added twice.
func describe(err error, family, region string) error {
	var apiErr *imagefamily.APIError
	var nf *imagefamily.NotFoundError
	switch {
	case errors.As(err, &nf):
		return err
	case errors.As(err, &apiErr) && apiErr.Family == family && apiErr.Region == region:
		return err
	}
	if msg := err.Error(); strings.Contains(msg, fmt.Sprintf("family %q", family)) && strings.Contains(msg, "in region "+region) {
		return err
	}
	return fmt.Errorf("resolving image family %q in region %s: %w", family, region, err)
}
