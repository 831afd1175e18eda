package docs

// The OIDC setup the docs give (docs/oidc.md), held against GitHub's and
// RAM's rules and against itself:
//
//   - every ```json block of the docs parses; every one that is a RAM trust
//     policy for an identity provider (it names a Federated principal)
//     conditions on oidc:iss (GitHub's issuer), oidc:aud (the action's
//     default audience) and oidc:sub (GitHub's subject formats), with the
//     operators RAM has, `*` only under StringLike, and oidc:sub under one
//     operator only (two would have to match at once);
//   - each example pair, a policy and a workflow marked
//     <!-- oidc-example: NAME policy --> and <!-- oidc-example: NAME workflow -->,
//     agrees: the subjects the workflow's triggers and environments give are
//     exactly the policy's, and its jobs name the policy's provider;
//   - the aliyun CLI and Terraform snippets create what the examples use
//     (provider name, issuer, client id, role and policy names, subjects);
//   - every shell block that needs the network says so (# Online);
//   - README.md, docs/action.md and docs/credentials.md link to the page.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	oidcDoc     = "docs/oidc.md"
	githubIssue = "https://token.actions.githubusercontent.com"
)

// defaultAudience is the audience input's default in action.yml.
func defaultAudience(t testing.TB) string {
	t.Helper()
	var a struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "action.yml")), &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	aud := a.Inputs["audience"].Default
	if aud == "" {
		t.Fatal("action.yml: the audience input has no default")
	}
	return aud
}

// trustPolicy is a RAM trust policy, as far as these rules read it.
type trustPolicy struct {
	Version   string
	Statement []struct {
		Effect    string
		Action    any
		Principal map[string]any
		Condition map[string]map[string]any
	}
}

// strs reads a policy value that is a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

var (
	// GitHub's default subject formats: docs.github.com/en/actions/reference/security/oidc
	githubSubject   = regexp.MustCompile(`^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:(ref:refs/(heads|tags)/\S+|pull_request|environment:\S+)$`)
	oidcProviderARN = regexp.MustCompile(`^acs:ram::(\d+):oidc-provider/([A-Za-z0-9._-]+)$`)
	roleARN         = regexp.MustCompile(`^acs:ram::(\d+):role/([A-Za-z0-9._-]+)$`)
)

// lintTrustPolicy checks one trust policy and returns its subjects and
// providers.
func lintTrustPolicy(b block, audience string) (subjects, providers []string, problems []string) {
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", b, fmt.Sprintf(format, args...)))
	}
	var p trustPolicy
	if err := json.Unmarshal([]byte(b.text), &p); err != nil {
		bad("not a policy: %v", err)
		return
	}
	if p.Version != "1" || len(p.Statement) == 0 {
		bad("a RAM policy has \"Version\": \"1\" and statements")
	}
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !slices.Contains(strs(st.Action), "sts:AssumeRole") {
			bad("a trust statement is Effect Allow, Action sts:AssumeRole (RAM names that also for AssumeRoleWithOIDC); got %s %v", st.Effect, st.Action)
		}
		for _, f := range strs(st.Principal["Federated"]) {
			if !oidcProviderARN.MatchString(f) {
				bad("Federated %q is not an OIDC provider ARN (acs:ram::<account>:oidc-provider/<name>)", f)
			}
			providers = append(providers, f)
		}
		where := map[string][]string{} // key -> operators
		for op, kv := range st.Condition {
			if op != "StringEquals" && op != "StringLike" {
				bad("condition operator %s: these docs use StringEquals and StringLike", op)
			}
			for k, v := range kv {
				where[k] = append(where[k], op)
				vals := strs(v)
				if len(vals) == 0 {
					bad("%s %s has no string value", op, k)
				}
				for _, s := range vals {
					if strings.Contains(s, "*") && op != "StringLike" {
						bad("%s %s %q: * is a wildcard only in StringLike; in %s it is a literal *", op, k, s, op)
					}
					switch k {
					case "oidc:iss":
						if s != githubIssue || op != "StringEquals" {
							bad("oidc:iss must be StringEquals %q; got %s %q", githubIssue, op, s)
						}
					case "oidc:aud":
						if s != audience || op != "StringEquals" {
							bad("oidc:aud must be StringEquals %q, the audience the action asks for (action.yml); got %s %q", audience, op, s)
						}
					case "oidc:sub":
						if !githubSubject.MatchString(s) {
							bad("oidc:sub %q is none of GitHub's subject forms (repo:OWNER/REPO: ref:refs/heads/B, ref:refs/tags/T, pull_request, environment:E)", s)
						}
						subjects = append(subjects, s)
					default:
						bad("condition key %s: RAM's OIDC keys are oidc:iss, oidc:aud, oidc:sub", k)
					}
				}
			}
		}
		for _, k := range []string{"oidc:iss", "oidc:aud", "oidc:sub"} {
			switch n := len(where[k]); {
			case n == 0 && k == "oidc:sub":
				bad("no oidc:sub condition: every GitHub repository could assume the role")
			case n == 0:
				bad("no %s condition", k)
			case n > 1:
				bad("%s is under %v: a token must then satisfy both lists; put all its values under one operator", k, where[k])
			}
		}
	}
	return subjects, providers, problems
}

