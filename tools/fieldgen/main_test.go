package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

func TestDeterministic(t *testing.T) {
	a, err := datasourceOutput()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := datasourceOutput()
	if string(a) != string(b) || actionYAML() != actionYAML() || actionTable() != actionTable() || cliTable() != cliTable() {
		t.Error("two runs differ")
	}
}

// The generated outputs section declares every field, then the action's
// own outputs, each with a description and the resolve step's value.
func TestActionYAML(t *testing.T) {
	y := actionYAML()
	var want []string
	for _, f := range imagefamily.Fields() {
		want = append(want, f.ActionName())
	}
	for _, e := range actionExtras {
		want = append(want, e.name)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z-]+):\n    description: (.*)\n((?:      .*\n)*)    value: \$\{\{ steps\.resolve\.outputs\.([a-z-]+) \}\}\n`).FindAllStringSubmatch(y, -1) {
		if m[1] != m[4] {
			t.Errorf("output %s has the value of %s", m[1], m[4])
		}
		if m[2] == ">-" && m[3] == "" || m[2] != ">-" && m[3] != "" {
			t.Errorf("output %s: malformed description %q %q", m[1], m[2], m[3])
		}
		if strings.Contains(m[2]+m[3], "`") {
			t.Errorf("output %s: Markdown left in the description", m[1])
		}
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("declared %q\nwant %q", got, want)
	}
	// Every line is a marker, the key, or indented under it.
	for _, l := range strings.Split(strings.TrimSuffix(y, "\n"), "\n") {
		if !strings.HasPrefix(l, "# ") && l != "outputs:" && !strings.HasPrefix(l, "  ") {
			t.Errorf("stray line %q", l)
		}
	}
	if !strings.HasPrefix(y, "# fields:begin") || !strings.HasSuffix(y, "# fields:end\n") {
		t.Error("markers missing")
	}
}

func TestYAMLDescriptionPlainOnlyWhenSafe(t *testing.T) {
	for text, plain := range map[string]bool{
		"The image name.":                                    true,
		"The OS type: linux or windows.":                     false, // ": " starts a mapping
		"true when found, else false.":                       true,
		"{} when none.":                                      false,
		"Ends with a comment # maybe":                        false,
		strings.TrimSpace(strings.Repeat("long words ", 10)): false,
	} {
		var b strings.Builder
		yamlDescription(&b, text)
		if got := !strings.Contains(b.String(), ">-"); got != plain {
			t.Errorf("%q: plain %v, want %v:\n%s", text, got, plain, b.String())
		}
		if !plain && !strings.Contains(strings.Join(strings.Fields(b.String()), " "), text) {
			t.Errorf("%q lost words:\n%s", text, b.String())
		}
	}
}

func TestTables(t *testing.T) {
	rows := func(table string) []string {
		var names []string
		for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z-]+)` \\|").FindAllStringSubmatch(table, -1) {
			names = append(names, m[1])
		}
		return names
	}
	var action, cli, left []string
	cli = append(cli, cliRegion.name)
	for _, f := range imagefamily.Fields() {
		action = append(action, f.ActionName())
		if f.Kind.Scalar() {
			cli = append(cli, f.ActionName())
		} else {
			left = append(left, f.ActionName())
		}
	}
	for _, e := range actionExtras {
		action = append(action, e.name)
	}
	if got := rows(actionTable()); strings.Join(got, " ") != strings.Join(action, " ") {
		t.Errorf("action table rows %q\nwant %q", got, action)
	}
	ct := cliTable()
	if got := rows(ct); strings.Join(got, " ") != strings.Join(cli, " ") {
		t.Errorf("cli table rows %q\nwant %q", got, cli)
	}
	for _, name := range left {
		if !strings.Contains(ct, "`"+name+"`") {
			t.Errorf("the CLI table does not say %s is left out", name)
		}
	}
	for _, table := range []string{actionTable(), ct} {
		for _, l := range strings.Split(table, "\n") {
			if strings.HasPrefix(l, "| ") && strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 4 {
				t.Errorf("row with a broken cell: %q", l)
			}
		}
	}
}

func TestReplaceBetween(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.md")
	os.WriteFile(path, []byte("before\n<!-- fields:begin -->\nold\n<!-- fields:end -->\nafter\n"), 0o644)
	text := "<!-- fields:begin: x -->\nnew\n<!-- fields:end -->\n"
	for i := 0; i < 2; i++ {
		if err := replaceBetween(path, "<!-- fields:begin", "<!-- fields:end", text); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if string(b) != "before\n"+text+"after\n" {
			t.Fatalf("run %d: %q", i+1, b)
		}
	}
	os.WriteFile(path, []byte("no markers\n"), 0o644)
	if err := replaceBetween(path, "<!-- fields:begin", "<!-- fields:end", text); err == nil || !strings.Contains(err.Error(), "no generated section") {
		t.Errorf("missing markers: %v", err)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc dddddddddd e", 7)
	want := []string{"aaa bbb", "ccc", "dddddddddd", "e"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", got, want)
	}
}

// The checked-in files are what the generator writes now (what
// scripts/check-generated.sh checks, here for go test alone).
func TestCheckedInFilesAreCurrent(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, _ := datasourceOutput()
	if b, err := os.ReadFile(filepath.Join(root, "datasource/family/output.go")); err != nil || string(b) != string(src) {
		t.Errorf("datasource/family/output.go is stale (%v): run go generate ./...", err)
	}
	for path, section := range map[string]string{"action.yml": actionYAML(), "docs/action.md": actionTable(), "docs/cli.md": cliTable()} {
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || !strings.Contains(string(b), section) {
			t.Errorf("%s is stale (%v): run go generate ./...", path, err)
		}
	}
}
