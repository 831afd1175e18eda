package imagefamily

import (
	"regexp"
	"strings"
	"testing"
)

// Each bounded pattern accepts exactly what its counted regexp does.
func TestBoundedPatternsMatchTheirCountedRegexps(t *testing.T) {
	for _, c := range []struct {
		p       pattern
		counted string
	}{
		{imageIDPattern, `^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$`},
		{requestIDPattern, `^[A-Za-z0-9._-]{1,128}$`},
		{sessionNamePattern, `^[A-Za-z0-9._@-]{2,64}$`},
		{ecsRoleNamePattern, `^[A-Za-z0-9._-]{1,64}$`},
		{customImageIDPattern, `^m-[0-9a-z]{8,30}$`},
	} {
		re := regexp.MustCompile(c.counted)
		for _, fill := range []string{"a", "9", "_", "@", "A", "é", " ", "\n"} {
			for _, head := range []string{"", "m-", "-", "a", "é"} {
				for n := 0; n <= 140; n++ {
					s := head + strings.Repeat(fill, n)
					if got, want := c.p.MatchString(s), re.MatchString(s); got != want {
						t.Errorf("%s: %q (%d bytes): bounded %v, counted %v", c.counted, s, len(s), got, want)
					}
				}
			}
		}
	}
}

// Patterns compile on first use; every one must compile.
func TestEveryPatternCompiles(t *testing.T) {
	if len(patterns) < 10 {
		t.Fatalf("%d patterns registered; the package declares more", len(patterns))
	}
	for _, p := range patterns {
		p.compiled()
	}
}
