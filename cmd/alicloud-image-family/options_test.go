package main

// docs/options.md, the one table of every setting on every front, checked
// against the fronts themselves: the CLI's flag sets (newResolveFlagSet, and
// newLifecycleFlagSet for promote and rollback), the
// inputs action.yml declares (and the action's runtime, action.Main), and
// the data source's HCL2 spec (and its Configure). The CLI is package main,
// so this test lives here; the action and the data source are imported by
// the test only.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/action"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/datasource/family"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// optionRow is one row of the Options table.
type optionRow struct {
	setting                              string
	cli, action, datasource, builder     cell
	defaultText, boundsText, defaultSpan string // defaultSpan: the default when it is one `value`
}

// cell is a front's cell: the names it lists, or none and why.
type cell struct {
	names  []string
	none   bool
	reason string
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

func parseCell(t *testing.T, row, column, text string) cell {
	t.Helper()
	text = strings.TrimSpace(text)
	switch {
	case text == "—":
		return cell{none: true}
	case strings.HasPrefix(text, "none"):
		reason := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(text, "none"), ":"))
		if len(reason) < 10 {
			t.Errorf("docs/options.md, %s, %s: %q says the front lacks it but not why", row, column, text)
		}
		return cell{none: true, reason: reason}
	}
	var c cell
	for _, m := range codeSpan.FindAllStringSubmatch(text, -1) {
		c.names = append(c.names, m[1])
	}
	if rest := strings.Trim(codeSpan.ReplaceAllString(text, ""), ", "); rest != "" || len(c.names) == 0 {
		t.Errorf("docs/options.md, %s, %s: %q: a front's cell lists names (`name`, `name`) or says none: and why", row, column, text)
	}
	return c
}

// readOptions reads the tables of docs/options.md: the Options table and
// the Outcomes table (outcome -> its cells).
func readOptions(t *testing.T) ([]optionRow, map[string][]string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/options.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []optionRow
	outcomes := map[string][]string{}
	section := ""
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimPrefix(line, "## ")
			continue
		}
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		switch section {
		case "Options":
			if len(cells) != 7 {
				t.Fatalf("docs/options.md: a row of the Options table has %d cells, want 7: %s", len(cells), line)
			}
			if cells[0] == "setting" {
				continue
			}
			r := optionRow{setting: cells[0],
				cli:         parseCell(t, cells[0], "CLI flag", cells[1]),
				action:      parseCell(t, cells[0], "action input", cells[2]),
				datasource:  parseCell(t, cells[0], "data source attribute", cells[3]),
				builder:     parseCell(t, cells[0], "alicloud builder", cells[4]),
				defaultText: cells[5], boundsText: cells[6]}
			if m := codeSpan.FindAllStringSubmatch(cells[5], -1); len(m) == 1 && m[0][0] == cells[5] {
				r.defaultSpan = m[0][1]
			}
			rows = append(rows, r)
		case "Outcomes":
			if cells[0] != "outcome" {
				outcomes[cells[0]] = cells[1:]
			}
		}
	}
	if len(rows) < 20 || len(outcomes) == 0 {
		t.Fatalf("docs/options.md: %d options and %d outcomes read: the tables were not found", len(rows), len(outcomes))
	}
	return rows, outcomes
}

// actionInput is an input action.yml declares.
type actionInput struct {
	Default  *string `yaml:"default"`
	Required bool    `yaml:"required"`
}

