package family

import (
	"errors"
	"fmt"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The guards (architecture, os_type, max_age, owners) are the core's
// (imagefamily.Guards, checked in every region); what is the data source's
// is the diagnostic, which names the HCL attribute, and the drift check of
// expected_image_id.

// guardAttributes maps the core's guard names to the attributes that set
// them.
var guardAttributes = map[string]string{
	"architecture": "architecture",
	"os type":      "os_type",
	"max age":      "max_age",
	"owners":       "owners",
}

// GuardError is a resolved image that a guard refused, as the diagnostic
// shows it: the core's *imagefamily.GuardError (which errors.As and
// errors.Is(err, imagefamily.ErrGuard) still see) with the guard named by
// its attribute.
type GuardError struct {
	*imagefamily.GuardError
	Attr string // architecture, os_type, max_age or owners
}

// Error names the image by what the server said about it; every such value
// passes through safetext, so the diagnostic stays one printable line
// whatever the answer held.
func (e *GuardError) Error() string {
	g := e.GuardError
	msg := fmt.Sprintf("image family %s in region %s resolved to %s (%s, created %s)",
		safetext.Quote(g.Family, 160), g.Region, safetext.Excerpt(g.Image.ImageID, 160),
		safetext.Excerpt(g.Image.ImageName, 160), safetext.Excerpt(g.Image.CreationTime, 64))
	if g.RequestID != "" {
		msg += " [RequestId " + safetext.Excerpt(g.RequestID, 80) + "]"
	}
	return msg + fmt.Sprintf(", which fails the %s guard: expected %s, found %s", e.Attr, safetext.Excerpt(g.Expected, 512), safetext.Excerpt(g.Found, 512))
}

func (e *GuardError) Unwrap() error { return e.GuardError }

// guardDiagnostic turns the core's guard error into the data source's; any
// other error is returned as it is.
func guardDiagnostic(err error) error {
	var ge *imagefamily.GuardError
	if !errors.As(err, &ge) {
		return err
	}
	attr, ok := guardAttributes[ge.Guard]
	if !ok {
		attr = ge.Guard
	}
	return &GuardError{GuardError: ge, Attr: attr}
}

// DriftError is a family that moved away from expected_image_id: the
// change, in the core's words ("region: old -> new (created ...)").
type DriftError struct {
	Family string
	Change imagefamily.Change
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("image family %s moved away from expected_image_id: %s", safetext.Quote(e.Family, 160), safetext.Excerpt(e.Change.String(), maxDiagnostic))
}
