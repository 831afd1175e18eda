package docs

// Links between the pages: every relative link of README.md and docs/
// names a file that exists, and an anchor (#...) names a heading of the
// target page, as GitHub makes them.

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// headingAnchors are the anchors GitHub gives the headings of a Markdown
// text: lower case, punctuation other than - and _ dropped, spaces to -,
// a repeated anchor numbered (-1, -2, ...). Headings inside code blocks
// do not count.
func headingAnchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestHeadingAnchors(t *testing.T) {
	got := headingAnchors("# Title\n## 1. The issuer's certificate fingerprint\n### Outputs in scripts: through `env:`\n```\n# not a heading\n```\n## Examples\n## Examples\n")
	for _, want := range []string{"title", "1-the-issuers-certificate-fingerprint", "outputs-in-scripts-through-env", "examples", "examples-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block was taken for a heading")
	}
}

// TestRelativeLinks: relative links and their anchors resolve.
func TestRelativeLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	root := e2etest.RepoRoot(t)
	n := 0
	for _, f := range files(t, []string{"README.md", "docs"}, ".md", ".mdx") {
		text := readFile(t, f)
		// Links inside code blocks are code, not links.
		var prose []string
		inCode := false
		for _, line := range strings.Split(text, "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
				inCode = !inCode
				continue
			}
			if !inCode {
				prose = append(prose, line)
			}
		}
		for _, m := range link.FindAllStringSubmatch(strings.Join(prose, "\n"), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "/") {
				continue
			}
			n++
			file, anchor, _ := strings.Cut(target, "#")
			dest := f
			if file != "" {
				dest = path.Join(path.Dir(f), file)
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dest))); err != nil {
					t.Errorf("%s: link %s: %s does not exist", f, target, dest)
					continue
				}
			}
			if anchor != "" && (strings.HasSuffix(dest, ".md") || strings.HasSuffix(dest, ".mdx")) {
				if !headingAnchors(readFile(t, dest))[anchor] {
					t.Errorf("%s: link %s: %s has no heading with the anchor #%s", f, target, dest, anchor)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no relative links found: the search is broken")
	}
}