// markedBlocks returns the blocks of a page preceded by a comment
// <!-- oidc-example: NAME KIND -->, by NAME and KIND.
func markedBlocks(t testing.TB, file string) map[string]map[string]block {
	t.Helper()
	text := readFile(t, file)
	lines := strings.Split(text, "\n")
	mark := regexp.MustCompile(`^<!--\s*oidc-example:\s*(\S+)\s+(policy|workflow)\s*-->$`)
	out := map[string]map[string]block{}
	for _, b := range extractBlocks(file, text) {
		// b.line is the first line of code (1-based); the fence is above it,
		// the mark above the fence.
		if b.line < 3 {
			continue
		}
		m := mark.FindStringSubmatch(strings.TrimSpace(lines[b.line-3]))
		if m == nil {
			continue
		}
		if out[m[1]] == nil {
			out[m[1]] = map[string]block{}
		}
		if _, dup := out[m[1]][m[2]]; dup {
			t.Fatalf("%s: two %s blocks for oidc-example %s", b, m[2], m[1])
		}
		out[m[1]][m[2]] = b
	}
	if n := strings.Count(text, "oidc-example:"); n != 2*len(out) {
		t.Fatalf("%s: %d oidc-example marks, %d complete pairs: a mark is not right above a fence, or a pair is incomplete", file, n, len(out))
	}
	return out
}

