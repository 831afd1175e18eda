package docs

// Claims of the prose, checked against what exists: the tag users pin, the
// option names the credentials page offers on each front, the family-name
// rule the troubleshooting page states, and what the README says the CLI
// does.

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

// TestActionTagIsTheMajorTagTheReleaseMoves: every
// imagefamily/packer-plugin-alicloud-image-family@X in README.md, docs/,
// .web-docs/ and example/ is the major tag the release workflow moves for
// the version in version/ (v0 for 0.1.0): a workflow copied with another
// tag does not resolve.
func TestActionTagIsTheMajorTagTheReleaseMoves(t *testing.T) {
	major := majorTag(t)
	re := regexp.MustCompile(regexp.QuoteMeta(actionRepo) + "@([^\\s\"'`)\\]]+)")
	n := 0
	for _, f := range files(t, []string{"README.md", "docs", ".web-docs", "example"}) {
		for i, line := range strings.Split(readFile(t, f), "\n") {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				n++
				if m[1] != major {
					t.Errorf("%s:%d: %s@%s: the release workflow moves %s for version %s, so this does not resolve", f, i+1, actionRepo, m[1], major, version.Version)
				}
			}
		}
	}
	if n == 0 {
		t.Fatalf("no %s@... found in the docs: the search is broken", actionRepo)
	}
}

// fronts is what each front really offers: the CLI's flags (resolve, demo,
// emulator), the data source's attributes and the action's inputs.
type fronts struct {
	flags, attributes, inputs map[string]bool
}

func readFronts(t testing.TB) fronts {
	t.Helper()
	fr := fronts{flags: map[string]bool{}, attributes: map[string]bool{}, inputs: readActionMeta(t).inputs}
	// fs.StringVar(&f.x, "name", ...), fs.String("name", ...), fs.Var(&f.x, "name", ...)
	flagDef := regexp.MustCompile(`\b\w+\.(?:(?:Bool|String|Int|Int64|Uint|Uint64|Float64|Duration|Func|BoolFunc|Text)?Var\(\s*[^,()]+,|(?:Bool|String|Int|Int64|Uint|Uint64|Float64|Duration|Func|BoolFunc)\()\s*"([a-z][a-z0-9-]*)"`)
	var srcs []string
	for _, f := range files(t, []string{"cmd/alicloud-image-family"}, ".go") {
		if !strings.HasSuffix(f, "_test.go") {
			srcs = append(srcs, f)
		}
	}
	srcs = append(srcs, "ecstest/emulatorproc/main.go") // the emulator subcommand's flags
	for _, f := range srcs {
		for _, m := range flagDef.FindAllStringSubmatch(readFile(t, f), -1) {
			fr.flags["--"+m[1]] = true
		}
	}
	for _, a := range readDataSpec().config.Attributes {
		fr.attributes[a.Name] = true
	}
	for _, must := range []string{"--region", "--image-family", "--fixture"} {
		if !fr.flags[must] {
			t.Fatalf("the flag table misses %s: the flag search is broken (found %d flags)", must, len(fr.flags))
		}
	}
	if !fr.attributes["custom_endpoint_ecs"] || !fr.inputs["endpoint"] {
		t.Fatal("the data source's attributes or the action's inputs were not read")
	}
	return fr
}

// otherTools are flags of other programs the docs quote.
var otherTools = map[string]string{
	"--local-repository": "act",
	"--ignore-missing":   "sha256sum",
}

// TestDocumentedOptionsExist: the option names the docs offer exist on the
// front they are offered for.
//
//   - every `--flag` quoted in README.md or docs/ is a flag of the CLI (or of
//     a program listed in otherTools);
//   - in the pages' "CLI / data source / action" spellings, such as
//     "`--endpoint` / `custom_endpoint_ecs`" or "`sts_endpoint` /
//     `--sts-endpoint` / the `sts-endpoint` input", each name besides the
//     flag is a data source attribute, or an action input when the text
//     says "the `x` input" (upper-case names are environment variables).
func TestDocumentedOptionsExist(t *testing.T) {
	fr := readFronts(t)
	quotedFlag := regexp.MustCompile("`(--[a-z][a-z0-9-]*)[^`]*`")
	// One spelling group: backquoted names joined by "/", the last optionally
	// written "the `x` input".
	group := regexp.MustCompile("(?:(?:the )?`[^`]+`(?: input)?\\s*/\\s*)+(?:the )?`[^`]+`(?: input)?")
	name := regexp.MustCompile("(the )?`([^`]+)`( input)?")
	envVar := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	attribute := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	groups := 0
	for _, f := range files(t, []string{"README.md", "docs"}, ".md", ".mdx") {
		text := readFile(t, f)
		for _, m := range quotedFlag.FindAllStringSubmatch(text, -1) {
			if !fr.flags[m[1]] && otherTools[m[1]] == "" {
				t.Errorf("%s: %s is not a flag of alicloud-image-family (resolve, demo, emulator)", f, m[1])
			}
		}
		// Paragraphs and table rows as one line each, so a group may wrap.
		flat := regexp.MustCompile(`\n[ \t]*`).ReplaceAllString(text, " ")
		for _, g := range group.FindAllString(flat, -1) {
			names := name.FindAllStringSubmatch(g, -1)
			hasFlag := slices.ContainsFunc(names, func(n []string) bool { return strings.HasPrefix(n[2], "--") })
			if !hasFlag {
				continue // not a CLI / data source / action spelling
			}
			groups++
			for _, n := range names {
				word := strings.Fields(n[2])[0]
				switch {
				case strings.HasPrefix(word, "--"):
					// checked above
				case n[1] != "" && n[3] != "":
					if !fr.inputs[word] {
						t.Errorf("%s: %q says the action has an input %q; action.yml has no such input", f, g, word)
					}
				case envVar.MatchString(word):
				case attribute.MatchString(word):
					if !fr.attributes[word] {
						t.Errorf("%s: %q offers %q beside a CLI flag, as the data source's attribute; the data source has no attribute %q (the action's inputs: the `x` input)", f, g, word, word)
					}
				default:
					t.Errorf("%s: %q: cannot tell which front %q belongs to", f, g, word)
				}
			}
		}
	}
	if groups == 0 {
		t.Fatal("no \"`--flag` / `attribute`\" spellings found: the search is broken")
	}
}

