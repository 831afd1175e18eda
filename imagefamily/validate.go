package imagefamily

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The offline rules of a Request, in one place and in the order of the
// DescribeImageFromFamily parameter table: RegionId, ImageFamily, then our
// own settings (endpoint, timeout, retries, guards, wait and newer-than) and
// last the credentials (validate_credentials.go; the aliyun CLI profile they
// read is checked before the region, which may come from it). The expectations of drift
// checks are read in validate_expected.go. Every front calls Validate once
// (Packer with stand-ins for what it has not computed yet) and the parsers
// below; none restates a rule. A broken rule is a *ValidationError (exit
// code 2), returned before anything is sent; every broken rule is
// returned, joined.

// Validate checks everything that can be checked offline: family, region,
// endpoints (ALIBABA_CLOUD_ECS_ENDPOINT too, when no endpoint is set), timeouts, retry bounds, guards, the wait and credential
// settings that contradict each other. Every front calls it; Resolve calls
// it too, so nothing invalid is ever sent. It returns every problem, each a
// *ValidationError naming its setting, joined (Problems splits them), in
// the order of the table: the family first, then the aliyun CLI profile
// the credentials come from (ValidateProfile), then the region, which is
// not checked when the profile is the mistake, since the region may come
// from it (a profile that is not there is the mistake to report, not the
// region it could not give).
func Validate(req Request) error {
	profileErr := ValidateProfile(req.Credentials)
	var regionErr error
	if profileErr == nil {
		regionErr = ValidateRegion(req.Region)
	}
	return joinProblems(ValidateFamily(req.Family), profileErr, regionErr, validateConnection(req))
}

// joinProblems joins the problems found (nil ones left out): nil when there
// are none, the problem itself when there is one (so that a single refusal
// is the *ValidationError itself), else errors.Join of all, the first one's
// text first.
func joinProblems(errs ...error) error {
	var kept []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			kept = append(kept, j.Unwrap()...)
			continue
		}
		kept = append(kept, err)
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return errors.Join(kept...)
}

// Problems splits an error of the offline checks into its problems (each a
// *ValidationError, as Validate joined them), in order; any other error,
// several failures of a lookup joined among them, is its only problem.
// Packer lists each as a diagnostic; the CLI and the action, whose
// refusals are one line, print the first (Names.FirstRefusal).
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts := j.Unwrap()
		if !slices.ContainsFunc(parts, func(p error) bool { return !errors.Is(p, ErrInvalidInput) }) {
			return parts
		}
	}
	return []error{err}
}

// validateConnection is validateSettings and the ECS endpoint from the
// environment, when no setting gives one: checked here rather than in
// validateSettings, which fronts also call with a single setting filled in.
// Every call to ECS (lookups, promote, rollback) is validated with it.
func validateConnection(req Request) error {
	var envErr error
	if req.Endpoint == "" { // a set endpoint is validateSettings's
		_, envErr = ecsEndpoint(req, req.Credentials.Getenv)
	}
	return joinProblems(validateSettings(req), envErr)
}

// ValidateSettings checks everything but the region and family, for fronts
// whose region or family is not known yet (Packer placeholders). It reads
// no environment: ALIBABA_CLOUD_ECS_ENDPOINT is checked by Validate, which
// every lookup calls before it sends anything.
func ValidateSettings(req Request) error { return validateSettings(req) }

// validateSettings: the settings, in the order of the table, every problem.
func validateSettings(req Request) error {
	_, endpointErr := parseEndpoint("endpoint", req.Endpoint)
	return joinProblems(
		endpointErr,
		validateTimeout(req.Timeout),
		validateRetry(req.Retry),
		req.Guards.validate(),
		validateWait(req.Wait, req.NewerThan),
		validateCredentials(req.Credentials),
	)
}

// validateRegions checks the request of ResolveRegions in each region.
func validateRegions(req Request, regions []string) error {
	if len(regions) == 0 {
		return &ValidationError{Field: "region", Value: "", Rule: "at least one region is required"}
	}
	for _, r := range regions {
		one := req
		one.Region = r
		if err := Validate(one); err != nil {
			return err
		}
	}
	return nil
}

// RegionId (Request.Region).

// Region ids are lower-case words joined by hyphens, such as cn-hangzhou,
// ap-southeast-1 or cn-shanghai-finance-1.
var regionPattern = lazy(`^[a-z]{2,}(-[a-z0-9]+){1,5}$`)

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