// workflowSubjects reads a workflow and returns, for the jobs that assume
// a role over OIDC, the subject suffixes GitHub gives them (what follows
// repo:OWNER/REPO:), and the ARNs and audiences they use.
func workflowSubjects(b block, audience string) (suffixes, providers, roles []string, problems []string) {
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", b, fmt.Sprintf(format, args...)))
	}
	var wf struct {
		On   yaml.Node
		Jobs map[string]struct {
			Environment yaml.Node
			Steps       []struct {
				Uses string
				With map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(b.text), &wf); err != nil {
		bad("not YAML: %v", err)
		return
	}
	// The triggers: on: as a string, a list or a mapping.
	triggers := map[string]*yaml.Node{}
	switch wf.On.Kind {
	case yaml.ScalarNode:
		triggers[wf.On.Value] = nil
	case yaml.SequenceNode:
		for _, n := range wf.On.Content {
			triggers[n.Value] = nil
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(wf.On.Content); i += 2 {
			triggers[wf.On.Content[i].Value] = wf.On.Content[i+1]
		}
	default:
		bad("no on:")
		return
	}
	filter := func(n *yaml.Node, key string) []string {
		var out []string
		if v := get(n, key); v != nil {
			scalars(v, func(s *yaml.Node) { out = append(out, s.Value) })
		}
		return out
	}
	var refSubjects []string
	for name, n := range triggers {
		switch name {
		case "push":
			branches, tags := filter(n, "branches"), filter(n, "tags")
			if len(branches)+len(tags) == 0 {
				bad("push without branches: or tags: runs for every branch and tag; a trust policy for it would admit any ref")
			}
			for _, f := range append(slices.Clone(branches), tags...) {
				if strings.ContainsAny(f, "?[]+!") || strings.Contains(f, "**") {
					bad("filter %q: use only * in filters, so that the trust policy's StringLike pattern means the same", f)
				}
			}
			for _, br := range branches {
				refSubjects = append(refSubjects, "ref:refs/heads/"+br)
			}
			for _, tg := range tags {
				refSubjects = append(refSubjects, "ref:refs/tags/"+tg)
			}
		case "pull_request":
			refSubjects = append(refSubjects, "pull_request")
		default:
			bad("trigger %s: this test does not know its subject; teach workflowSubjects", name)
		}
	}
	set := map[string]bool{}
	for id, j := range wf.Jobs {
		oidc := false
		for _, s := range j.Steps {
			if !strings.HasPrefix(s.Uses, actionRepo+"@") || s.With["role-to-assume"] == "" || s.With["access-key-id"] != "" {
				continue
			}
			oidc = true
			providers = append(providers, s.With["oidc-provider-arn"])
			roles = append(roles, s.With["role-to-assume"])
			if a := s.With["audience"]; a != "" && a != audience {
				bad("job %s asks for audience %q; the policies and the provider use %q", id, a, audience)
			}
		}
		if !oidc {
			continue
		}
		env := j.Environment.Value
		if j.Environment.Kind == yaml.MappingNode {
			if n := get(&j.Environment, "name"); n != nil {
				env = n.Value
			}
		}
		if env != "" {
			// An environment replaces the ref in the subject, whatever the event.
			set["environment:"+env] = true
			continue
		}
		for _, s := range refSubjects {
			set[s] = true
		}
	}
	for s := range set {
		suffixes = append(suffixes, s)
	}
	sort.Strings(suffixes)
	if len(suffixes) == 0 {
		bad("no job assumes a role over OIDC with this action")
	}
	return suffixes, providers, roles, problems
}

// TestJSONBlocks: every ```json block of the docs parses, and every RAM
// trust policy for an identity provider follows the rules above.
func TestJSONBlocks(t *testing.T) {
	audience := defaultAudience(t)
	policies := 0
	for _, b := range docBlocks(t, "json") {
		if !json.Valid([]byte(b.text)) {
			var v any
			t.Errorf("%s: not JSON: %v", b, json.Unmarshal([]byte(b.text), &v))
			continue
		}
		if !strings.Contains(b.text, `"Federated"`) {
			continue
		}
		policies++
		_, _, problems := lintTrustPolicy(b, audience)
		for _, p := range problems {
			t.Error(p)
		}
	}
	if policies < 3 {
		t.Errorf("%d trust policies found in the docs; %s alone has three", policies, oidcDoc)
	}
}

// TestOIDCExamplesAgree: each policy/workflow pair of docs/oidc.md admits
// exactly what the workflow runs for, with the same provider.
func TestOIDCExamplesAgree(t *testing.T) {
	audience := defaultAudience(t)
	pairs := markedBlocks(t, oidcDoc)
	if pairs["branch-and-tags"] == nil {
		t.Fatalf("%s has no oidc-example branch-and-tags pair (the complete example)", oidcDoc)
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			pb, wb := pair["policy"], pair["workflow"]
			if pb.lang != "json" || wb.lang != "yaml" {
				t.Fatalf("the policy must be a json block and the workflow a yaml block; got %s and %s", pb.lang, wb.lang)
			}
			subjects, policyProviders, problems := lintTrustPolicy(pb, audience)
			suffixes, providers, roles, wproblems := workflowSubjects(wb, audience)
			for _, p := range append(problems, wproblems...) {
				t.Error(p)
			}
			if kind, lp := lintYAML(wb, majorTag(t), readActionMeta(t)); kind != "workflow" || len(lp) > 0 {
				t.Errorf("%s: the example must be a whole workflow that passes the workflow rules; it is a %s: %v", wb, kind, lp)
			}
			repos := map[string]bool{}
			var policySuffixes []string
			for _, s := range subjects {
				repo, suffix, _ := strings.Cut(strings.TrimPrefix(s, "repo:"), ":")
				repos[repo] = true
				policySuffixes = append(policySuffixes, suffix)
			}
			sort.Strings(policySuffixes)
			if len(repos) != 1 {
				t.Errorf("%s: the policy's subjects name %d repositories (%v); an example trusts one", pb, len(repos), repos)
			}
			if strings.Join(policySuffixes, " ") != strings.Join(suffixes, " ") {
				t.Errorf("the trust policy (%s) admits subjects ...:%v, but the workflow (%s) runs for ...:%v: each trigger needs its subject, and the policy should admit nothing else", pb, policySuffixes, wb, suffixes)
			}
			for _, p := range providers {
				if !slices.Contains(policyProviders, p) {
					t.Errorf("%s: oidc-provider-arn %q is not the policy's Federated provider %v", wb, p, policyProviders)
				}
				pm := oidcProviderARN.FindStringSubmatch(p)
				for _, r := range roles {
					rm := roleARN.FindStringSubmatch(r)
					if pm == nil || rm == nil || pm[1] != rm[1] {
						t.Errorf("%s: role %q and provider %q are not ARNs of one account", wb, r, p)
					}
				}
			}
		})
	}
}

