// Package safetext makes text that came from the network safe for the place
// it is printed. Every server-provided string (an API error message, an image
// name, a redirect target) passes through here before a human sees it:
// terminals must not receive control characters or escape sequences, GitHub
// runners must not see a workflow command, and Markdown must not gain HTML
// or table structure. Machine outputs (JSON, step outputs, HCL values) never
// pass through here: they stay exact.
//
// A GitHub runner reads every line of a step's stdout and stderr for two
// command syntaxes: "::cmd::data" at the start of a line (after leading white
// space is trimmed), and the legacy "##[cmd]data" anywhere in a line. Text
// escaped by Terminal holds no line break, so it can start a line only where
// the caller puts it; and it holds no "##[": every one is written "##\[".
// NoLegacyCommands does the same to a stream, for sinks a runner reads
// (where a server string ending in "##" could meet a "[" of our own).
package safetext

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// legacyPrefix starts a GitHub runner's legacy workflow command
// (actions/runner ActionCommand.TryParse looks for it anywhere in a line);
// legacyEscaped is how Terminal and NoLegacyCommands write it.
const (
	legacyPrefix  = "##["
	legacyEscaped = `##\[`
)

// Terminal returns s with every byte or rune that could move a cursor,
// change colours, set a window title, end a line or reorder text (C0 and C1
// controls, DEL, ESC, Unicode format characters such as bidi overrides,
// invalid UTF-8) written as a visible Go-style escape (\n, \x1b, \u202e).
// Printable text, spaces included, is unchanged but for one sequence: every
// "##[", the prefix of a GitHub runner's legacy workflow command, is written
// "##\[" (the replacement cannot form a new one). A string that needs
// neither is returned as it is (no allocation).
func Terminal(s string) string {
	return noLegacy(Printable(s))
}

// Printable is Terminal without the "##[" rewrite: control and format
// characters and invalid UTF-8 written as visible escapes, everything else
// unchanged. It is for machine-read text that must keep every printable
// character, such as the CLI's --output text columns; text a person reads in
// a step log goes through Terminal.
func Printable(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case safeRune(r):
			b.WriteString(s[i : i+size])
		default:
			b.WriteString(escapeRune(r))
		}
		i += size
	}
	return b.String()
}

// Excerpt is Terminal of at most limit bytes of s (cut on a rune boundary),
// followed by a note of how much was left out. Error messages quote servers
// through it, so a 64 MiB error page becomes one bounded line. A cut inside a
// "##[" cannot leave one: the kept part is escaped whole, and the note that
// follows starts with ".".
func Excerpt(s string, limit int) string {
	if limit <= 0 {
		limit = 1
	}
	if len(s) <= limit {
		return Terminal(s)
	}
	cut := runeCut(s, limit)
	return Terminal(s[:cut]) + fmt.Sprintf("...(%d more bytes)", len(s)-cut)
}

// Cut is at most limit bytes of s, cut on a rune boundary, with "..." when
// something was left out; unescaped, for text a sink escapes after the cut.
func Cut(s string, limit int) string {
	if limit <= 0 {
		limit = 1
	}
	if len(s) <= limit {
		return s
	}
	return s[:runeCut(s, limit)] + "..."
}

// runeCut is the largest rune boundary of s at or below limit (< len(s)).
func runeCut(s string, limit int) int {
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}

// Quote is Excerpt in double quotes, for naming an offending value.
func Quote(s string, limit int) string { return `"` + Excerpt(s, limit) + `"` }

// Markdown makes s safe inside a Markdown table cell of a GitHub job summary
// (which also renders HTML): no line or column breaks, no HTML, no links or
// images (also none of GFM's autolinks), no code-span breakout, and no
// control characters. Emphasis
// characters (* and _) are left alone: they only change how text looks, and
// escaping them would make ids such as x86_64 read x86\_64 in the source.
func Markdown(s string) string {
	r := strings.NewReplacer(
		"|", `\|`, "`", "'",
		"&", "&amp;", "<", "&lt;", ">", "&gt;",
		"[", `\[`, "]", `\]`, "\\", `\\`,
		// GFM turns bare https://x and a@b.c into links; escaping the
		// punctuation keeps them text (www. below).
		"://", `\://`, "@", `\@`,
	)
	return wwwLink.ReplaceAllString(r.Replace(Terminal(s)), `$1\.`)
}

// wwwLink is GFM's extended www autolink trigger.
var wwwLink = regexp.MustCompile(`(?i)\b(www)\.`)

// noLegacy writes every "##[" in s as "##\["; s without one is returned as it
// is. No "##[" is left: every "[" that followed "##" now follows a
// backslash, and the two bytes before any other "[" are unchanged.
func noLegacy(s string) string {
	if !strings.Contains(s, legacyPrefix) {
		return s
	}
	return strings.ReplaceAll(s, legacyPrefix, legacyEscaped)
}

// IsClean reports whether s is printable on one line: valid UTF-8 with no
// control or format characters, which is what Printable leaves unchanged.
// The trust boundary checks labels with it. It does not look for "##[":
// that is printable text an image name may hold, and only its rendering
// (Terminal) changes it.
func IsClean(s string) bool { return isClean(s) }

func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			// Slow path for non-ASCII: decode the rest.
			for _, r := range s[i:] {
				if r == utf8.RuneError || !safeRune(r) {
					return false
				}
			}
			// RuneError from a literal U+FFFD is fine, but we cannot tell it
			// from invalid bytes cheaply: let utf8.ValidString decide.
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// safeRune: printable characters and the plain space. unicode.IsPrint is
// false for controls (Cc), format characters (Cf: bidi overrides, zero-width
// joiners), unassigned code points, and every space but U+0020.
func safeRune(r rune) bool {
	return r != utf8.RuneError && unicode.IsPrint(r)
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x100 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	if r > 0xffff {
		return fmt.Sprintf(`\U%08x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// NoLegacyCommands returns a writer that passes everything on to w with
// every "##[" written "##\[", also when the "##" and the "[" arrive in
// different Writes: a GitHub runner looks for that prefix anywhere in a line
// of a step's output, so it must not form where a server string that ends in
// "##" meets a "[" of our own. Everything else, line breaks and "::"
// commands included, passes unchanged, one Write for each Write. The writer
// is not safe for concurrent use (serialise Writes, as syncio.Writer does).
func NoLegacyCommands(w io.Writer) io.Writer { return &legacyWriter{w: w} }

type legacyWriter struct {
	w io.Writer
	// hashes is how many "#" the stream has just written, at most 2.
	hashes int
}

func (l *legacyWriter) Write(p []byte) (int, error) {
	var out []byte // nil until a "[" needs its backslash
	var inserted []int
	last := 0
	hashes := l.hashes
	for i, c := range p {
		switch {
		case c == '#':
			hashes = min(hashes+1, 2)
			continue
		case c == '[' && hashes == 2:
			out = append(out, p[last:i]...)
			inserted = append(inserted, len(out))
			out = append(out, '\\')
			last = i
		}
		hashes = 0
	}
	l.hashes = hashes
	if out == nil {
		return l.w.Write(p)
	}
	out = append(out, p[last:]...)
	n, err := l.w.Write(out)
	if err == nil && n == len(out) {
		return len(p), nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	// Of the n bytes written, those of p: all but the backslashes added.
	for _, at := range inserted {
		if at < n {
			n--
		}
	}
	return n, err
}
