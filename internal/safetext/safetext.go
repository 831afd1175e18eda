// Package safetext makes text that came from the network safe for the place
// it is printed. Every server-provided string (an API error message, an image
// name, a redirect target) passes through here before a human sees it:
// terminals must not receive control characters or escape sequences, GitHub
// runners must not see a line that starts a workflow command, and Markdown
// must not gain HTML or table structure. Machine outputs (JSON, step outputs,
// HCL values) never pass through here: they stay exact.
package safetext

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s with every byte or rune that could move a cursor,
// change colours, set a window title, end a line or reorder text (C0 and C1
// controls, DEL, ESC, Unicode format characters such as bidi overrides,
// invalid UTF-8) written as a visible Go-style escape (\n, \x1b, \u202e).
// Printable text, spaces included, is unchanged; so is a string that needs
// no escaping (no allocation).
func Terminal(s string) string {
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

// Excerpt is Terminal of at most max bytes of s (cut on a rune boundary),
// followed by a note of how much was left out. Error messages quote servers
// through it, so a 64 MiB error page becomes one bounded line.
func Excerpt(s string, max int) string {
	if max <= 0 {
		max = 1
	}
	if len(s) <= max {
		return Terminal(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return Terminal(s[:cut]) + fmt.Sprintf("...(%d more bytes)", len(s)-cut)
}

// Quote is Excerpt in double quotes, for naming an offending value.
func Quote(s string, max int) string { return `"` + Excerpt(s, max) + `"` }

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

// IsClean reports whether s needs no terminal escaping: valid UTF-8 with no
// control or format characters.
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