// TestOIDCSetupCreatesWhatTheExamplesUse: the commands of docs/oidc.md (aliyun
// CLI and Terraform) create the provider, role and policy the examples name.
func TestOIDCSetupCreatesWhatTheExamplesUse(t *testing.T) {
	text := readFile(t, oidcDoc)
	audience := defaultAudience(t)
	pairs := markedBlocks(t, oidcDoc)
	var sh, tf string
	for _, b := range codeBlocks(oidcDoc, text, "sh") {
		sh += b.text
	}
	for _, b := range codeBlocks(oidcDoc, text, "hcl") {
		if b.terraform() {
			tf += b.text
		}
	}
	if sh == "" || tf == "" {
		t.Fatalf("%s has no aliyun CLI (sh) or no Terraform block", oidcDoc)
	}
	arg := func(name string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`--`+name+`\s+"?([^\s"\\]+)`).FindAllStringSubmatch(sh, -1) {
			out = append(out, m[1])
		}
		return out
	}
	tfAttr := func(name string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^\s*`+name+`\s*=\s*"([^"]+)"`).FindAllStringSubmatch(tf, -1) {
			out = append(out, m[1])
		}
		return out
	}
	one := func(what string, got []string) string {
		t.Helper()
		got = slices.Compact(slices.Sorted(slices.Values(got)))
		if len(got) != 1 {
			t.Errorf("%s: %s should be one value throughout, got %q", oidcDoc, what, got)
			return ""
		}
		return got[0]
	}

	provider := one("--OIDCProviderName (aliyun) and oidc_provider_name (Terraform)", append(arg("OIDCProviderName"), tfAttr("oidc_provider_name")...))
	if iss := arg("IssuerUrl"); len(iss) != 1 || iss[0] != githubIssue {
		t.Errorf("CreateOIDCProvider --IssuerUrl %v; want %s", iss, githubIssue)
	}
	if ids := arg("ClientIds"); len(ids) != 1 || !slices.Contains(strings.Split(ids[0], ","), audience) {
		t.Errorf("CreateOIDCProvider --ClientIds %v; must include %s, the audience the action asks for", ids, audience)
	}
	if !strings.Contains(tf, `"`+githubIssue+`"`) || !strings.Contains(tf, `"`+audience+`"`) {
		t.Errorf("the Terraform block does not use issuer %s and client id %s", githubIssue, audience)
	}
	for _, m := range regexp.MustCompile(`oidc-provider/([A-Za-z0-9._-]+)`).FindAllStringSubmatch(text, -1) {
		if provider != "" && m[1] != provider {
			t.Errorf("%s names oidc-provider/%s; the provider it creates is %s", oidcDoc, m[1], provider)
		}
	}
	accounts := map[string]bool{}
	for _, m := range regexp.MustCompile(`acs:ram::(\d+):`).FindAllStringSubmatch(text, -1) {
		accounts[m[1]] = true
	}
	if len(accounts) != 1 {
		t.Errorf("%s uses the account ids %v; one example account throughout", oidcDoc, accounts)
	}

	// The role the commands create is the one the complete example assumes,
	// with the permission policy the commands create.
	role := one("--RoleName (aliyun) and role_name (Terraform)", append(arg("RoleName"), tfAttr("role_name")...))
	policy := one("--PolicyName (aliyun) and policy_name (Terraform)", append(arg("PolicyName"), tfAttr("policy_name")...))
	if policy == "" || !strings.Contains(sh, "AttachPolicyToRole") || !strings.Contains(tf, "alicloud_ram_role_policy_attachment") {
		t.Error("the permission policy is not attached to the role (AttachPolicyToRole; alicloud_ram_role_policy_attachment)")
	}
	_, _, roles, _ := workflowSubjects(pairs["branch-and-tags"]["workflow"], audience)
	for _, r := range roles {
		if m := roleARN.FindStringSubmatch(r); m == nil || m[2] != role {
			t.Errorf("the complete example assumes %s; the commands create the role %s", r, role)
		}
	}
	if !strings.Contains(sh, `--AssumeRolePolicyDocument "$(cat trust-policy.json)"`) || !strings.Contains(text, "Save it as\n`trust-policy.json`") {
		t.Error("CreateRole does not read trust-policy.json, or the page does not say which policy to save as trust-policy.json")
	}

	// Terraform's subjects, with its repository variable's default, are the
	// complete example's.
	repo := regexp.MustCompile(`variable "github_repository" \{[^}]*default\s*=\s*"([^"]+)"`).FindStringSubmatch(tf)
	if repo == nil {
		t.Fatal("the Terraform block has no github_repository variable with a default")
	}
	var tfSubjects []string
	for _, m := range regexp.MustCompile(`"(repo:[^"]+)"`).FindAllStringSubmatch(tf, -1) {
		tfSubjects = append(tfSubjects, strings.ReplaceAll(m[1], "${var.github_repository}", repo[1]))
	}
	subjects, _, _ := lintTrustPolicy(pairs["branch-and-tags"]["policy"], audience)
	sort.Strings(tfSubjects)
	sort.Strings(subjects)
	if strings.Join(tfSubjects, " ") != strings.Join(subjects, " ") {
		t.Errorf("Terraform's oidc:sub values %v differ from the complete example's %v", tfSubjects, subjects)
	}
	if !regexp.MustCompile(`StringLike\s*=\s*\{\s*"oidc:sub"`).MatchString(tf) {
		t.Error("Terraform's oidc:sub values (with a *) are not under StringLike")
	}

	for _, p := range onlineProblems(oidcDoc, text) {
		t.Error(p)
	}
	for _, f := range []string{"README.md", "docs/action.md", "docs/credentials.md"} {
		target := "docs/oidc.md"
		if strings.HasPrefix(f, "docs/") {
			target = "oidc.md"
		}
		if !strings.Contains(readFile(t, f), "]("+target) {
			t.Errorf("%s does not link to %s", f, oidcDoc)
		}
	}
}

