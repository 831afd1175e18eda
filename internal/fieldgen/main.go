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
// It runs from the first //go:generate line of datasource/family, so
// the packer-sdc lines after it see the generated structs. The output is a
// function of the table only: running it twice changes nothing.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

const module = "github.com/imagefamily/packer-plugin-alicloud-image-family"

// extra is an output of one front that is not a field of the image.
type extra struct {
	name        string // as the front spells it
	example     string
	description string // Markdown
}

// The front-specific outputs, declared once.
var (
	// datasourceRegion is the data source's region attribute.
	datasourceRegion = extra{name: "region", example: "cn-hangzhou",
		description: "The region the image was resolved in: `region`, or with several regions the first one (in the order of `region`, then `regions`) that has an image; every other attribute but `image_ids` describes that region's image."}
	// datasourceImageIDs is the data source's map of every resolved region.
	datasourceImageIDs = extra{name: "image_ids", example: `{ "cn-hangzhou" = "m-…" }`,
		description: "Region → image id for every region resolved (`region` and `regions`; one entry for a single region), such as `data.alicloud-image-family.base.image_ids[\"cn-shanghai\"]`: one block can feed a matrix of `source` blocks. Never null; regions left out with `ignore_missing_regions` are absent."}
	// cliRegion is the first column of the CLI's text output.
	cliRegion = extra{name: "REGION", example: "cn-hangzhou",
		description: "The region the line is for: the image was resolved in it."}
	// actionExtras are the action's outputs after the image's fields, in
	// the order action/action.go writes them.
	actionExtras = []extra{
		{name: "found", example: "true",
			description: "`true` when every listed region has an available image, else `false`."},
		{name: "json", example: `{"ImageId":"m-…","Tags":{"Tag":[…]},…}`,
			description: "The whole image with the API's own field names and nesting (as in `aliyun ecs DescribeImageFromFamily` output's `.Image`). With several regions: an object region → image, regions without an image left out. Empty when not found."},
		{name: "image-ids", example: `{"cn-hangzhou":"m-…","cn-shanghai":"m-…"}`,
			description: "JSON object region → image id, for every region that has an image (also with one region)."},
		{name: "changed", example: "false",
			description: "`true` when `expected-image-ids` was given and a region's newest image differs from it, else `false`."},
	}
	// actionNotes are added to the description of an image output of the
	// action, by field Name.
	actionNotes = map[string]string{
		"image_id": "With several regions: of the first region listed, as every image output.",
	}
)

// kindNote says how the action and the CLI write a value of the kind as
// text (imagefamily.Field.Text); HCL has typed values and needs no note.
func kindNote(k imagefamily.FieldKind) string {
	switch k {
	case imagefamily.KindInt:
		return "A whole number, in decimal."
	case imagefamily.KindBool:
		return "`true` or `false`."
	case imagefamily.KindTags:
		return "As text: a JSON object, keys sorted (`{}` when none)."
	case imagefamily.KindDiskMappings:
		var names []string
		for _, f := range imagefamily.DiskMappingFields() {
			names = append(names, "`"+f.API+"`")
		}
		return "As text: a JSON array of objects with the API's member names (" + strings.Join(names, ", ") + ")."
	}
	return ""
}

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