// TestTroubleshootingFamilyRule: the prefixes docs/troubleshooting.md lists
// as breaking the family-name rule are refused by the core. Families shared
// with you (acs:<owner account id>:<family>) and public families
// (acs:<family>) are valid lookups, so acs: is not among them.
func TestTroubleshootingFamilyRule(t *testing.T) {
	doc := readFile(t, "docs/troubleshooting.md")
	var row string
	for _, line := range strings.Split(doc, "\n") {
		// The refusal as the CLI words it (the action's and the data
		// source's name their input and attribute the same way).
		if strings.HasPrefix(line, "| `invalid --image-family") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("docs/troubleshooting.md has no row for `invalid --image-family`")
	}
	// "not `http://`, `https://`, `aliyun...`" (the list of refused prefixes)
	list := regexp.MustCompile("\\bnot ((?:`[^`]+`(?:, | or |/)?)+)").FindStringSubmatch(row)
	if list == nil {
		t.Fatalf("cannot find the list of refused prefixes (not `...`, ...) in %q", row)
	}
	var prefixes []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(list[1], -1) {
		prefixes = append(prefixes, strings.TrimSuffix(m[1], "..."))
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		for _, name := range []string{p + "web-base", p + "210987654321:web-base"} {
			if err := imagefamily.ValidateFamily(name); err == nil {
				t.Errorf("docs/troubleshooting.md says a family starting with %q breaks the rule, but %q is a valid lookup", p, name)
			}
		}
	}
	for _, ok := range []string{"acs:210987654321:golden-base", "acs:alibaba_cloud_linux_3_2104_lts_x64"} {
		if err := imagefamily.ValidateFamily(ok); err != nil {
			t.Fatalf("the core refuses %q: %v (docs/shared-families.md says it is valid)", ok, err)
		}
	}
	if !strings.Contains(row, "acs:<owner account id>:<family>") {
		t.Error("the `invalid --image-family` row does not say how a shared family is written (acs:<owner account id>:<family>)")
	}
}

// TestReadmeClaimsOnlyCommandsThatExist: the README's line about the CLI
// does not promise promotion (copying images to other regions) while the
// CLI has no command for it.
func TestReadmeClaimsOnlyCommandsThatExist(t *testing.T) {
	commands := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*case ((?:"[^"]+",?\s*)+):`).FindAllStringSubmatch(readFile(t, "cmd/alicloud-image-family/main.go"), -1) {
		for _, c := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(m[1], -1) {
			commands[c[1]] = true
		}
	}
	if !commands["resolve"] {
		t.Fatalf("cannot read the CLI's commands from cmd/alicloud-image-family/main.go (found %v)", commands)
	}
	readme := readFile(t, "README.md")
	i := strings.Index(readme, "- a **command-line tool**")
	if i < 0 {
		t.Fatal("README.md has no \"- a **command-line tool**\" item")
	}
	item := readme[i:]
	if end := strings.Index(item, "\n\n"); end >= 0 {
		item = item[:end]
	}
	if j := strings.Index(item[1:], "\n- "); j >= 0 {
		item = item[:j+1]
	}
	// "promotion is planned" is honest; a claim without "planned" needs the
	// command.
	claim := regexp.MustCompile(`(?i)\b(promot|cop(y|ies|ying))\w*`).FindString(item)
	if claim != "" && !commands["promote"] && !commands["copy"] && !strings.Contains(item, "planned") {
		t.Errorf("README.md says the CLI is for %q, but it has no promote or copy command (commands: %v):\n%s", claim, slices.Sorted(maps.Keys(commands)), item)
	}
}
