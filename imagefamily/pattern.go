package imagefamily

import (
	"math"
	"regexp"
	"sync"
)

// pattern is a regexp compiled on first use, optionally with a length bound.
// Compiled at package init, the core's patterns cost every program that
// imports it (the CLI's version and help, the Packer plugin's describe) what
// only the paths that match them need.
//
// The bound replaces a counted repetition ({1,128}) for an ASCII alphabet:
// such a regexp compiles to one instruction per count, about 1,700
// allocations for {1,128}, where + and a length check cost 40.
type pattern struct {
	compiled    func() *regexp.Regexp
	least, most int // length in bytes, which is in characters for an ASCII alphabet
}

// patterns lists every pattern, so a test compiles them all.
var patterns []pattern

func lazy(expr string) pattern { return bounded(expr, 0, math.MaxInt) }

func bounded(expr string, least, most int) pattern {
	p := pattern{compiled: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) }), least: least, most: most}
	patterns = append(patterns, p)
	return p
}

func (p pattern) MatchString(s string) bool {
	return len(s) >= p.least && len(s) <= p.most && p.compiled().MatchString(s)
}

func (p pattern) FindStringSubmatch(s string) []string {
	if len(s) < p.least || len(s) > p.most {
		return nil
	}
	return p.compiled().FindStringSubmatch(s)
}
