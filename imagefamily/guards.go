package imagefamily

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Guards refuse a resolved image that is not what the pipeline expects: the
// family moved to another architecture or OS, or its newest image is stale
// (the image pipeline stopped publishing). They turn "the base moved under
// you" into a failed step instead of a build on the wrong base. Every front
// offers them under the same names: --architecture/--os-type/--max-age/--owners,
// architecture/os-type/max-age/owners, architecture/os_type/max_age/owners.
type Guards struct {
	Architecture string        // "" accepts any; else one of Architectures (case-insensitive)
	OSType       string        // "" accepts any; else one of OSTypes (case-insensitive)
	MaxAge       time.Duration // 0 accepts any age
	// Owners: an image is accepted when one of them owns it: an owner
	// alias (OwnerAliases: ImageOwnerAlias equal, case-insensitive) or an
	// account id (ImageOwnerId equal). Empty accepts any owner, as every
	// lookup always did (Packer's amazon-ami requires owners; here it is
	// opt-in, so that no existing pipeline breaks). Fronts read it with
	// ParseOwners.
	Owners []string
	// Now is the clock for MaxAge; nil means time.Now. Tests inject one.
	Now func() time.Time
}

// Architectures, OSTypes and OwnerAliases are the values
// DescribeImageFromFamily reports (Architecture, OSType, ImageOwnerAlias).
var (
	Architectures = []string{"x86_64", "arm64", "i386"}
	OSTypes       = []string{"linux", "windows"}
	OwnerAliases  = []string{"self", "system", "others", "marketplace"}
)

// ErrGuard: the image was resolved but a guard refused it.
var ErrGuard = errors.New("image refused by a guard")

// GuardError names the guard, what was expected, what was found, and the
// image (id, name, creation time). Every server value in its message is
// bounded (safetext.Excerpt).
type GuardError struct {
	Guard     string // "architecture", "os type", "max age" or "owners"
	Expected  string
	Found     string
	Image     Image
	Region    string
	Family    string
	RequestID string
}

// Error quotes and bounds what the server said; the region passed Validate,
// and the sink that prints the message escapes it for its syntax.
func (e *GuardError) Error() string {
	msg := fmt.Sprintf("image family %s in region %s resolved to %s (%s, created %s)",
		safetext.Quote(e.Family, 160), e.Region, safetext.Excerpt(e.Image.ImageID, 160),
		safetext.Excerpt(e.Image.ImageName, 160), safetext.Excerpt(e.Image.CreationTime, 64))
	if e.RequestID != "" {
		msg += " [RequestId " + safetext.Excerpt(e.RequestID, 80) + "]"
	}
	return msg + fmt.Sprintf(", which fails the %s guard: expected %s, found %s", e.Guard, e.Expected, safetext.Excerpt(e.Found, maxLabelBytes))
}

func (e *GuardError) Is(target error) bool { return target == ErrGuard }

// active reports whether any guard is set.
func (g Guards) active() bool {
	return g.Architecture != "" || g.OSType != "" || g.MaxAge != 0 || len(g.Owners) > 0
}

// Check applies the guards to a resolved image.
func (g Guards) Check(img Image, region, family string) error {
	fail := func(guard, expected, found string) error {
		return &GuardError{Guard: guard, Expected: expected, Found: found, Image: img, Region: region, Family: family, RequestID: img.RequestID}
	}
	// The owner first: an image of someone else is the refusal that
	// matters, whatever else it fails.
	if len(g.Owners) > 0 && !ownedByOneOf(img, g.Owners) {
		return fail("owners", "an image owned by one of "+strings.Join(g.Owners, ", "), ownerFound(img))
	}
	if g.Architecture != "" && !strings.EqualFold(img.Architecture, g.Architecture) {
		return fail("architecture", strconv.Quote(g.Architecture), quoteOrNone(img.Architecture))
	}
	if g.OSType != "" && !strings.EqualFold(img.OSType, g.OSType) {
		return fail("os type", strconv.Quote(g.OSType), quoteOrNone(img.OSType))
	}
	if g.MaxAge > 0 {
		created, ok := parseAPITime(img.CreationTime)
		if !ok {
			return fail("max age", "a creation time no older than "+FormatAge(g.MaxAge), "creation time "+quoteOrNone(img.CreationTime)+" that cannot be read")
		}
		now := time.Now
		if g.Now != nil {
			now = g.Now
		}
		if age := now().Sub(created); age > g.MaxAge {
			return fail("max age", "an image at most "+FormatAge(g.MaxAge)+" old", "one "+FormatAge(age)+" old")
		}
	}
	return nil
}

// ownedByOneOf: an alias matches ImageOwnerAlias, an account id
// ImageOwnerId (owners are valid: Guards.validate).
func ownedByOneOf(img Image, owners []string) bool {
	for _, o := range owners {
		if containsFold(OwnerAliases, o) {
			if strings.EqualFold(img.ImageOwnerAlias, o) {
				return true
			}
		} else if id, err := strconv.ParseInt(o, 10, 64); err == nil && id == img.ImageOwnerID {
			return true
		}
	}
	return false
}

// ownerFound describes the owner an answer gives, for a refusal.
func ownerFound(img Image) string {
	id := "none (the API left it empty)"
	if img.ImageOwnerID != 0 {
		id = strconv.FormatInt(img.ImageOwnerID, 10)
	}
	return "ImageOwnerAlias " + quoteOrNone(img.ImageOwnerAlias) + ", ImageOwnerId " + id
}

// ParseOwners reads an owners list as the fronts take it in one string
// (the CLI's --owners, the action's owners): separated by commas, newlines
// or white space, blanks dropped, duplicates removed (first kept), each one
// an owner alias or an account id. A refusal is a *ValidationError of the
// setting "owners" for each bad owner, joined (a front names it with
// Names.Refusal).
func ParseOwners(s string) ([]string, error) {
	var out []string
	for _, o := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if err := validateOwners(out); err != nil {
		return nil, err
	}
	if len(out) == 0 && strings.TrimSpace(s) != "" {
		return nil, &ValidationError{Field: "owners", Value: s, Rule: ownersRule}
	}
	return out, nil
}

// ownersRule says what an owner may be.
const ownersRule = "an owner is self, system, others or marketplace (the API's ImageOwnerAlias) or an Alibaba Cloud account id, digits (the API's ImageOwnerId)"

// validateOwners checks each owner: an alias the API reports, or an
// account id (1 to 19 digits, not 0, within an int64: ImageOwnerId's type).
func validateOwners(owners []string) error {
	var errs []error
	for _, o := range owners {
		if containsFold(OwnerAliases, o) {
			continue
		}
		if id, err := strconv.ParseInt(o, 10, 64); err == nil && id > 0 && strings.Trim(o, "0123456789") == "" {
			continue
		}
		errs = append(errs, &ValidationError{Field: "owners", Value: o, Rule: ownersRule})
	}
	return joinProblems(errs...)
}

func containsFold(set []string, v string) bool {
	return slices.ContainsFunc(set, func(s string) bool { return strings.EqualFold(s, v) })
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none (the API left it empty)"
	}
	return safetext.Quote(s, 160)
}

// FormatAge prints an age in days and hours, the unit people count image
// ages in.
func FormatAge(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	if days == 0 {
		return d.Truncate(time.Second).String()
	}
	if hours := int((d - time.Duration(days)*24*time.Hour) / time.Hour); hours != 0 {
		return fmt.Sprintf("%dd%dh", days, hours)
	}
	return fmt.Sprintf("%dd", days)
}
