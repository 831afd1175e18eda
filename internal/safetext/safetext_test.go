package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerminal(t *testing.T) {
	cases := map[string]string{
		"m-bp1g7004ksh0oeuc0001":   "m-bp1g7004ksh0oeuc0001",
		"中文 ok":                    "中文 ok",
		"a\nb":                     `a\nb`,
		"a\r\n::warning::x":        `a\r\n::warning::x`,
		"\x1b[2J\x1b]0;t\x07":      `\x1b[2J\x1b]0;t\x07`,
		"tab\there":                `tab\there`,
		"del\x7f":                  `del\x7f`,
		"c1\u009b31m":              `c1\x9b31m`,
		"bidi\u202eevil":           `bidi\u202eevil`,
		"zero\u200bwidth":          `zero\u200bwidth`,
		"bad\xffutf8":              `bad\xffutf8`,
		"nbsp\u00a0":               `nbsp\xa0`,
		"line\u2028sep":            `line\u2028sep`,
		string([]byte{0xf0, 0x9f}): `\xf0\x9f`,
		"emoji 😀":                  "emoji 😀",
		"":                         "",
	}
	for in, want := range cases {
		if got := Terminal(in); got != want {
			t.Errorf("Terminal(%q) = %q, want %q", in, got, want)
		}
		if !IsClean(Terminal(in)) {
			t.Errorf("Terminal(%q) is not clean", in)
		}
	}
}

func TestExcerptBounds(t *testing.T) {
	long := strings.Repeat("é", 10000) + "\x1b"
	got := Excerpt(long, 100)
	if len(got) > 140 || !strings.HasSuffix(got, "more bytes)") || !utf8.ValidString(got) {
		t.Fatalf("Excerpt = %q", got)
	}
	if Excerpt("short\n", 100) != `short\n` {
		t.Fatal("a short text must be escaped whole")
	}
}

func TestMarkdown(t *testing.T) {
	got := Markdown("a|b`c<script>&\n[x](javascript:y)*_\\")
	for _, bad := range []string{"|b", "`", "<", "\n", "[x]"} {
		if strings.Contains(got, bad) && !strings.Contains(got, `\`+bad[:1]) {
			t.Errorf("Markdown left %q in %q", bad, got)
		}
	}
	if strings.ContainsAny(got, "<>\n\r`") {
		t.Errorf("Markdown = %q", got)
	}
	// GFM autolinks need an unescaped "www.", "://" or "@".
	for _, in := range []string{"www.evil-login.example/reset", "https://evil.example", "admin@evil.example"} {
		got := Markdown(in)
		if bare := strings.ReplaceAll(got, `\://`, ""); strings.Contains(got, "www.") || strings.Contains(bare, "://") || strings.Contains(got, "n@e") {
			t.Errorf("Markdown(%q) = %q keeps an autolink", in, got)
		}
	}
}

// FuzzTerminal: whatever the input, the output is valid UTF-8 with no
// control or format character, and clean input is unchanged.
func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b[31m", "a\nb", "\u202e", "\xff\xfe", "中文"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Terminal(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control %U left in %q", r, out)
			}
		}
		if !IsClean(out) {
			t.Fatalf("Terminal(%q) = %q is not clean", s, out)
		}
		if IsClean(s) && out != s {
			t.Fatalf("clean %q changed to %q", s, out)
		}
	})
}
