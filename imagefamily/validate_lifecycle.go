package imagefamily

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The offline rules of Promote and Rollback: the family must satisfy
// ModifyImageAttribute's rule (and DescribeImageFromFamily's, since every
// change is read back with it), the map must name at least one region, each
// region and image id must have their shapes, and the settings follow the
// lookup's rules (validate.go). A broken rule is a *ValidationError (every
// one is returned, joined, as by Validate), and nothing is sent.

// ValidateTargetFamily checks a family name that is to be set on images
// (ModifyImageAttribute's ImageFamily): 2 to 128 characters, starting with a
// letter; letters, digits, '.', ':', '_' and '-'; not starting with "acs:"
// or "aliyun"; no "http://" or "https://". A '.' is accepted by
// ModifyImageAttribute but not by DescribeImageFromFamily's documented rule,
// so such a family could never be resolved (or read back): it is refused too.
func ValidateTargetFamily(family string) error {
	bad := func(rule string) error {
		return &ValidationError{Field: "image family", Value: family, Rule: rule}
	}
	n := len([]rune(family))
	switch {
	case family == "":
		return bad("it is required; give the name of the image family to put the images in")
	case strings.TrimSpace(family) != family:
		return bad("it must not have leading or trailing white space")
	case strings.Contains(family, "http://"), strings.Contains(family, "https://"):
		return bad("it must not contain http:// or https://; give the family name, not a URL")
	case strings.HasPrefix(family, "acs:"):
		return bad(`it must not start with "acs:": that is how families shared by other accounts and public families are named, and only your own family can be set on an image`)
	case strings.HasPrefix(family, "aliyun"):
		return bad(`it must not start with "aliyun" (reserved by Alibaba Cloud)`)
	case n < 2 || n > 128:
		return bad(fmt.Sprintf("it must be 2 to 128 characters long (it has %d)", n))
	case !isASCIILetter(family[0]):
		return bad("it must start with a letter")
	}
	for _, r := range family {
		if !(r < 128 && (isASCIILetter(byte(r)) || (r >= '0' && r <= '9') || strings.ContainsRune(".:_-", r))) {
			return bad(fmt.Sprintf("it may contain only letters, digits, '.', ':', '_' and '-' (found %q)", r))
		}
	}
	if strings.Contains(family, ".") {
		return bad("ModifyImageAttribute accepts '.', but DescribeImageFromFamily's rule does not: the family could never be looked up, nor the change read back; use '-' or '_'")
	}
	return ValidateFamily(family)
}

// ValidatePromote checks a PromoteRequest offline.
func ValidatePromote(req PromoteRequest) error {
	return validateLifecycle(req.Request, req.Images)
}

// ValidateRollback checks a RollbackRequest offline.
func ValidateRollback(req RollbackRequest) error {
	return validateLifecycle(req.Request, req.Images)
}

func validateLifecycle(req Request, images map[string]string) error {
	errs := []error{ValidateTargetFamily(req.Family), ValidateProfile(req.Credentials)}
	if len(images) == 0 {
		errs = append(errs, &ValidationError{Field: "image ids", Value: "", Rule: "give at least one REGION=IMAGE_ID pair, such as cn-hangzhou=m-bp1g7004ksh0oeuc0001"})
	}
	out := map[string]string{}
	for _, r := range slices.Sorted(maps.Keys(images)) {
		errs = append(errs, addExpected("image ids", out, r, images[r]))
	}
	if req.NewerThan != "" {
		errs = append(errs, &ValidationError{Field: "newer than", Value: req.NewerThan, Rule: "it applies to lookups only, not to promote or rollback"})
	}
	if req.Guards.Architecture != "" || req.Guards.OSType != "" || req.Guards.MaxAge != 0 {
		errs = append(errs, &ValidationError{Field: "guards", Value: "", Rule: "guards apply to lookups only, not to promote or rollback"})
	}
	return joinProblems(append(errs, validateConnection(req))...)
}
