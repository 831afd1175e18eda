package docs

// GitLab CI blocks: a ```yaml block whose first comment line is
// "# .gitlab-ci.yml" is a GitLab pipeline, not a GitHub workflow, and gets
// GitLab's rules instead of GitHub's:
//
//	(gl-shape) top-level keys are GitLab's global keywords or jobs; a job
//	           (a key not starting with '.') is a mapping with script:, and
//	           only keys GitLab knows for a job
//	(gl-expr)  no GitHub expression (${{ }}): GitLab does not expand it
//	(gl-needs) needs: names jobs of the block
//	(gl-env)   a job that reads a variable a dotenv report of the block
//	           provides needs: the job that writes the report (GitLab passes
//	           dotenv variables only to jobs that need, or depend on, it)

import (
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var gitlabMark = regexp.MustCompile(`(?m)\A\s*#\s*\.gitlab-ci\.yml\b`)

func (b block) gitlab() bool { return gitlabMark.MatchString(b.text) }

var (
	gitlabGlobal = map[string]bool{"stages": true, "variables": true, "default": true, "include": true, "workflow": true, "image": true, "services": true, "cache": true, "before_script": true, "after_script": true}
	gitlabJobKey = map[string]bool{"stage": true, "image": true, "services": true, "script": true, "before_script": true, "after_script": true,
		"artifacts": true, "needs": true, "dependencies": true, "variables": true, "rules": true, "tags": true, "when": true, "extends": true,
		"environment": true, "cache": true, "timeout": true, "retry": true, "allow_failure": true, "interruptible": true, "id_tokens": true, "secrets": true}
	shellVar = regexp.MustCompile(`\$\{?([A-Z_][A-Z0-9_]*)`)
)

// lintGitLab checks a GitLab pipeline block.
func lintGitLab(l *linter, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		l.errorf(root, "gl-shape", "a .gitlab-ci.yml is a mapping of keywords and jobs")
		return
	}
	jobs := map[string]*yaml.Node{}
	candidates := 0
	for _, p := range pairs(root) {
		k := p[0].Value
		if !gitlabGlobal[k] && !strings.HasPrefix(k, ".") {
			candidates++
		}
		switch {
		case gitlabGlobal[k], strings.HasPrefix(k, "."):
		case p[1].Kind != yaml.MappingNode || get(p[1], "script") == nil:
			l.errorf(p[0], "gl-shape", "%s: a job needs script:", k)
		default:
			jobs[k] = p[1]
		}
	}
	if candidates == 0 {
		l.errorf(root, "gl-shape", "no job")
	}
	// The variables each dotenv report provides: the keys the script
	// keeps with grep -E '^(A|B)=' (the docs' way of keeping a report
	// within GitLab's limits), else none known.
	keep := regexp.MustCompile(`\^\(([A-Z0-9_|]+)\)=`)
	provides := map[string]string{} // variable -> job
	for name, job := range jobs {
		for _, p := range pairs(job) {
			if !gitlabJobKey[p[0].Value] {
				l.errorf(p[0], "gl-shape", "%s: %s is not a key of a GitLab job", name, p[0].Value)
			}
		}
		if rep := get(get(job, "artifacts"), "reports"); rep != nil && get(rep, "dotenv") != nil {
			scalars(get(job, "script"), func(s *yaml.Node) {
				if m := keep.FindStringSubmatch(s.Value); m != nil {
					for _, v := range strings.Split(m[1], "|") {
						provides[v] = name
					}
				}
			})
		}
	}
	for name, job := range jobs {
		needs := map[string]bool{}
		scalars(get(job, "needs"), func(s *yaml.Node) {
			needs[s.Value] = true
			if jobs[s.Value] == nil {
				l.errorf(s, "gl-needs", "%s: needs %s, which is not a job of the block", name, s.Value)
			}
		})
		scalars(job, func(s *yaml.Node) {
			if strings.Contains(s.Value, "${{") {
				l.errorf(s, "gl-expr", "%s: ${{ }} is GitHub's syntax; GitLab does not expand it", name)
			}
		})
		scalars(get(job, "script"), func(s *yaml.Node) {
			for _, m := range shellVar.FindAllStringSubmatch(s.Value, -1) {
				if from, ok := provides[m[1]]; ok && from != name && !needs[from] {
					l.errorf(s, "gl-env", "%s: reads $%s from %s's dotenv report without needs: [%s]", name, m[1], from, from)
				}
			}
		})
	}
}

func TestGitLabRulesFire(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"clean", "# .gitlab-ci.yml\nstages: [a, b]\nr:\n  stage: a\n  script:\n    - x --output dotenv | grep -E '^(IMAGE_ID|REGION)=' > i.env\n  artifacts:\n    reports:\n      dotenv: i.env\nb:\n  stage: b\n  needs: [r]\n  script:\n    - echo \"$IMAGE_ID\"\n", nil},
		{"no script", "# .gitlab-ci.yml\nr:\n  stage: a\n", []string{"(gl-shape) r: a job needs script:"}},
		{"unknown key", "# .gitlab-ci.yml\nr:\n  runs-on: x\n  script: [x]\n", []string{"(gl-shape) r: runs-on is not a key"}},
		{"github expression", "# .gitlab-ci.yml\nr:\n  script: ['echo ${{ steps.x.outputs.y }}']\n", []string{"(gl-expr)"}},
		{"needs nothing", "# .gitlab-ci.yml\nr:\n  needs: [q]\n  script: [x]\n", []string{"(gl-needs) r: needs q"}},
		{"dotenv without needs", "# .gitlab-ci.yml\nr:\n  script:\n    - x | grep -E '^(IMAGE_ID)=' > i.env\n  artifacts:\n    reports:\n      dotenv: i.env\nb:\n  script: ['echo $IMAGE_ID']\n", []string{"(gl-env) b: reads $IMAGE_ID from r's dotenv report without needs: [r]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			kind, got := lintYAML(block{file: "x.md", line: 1, lang: "yaml", text: c.yaml}, "v1", actionMeta{})
			if kind != "gitlab" {
				t.Errorf("classified as %s", kind)
			}
			if len(got) != len(c.want) {
				t.Fatalf("problems %q, want %q", got, c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q lacks %q", got[i], w)
				}
			}
		})
	}
}
