package safetext

import (
	"bytes"
	"errors"
	"io"
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
		// The runner's legacy command prefix, anywhere in the text.
		"##[error]forged":               `##\[error]forged`,
		"name ##[add-mask]m-x":          `name ##\[add-mask]m-x`,
		"x##[stop-commands]t":           `x##\[stop-commands]t`,
		"###[":                          `###\[`,
		"##[##[":                        `##\[##\[`,
		"####[[":                        `####\[[`,
		"##\n[":                         `##\n[`,
		"#\x1b#[":                       `#\x1b#[`,
		"##\x1b[31m":                    `##\x1b[31m`,
		"#[ # [ ## [ ]##":               "#[ # [ ## [ ]##",
		"a\n##[error]x":                 `a\n##\[error]x`,
		"bidi\u202e##[error]x":          `bidi\u202e##\[error]x`,
		"##\\[ already written":         `##\[ already written`,
		"stop ##[stop-commands]\n::e::": `stop ##\[stop-commands]\n::e::`,
	}
	for in, want := range cases {
		got := Terminal(in)
		if got != want {
			t.Errorf("Terminal(%q) = %q, want %q", in, got, want)
		}
		if !IsClean(got) {
			t.Errorf("Terminal(%q) is not clean", in)
		}
		if strings.Contains(got, "##[") {
			t.Errorf("Terminal(%q) = %q holds the legacy prefix", in, got)
		}
		if Terminal(got) != got {
			t.Errorf("Terminal is not idempotent on %q", got)
		}
	}
}

// Printable escapes exactly what Terminal does but for "##[", which it
// keeps; IsClean (the trust boundary's label check) accepts "##[".
func TestPrintableKeepsLegacyPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"web##[error]forged": "web##[error]forged",
		"a\n##[b":            `a\n##[b`,
		"m-bp1g7004ksh0oeuc": "m-bp1g7004ksh0oeuc",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
		if got := Printable(in); strings.ReplaceAll(got, "##[", `##\[`) != Terminal(in) {
			t.Errorf("Printable(%q) = %q and Terminal %q differ by more than the prefix", in, got, Terminal(in))
		}
	}
	for _, s := range []string{"##[error]x", "###[", "web##[add-mask]m-x"} {
		if !IsClean(s) {
			t.Errorf("IsClean(%q) = false; the prefix is printable text, only its rendering changes", s)
		}
	}
}

// A string that needs nothing is returned as it is, without allocating;
// "##" or "[" alone need nothing.
func TestTerminalCleanDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"m-bp1g7004ksh0oeuc0001", "web ## [x] #[ 中文", ""} {
		if got := Terminal(s); got != s {
			t.Errorf("Terminal(%q) = %q", s, got)
		}
		if n := testing.AllocsPerRun(100, func() { _ = Terminal(s) }); n != 0 {
			t.Errorf("Terminal(%q) allocates %v times", s, n)
		}
	}
}

// Whatever byte Excerpt cuts at, inside a "##[" or just after "##", what it
// returns holds no "##[": the kept part is escaped whole and the note after
// it starts with ".".
func TestExcerptCutNeverLeavesLegacyPrefix(t *testing.T) {
	for _, s := range []string{
		"ab##[error]forged ##[add-mask]m-hostile0000000000001 ##[stop-commands]x",
		"##[##[##[", "###[###[", "é##[é##[", "##" + strings.Repeat("[", 8),
	} {
		for limit := 1; limit <= len(s)+1; limit++ {
			for _, got := range []string{Excerpt(s, limit), Quote(s, limit), Markdown(Excerpt(s, limit))} {
				if strings.Contains(got, "##[") {
					t.Errorf("cut %q at %d: %q holds the legacy prefix", s, limit, got)
				}
			}
		}
	}
}

func TestMarkdownLegacyPrefix(t *testing.T) {
	got := Markdown("web##[error]forged")
	if strings.Contains(got, "##[") {
		t.Errorf("Markdown = %q holds the legacy prefix", got)
	}
}

