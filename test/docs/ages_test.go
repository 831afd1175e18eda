package docs

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// TestAgesAreWrittenAsTheToolWritesThem: an image age the docs quote from a
// max-age guard's message ("expected an image at most 30d old, found one
// 41d3h old") is written as the tool writes it (imagefamily.FormatAge):
// whole days alone as "30d", never "30d0h".
func TestAgesAreWrittenAsTheToolWritesThem(t *testing.T) {
	// Paragraphs as one line each, so a quoted message may wrap.
	age := regexp.MustCompile("(?:at most|found one) `?([0-9][^\\s`]*)`? old")
	dayHours := regexp.MustCompile(`^(\d+)d(?:(\d+)h)?$`)
	n := 0
	for _, f := range files(t, []string{"README.md", "docs", ".web-docs"}, ".md", ".mdx") {
		flat := regexp.MustCompile(`\n[ \t]*`).ReplaceAllString(readFile(t, f), " ")
		for _, m := range age.FindAllStringSubmatch(flat, -1) {
			n++
			text := strings.Trim(m[1], "`*")
			var d time.Duration
			if dh := dayHours.FindStringSubmatch(text); dh != nil {
				days, _ := strconv.Atoi(dh[1])
				hours, _ := strconv.Atoi(dh[2]) // "" is 0
				d = time.Duration(days)*24*time.Hour + time.Duration(hours)*time.Hour
			} else {
				var err error
				if d, err = time.ParseDuration(text); err != nil {
					t.Errorf("%s: %q: not an age the tool writes", f, m[0])
					continue
				}
			}
			if got := imagefamily.FormatAge(d); got != text {
				t.Errorf("%s: %q: the tool writes this age %q", f, m[0], got)
			}
		}
	}
	if n == 0 {
		t.Fatal(`no "at most ... old" found in the docs: the search is broken`)
	}
}