func TestOIDCRulesFire(t *testing.T) {
	const aud = "sts.aliyuncs.com"
	policy := func(cond string) block {
		return block{file: "x.md", line: 1, lang: "json", text: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
			"Principal":{"Federated":["acs:ram::1:oidc-provider/github"]},"Condition":` + cond + `}]}`}
	}
	for _, c := range []struct {
		name, cond string
		want       []string
	}{
		{"clean", `{"StringEquals":{"oidc:iss":"` + githubIssue + `","oidc:aud":"sts.aliyuncs.com"},"StringLike":{"oidc:sub":["repo:o/r:ref:refs/heads/main","repo:o/r:ref:refs/tags/v*"]}}`, nil},
		{"no sub", `{"StringEquals":{"oidc:iss":"` + githubIssue + `","oidc:aud":"sts.aliyuncs.com"}}`, []string{"no oidc:sub condition"}},
		{"sub under both", `{"StringEquals":{"oidc:iss":"` + githubIssue + `","oidc:aud":"sts.aliyuncs.com","oidc:sub":"repo:o/r:ref:refs/heads/main"},"StringLike":{"oidc:sub":"repo:o/r:ref:refs/tags/v*"}}`, []string{"oidc:sub is under"}},
		{"star in StringEquals, wrong audience, bad subject", `{"StringEquals":{"oidc:iss":"` + githubIssue + `","oidc:aud":"github-actions","oidc:sub":"repo:o/r:ref:refs/tags/v*"},"StringLike":{"oidc:x":"y"}}`,
			[]string{"* is a wildcard only in StringLike", `oidc:aud must be StringEquals "sts.aliyuncs.com"`, "condition key oidc:x"}},
		{"not a GitHub subject", `{"StringEquals":{"oidc:iss":"` + githubIssue + `","oidc:aud":"sts.aliyuncs.com","oidc:sub":"my-org/my-repo:main"}}`, []string{"none of GitHub's subject forms"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, got := lintTrustPolicy(policy(c.cond), aud)
			all := strings.Join(got, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("no problem %q among:\n%s", w, all)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(got), len(c.want), all)
			}
		})
	}

	wf := func(on, env string) block {
		job := "  a:\n    runs-on: ubuntu-latest\n" + env + "    steps:\n      - uses: " + actionRepo + "@v0\n        with: { region: r, image-family: f, role-to-assume: 'acs:ram::1:role/x', oidc-provider-arn: 'acs:ram::1:oidc-provider/github' }\n"
		return block{file: "x.md", line: 1, lang: "yaml", text: "on:\n" + on + "jobs:\n" + job}
	}
	for _, c := range []struct {
		name, on, env, want string
		problem             string
	}{
		{"push branches and tags", "  push:\n    branches: [main]\n    tags: ['v*']\n", "", "ref:refs/heads/main ref:refs/tags/v*", ""},
		{"pull request", "  pull_request:\n    branches: [main]\n", "", "pull_request", ""},
		{"environment wins", "  push:\n    branches: [main]\n  pull_request:\n", "    environment: production\n", "environment:production", ""},
		{"environment as a mapping", "  push:\n    branches: [main]\n", "    environment: { name: staging, url: 'https://x' }\n", "environment:staging", ""},
		{"unfiltered push", "  push:\n", "", "", "push without branches"},
		{"filter syntax", "  push:\n    tags: ['v[0-9]+.*']\n", "", "ref:refs/tags/v[0-9]+.*", "use only * in filters"},
		{"unknown trigger", "  schedule: [{ cron: '0 0 * * *' }]\n", "", "", "trigger schedule"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, _, problems := workflowSubjects(wf(c.on, c.env), aud)
			if strings.Join(got, " ") != c.want {
				t.Errorf("subjects %q, want %q", got, c.want)
			}
			all := strings.Join(problems, "\n")
			if (c.problem == "") != (all == "") || !strings.Contains(all, c.problem) {
				t.Errorf("problems %q, want one with %q", all, c.problem)
			}
		})
	}
}
