package imagefamily

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	core "github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The guards are Packer-only: they turn "the family moved under you" into a
// failed build instead of an image built on the wrong base.

// GuardError is a resolved image that failed architecture, os_type or
// max_age. It names what was expected and what was found.
type GuardError struct {
	Attr      string // the guard attribute
	Expected  string
	Found     string
	Image     core.Image
	Region    string
	Family    string
	RequestID string // of the DescribeImageFromFamily answer, when known
}

// Error names the image by what the server said about it; every such value
// passes through safetext, so the diagnostic stays one printable line
// whatever the answer held.
func (e *GuardError) Error() string {
	msg := fmt.Sprintf("image family %s in region %s resolved to %s (%s, created %s)",
		safetext.Quote(e.Family, 160), safetext.Terminal(e.Region), safetext.Excerpt(e.Image.ImageID, 160),
		safetext.Excerpt(e.Image.ImageName, 160), safetext.Excerpt(e.Image.CreationTime, 64))
	if e.RequestID != "" {
		msg += " [RequestId " + safetext.Excerpt(e.RequestID, 80) + "]"
	}
	return msg + fmt.Sprintf(", which fails %s: expected %s, found %s", e.Attr, e.Expected, safetext.Terminal(e.Found))
}

func (d *Datasource) checkGuards(img core.Image, requestID string) error {
	c := d.config
	fail := func(attr, expected, found string) error {
		return &GuardError{Attr: attr, Expected: expected, Found: found, Image: img,
			Region: d.req.Region, Family: d.req.Family, RequestID: requestID}
	}
	if c.Architecture != "" && !strings.EqualFold(img.Architecture, c.Architecture) {
		return fail("architecture", strconv.Quote(c.Architecture), quoteOrNone(img.Architecture))
	}
	if c.OSType != "" && !strings.EqualFold(img.OSType, c.OSType) {
		return fail("os_type", strconv.Quote(c.OSType), quoteOrNone(img.OSType))
	}
	if d.maxAge > 0 {
		created, err := parseCreationTime(img.CreationTime)
		if err != nil {
			return fail("max_age", "a creation time no older than "+c.MaxAge, "creation time "+quoteOrNone(img.CreationTime)+" that cannot be read")
		}
		now := time.Now
		if d.now != nil {
			now = d.now
		}
		if age := now().Sub(created); age > d.maxAge {
			return fail("max_age", "an image at most "+c.MaxAge+" old", "one "+formatAge(age)+" old")
		}
	}
	return nil
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// quoteOrNone names a value the API gave, escaped and bounded.
func quoteOrNone(s string) string {
	if s == "" {
		return "none (the API left it empty)"
	}
	return safetext.Quote(s, 160)
}

// maxAgeDays is the most days a time.Duration holds (about 292 years);
// more would overflow into a negative or arbitrary age.
const maxAgeDays = int(math.MaxInt64 / int64(24*time.Hour))

// parseAge reads a Go duration or a whole number of days ("30d"): image
// ages are naturally counted in days, which Go durations cannot express.
func parseAge(s string) (time.Duration, error) {
	var age time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, errors.New(`write a duration such as "720h" or a number of days such as "30d"`)
		}
		if n > maxAgeDays {
			return 0, fmt.Errorf("it must be at most %dd", maxAgeDays)
		}
		age = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		age, err = time.ParseDuration(s)
		if err != nil {
			return 0, errors.New(`write a duration such as "720h" or a number of days such as "30d"`)
		}
	}
	if age <= 0 {
		return 0, errors.New("it must be positive")
	}
	return age, nil
}

// formatAge prints an age in days and hours, the unit people think of image
// ages in.
func formatAge(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	if days == 0 {
		return d.Truncate(time.Second).String()
	}
	return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
}

// creationLayouts are the forms ECS writes CreationTime in: RFC 3339 with
// seconds, and the minute-precision form some regions return.
var creationLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04Z"}

func parseCreationTime(s string) (time.Time, error) {
	var err error
	for _, layout := range creationLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
