package docs

import (
	"path"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

// actionMeta is what action.yml declares.
type actionMeta struct {
	inputs, outputs map[string]bool
}

func readActionMeta(t testing.TB) actionMeta {
	t.Helper()
	var a struct {
		Inputs  map[string]any `yaml:"inputs"`
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "action.yml")), &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	m := actionMeta{inputs: map[string]bool{}, outputs: map[string]bool{}}
	for k := range a.Inputs {
		m.inputs[k] = true
	}
	for k := range a.Outputs {
		m.outputs[k] = true
	}
	if len(m.inputs) == 0 || len(m.outputs) == 0 {
		t.Fatal("action.yml declares no inputs or no outputs")
	}
	return m
}

// majorTag is the tag `uses:` of this action must carry: the one
// .github/workflows/release.yml moves when the version in version/ is
// released. It finds the step that moves a tag (`git tag -f "$X"`), reads
// how X is made from GITHUB_REF_NAME (a bash ${GITHUB_REF_NAME%%.*} style
// expansion) and applies it to "v" + version.Version, after checking that
// the workflow runs for that tag at all.
func majorTag(t testing.TB) string {
	t.Helper()
	const wfPath = ".github/workflows/release.yml"
	var wf struct {
		On struct {
			Push struct {
				Tags []string `yaml:"tags"`
			} `yaml:"push"`
		} `yaml:"on"`
		Jobs map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, wfPath)), &wf); err != nil {
		t.Fatalf("%s: %v", wfPath, err)
	}
	tag := "v" + version.Version
	runs := false
	for _, p := range wf.On.Push.Tags {
		if filterPattern(p).MatchString(tag) {
			runs = true
		}
	}
	if !runs {
		t.Fatalf("%s does not run for the tag %s of version/ (on.push.tags %q)", wfPath, tag, wf.On.Push.Tags)
	}
	moveTag := regexp.MustCompile(`git tag -f "?\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	var found []string
	for job, j := range wf.Jobs {
		for _, s := range j.Steps {
			m := moveTag.FindStringSubmatch(s.Run)
			if m == nil {
				continue
			}
			assign := regexp.MustCompile(`(?m)^\s*` + m[1] + `=\$\{GITHUB_REF_NAME(%%|%|##|#)([^}]*)\}\s*$`).FindStringSubmatch(s.Run)
			if assign == nil {
				t.Fatalf("%s, job %s, step %q moves the tag $%s, but this test cannot read how $%s is made from GITHUB_REF_NAME; teach majorTag the new form", wfPath, job, s.Name, m[1], m[1])
			}
			found = append(found, trimGlob(tag, assign[1], assign[2]))
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want exactly one step that moves the major tag (git tag -f \"$major\"), found %d", wfPath, len(found))
	}
	if found[0] == "" || found[0] == tag {
		t.Fatalf("%s moves %q for %s, which is not a major tag", wfPath, found[0], tag)
	}
	return found[0]
}

// trimGlob is bash's ${s%%pat}, ${s%pat}, ${s##pat} and ${s#pat}.
func trimGlob(s, op, pat string) string {
	match := func(x string) bool { ok, _ := path.Match(pat, x); return ok }
	switch op {
	case "%%": // longest matching suffix
		for i := 0; i <= len(s); i++ {
			if match(s[i:]) {
				return s[:i]
			}
		}
	case "%": // shortest matching suffix
		for i := len(s); i >= 0; i-- {
			if match(s[i:]) {
				return s[:i]
			}
		}
	case "##": // longest matching prefix
		for i := len(s); i >= 0; i-- {
			if match(s[:i]) {
				return s[i:]
			}
		}
	case "#": // shortest matching prefix
		for i := 0; i <= len(s); i++ {
			if match(s[:i]) {
				return s[i:]
			}
		}
	}
	return s
}

// filterPattern turns a GitHub branch/tag filter pattern into a regexp:
// * is any run of characters but /, ** any run, + and ? apply to the
// character (or [class]) before them, [...] is a class.
func filterPattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '+', '?':
			b.WriteByte(c)
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				b.WriteString(regexp.QuoteMeta(p[i:]))
				i = len(p)
				continue
			}
			b.WriteString(p[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func TestMajorTagDerivation(t *testing.T) {
	for _, c := range []struct{ s, op, pat, want string }{
		{"v0.1.0", "%%", ".*", "v0"},
		{"v1.2.3", "%%", ".*", "v1"},
		{"v1.2.3", "%", ".*", "v1.2"},
		{"v1.2.3", "#", "v", "1.2.3"},
		{"v1.2.3", "##", "*.", "3"},
	} {
		if got := trimGlob(c.s, c.op, c.pat); got != c.want {
			t.Errorf("${%s%s%s} = %q, want %q", c.s, c.op, c.pat, got, c.want)
		}
	}
	for _, c := range []struct {
		pattern, tag string
		want         bool
	}{
		{"v[0-9]+.[0-9]+.[0-9]+", "v0.1.0", true},
		{"v[0-9]+.[0-9]+.[0-9]+", "v0", false},
		{"v[0-9]+.[0-9]+.[0-9]+", "v10.20.30", true},
		{"v[0-9]+.[0-9]+.[0-9]+-*", "v1.2.0-rc.1", true},
		{"v[0-9]+.[0-9]+.[0-9]+-*", "v1.2.0", false},
	} {
		if got := filterPattern(c.pattern).MatchString(c.tag); got != c.want {
			t.Errorf("filter %q on %q = %v, want %v", c.pattern, c.tag, got, c.want)
		}
	}
	t.Logf("version %s: the release workflow moves %s", version.Version, majorTag(t))
}
