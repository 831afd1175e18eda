// Package docs checks that the documentation works when copied.
//
//   - Every fenced ```yaml/```yml block of README.md, docs/ and .web-docs/ that
//     is a GitHub workflow, a job or a list of steps passes the workflow rules
//     of workflow_test.go (no expression inside run:, contexts only where
//     GitHub allows them, step outputs that exist, the action's real major
//     tag, id-token: write where OIDC is used, inputs the action declares).
//   - Every fenced ```hcl block parses, names only attributes the data source
//     has, and is a whole template unless it says "# fragment"
//     (hcl_test.go).
//   - The prose names only tags, options, rules and commands that exist
//     (claims_test.go).
//   - README.md's Install section names the version, Go version, module
//     path, plugin source, release assets and tags that go.mod,
//     CHANGELOG.md, version/, .goreleaser.yml and the release workflow give
//     (install_test.go).
//   - Every ```json block parses; RAM trust policies condition on GitHub's
//     issuer, the action's audience and GitHub's subject forms; the example
//     policies of docs/oidc.md admit exactly what their workflows trigger,
//     and its aliyun CLI and Terraform snippets create what the examples use
//     (oidc_test.go); ```hcl blocks marked "# terraform" are whole Terraform
//     configurations (terraform_test.go).
//   - Shell blocks that need the network say "# Online" (README.md's
//     Install section, docs/oidc.md), and relative links and their anchors
//     resolve (links_test.go).
//
// Everything is read from the working tree; nothing is run and nothing leaves
// the process.
package docs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// actionRepo is how a workflow names this repository's action.
const actionRepo = "imagefamily/packer-plugin-alicloud-image-family"

func readFile(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e2etest.RepoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	// A Windows checkout may have CRLF line ends; the checks read lines.
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// files lists the files under the given repository paths (a file or a
// directory, walked) whose names end in one of exts (all files when exts is
// empty), as slash paths relative to the repository root, sorted.
func files(t testing.TB, paths []string, exts ...string) []string {
	t.Helper()
	root := e2etest.RepoRoot(t)
	var out []string
	keep := func(name string) bool {
		if len(exts) == 0 {
			return true
		}
		for _, e := range exts {
			if strings.HasSuffix(name, e) {
				return true
			}
		}
		return false
	}
	for _, p := range paths {
		err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(p)), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !keep(d.Name()) {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// docFiles are the Markdown pages whose code blocks are checked.
func docFiles(t testing.TB) []string {
	return files(t, []string{"README.md", "docs", ".web-docs"}, ".md", ".mdx")
}

// block is one fenced code block of a Markdown page.
type block struct {
	file string // relative to the repository root
	line int    // line number of the block's first line of code
	lang string // "yaml" (also for ```yml) or "hcl"
	text string // the code, the fence's indentation removed
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// fragmentMark is how a block says it is not complete on its own: a comment
// line "# fragment" (or "// fragment"), optionally followed by why.
var fragmentMark = regexp.MustCompile(`(?m)^\s*(#|//)\s*fragment\b`)

func (b block) fragment() bool { return fragmentMark.MatchString(b.text) }

var fenceOpen = regexp.MustCompile("^([ \t]*)(`{3,}|~{3,})[ \t]*([A-Za-z0-9_+.-]*)")

// extractBlocks returns the fenced code blocks of a Markdown text, with
// their language lower-cased (yml counted as yaml).
func extractBlocks(file, text string) []block {
	var out []block
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceOpen.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, fence, lang := len(m[1]), m[2], strings.ToLower(m[3])
		if lang == "yml" {
			lang = "yaml"
		}
		var code []string
		j := i + 1
		for ; j < len(lines); j++ {
			trimmed := strings.TrimSpace(lines[j])
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				break
			}
			l := lines[j]
			for k := 0; k < indent && len(l) > 0 && (l[0] == ' ' || l[0] == '\t'); k++ {
				l = l[1:]
			}
			code = append(code, l)
		}
		out = append(out, block{file: file, line: i + 2, lang: lang, text: strings.Join(code, "\n") + "\n"})
		i = j
	}
	return out
}

// docBlocks returns every block in lang of the checked pages.
func docBlocks(t testing.TB, lang string) []block {
	t.Helper()
	var out []block
	for _, f := range docFiles(t) {
		for _, b := range extractBlocks(f, readFile(t, f)) {
			if b.lang == lang {
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no ```%s blocks found in the docs: the extraction is broken", lang)
	}
	return out
}

func TestExtractBlocks(t *testing.T) {
	md := "text\n```yaml\na: 1\n```\n\n1. item\n\n   ```yml\n   - run: x\n   ```\n````hcl\n```\nx = 1\n````\n```sh\nls\n```\n"
	got := extractBlocks("x.md", md)
	want := []block{
		{"x.md", 3, "yaml", "a: 1\n"},
		{"x.md", 9, "yaml", "- run: x\n"},
		{"x.md", 12, "hcl", "```\nx = 1\n"},
		{"x.md", 16, "sh", "ls\n"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if !(block{text: "a: 1\n# fragment: the steps of a job\n"}).fragment() || (block{text: "# fragments\n"}).fragment() {
		t.Error("the # fragment mark is not recognised as documented")
	}
}

// codeBlocks returns the fenced blocks of a text in one of langs.
func codeBlocks(file, text string, langs ...string) []block {
	var out []block
	for _, b := range extractBlocks(file, text) {
		if slices.Contains(langs, b.lang) {
			out = append(out, b)
		}
	}
	return out
}

// onlineCommand is what cannot run without the network; onlineMark is how
// a block says so.
var (
	onlineCommand = regexp.MustCompile(`(?m)\bcurl\b|\bwget\b|^\s*aliyun\s|openssl s_client|\bgit (clone|ls-remote|fetch|pull)\b|\bpacker init\b|\bpacker plugins install\s+github|\bterraform (init|plan|apply)\b|\bgo (install|get|run)\s+\S+@`)
	onlineMark    = regexp.MustCompile(`(?m)^\s*#\s*Online\b`)
)

// onlineProblems: every shell block of the text that runs something that
// needs the network says so in a comment line "# Online: ...".
func onlineProblems(file, text string) []string {
	var out []string
	for _, b := range codeBlocks(file, text, "sh", "bash", "shell", "console") {
		if cmd := onlineCommand.FindString(b.text); cmd != "" && !onlineMark.MatchString(b.text) {
			out = append(out, b.String()+": runs "+strings.TrimSpace(cmd)+", which needs the network, and does not say so (a comment line # Online: ...)")
		}
	}
	return out
}

func TestOnlineMarkFires(t *testing.T) {
	md := "```sh\ncurl -fsSLO https://x/y\n```\n```sh\n# Online: fetches\ncurl -fsSLO https://x/y\n```\n```sh\naliyun ram GetRole --RoleName r\n```\n```sh\ngo build ./cmd/x\n```\n"
	got := onlineProblems("x.md", md)
	if len(got) != 2 || !strings.Contains(got[0], "x.md:2") || !strings.Contains(got[1], "x.md:9") {
		t.Errorf("got %q; want problems for the blocks whose code starts at lines 2 and 9 only", got)
	}
}
