// Package arch checks that the import graph is the one docs/architecture.md
// draws: the table of allowed imports there is the source of truth.
package arch

import (
	"bufio"
	"cmp"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/imagefamily/packer-plugin-alicloud-image-family"

func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// documented reads the "Allowed imports" table: package -> allowed imports.
func documented(t *testing.T, root string) map[string][]string {
	return docTable(t, root, "### Allowed imports")
}

// docTable reads the table under heading in docs/architecture.md: the first
// column's code -> the codes of the last column.
func docTable(t *testing.T, root, heading string) map[string][]string {
	f, err := os.Open(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([^`]+)` \\|(?:.*\\|)?(.*)\\|$")
	code := regexp.MustCompile("`([^`]+)`")
	out := map[string][]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, heading):
			in = true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in:
			if m := row.FindStringSubmatch(line); m != nil {
				var allowed []string
				for _, c := range code.FindAllStringSubmatch(m[2], -1) {
					allowed = append(allowed, c[1])
				}
				out[m[1]] = allowed
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("docs/architecture.md has no table under %q", heading)
	}
	return out
}

// actual lists each package's non-test imports within the module.
func actual(t *testing.T, root string) map[string][]string {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		var ours []string
		for _, imp := range fields[1:] {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				ours = append(ours, rest)
			}
		}
		got[pkg] = ours
	}
	return got
}

func TestImportsMatchTheArchitecturePage(t *testing.T) {
	root := repoRoot(t)
	doc, got := documented(t, root), actual(t, root)
	for pkg, imports := range got {
		allowed, ok := doc[pkg]
		if !ok {
			t.Errorf("package %s is not in docs/architecture.md's Allowed imports table", pkg)
			continue
		}
		for _, imp := range imports {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s, which docs/architecture.md does not allow", pkg, imp)
			}
		}
		for _, a := range allowed {
			if !slices.Contains(imports, a) {
				t.Errorf("docs/architecture.md lets %s import %s, but it does not: keep the page exact", pkg, a)
			}
		}
	}
	for pkg := range doc {
		if _, ok := got[pkg]; !ok {
			t.Errorf("docs/architecture.md lists %s, which is not a package", pkg)
		}
	}
}

// internal/ holds leaves: a helper there that imported the core or the
// emulator would run back up the house. Test kits and generators that need
// them live in testkit/ and tools/.
func TestInternalHoldsLeavesOnly(t *testing.T) {
	for pkg, imports := range actual(t, repoRoot(t)) {
		if !strings.HasPrefix(pkg, "internal/") {
			continue
		}
		for _, imp := range imports {
			if !strings.HasPrefix(imp, "internal/") {
				t.Errorf("%s imports %s: internal/ holds leaves, which import only each other; move it to testkit/ or tools/", pkg, imp)
			}
		}
	}
}

// The emulator is a test server: what a client must make of its faults
// (outcome classes, exit codes, expected messages) belongs to the
// conformance tables in testkit/conformance, never to ecstest. Every name
// ecstest declares (exported or not, fields and methods included) is
// checked, and so is its text, for the words of an expectation.
func TestEmulatorHoldsNoExpectedOutcomes(t *testing.T) {
	root := repoRoot(t)
	dirs := []string{filepath.Join(root, "ecstest")}
	internal, _ := filepath.Glob(filepath.Join(root, "ecstest", "internal", "*"))
	dirs = append(dirs, internal...)
	expectation := regexp.MustCompile(`(?i)exit.?code|outcome|errclass|^exit([A-Z0-9_]|$)`)
	core := regexp.MustCompile(`imagefamily\.(Err|Exit|[A-Za-z]*Error\b)`)
	fset := token.NewFileSet()
	checked := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && id.Obj != nil && id.Obj.Pos() == id.Pos() ||
					ok && isDeclaredName(f, id) {
					if expectation.MatchString(id.Name) {
						t.Errorf("%s: ecstest declares %s: expected outcomes and exit codes belong in testkit/conformance", fset.Position(id.Pos()), id.Name)
					}
				}
				return true
			})
			for _, cg := range f.Comments {
				if m := core.FindString(cg.Text()); m != "" || strings.Contains(strings.ToLower(cg.Text()), "exit code") {
					t.Errorf("%s: ecstest's comment speaks of the client's classes or exit codes (%q): keep that in testkit/conformance", fset.Position(cg.Pos()), cmp.Or(m, "exit code"))
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no ecstest source found")
	}
}

// isDeclaredName reports whether id names a field or method in f (which
// ast's object resolution does not record as declarations).
func isDeclaredName(f *ast.File, id *ast.Ident) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		switch d := n.(type) {
		case *ast.Field:
			found = found || slices.Contains(d.Names, id)
		case *ast.FuncDecl:
			found = found || d.Name == id
		}
		return !found
	})
	return found
}
