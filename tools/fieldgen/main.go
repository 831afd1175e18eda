// Command fieldgen writes every front's list of image fields from the one
// table in the core, imagefamily.Fields():
//
//   - datasource/family/output.go: the data source's DatasourceOutput
//     and DiskDeviceMapping structs (whose comments packer-sdc turns into
//     the docs partials) and toOutput, which fills them from an Image;
//   - the outputs section of action.yml;
//   - the outputs table of docs/action.md;
//   - the table of text columns of docs/cli.md.
//
// The GitHub Action and the CLI read the table at run time; only what a
// tool reads without running Go code (Packer's HCL spec, action.yml, the
// docs) is generated. Outputs that are not fields of the image (the
// region, the action's found/json/image-ids) are declared here, once.
//
// Each list has its file (datasource_output.go, action_yml.go,
// docs_tables.go); outputs.go holds what they share, this file the writing.
//
// It runs from the first //go:generate line of datasource/family, so
// the packer-sdc lines after it see the generated structs. The output is a
// function of the table only: running it twice changes nothing.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const module = "github.com/imagefamily/packer-plugin-alicloud-image-family"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fieldgen:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	out, err := datasourceOutput()
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(root, "datasource/family/output.go"), out); err != nil {
		return err
	}
	for _, r := range []struct {
		path        string
		begin, end  string
		replacement func() string
	}{
		{"action.yml", "# fields:begin", "# fields:end", actionYAML},
		{"docs/action.md", "<!-- fields:begin", "<!-- fields:end", actionTable},
		{"docs/cli.md", "<!-- fields:begin", "<!-- fields:end", cliTable},
	} {
		if err := replaceBetween(filepath.Join(root, r.path), r.begin, r.end, r.replacement()); err != nil {
			return err
		}
	}
	return nil
}

// moduleRoot walks up from the working directory to this module's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module "+module+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run me inside module " + module)
		}
		dir = parent
	}
}

// writeFile writes b unless the file already holds it (no needless mtime
// change).
func writeFile(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	return os.WriteFile(path, b, 0o644)
}

// replaceBetween replaces the lines from the one starting with begin to the
// one starting with end, both included, with text (which writes the markers
// again).
func replaceBetween(path, begin, end, text string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(b), "\n")
	from, to := -1, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, begin) && from < 0:
			from = i
		case strings.HasPrefix(l, end) && from >= 0 && to < 0:
			to = i
		}
	}
	if from < 0 || to < 0 {
		return fmt.Errorf("%s: no generated section (a line starting with %q, then one starting with %q)", path, begin, end)
	}
	var out strings.Builder
	for _, l := range lines[:from] {
		out.WriteString(l)
	}
	out.WriteString(text)
	for _, l := range lines[to+1:] {
		out.WriteString(l)
	}
	return writeFile(path, []byte(out.String()))
}
