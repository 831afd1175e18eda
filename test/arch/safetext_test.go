package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The rule for safe text (docs/architecture.md, "Where text is made safe"):
// escape at the sink, and only there; the core bounds and quotes. A sink
// function of internal/safetext may be called only in the files that page's
// table lists for it; the bounding and checking functions anywhere.

// boundingFunctions bound and quote a value in a message, or check text
// without rewriting it: allowed in every package, the core included.
var boundingFunctions = []string{"Excerpt", "Quote", "Cut", "IsClean"}

// safetextCalls lists every use of a safetext function in the module's
// non-test Go files: file (slash-separated, from the root) -> function ->
// count.
func safetextCalls(t *testing.T, root string) map[string]map[string]int {
	out := map[string]map[string]int{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			// bench is a module of its own; safetext is the library itself.
			if rel == "bench" || rel == "internal/safetext" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := ""
		for _, imp := range file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == module+"/internal/safetext" {
				name = "safetext"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			return nil
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
					if out[rel] == nil {
						out[rel] = map[string]int{}
					}
					out[rel][sel.Sel.Name]++
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTextIsEscapedOnlyAtTheSinks(t *testing.T) {
	root := repoRoot(t)
	sinks := docTable(t, root, "## Where text is made safe")
	calls := safetextCalls(t, root)
	total, escapes := 0, 0
	for file, fns := range calls {
		for fn, n := range fns {
			total += n
			if slices.Contains(boundingFunctions, fn) {
				continue
			}
			escapes += n
			if !slices.Contains(sinks[file], fn) {
				t.Errorf("%s calls safetext.%s %d times, but docs/architecture.md (Where text is made safe) does not list it as a sink that may: escape at the sink writer and hand it raw text, or bound the value with Excerpt/Quote", file, fn, n)
			}
		}
	}
	for file, fns := range sinks {
		for _, fn := range fns {
			if calls[file][fn] == 0 {
				t.Errorf("docs/architecture.md lists %s as a sink calling safetext.%s, but it does not: keep the table exact", file, fn)
			}
		}
	}
	t.Logf("%d safetext call sites in %d files; %d of them escape for a sink", total, len(calls), escapes)
}