// wrap breaks text into lines of at most width bytes where it can (a word
// longer than width gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	var cur string
	for _, w := range strings.Fields(text) {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

func joinSentences(parts ...string) string {
	var s []string
	for _, p := range parts {
		if p != "" {
			s = append(s, p)
		}
	}
	return strings.Join(s, " ")
}

// ---- datasource/family/output.go ----

// goType is the Go type of a data source attribute: the Image field's own
// (so that toOutput needs no conversions), with the core's
// DiskDeviceMapping replaced by the data source's.
func goType(f imagefamily.Field) (string, error) {
	sf, ok := reflect.TypeOf(imagefamily.Image{}).FieldByName(f.GoName)
	if !ok {
		return "", fmt.Errorf("field %s: Image has no field %s", f.Name, f.GoName)
	}
	switch f.Kind {
	case imagefamily.KindTags:
		return "map[string]string", nil
	case imagefamily.KindDiskMappings:
		return "[]DiskDeviceMapping", nil
	}
	return sf.Type.String(), nil
}

func comment(b *strings.Builder, indent, text string) {
	for _, l := range wrap(text, 72) {
		fmt.Fprintf(b, "%s// %s\n", indent, l)
	}
}

func datasourceOutput() ([]byte, error) {
	var b strings.Builder
	b.WriteString(`// Code generated by internal/fieldgen from imagefamily.Fields(); DO NOT EDIT.
// Change the table in imagefamily/fields.go and run go generate ./...

package family

import "` + module + `/imagefamily"

// DatasourceOutput is what ` + "`data.alicloud-image-family.<name>`" + ` exposes. The
// names are the snake_case forms of the DescribeImageFromFamily fields. They
// come from the core's table of image fields (imagefamily.Fields), which
// also names the GitHub Action's outputs and the CLI's text columns.
type DatasourceOutput struct {
`)
	for _, f := range imagefamily.Fields() {
		typ, err := goType(f)
		if err != nil {
			return nil, err
		}
		comment(&b, "\t", f.Description)
		fmt.Fprintf(&b, "\t%s %s `mapstructure:%q`\n", f.GoName, typ, f.Name)
	}
	comment(&b, "\t", datasourceRegion.description)
	fmt.Fprintf(&b, "\tRegion string `mapstructure:%q`\n", datasourceRegion.name)
	comment(&b, "\t", datasourceImageIDs.description)
	fmt.Fprintf(&b, "\tImageIDs map[string]string `mapstructure:%q`\n", datasourceImageIDs.name)
	b.WriteString("}\n\n")

	b.WriteString("// DiskDeviceMapping is one element of `disk_device_mappings`.\ntype DiskDeviceMapping struct {\n")
	for _, f := range imagefamily.DiskMappingFields() {
		comment(&b, "\t", f.Description)
		fmt.Fprintf(&b, "\t%s string `mapstructure:%q`\n", f.GoName, f.Name)
	}
	b.WriteString("}\n\n")

	b.WriteString(`// toOutput maps the core's Image onto the data source's outputs. Tags and
// disk mappings are never nil: a nil map or slice would become a null that
// breaks ` + "`length(...)` and `lookup(...)`" + ` in templates. ids is
// image_ids (nil means just this region's image).
func toOutput(img imagefamily.Image, region string, ids map[string]string) DatasourceOutput {
	out := DatasourceOutput{
`)
	var tags, disks string
	for _, f := range imagefamily.Fields() {
		switch f.Kind {
		case imagefamily.KindTags:
			fmt.Fprintf(&b, "\t\t%s: map[string]string{},\n", f.GoName)
			tags = f.GoName
		case imagefamily.KindDiskMappings:
			fmt.Fprintf(&b, "\t\t%s: []DiskDeviceMapping{},\n", f.GoName)
			disks = f.GoName
		default:
			fmt.Fprintf(&b, "\t\t%s: img.%s,\n", f.GoName, f.GoName)
		}
	}
	b.WriteString("\t\tRegion: region,\n\t\tImageIDs: map[string]string{},\n\t}\n")
	b.WriteString("\tif ids == nil {\n\t\tids = map[string]string{region: img.ImageID}\n\t}\n\tfor r, id := range ids {\n\t\tout.ImageIDs[r] = id\n\t}\n")
	if tags != "" {
		fmt.Fprintf(&b, "\tfor k, v := range img.%s {\n\t\tout.%s[k] = v\n\t}\n", tags, tags)
	}
	if disks != "" {
		fmt.Fprintf(&b, "\tfor _, m := range img.%s {\n\t\tout.%s = append(out.%s, DiskDeviceMapping{\n", disks, disks, disks)
		for _, f := range imagefamily.DiskMappingFields() {
			fmt.Fprintf(&b, "\t\t\t%s: m.%s,\n", f.GoName, f.GoName)
		}
		b.WriteString("\t\t})\n\t}\n")
	}
	b.WriteString("\treturn out\n}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("output.go does not format: %v\n%s", err, b.String())
	}
	return src, nil
}

// ---- action.yml ----

// plainText is Markdown without its code marks, for action.yml, which is
// read as plain text. (The descriptions use no other Markdown.)
func plainText(md string) string { return strings.ReplaceAll(md, "`", "") }

func actionDescription(f imagefamily.Field) string {
	return joinSentences(f.Description, actionNotes[f.Name], kindNote(f.Kind))
}

// yamlDescription writes a description: key, plain when it is safely one
// plain scalar on one line, else folded.
func yamlDescription(b *strings.Builder, text string) {
	const indent = "      "
	line := "    description: " + text
	safe := len(line) <= 80 && text != "" &&
		(text[0] >= 'A' && text[0] <= 'Z' || text[0] >= 'a' && text[0] <= 'z') &&
		!strings.Contains(text, ": ") && !strings.Contains(text, " #") && !strings.HasSuffix(text, ":")
	if safe {
		b.WriteString(line + "\n")
		return
	}
	b.WriteString("    description: >-\n")
	for _, l := range wrap(text, 72) {
		b.WriteString(indent + l + "\n")
	}
}

func actionYAML() string {
	var b strings.Builder
	b.WriteString("# fields:begin: generated by internal/fieldgen from imagefamily.Fields(); edit the table\n")
	b.WriteString("# (imagefamily/fields.go) or the generator and run go generate ./..., not this section.\n")
	b.WriteString("outputs:\n")
	out := func(name, description string) {
		fmt.Fprintf(&b, "  %s:\n", name)
		yamlDescription(&b, plainText(description))
		fmt.Fprintf(&b, "    value: ${{ steps.resolve.outputs.%s }}\n", name)
	}
	for _, f := range imagefamily.Fields() {
		out(f.ActionName(), actionDescription(f))
	}
	for _, e := range actionExtras {
		out(e.name, e.description)
	}
	b.WriteString("# fields:end\n")
	return b.String()
}

// ---- docs ----

// cell makes Markdown safe inside a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

const docsBegin = "<!-- fields:begin: generated by internal/fieldgen from imagefamily.Fields(); edit the table (imagefamily/fields.go) and run go generate ./... -->\n"
const docsEnd = "<!-- fields:end -->\n"

func actionTable() string {
	var b strings.Builder
	b.WriteString(docsBegin)
	b.WriteString("| Output | Example | Description |\n|---|---|---|\n")
	for _, f := range imagefamily.Fields() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.ActionName(), cell(code(f.Example)), cell(actionDescription(f)))
	}
	for _, e := range actionExtras {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.name, cell(code(e.example)), cell(e.description))
	}
	b.WriteString(docsEnd)
	return b.String()
}

func cliTable() string {
	var b strings.Builder
	b.WriteString(docsBegin)
	b.WriteString("| Column | Example | Description |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| `%s` | %s | %s |\n", cliRegion.name, cell(code(cliRegion.example)), cell(cliRegion.description))
	var left []string
	for _, f := range imagefamily.Fields() {
		if !f.Kind.Scalar() {
			left = append(left, code(f.ActionName()))
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.ActionName(), cell(code(f.Example)), cell(joinSentences(f.Description, kindNote(f.Kind))))
	}
	b.WriteString("\n")
	if len(left) > 0 {
		fmt.Fprintf(&b, "Not in the text output (they are not one-line values): %s; `--output json` has them.\n", strings.Join(left, ", "))
	}
	b.WriteString(docsEnd)
	return b.String()
}