func readActionInputs(t *testing.T) map[string]actionInput {
	t.Helper()
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Inputs map[string]actionInput `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	return meta.Inputs
}

// dataSourceDocs reads the docs partials of the data source's Config and
// of the access attributes it shares with the post-processor (made from the
// structs' comments): attribute -> its description.
func dataSourceDocs(t *testing.T) map[string]string {
	t.Helper()
	docs := map[string]string{}
	item := regexp.MustCompile("^- `([a-z_]+)` \\([^)]*\\) - (.*)$")
	for _, f := range []string{"datasource/family/Config-required.mdx", "datasource/family/Config-not-required.mdx", "packeraccess/Config-not-required.mdx"} {
		b, err := os.ReadFile("../../docs-partials/" + f)
		if err != nil {
			t.Fatal(err)
		}
		attr := ""
		for _, line := range strings.Split(string(b), "\n") {
			if m := item.FindStringSubmatch(line); m != nil {
				attr = m[1]
				docs[attr] = m[2]
			} else if attr != "" && strings.HasPrefix(line, "  ") {
				docs[attr] += " " + strings.TrimSpace(line)
			} else {
				attr = ""
			}
		}
	}
	return docs
}

// sameDefault: the table's default and a front's, as text or as the same
// duration ("60s" and the CLI's "1m").
func sameDefault(table, front string) bool {
	if table == front {
		return true
	}
	a, errA := time.ParseDuration(table)
	b, errB := time.ParseDuration(front)
	return errA == nil && errB == nil && a == b
}

// The names: every flag, input and attribute is in exactly one row, and a
// row names only what the front has; where the builder has the setting, the
// data source uses the builder's name.
// cliFlagSets are the flag sets of the CLI's commands whose settings the
// table lists: the lookup (resolve), the lock file (lock) and the lifecycle
// (promote, rollback); they share the lookup's connection flags.
func cliFlagSets() []*flag.FlagSet {
	var rf resolveFlags
	var lf lockFlags
	var pf, bf lifecycleFlags
	return []*flag.FlagSet{
		newResolveFlagSet(&rf, io.Discard),
		newLockFlagSet(&lf, io.Discard),
		newLifecycleFlagSet("promote", &pf, io.Discard),
		newLifecycleFlagSet("rollback", &bf, io.Discard),
	}
}

// cliFlag is the flag named, resolve's when both commands have it.
func cliFlag(name string) *flag.Flag {
	for _, fs := range cliFlagSets() {
		if fl := fs.Lookup(name); fl != nil {
			return fl
		}
	}
	return nil
}

func TestOptionsTableNamesEveryFrontsOptions(t *testing.T) {
	rows, _ := readOptions(t)
	flags := map[string]*flag.Flag{}
	for _, fs := range cliFlagSets() {
		fs.VisitAll(func(fl *flag.Flag) {
			if flags["--"+fl.Name] == nil {
				flags["--"+fl.Name] = fl
			}
		})
	}
	inputs := readActionInputs(t)
	spec := (&family.Datasource{}).ConfigSpec()
	attrs := map[string]bool{}
	for name := range spec {
		if !strings.HasPrefix(name, "packer_") { // Packer's own (common.PackerConfig)
			attrs[name] = true
		}
	}
	if len(flags) < 20 || len(inputs) < 20 || len(attrs) < 20 {
		t.Fatalf("read %d flags, %d inputs, %d attributes: the fronts were not read", len(flags), len(inputs), len(attrs))
	}

	seen := map[string]string{} // front/name -> row
	check := func(row, front string, c cell, exists func(string) bool) {
		for _, n := range c.names {
			if !exists(n) {
				t.Errorf("docs/options.md, %s: the %s has no %q", row, front, n)
			}
			key := front + " " + n
			if other, dup := seen[key]; dup {
				t.Errorf("docs/options.md: the %s's %q is in two rows, %s and %s", front, n, other, row)
			}
			seen[key] = row
		}
	}
	for _, r := range rows {
		check(r.setting, "CLI", r.cli, func(n string) bool { return flags[n] != nil })
		check(r.setting, "action", r.action, func(n string) bool { _, ok := inputs[n]; return ok })
		check(r.setting, "data source", r.datasource, func(n string) bool { return attrs[n] })
		for _, n := range r.builder.names {
			if !slices.Contains(r.datasource.names, n) {
				t.Errorf("docs/options.md, %s: the alicloud builder's %q is not the data source's name (%v): templates share these", r.setting, n, r.datasource.names)
			}
		}
	}
	for front, names := range map[string][]string{"CLI": slices.Collect(maps.Keys(flags)),
		"action": slices.Collect(maps.Keys(inputs)), "data source": slices.Collect(maps.Keys(attrs))} {
		for _, n := range names {
			if seen[front+" "+n] == "" {
				t.Errorf("docs/options.md has no row for the %s's %s", front, n)
			}
		}
	}
}

// The defaults: a default written as one value is the CLI flag's default,
// the default action.yml declares and the default the data source's
// documentation states.
func TestOptionsTableDefaultsAreTheFronts(t *testing.T) {
	rows, _ := readOptions(t)
	inputs := readActionInputs(t)
	docs := dataSourceDocs(t)
	n := 0
	for _, r := range rows {
		if r.defaultSpan == "" {
			continue
		}
		n++
		for _, name := range r.cli.names {
			if fl := cliFlag(strings.TrimPrefix(name, "--")); fl != nil && !sameDefault(r.defaultSpan, fl.DefValue) {
				t.Errorf("%s: the table's default is %q, the CLI's %s defaults to %q", r.setting, r.defaultSpan, name, fl.DefValue)
			}
		}
		for _, name := range r.action.names {
			in := inputs[name]
			if in.Default == nil || !sameDefault(r.defaultSpan, *in.Default) {
				t.Errorf("%s: the table's default is %q, action.yml's input %s declares %v", r.setting, r.defaultSpan, name, in.Default)
			}
		}
		if len(r.datasource.names) > 0 {
			name := r.datasource.names[0]
			d := docs[name]
			if !strings.Contains(d, "`"+r.defaultSpan+"`") || !strings.Contains(strings.ToLower(d), "default") {
				t.Errorf("%s: the table's default is %q; the data source's %s does not document it: %q", r.setting, r.defaultSpan, name, d)
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d defaults checked", n)
	}
}

// fronts runs one setting through each front, offline, with nothing
// configured for credentials: a value that passes every check gets as far
// as "no Alibaba Cloud credentials found" (exit 2 on the CLI and in the
// action; the data source's Configure, which needs none, accepts it); a
// refused one is exit 2 and the one format of a refusal, naming the
// setting as that front does.
type probe struct {
	t    *testing.T
	spec hcldec.ObjectSpec
}

const noCredentials = "no Alibaba Cloud credentials found"

func (p probe) cli(flagName, value string) (accepted bool, msg string) {
	home := p.t.TempDir()
	var out, errb bytes.Buffer
	a := &app{getenv: func(k string) string { return map[string]string{"HOME": home}[k] }, stdout: &out, stderr: &errb}
	code := a.run(context.Background(), []string{"resolve", "--region", "cn-hangzhou", "--image-family", "web-base", flagName, value})
	return p.outcome("CLI "+flagName+" "+value, code, errb.String(), fmt.Sprintf("invalid %s %q", flagName, value))
}

func (p probe) action(input, value string) (accepted bool, msg string) {
	home := p.t.TempDir()
	outputs := home + "/outputs"
	if err := os.WriteFile(outputs, nil, 0o600); err != nil {
		p.t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "GITHUB_OUTPUT": outputs, "INPUT_REGION": "cn-hangzhou", "INPUT_IMAGE_FAMILY": "web-base",
		"INPUT_" + strings.ToUpper(strings.ReplaceAll(input, "-", "_")): value}
	var out bytes.Buffer
	code := action.Main(context.Background(), func(k string) string { return env[k] }, &out,
		action.WithRequest(func(r *imagefamily.Request) { r.Credentials.HomeDir = home }))
	return p.outcome("action "+input+" "+value, code, out.String(), fmt.Sprintf("invalid input %s %q", input, value))
}

func (p probe) outcome(what string, code int, text, refusal string) (bool, string) {
	switch {
	case code == exitUsage && strings.Contains(text, noCredentials) && !strings.Contains(text, refusal):
		return true, text
	case code == exitUsage && strings.Contains(text, refusal) && !strings.Contains(text, noCredentials):
		return false, text
	}
	p.t.Errorf("%s: exit %d, neither accepted (%q) nor refused (%q):\n%s", what, code, noCredentials, refusal, text)
	return false, text
}

func (p probe) datasource(attr, value string) (accepted bool, msg string) {
	v := strconv.Quote(value)
	if as, ok := p.spec[attr].(*hcldec.AttrSpec); ok && as.Type == cty.Number {
		v = value
	}
	body := fmt.Sprintf("image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n%s = %s\n", attr, v)
	file, diags := hclparse.NewParser().ParseHCL([]byte(body), "probe.pkr.hcl")
	if diags.HasErrors() {
		p.t.Fatalf("%s: %v", body, diags)
	}
	val, diags := hcldec.Decode(file.Body, p.spec, nil)
	if diags.HasErrors() {
		p.t.Fatalf("%s: %v", body, diags)
	}
	err := (&family.Datasource{}).Configure(val)
	if err == nil {
		return true, ""
	}
	refusal := fmt.Sprintf("invalid %s %q", attr, value)
	if !strings.Contains(err.Error(), refusal) {
		p.t.Errorf("data source %s = %s: refused without %q: %v", attr, v, refusal, err)
	}
	return false, err.Error()
}

// bounds turns the table's bounds into values to try: accepted ones and
// refused ones. ok is false for bounds the table writes in words.
func bounds(text string) (accept, refuse []string, ok bool) {
	spans := codeSpan.FindAllStringSubmatch(text, -1)
	switch {
	case len(spans) == 2 && text == "`"+spans[0][1]+"` to `"+spans[1][1]+"`":
		lo, hi := spans[0][1], spans[1][1]
		a, errA := strconv.Atoi(lo)
		if b, errB := strconv.Atoi(hi); errA == nil && errB == nil {
			return []string{lo, hi}, []string{strconv.Itoa(a - 1), strconv.Itoa(b + 1)}, true
		}
		dlo, errA := time.ParseDuration(lo)
		dhi, errB := time.ParseDuration(hi)
		if errA != nil || errB != nil {
			return nil, nil, false
		}
		below := "-1s"
		if dlo > 0 {
			below = (dlo - time.Millisecond).String()
		}
		return []string{lo, hi}, []string{below, (dhi + time.Second).String()}, true
	case strings.HasPrefix(text, "one of "):
		for _, s := range spans {
			accept = append(accept, s[1])
			if strings.HasSuffix(text, "(any case)") {
				accept = append(accept, strings.ToUpper(s[1]))
			}
		}
		return accept, []string{"not-a-value"}, true
	}
	return nil, nil, false
}

// The bounds: each value the table's bounds admit is accepted by every
// front that has the setting, and each just outside them is refused by
// every one, in the one format, naming the front's flag, input or
// attribute.
func TestOptionsTableBoundsAreTheFronts(t *testing.T) {
	rows, _ := readOptions(t)
	p := probe{t: t, spec: (&family.Datasource{}).ConfigSpec()}
	n := 0
	for _, r := range rows {
		accept, refuse, ok := bounds(r.boundsText)
		if !ok {
			continue
		}
		n++
		t.Run(r.setting, func(t *testing.T) {
			p := probe{t: t, spec: p.spec}
			for _, front := range []struct {
				c   cell
				try func(name, value string) (bool, string)
			}{{r.cli, p.cli}, {r.action, p.action}, {r.datasource, p.datasource}} {
				if len(front.c.names) == 0 {
					continue
				}
				name := front.c.names[0]
				for _, v := range accept {
					if ok, msg := front.try(name, v); !ok {
						t.Errorf("%s %q is within the table's bounds (%s), but refused:\n%s", name, v, r.boundsText, msg)
					}
				}
				for _, v := range refuse {
					if ok, _ := front.try(name, v); ok {
						t.Errorf("%s %q is outside the table's bounds (%s), but accepted", name, v, r.boundsText)
					}
				}
			}
		})
	}
	if n < 6 {
		t.Fatalf("only %d settings with bounds to try", n)
	}
}

// The outcomes: the exit codes the table gives are the CLI's and the
// action's (one table in the core, imagefamily.ExitCode).
func TestOptionsTableOutcomesAreTheFronts(t *testing.T) {
	_, outcomes := readOptions(t)
	samples := map[string]error{
		"found":                                    nil,
		"refused before anything was sent":         &imagefamily.ValidationError{Field: "--max-age", Value: "30", Rule: "r"},
		"no available image":                       &imagefamily.NotFoundError{Region: "cn-hangzhou", Family: "web-base"},
		"the newest image is not the expected one": fmt.Errorf("cn-hangzhou: m-old -> m-new: %w", imagefamily.ErrChanged),
		"refused by a guard":                       &imagefamily.GuardError{Guard: "architecture"},
		"any other failure":                        &imagefamily.APIError{Code: "Forbidden.RAM"},
	}
	for outcome, err := range samples {
		cells, ok := outcomes[outcome]
		if !ok || len(cells) != 3 {
			t.Errorf("docs/options.md's Outcomes table has no row %q with three cells", outcome)
			continue
		}
		for i, front := range []struct {
			name string
			code int
		}{{"CLI", exitCode(err)}, {"action", action.ExitCode(err)}} {
			m := codeSpan.FindStringSubmatch(cells[i])
			if m == nil || m[1] != strconv.Itoa(front.code) {
				t.Errorf("%s: the table says %q for the %s, which exits %d", outcome, cells[i], front.name, front.code)
			}
		}
	}
	if len(outcomes) != len(samples) {
		t.Errorf("the Outcomes table has %d rows; this test knows %d", len(outcomes), len(samples))
	}
}
