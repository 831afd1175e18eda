package imagefamily

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Family name rules, from the DescribeImageFromFamily API document: 2 to 128
// characters; letters, digits, ':', '_' and '-'; starts with a letter; must
// not start with "http://", "https://", "acs:" or "aliyun".
var familyChars = regexp.MustCompile(`^[A-Za-z0-9:_-]*$`)

// ValidateFamily checks an image family name against the API's rules and
// returns a *ValidationError naming the first rule it breaks.
func ValidateFamily(family string) error {
	bad := func(rule string) error {
		return &ValidationError{Field: "image family", Value: family, Rule: rule}
	}
	n := len([]rune(family))
	switch {
	case family == "":
		return bad("it is required; give the name of the image family to look up")
	case strings.TrimSpace(family) != family:
		return bad("it must not have leading or trailing white space")
	// The prefix rules come before the character rules so that a URL pasted by
	// mistake is reported as a URL, not as "contains '/'".
	case strings.HasPrefix(family, "http://"), strings.HasPrefix(family, "https://"):
		return bad("it must not start with http:// or https://; give the family name, not a URL")
	case strings.HasPrefix(family, "acs:"):
		// A family shared with you or published as a community image is
		// acs:<owner account id>:<family>; a public image family is
		// acs:<family>. The seed's "cannot start with acs:" is the rule for
		// naming a family you create, not for looking one up.
		return validateSharedFamily(family, bad)
	case strings.HasPrefix(family, "aliyun"):
		return bad(`it must not start with "aliyun" (reserved by Alibaba Cloud)`)
	case n < 2 || n > 128:
		return bad(fmt.Sprintf("it must be 2 to 128 characters long (it has %d)", n))
	case !familyChars.MatchString(family):
		return bad(fmt.Sprintf("it may contain only letters, digits, ':', '_' and '-' (found %q)", firstBadFamilyChar(family)))
	case !isASCIILetter(family[0]):
		return bad("it must start with a letter")
	}
	return nil
}

// sharedFamily: acs:<family> (public) or acs:<owner account id>:<family>
// (shared or community). The family part is what public and custom families
// are made of: letters, digits, '.', '_', '-', starting with a letter or digit.
var (
	sharedFamily     = regexp.MustCompile(`^acs:(?:([0-9]{1,20}):)?([A-Za-z0-9][A-Za-z0-9._-]{1,127})$`)
	sharedFamilyRule = "a family shared with you is acs:<owner account id>:<family> (such as acs:1234567890123456:golden-base), a public one acs:<family> (such as acs:alibaba_cloud_linux_3_2104_lts_x64); the family part is 2 to 128 letters, digits, '.', '_' or '-'"
)

func validateSharedFamily(family string, bad func(string) error) error {
	if strings.HasPrefix(family, "acs:ram:") || strings.Contains(family, "/") {
		return bad(`it looks like a RAM ARN; give an image family: ` + sharedFamilyRule)
	}
	if !sharedFamily.MatchString(family) {
		return bad(sharedFamilyRule)
	}
	return nil
}

// SharedFamilyParts splits an acs: family into the owner account id ("" for
// a public family) and the family name; ok is false for any other name.
func SharedFamilyParts(family string) (owner, name string, ok bool) {
	m := sharedFamily.FindStringSubmatch(family)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

func firstBadFamilyChar(s string) string {
	for _, r := range s {
		if !(r < 128 && (isASCIILetter(byte(r)) || (r >= '0' && r <= '9') || r == ':' || r == '_' || r == '-')) {
			return string(r)
		}
	}
	return ""
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// Region ids are lower-case words joined by hyphens, such as cn-hangzhou,
// ap-southeast-1 or cn-shanghai-finance-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+){1,5}$`)

// ValidateRegion checks that a region id is well formed. Whether the region
// exists is the API's answer (InvalidRegionId.NotFound): a pre-check with
// DescribeRegions would double the requests and go stale as regions open.
func ValidateRegion(region string) error {
	bad := func(rule string) error {
		return &ValidationError{Field: "region", Value: region, Rule: rule}
	}
	switch {
	case region == "":
		return bad("it is required; give a region id such as cn-hangzhou")
	case len(region) > 63:
		// It becomes one DNS label of the endpoint (ecs.<region>.aliyuncs.com),
		// and a label holds at most 63 bytes (found by FuzzValidateRegion).
		return bad("it must be at most 63 characters long")
	case strings.ToLower(region) != region && regionPattern.MatchString(strings.ToLower(region)):
		return bad(fmt.Sprintf("region ids are lower case; use %q", strings.ToLower(region)))
	case !regionPattern.MatchString(region):
		return bad("it must be a region id: lower-case letters and digits in hyphen-separated words, such as cn-hangzhou or ap-southeast-1")
	}
	return nil
}

// Ranges of the durations a user sets. A lookup that needs more than an hour
// is stuck, not slow; a timeout under 100ms cannot complete a TLS handshake.
const (
	MinTimeout = 100 * time.Millisecond
	MaxTimeout = time.Hour
)

// ParseDuration reads a duration as every front accepts it: a Go duration
// ("90s", "2m", "1h30m") or a whole number of seconds ("90"). It refuses, as
// a *ValidationError naming field, anything outside [min, max], including
// numbers so large that they would overflow (18446744074 seconds is refused,
// not wrapped to a fraction of a second).
func ParseDuration(field, value string, min, max time.Duration) (time.Duration, error) {
	bad := func(rule string) (time.Duration, error) {
		return 0, &ValidationError{Field: field, Value: value, Rule: rule}
	}
	rangeRule := fmt.Sprintf("it must be between %s and %s", min, max)
	v := strings.TrimSpace(value)
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || isOverflow(err) {
		if err != nil || n > int64(max/time.Second) || n < 0 {
			return bad(rangeRule + " (a bare number counts seconds)")
		}
		d = time.Duration(n) * time.Second
	} else {
		var perr error
		d, perr = time.ParseDuration(v)
		if perr != nil {
			// time.ParseDuration says "invalid duration" for a well-formed
			// but overflowing value such as 9999999999h: that is a range
			// problem, not a syntax one.
			if durationSyntax.MatchString(v) {
				return bad(rangeRule)
			}
			return bad("it must be a duration such as 90s, 2m or 1h, or a whole number of seconds")
		}
	}
	if d < min || d > max {
		return bad(rangeRule)
	}
	return d, nil
}

var durationSyntax = regexp.MustCompile(`^([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)

func isOverflow(err error) bool {
	var ne *strconv.NumError
	return errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange)
}

// ValidateImageID checks that id has the shape of an image id (custom
// m-bp1g7004ksh0oeuc0001 or public aliyun_3_x64_20G_alibase_20240819.vhd),
// for settings that name one (expected ids, newer-than).
func ValidateImageID(field, id string) error {
	if !imageIDPattern.MatchString(id) {
		return &ValidationError{Field: field, Value: id, Rule: "it must be an image id: 2 to 128 letters, digits, '.', '_' or '-', such as m-bp1g7004ksh0oeuc0001"}
	}
	return nil
}
