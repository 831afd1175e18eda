package imagefamily

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The expectations of a drift check (drift.go), as every front reads them:
// pairs, or the action's image-ids output, each region and image id checked
// with the rules of validate.go (ValidateRegion, and the image id's shape of
// ValidateImageID: a family's name pasted as an id is refused, not reported
// as a change). field names the input in errors.

// ParseExpected reads "REGION=ID[,REGION=ID...]" (commas, semicolons or
// white space between pairs). field names the input in errors.
func ParseExpected(field, s string) (map[string]string, error) {
	out := map[string]string{}
	pairs := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	if len(pairs) == 0 {
		return nil, &ValidationError{Field: field, Value: s, Rule: "give REGION=IMAGE_ID pairs, such as cn-hangzhou=m-bp1g7004ksh0oeuc0001"}
	}
	for _, p := range pairs {
		region, id, ok := strings.Cut(p, "=")
		if !ok {
			return nil, &ValidationError{Field: field, Value: p, Rule: "each pair is REGION=IMAGE_ID, such as cn-hangzhou=m-bp1g7004ksh0oeuc0001"}
		}
		if err := addExpected(field, out, region, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParseExpectedJSON reads a JSON object region -> image id: exactly the
// action's image-ids output, so one job's output can be committed and
// checked by the next.
func ParseExpectedJSON(field string, b []byte) (map[string]string, error) {
	bad := func() (map[string]string, error) {
		return nil, &ValidationError{Field: field, Value: safetext.Excerpt(string(b), 80),
			Rule: `it must be one JSON object of region to image id, such as {"cn-hangzhou":"m-bp1g7004ksh0oeuc0001"} (the action's image-ids output), each region once`}
	}
	// Token by token, so that a region listed twice or text after the
	// object is an error rather than silently dropped.
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad()
	}
	out := map[string]string{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return bad()
		}
		region, _ := kt.(string)
		vt, err := dec.Token()
		id, isString := vt.(string)
		if err != nil || !isString {
			return bad()
		}
		if _, dup := out[region]; dup {
			return nil, &ValidationError{Field: field, Value: region, Rule: "the region is listed twice"}
		}
		if err := addExpected(field, out, region, id); err != nil {
			return nil, err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return bad()
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad()
	}
	return out, nil
}

func addExpected(field string, out map[string]string, region, id string) error {
	if err := ValidateRegion(region); err != nil {
		return &ValidationError{Field: field, Value: region, Rule: "a region in it is not a region id: " + err.(*ValidationError).Rule}
	}
	if !isImageID(id) {
		return &ValidationError{Field: field, Value: id, Rule: "the image id for " + region + " is not an image id: " + imageIDRule}
	}
	if prev, dup := out[region]; dup && prev != id {
		return &ValidationError{Field: field, Value: region, Rule: "the region is listed twice with different image ids"}
	}
	out[region] = id
	return nil
}

// CheckExpectedRegions refuses expected ids for regions that are not being
// looked up: a typo there would otherwise silently never be compared.
func CheckExpectedRegions(field string, expected map[string]string, regions []string) error {
	for _, r := range slices.Sorted(maps.Keys(expected)) {
		if !slices.Contains(regions, r) {
			return &ValidationError{Field: field, Value: r, Rule: "it names a region that is not being looked up (" + strings.Join(regions, ", ") + ")"}
		}
	}
	return nil
}