// writes feeds chunks to a NoLegacyCommands writer and returns the output.
func writes(t *testing.T, chunks ...string) string {
	t.Helper()
	var b bytes.Buffer
	w := NoLegacyCommands(&b)
	for _, c := range chunks {
		if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
	return b.String()
}

func TestNoLegacyCommands(t *testing.T) {
	cases := []struct {
		chunks []string
		want   string
	}{
		{[]string{"plain line\n"}, "plain line\n"},
		{[]string{"x ##[error]forged\n"}, `x ##\[error]forged` + "\n"},
		// A server string ending in "##" and a "[" of our own.
		{[]string{"code Throttling##", "[RequestId 1]\n"}, `code Throttling##\[RequestId 1]` + "\n"},
		{[]string{"#", "#", "[add-mask]m-x"}, `##\[add-mask]m-x`},
		{[]string{"#", "#[stop-commands]t"}, `##\[stop-commands]t`},
		{[]string{"###", "[", "##[##["}, `###\[##\[##\[`},
		// A line break, or any other byte, between "##" and "[" is no prefix.
		{[]string{"##\n", "[x]"}, "##\n[x]"},
		{[]string{"##", " [x]"}, "## [x]"},
		{[]string{"#[", "#["}, "#[#["},
		// Our own commands pass unchanged.
		{[]string{"::error title=t::msg\n", "::add-mask::secret\n"}, "::error title=t::msg\n::add-mask::secret\n"},
		{[]string{"", "##", "", "["}, `##\[`},
	}
	for _, c := range cases {
		if got := writes(t, c.chunks...); got != c.want {
			t.Errorf("writes %q = %q, want %q", c.chunks, got, c.want)
		}
	}
}

// However a stream is cut into Writes, the writer's output is Terminal's
// rewrite of the whole.
func TestNoLegacyCommandsAnySplit(t *testing.T) {
	for _, s := range []string{
		"a##[b###[c##[##[d", "##\n##[\n#\n#[", "x##", "[##[", "####[[[", "é##[ü#\\[",
	} {
		want := strings.ReplaceAll(s, "##[", `##\[`)
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				if got := writes(t, s[:i], s[i:j], s[j:]); got != want {
					t.Fatalf("%q cut at %d and %d: %q, want %q", s, i, j, got, want)
				}
			}
		}
	}
}

// shortWriter accepts at most n bytes in all.
type shortWriter struct {
	b bytes.Buffer
	n int
}

func (s *shortWriter) Write(p []byte) (int, error) {
	if len(p) > s.n {
		s.b.Write(p[:s.n])
		n := s.n
		s.n = 0
		return n, io.ErrShortWrite
	}
	s.n -= len(p)
	return s.b.Write(p)
}

// A short write reports how many bytes of p were written, not counting the
// backslashes the writer added.
func TestNoLegacyCommandsShortWrite(t *testing.T) {
	for accept, want := range map[int]int{0: 0, 3: 3, 4: 3, 5: 4, 6: 5} {
		sw := &shortWriter{n: accept}
		n, err := NoLegacyCommands(sw).Write([]byte("a##[bc"))
		if n != want || !errors.Is(err, io.ErrShortWrite) {
			t.Errorf("accepting %d bytes: Write = %d, %v; want %d, short write", accept, n, err, want)
		}
	}
	if n, err := NoLegacyCommands(&shortWriter{n: 7}).Write([]byte("a##[bc")); n != 6 || err != nil {
		t.Errorf("Write = %d, %v; want 6, nil", n, err)
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
// control or format character and no "##[", and clean input without "##["
// is unchanged.
func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b[31m", "a\nb", "\u202e", "\xff\xfe", "中文", "##[error]x", "#\n#[", "###[##["} {
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
		if strings.Contains(out, "##[") {
			t.Fatalf("Terminal(%q) = %q holds the legacy prefix", s, out)
		}
		if IsClean(s) && !strings.Contains(s, "##[") && out != s {
			t.Fatalf("clean %q changed to %q", s, out)
		}
		if p := Printable(s); strings.ReplaceAll(p, "##[", `##\[`) != out {
			t.Fatalf("Printable(%q) = %q is not Terminal %q but for the prefix", s, p, out)
		}
	})
}

func TestCutKeepsRunesWhole(t *testing.T) {
	for _, c := range []struct {
		s     string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc..."},
		{"ééé", 3, "é..."},       // é is 2 bytes: the cut moves back to a boundary
		{"a\x1bb", 10, "a\x1bb"}, // raw: the sink escapes
	} {
		if got := Cut(c.s, c.limit); got != c.want || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.limit, got, c.want)
		}
	}
}