// ParseRegions splits a region list as users write it: separated by commas,
// newlines or white space, blanks dropped, duplicates removed (first kept),
// each validated.
func ParseRegions(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	var out []string
	seen := map[string]bool{}
	for _, f := range fields {
		if err := ValidateRegion(f); err != nil {
			return nil, err
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, &ValidationError{Field: "region", Value: s, Rule: "at least one region is required, such as cn-hangzhou"}
	}
	return out, nil
}

// ImageFamily (Request.Family).

// Family name rules, from the DescribeImageFromFamily API document: 2 to 128
// characters; letters, digits, ':', '_' and '-'; starts with a letter; must
// not start with "http://", "https://", "acs:" or "aliyun".
var familyChars = lazy(`^[A-Za-z0-9:_-]*$`)

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
	sharedFamily     = lazy(`^acs:(?:([0-9]{1,20}):)?([A-Za-z0-9][A-Za-z0-9._-]{1,127})$`)
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

// The endpoint (Request.Endpoint, like Credentials.STSEndpoint and
// MetadataEndpoint): parseEndpoint, in endpoint.go with the rest of
// endpoint handling; ecsEndpoint there adds ALIBABA_CLOUD_ECS_ENDPOINT when
// no endpoint is set (Validate checks it).

// The timeout (Request.Timeout; the fronts read it with ParseDuration).

// Ranges of the durations a user sets. A lookup that needs more than an hour
// is stuck, not slow; a timeout under 100ms cannot complete a TLS handshake.
const (
	MinTimeout = 100 * time.Millisecond
	MaxTimeout = time.Hour
)

// ParseDuration reads a duration as every front accepts it: a Go duration
// ("90s", "2m", "1h30m") or a whole number of seconds ("90"). It refuses, as
// a *ValidationError naming field, anything outside [least, most], including
// numbers so large that they would overflow (18446744074 seconds is refused,
// not wrapped to a fraction of a second).
func ParseDuration(field, value string, least, most time.Duration) (time.Duration, error) {
	bad := func(rule string) (time.Duration, error) {
		return 0, &ValidationError{Field: field, Value: value, Rule: rule}
	}
	rangeRule := fmt.Sprintf("it must be between %s and %s", least, most)
	v := strings.TrimSpace(value)
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || isOverflow(err) {
		if err != nil || n > int64(most/time.Second) || n < 0 {
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
	if d < least || d > most {
		return bad(rangeRule)
	}
	return d, nil
}

var durationSyntax = lazy(`^([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)

func isOverflow(err error) bool {
	var ne *strconv.NumError
	return errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange)
}

func validateTimeout(d time.Duration) error {
	switch {
	case d < 0:
		return &ValidationError{Field: "timeout", Value: d.String(), Rule: "it must be positive"}
	case d > 0 && d < MinTimeout:
		return &ValidationError{Field: "timeout", Value: d.String(), Rule: "it must be at least 100ms (a unit is probably missing, such as 30s)"}
	case d > MaxTimeout:
		return &ValidationError{Field: "timeout", Value: d.String(), Rule: fmt.Sprintf("it must be at most %s", MaxTimeout)}
	}
	return nil
}

// Retries (Request.Retry).

// MaxAttempts is the most attempts RetryPolicy.MaxAttempts may ask for: a
// typo such as 1000 must not turn an outage into an hour of retries. Every
// front counts attempts (--max-attempts, max-attempts, max_attempts); the
// data source's deprecated max_retries counts retries, one less.
const MaxAttempts = maxAttemptsLimit

// DefaultMaxAttempts is the attempt budget when none is set, on every front
// (the CLI's --max-attempts, the action's max-attempts, the data source's
// max_attempts).
const DefaultMaxAttempts = defaultMaxAttempts

// ParseMaxAttempts reads a number of attempts as the fronts that take it as
// text accept it (the CLI's --max-attempts, the action's max-attempts): a
// whole number, the rule of ValidateMaxAttempts. It returns a
// *ValidationError naming field.
func ParseMaxAttempts(field, value string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil {
		return 0, maxAttemptsError(field, value)
	}
	return n, ValidateMaxAttempts(field, n)
}

// ValidateMaxAttempts is the rule of a number of attempts a user sets, the
// same on every front: 1 (no retries) to MaxAttempts. (RetryPolicy also
// takes 0, "the default", which no front offers: an attempt budget of 0
// written out is a mistake.)
func ValidateMaxAttempts(field string, n int) error {
	if n < 1 || n > MaxAttempts {
		return maxAttemptsError(field, strconv.Itoa(n))
	}
	return nil
}

func maxAttemptsError(field, value string) error {
	return &ValidationError{Field: field, Value: value,
		Rule: fmt.Sprintf("it must be a whole number from 1 (no retries) to %d", MaxAttempts)}
}

func validateRetry(p RetryPolicy) error {
	if p.MaxAttempts < 0 || p.MaxAttempts > MaxAttempts {
		return &ValidationError{Field: "max attempts", Value: fmt.Sprint(p.MaxAttempts), Rule: fmt.Sprintf("it must be between 1 and %d (0 means the default, %d)", MaxAttempts, defaultMaxAttempts)}
	}
	return nil
}

// The guards (Request.Guards; the fronts read the age with ParseMaxAge).

// validate checks the guards offline, every problem.
func (g Guards) validate() error {
	var errs []error
	if g.Architecture != "" && !containsFold(Architectures, g.Architecture) {
		errs = append(errs, &ValidationError{Field: "architecture", Value: g.Architecture, Rule: "it must be one the API reports: " + strings.Join(Architectures, ", ")})
	}
	if g.OSType != "" && !containsFold(OSTypes, g.OSType) {
		errs = append(errs, &ValidationError{Field: "os type", Value: g.OSType, Rule: "it must be one the API reports: " + strings.Join(OSTypes, ", ")})
	}
	if g.MaxAge < 0 {
		errs = append(errs, &ValidationError{Field: "max age", Value: g.MaxAge.String(), Rule: "it must be positive"})
	}
	return joinProblems(append(errs, validateOwners(g.Owners))...)
}

// maxAgeDays is the most days a time.Duration holds (about 292 years).
const maxAgeDays = int(math.MaxInt64 / int64(24*time.Hour))

// ParseMaxAge reads a maximum image age as every front accepts it: a Go
// duration ("720h") or a whole number of days ("30d"), which Go durations
// cannot express. It returns a *ValidationError naming field.
func ParseMaxAge(field, s string) (time.Duration, error) {
	bad := func(rule string) (time.Duration, error) {
		return 0, &ValidationError{Field: field, Value: s, Rule: rule}
	}
	var age time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return bad(`write a duration such as "720h" or a number of days such as "30d"`)
		}
		if n > maxAgeDays {
			return bad(fmt.Sprintf("it must be at most %dd", maxAgeDays))
		}
		age = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if age, err = time.ParseDuration(s); err != nil {
			return bad(`write a duration such as "720h" or a number of days such as "30d"`)
		}
	}
	if age <= 0 {
		return bad("it must be positive")
	}
	return age, nil
}

// The wait (Request.Wait, Request.NewerThan).

// MaxWait bounds Request.Wait: an image build that takes longer is stuck.
const MaxWait = 6 * time.Hour

func validateWait(wait time.Duration, newerThan string) error {
	var waitErr, newerErr error
	if wait < 0 || wait > MaxWait {
		waitErr = &ValidationError{Field: "wait", Value: wait.String(), Rule: fmt.Sprintf("it must be between 0 (no waiting) and %s", MaxWait)}
	}
	switch {
	case newerThan == "":
	case !imageIDPattern.MatchString(newerThan):
		newerErr = &ValidationError{Field: "newer than", Value: newerThan, Rule: "it must be an image id, such as m-bp1g7004ksh0oeuc0001"}
	case wait == 0:
		newerErr = &ValidationError{Field: "newer than", Value: newerThan, Rule: "it only has a meaning with {wait} (how long to wait for an image newer than it): set {wait} too"}
	}
	return joinProblems(waitErr, newerErr)
}

// Image ids a user writes (the expected ids of a drift check) have one of
// the two shapes image ids have: a custom image's (also a shared or
// Marketplace one) is "m-" and lower-case letters and digits, about 20 in
// practice (m-bp1g7004ksh0oeuc0001); a public image's is its name:
// lower-case OS words, then underscore-separated parts, ending in the disk
// format (aliyun_3_x64_20G_alibase_20240819.vhd,
// win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd). Anything else, an
// image family's name above all (web-base, pasted into the wrong field), is
// refused: compared with the resolved id it would only ever read as a
// change. Answers are checked with the looser imageIDPattern (answer.go).
var (
	customImageIDPattern = bounded(`^m-[0-9a-z]+$`, 10, 32)
	publicImageIDPattern = lazy(`^[a-z][a-z0-9]*(_[A-Za-z0-9-]+)+\.(vhd|raw|qcow2)$`)
)

// imageIDRule says what ValidateImageID accepts.
const imageIDRule = "a custom image's id is m- and 8 to 30 lower-case letters or digits (such as m-bp1g7004ksh0oeuc0001); " +
	"a public image's is its underscore-separated name ending in .vhd (such as aliyun_3_x64_20G_alibase_20240819.vhd); " +
	"an image family's name is not an image id"

// isImageID reports whether id has the shape of an image id (imageIDRule).
func isImageID(id string) bool {
	return len(id) <= 128 && (customImageIDPattern.MatchString(id) || publicImageIDPattern.MatchString(id))
}

// ValidateImageID checks that id has the shape of an image id (custom
// m-bp1g7004ksh0oeuc0001 or public aliyun_3_x64_20G_alibase_20240819.vhd;
// imageIDRule), for the expected ids of a drift check.
func ValidateImageID(field, id string) error {
	if !isImageID(id) {
		return &ValidationError{Field: field, Value: id, Rule: "it is not an image id: " + imageIDRule}
	}
	return nil
}
