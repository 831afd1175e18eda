package imagefamily

import "errors"

// FrontName finds the *ValidationError in err and the name a front gives its
// field: names maps the core's field names (ValidationError.Field, such as
// "max age") to the front's own flags, inputs or attributes, so that the
// front's message points at what to change. ok is false when err holds no
// ValidationError or names has no entry for its field.
func FrontName(err error, names map[string]string) (ve *ValidationError, name string, ok bool) {
	if !errors.As(err, &ve) {
		return nil, "", false
	}
	name, ok = names[ve.Field]
	return ve, name, ok
}
