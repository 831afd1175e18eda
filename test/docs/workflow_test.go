package docs

// The workflow rules, checked on every ```yaml block of the docs that is a
// GitHub workflow or a piece of one (actionlint cannot be vendored here, so
// this is the part of it these docs need):
//
//	(a) no ${{ }} inside a run: value: outputs reach a script through env: (or
//	    files); an expression there is pasted into the script before the
//	    shell reads it, so image text with ' or $(...) breaks or runs code
//	(b) an expression names only contexts (and functions) GitHub allows at
//	    its place: GitHub's "Context availability" table, copied into
//	    `places` below (so `runner` in a job's env, or `steps` in a
//	    workflow's env, fails)
//	(c) steps.<id>.outputs.<name> names a step defined earlier in the same
//	    job (any step of the job, in the job's outputs:), and, when that
//	    step uses this action, an output action.yml declares
//	(d) uses: of this action carries the major tag the release workflow
//	    moves for the version in version/ (majorTag)
//	(e) a job with a step that assumes a role over OIDC (role-to-assume
//	    without access-key-id) has permissions: id-token: write, in the job
//	    or, when the job sets none, in the workflow
//	(f) with: of this action names only inputs action.yml declares
//	(g) needs.<job> names a job in the job's needs:, and
//	    needs.<job>.outputs.<name> an output that job declares
//	(shape) keys GitHub does not know at their place; a mapping with jobs:
//	    but no on:
//
// What a block is, read from its shape:
//
//	a mapping with jobs:                    a workflow (needs on:)
//	a mapping with steps:                   one job's body (runs-on, permissions, steps)
//	a sequence                              a job's steps (its permissions are not shown:
//	                                        a step that assumes a role over OIDC needs a
//	                                        comment saying "id-token: write")
//	a mapping with uses: or run:            one step
//	first comment line "# .gitlab-ci.yml"   a GitLab pipeline: GitLab's rules (gitlab_test.go)
//	anything else                           refused, unless marked "# fragment"; a marked
//	                                        block of another shape is only parsed and
//	                                        checked for (a) and (d)

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// place is one row of GitHub's context availability table.
type place struct {
	key       string // GitHub's name of the place
	contexts  []string
	status    bool // always(), success(), failure(), cancelled()
	hashFiles bool
}

var (
	jobStatic  = []string{"github", "needs", "strategy", "matrix", "vars", "inputs"}
	stepAll    = []string{"github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps", "inputs"}
	stepNoSecr = []string{"github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs"}
	plus       = func(a []string, b ...string) []string { return append(slices.Clone(a), b...) }

	// places: https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#context-availability
	places = map[string]place{
		"run-name":                  {key: "run-name", contexts: []string{"github", "inputs", "vars"}},
		"concurrency":               {key: "concurrency", contexts: []string{"github", "inputs", "vars"}},
		"env":                       {key: "env", contexts: []string{"github", "secrets", "inputs", "vars"}},
		"job.concurrency":           {key: "jobs.<job_id>.concurrency", contexts: jobStatic},
		"job.container":             {key: "jobs.<job_id>.container", contexts: jobStatic},
		"job.container.credentials": {key: "jobs.<job_id>.container.credentials", contexts: plus(jobStatic, "env", "secrets")},
		"job.container.env":         {key: "jobs.<job_id>.container.env.<env_id>", contexts: plus(jobStatic, "job", "runner", "env", "secrets")},
		"job.continue-on-error":     {key: "jobs.<job_id>.continue-on-error", contexts: jobStatic},
		"job.defaults.run":          {key: "jobs.<job_id>.defaults.run", contexts: plus(jobStatic, "env")},
		"job.env":                   {key: "jobs.<job_id>.env", contexts: plus(jobStatic, "secrets")},
		"job.environment":           {key: "jobs.<job_id>.environment", contexts: jobStatic},
		"job.environment.url":       {key: "jobs.<job_id>.environment.url", contexts: plus(jobStatic, "job", "runner", "env", "steps")},
		"job.if":                    {key: "jobs.<job_id>.if", contexts: []string{"github", "needs", "vars", "inputs"}, status: true},
		"job.name":                  {key: "jobs.<job_id>.name", contexts: jobStatic},
		"job.outputs":               {key: "jobs.<job_id>.outputs.<output_id>", contexts: stepAll},
		"job.runs-on":               {key: "jobs.<job_id>.runs-on", contexts: jobStatic},
		"job.secrets":               {key: "jobs.<job_id>.secrets.<secrets_id>", contexts: plus(jobStatic, "secrets")},
		"job.services":              {key: "jobs.<job_id>.services", contexts: jobStatic},
		"job.services.credentials":  {key: "jobs.<job_id>.services.<service_id>.credentials", contexts: plus(jobStatic, "env", "secrets")},
		"job.services.env":          {key: "jobs.<job_id>.services.<service_id>.env.<env_id>", contexts: plus(jobStatic, "job", "runner", "env", "secrets")},
		"step.continue-on-error":    {key: "jobs.<job_id>.steps.continue-on-error", contexts: stepAll, hashFiles: true},
		"step.env":                  {key: "jobs.<job_id>.steps.env", contexts: stepAll, hashFiles: true},
		"step.if":                   {key: "jobs.<job_id>.steps.if", contexts: stepNoSecr, status: true, hashFiles: true},
		"step.name":                 {key: "jobs.<job_id>.steps.name", contexts: stepAll, hashFiles: true},
		"step.run":                  {key: "jobs.<job_id>.steps.run", contexts: stepAll, hashFiles: true},
		"step.timeout-minutes":      {key: "jobs.<job_id>.steps.timeout-minutes", contexts: stepAll, hashFiles: true},
		"step.with":                 {key: "jobs.<job_id>.steps.with", contexts: stepAll, hashFiles: true},
		"step.working-directory":    {key: "jobs.<job_id>.steps.working-directory", contexts: stepAll, hashFiles: true},
		"job.strategy":              {key: "jobs.<job_id>.strategy", contexts: []string{"github", "needs", "vars", "inputs"}},
		"job.timeout-minutes":       {key: "jobs.<job_id>.timeout-minutes", contexts: jobStatic},
		"job.with":                  {key: "jobs.<job_id>.with.<with_id>", contexts: jobStatic},
	}
	// noExpr is every place the table has no row for: no expression at all.
	noExpr = place{key: "(a place where GitHub evaluates no expression)"}

	knownContexts    = []string{"github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix", "needs", "inputs"}
	generalFunctions = []string{"contains", "startswith", "endswith", "format", "join", "tojson", "fromjson"}
	statusFunctions  = []string{"always", "success", "failure", "cancelled"}
)

// ref is one context access in an expression: the context (lower case) and
// the property names after it ("*" for a computed index, then nothing).
type ref struct {
	context string
	path    []string
}

type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number, 'p' punctuation
	text string
}

func tokenize(expr string) []token {
	var out []token
	isIdentStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c == '-' || c >= '0' && c <= '9' }
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var s strings.Builder
			j := i + 1
			for j < len(expr) {
				if expr[j] == '\'' {
					if j+1 < len(expr) && expr[j+1] == '\'' {
						s.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				s.WriteByte(expr[j])
				j++
			}
			out = append(out, token{'s', s.String()})
			i = j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < len(expr) && (isIdent(expr[j]) || expr[j] == '.') {
				j++
			}
			out = append(out, token{'n', expr[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			out = append(out, token{'i', expr[i:j]})
			i = j
		default:
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out
}

// scanExpr returns the context accesses and the functions called (lower
// case) in one expression.
func scanExpr(expr string) (refs []ref, funcs []string) {
	toks := tokenize(expr)
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return token{}
	}
	for i, t := range toks {
		if t.kind != 'i' || (i > 0 && toks[i-1].text == ".") {
			continue
		}
		if at(i+1).text == "(" {
			funcs = append(funcs, strings.ToLower(t.text))
			continue
		}
		switch strings.ToLower(t.text) {
		case "true", "false", "null", "nan", "infinity":
			continue
		}
		r := ref{context: strings.ToLower(t.text)}
		for j := i + 1; ; {
			if at(j).text == "." && (at(j+1).kind == 'i' || at(j+1).text == "*") {
				r.path = append(r.path, at(j+1).text)
				j += 2
			} else if at(j).text == "[" && at(j+1).kind == 's' && at(j+2).text == "]" {
				r.path = append(r.path, at(j+1).text)
				j += 3
			} else {
				if at(j).text == "[" {
					r.path = append(r.path, "*")
				}
				break
			}
		}
		refs = append(refs, r)
	}
	return refs, funcs
}

var exprRe = regexp.MustCompile(`(?s)\$\{\{(.*?)\}\}`)

// scope is what expressions may refer to where they stand.
type scope struct {
	steps       map[string]bool            // step ids visible (defined earlier, or the job's for outputs:)
	actionSteps map[string]bool            // those of them that use this action
	needs       map[string]bool            // the job's needs:, nil when not known (no whole workflow)
	jobOutputs  map[string]map[string]bool // each job's declared outputs, nil when not known
}

// linter checks one block.
type linter struct {
	b        block
	major    string
	action   actionMeta
	problems []string
}

func (l *linter) errorf(n *yaml.Node, rule, format string, args ...any) {
	line := l.b.line
	if n != nil {
		line += n.Line - 1
	}
	l.problems = append(l.problems, fmt.Sprintf("%s:%d: (%s) %s", l.b.file, line, rule, fmt.Sprintf(format, args...)))
}

func pairs(n *yaml.Node) [][2]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func get(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p[0].Value == key {
			return p[1]
		}
	}
	return nil
}

// scalars calls f for every scalar value under n (mapping keys excluded).
func scalars(n *yaml.Node, f func(*yaml.Node)) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		f(n)
	case yaml.MappingNode:
		for _, p := range pairs(n) {
			scalars(p[1], f)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			scalars(c, f)
		}
	}
}

// exprs checks every expression under n at place p. bare: the value is an
// expression even without ${{ }} (if:).
func (l *linter) exprs(n *yaml.Node, p place, sc *scope, bare bool) {
	scalars(n, func(s *yaml.Node) {
		var found []string
		for _, m := range exprRe.FindAllStringSubmatch(s.Value, -1) {
			found = append(found, m[1])
		}
		if bare && len(found) == 0 && s.Tag == "!!str" && strings.TrimSpace(s.Value) != "" {
			found = append(found, s.Value)
		}
		for _, e := range found {
			l.expr(s, e, p, sc)
		}
	})
}

func (l *linter) expr(n *yaml.Node, e string, p place, sc *scope) {
	if p.contexts == nil {
		l.errorf(n, "b", "expression ${{%s}} at %s", e, p.key)
		return
	}
	refs, funcs := scanExpr(e)
	for _, f := range funcs {
		ok := slices.Contains(generalFunctions, f) ||
			(p.status && slices.Contains(statusFunctions, f)) || (p.hashFiles && f == "hashfiles")
		if !ok {
			l.errorf(n, "b", "function %s() is not available at %s", f, p.key)
		}
	}
	for _, r := range refs {
		if !slices.Contains(knownContexts, r.context) {
			l.errorf(n, "b", "%q is not a context (in ${{%s}})", r.context, e)
			continue
		}
		if !slices.Contains(p.contexts, r.context) {
			l.errorf(n, "b", "context %q is not available at %s (GitHub allows %s there)", r.context, p.key, strings.Join(p.contexts, ", "))
			continue
		}
		switch r.context {
		case "steps":
			l.stepRef(n, r, sc)
		case "needs":
			l.needsRef(n, r, sc)
		}
	}
}

func (l *linter) stepRef(n *yaml.Node, r ref, sc *scope) {
	if len(r.path) == 0 || r.path[0] == "*" || sc == nil {
		return
	}
	id := r.path[0]
	if !sc.steps[id] {
		l.errorf(n, "c", "steps.%s: no step with id %q before this point of the job", id, id)
		return
	}
	if len(r.path) < 2 {
		return
	}
	switch r.path[1] {
	case "outputs":
		if len(r.path) >= 3 && sc.actionSteps[id] && r.path[2] != "*" && !l.action.outputs[r.path[2]] {
			l.errorf(n, "c", "steps.%s.outputs.%s: action.yml declares no output %q", id, r.path[2], r.path[2])
		}
	case "outcome", "conclusion":
	default:
		l.errorf(n, "c", "steps.%s.%s: a step has outputs, outcome and conclusion", id, r.path[1])
	}
}

func (l *linter) needsRef(n *yaml.Node, r ref, sc *scope) {
	if sc == nil || sc.needs == nil || len(r.path) == 0 || r.path[0] == "*" {
		return
	}
	job := r.path[0]
	if !sc.needs[job] {
		l.errorf(n, "g", "needs.%s: the job does not list %q in needs:", job, job)
		return
	}
	if len(r.path) >= 3 && r.path[1] == "outputs" && r.path[2] != "*" {
		if outs, ok := sc.jobOutputs[job]; ok && !outs[r.path[2]] {
			l.errorf(n, "g", "needs.%s.outputs.%s: job %q declares no output %q", job, r.path[2], job, r.path[2])
		}
	}
}

// lintYAML checks one ```yaml block and says what it took the block for.
func lintYAML(b block, major string, action actionMeta) (kind string, problems []string) {
	l := &linter{b: b, major: major, action: action}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.text), &doc); err != nil {
		l.errorf(nil, "shape", "not YAML: %v", err)
		return "invalid", l.problems
	}
	if len(doc.Content) == 0 {
		l.errorf(nil, "shape", "empty block")
		return "empty", l.problems
	}
	root := doc.Content[0]
	switch {
	case b.gitlab():
		// A GitLab pipeline (gitlab_test.go), not a GitHub workflow.
		kind = "gitlab"
		lintGitLab(l, root)
	case root.Kind == yaml.SequenceNode:
		kind = "steps"
		js := l.steps(root, &scope{steps: map[string]bool{}, actionSteps: map[string]bool{}})
		if js != nil && !strings.Contains(b.text, "id-token: write") {
			l.errorf(js, "e", "this step assumes a role over OIDC, and the block does not show the job: say in a comment that the job needs permissions: id-token: write")
		}
	case root.Kind == yaml.MappingNode && get(root, "jobs") != nil:
		kind = "workflow"
		if get(root, "on") == nil && !b.fragment() {
			l.errorf(root, "shape", "a workflow without on: does not run; add the trigger or mark the block # fragment")
		}
		l.workflow(root)
	case root.Kind == yaml.MappingNode && get(root, "steps") != nil:
		kind = "job"
		l.job("(the job)", root, nil, nil)
	case root.Kind == yaml.MappingNode && (get(root, "uses") != nil || get(root, "run") != nil):
		kind = "step"
		seq := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{root}, Line: root.Line}
		if js := l.steps(seq, &scope{steps: map[string]bool{}, actionSteps: map[string]bool{}}); js != nil && !strings.Contains(b.text, "id-token: write") {
			l.errorf(js, "e", "this step assumes a role over OIDC, and the block does not show the job: say in a comment that the job needs permissions: id-token: write")
		}
	case b.fragment():
		kind = "fragment"
		l.anyShape(root)
	default:
		l.errorf(root, "shape", "not a workflow, a job, a step or a list of steps; complete it or mark it # fragment")
		kind = "unknown"
	}
	return kind, l.problems
}

// anyShape checks what can be checked in a marked fragment of any shape:
// (a) and (d).
func (l *linter) anyShape(n *yaml.Node) {
	for _, p := range pairs(n) {
		switch p[0].Value {
		case "run":
			if strings.Contains(p[1].Value, "${{") {
				l.errorf(p[1], "a", "${{ }} inside run:; pass the value through env: and use \"$NAME\"")
			}
		case "uses":
			l.usesTag(p[1])
		}
		l.anyShape(p[1])
	}
	if n.Kind == yaml.SequenceNode {
		for _, c := range n.Content {
			l.anyShape(c)
		}
	}
}

func (l *linter) usesThis(uses string) bool {
	return strings.HasPrefix(uses, actionRepo+"@") || uses == actionRepo
}

func (l *linter) usesTag(n *yaml.Node) {
	if !l.usesThis(n.Value) {
		return
	}
	if _, ref, _ := strings.Cut(n.Value, "@"); ref != l.major {
		l.errorf(n, "d", "uses: %s: the release workflow moves %s for this version, so @%s does not resolve to it", n.Value, l.major, ref)
	}
}

func (l *linter) workflow(root *yaml.Node) {
	jobs := get(root, "jobs")
	outputs := map[string]map[string]bool{}
	for _, j := range pairs(jobs) {
		if o := get(j[1], "outputs"); o != nil {
			outputs[j[0].Value] = map[string]bool{}
			for _, p := range pairs(o) {
				outputs[j[0].Value][p[0].Value] = true
			}
		}
	}
	for _, p := range pairs(root) {
		switch p[0].Value {
		case "run-name", "concurrency":
			l.exprs(p[1], places[p[0].Value], nil, false)
		case "env":
			l.exprs(p[1], places["env"], nil, false)
		case "name", "on", "permissions", "defaults":
			l.exprs(p[1], noExpr, nil, false)
		case "jobs":
			for _, j := range pairs(p[1]) {
				l.job(j[0].Value, j[1], get(root, "permissions"), outputs)
			}
		default:
			l.errorf(p[0], "shape", "%s: not a workflow key", p[0].Value)
		}
	}
}

// job checks one job. wfPerms: the workflow's permissions (nil when none or
// not shown); outputs: every job's declared outputs when the whole workflow
// is known (then needs: is checked too), else nil.
func (l *linter) job(id string, n *yaml.Node, wfPerms *yaml.Node, outputs map[string]map[string]bool) {
	sc := &scope{steps: map[string]bool{}, actionSteps: map[string]bool{}}
	if outputs != nil {
		sc.jobOutputs = outputs
		sc.needs = map[string]bool{}
		scalars(get(n, "needs"), func(s *yaml.Node) { sc.needs[s.Value] = true })
	}
	// The job's outputs: may name any of its steps.
	all := &scope{steps: map[string]bool{}, actionSteps: map[string]bool{}, needs: sc.needs, jobOutputs: sc.jobOutputs}
	if st := get(n, "steps"); st != nil {
		for _, s := range st.Content {
			if idn := get(s, "id"); idn != nil {
				all.steps[idn.Value] = true
				if u := get(s, "uses"); u != nil && l.usesThis(u.Value) {
					all.actionSteps[idn.Value] = true
				}
			}
		}
	}
	var oidcStep *yaml.Node
	for _, p := range pairs(n) {
		k, v := p[0].Value, p[1]
		switch k {
		case "name", "runs-on", "timeout-minutes", "continue-on-error", "concurrency":
			l.exprs(v, places["job."+k], sc, false)
		case "services":
			for _, svc := range pairs(v) {
				for _, e := range pairs(svc[1]) {
					switch e[0].Value {
					case "env":
						l.exprs(e[1], places["job.services.env"], sc, false)
					case "credentials":
						l.exprs(e[1], places["job.services.credentials"], sc, false)
					default:
						l.exprs(e[1], places["job.services"], sc, false)
					}
				}
			}
		case "if":
			l.exprs(v, places["job.if"], sc, true)
		case "needs", "permissions", "uses":
			l.exprs(v, noExpr, sc, false)
		case "env":
			l.exprs(v, places["job.env"], sc, false)
		case "outputs":
			l.exprs(v, places["job.outputs"], all, false)
		case "strategy":
			l.exprs(v, places["job.strategy"], sc, false)
		case "with":
			l.exprs(v, places["job.with"], sc, false)
		case "secrets":
			l.exprs(v, places["job.secrets"], sc, false)
		case "defaults":
			l.exprs(v, places["job.defaults.run"], sc, false)
		case "environment":
			if v.Kind == yaml.MappingNode {
				for _, e := range pairs(v) {
					if e[0].Value == "url" {
						l.exprs(e[1], places["job.environment.url"], all, false)
					} else {
						l.exprs(e[1], places["job.environment"], sc, false)
					}
				}
			} else {
				l.exprs(v, places["job.environment"], sc, false)
			}
		case "container":
			for _, e := range pairs(v) {
				switch e[0].Value {
				case "env":
					l.exprs(e[1], places["job.container.env"], sc, false)
				case "credentials":
					l.exprs(e[1], places["job.container.credentials"], sc, false)
				default:
					l.exprs(e[1], places["job.container"], sc, false)
				}
			}
			if v.Kind == yaml.ScalarNode {
				l.exprs(v, places["job.container"], sc, false)
			}
		case "steps":
			oidcStep = l.steps(v, sc)
		default:
			l.errorf(p[0], "shape", "%s: not a key of a job", k)
		}
	}
	if oidcStep == nil {
		return
	}
	perms := get(n, "permissions")
	where := "the job"
	if perms == nil {
		perms, where = wfPerms, "the workflow"
	}
	switch {
	case perms == nil && outputs == nil:
		l.errorf(oidcStep, "e", "job %s assumes a role over OIDC, and the block shows no permissions: id-token: write", id)
	case perms == nil:
		l.errorf(oidcStep, "e", "job %s assumes a role over OIDC but has no permissions: id-token: write (neither the job nor the workflow sets permissions)", id)
	case !idTokenWrite(perms):
		l.errorf(oidcStep, "e", "job %s assumes a role over OIDC but the permissions of %s do not include id-token: write", id, where)
	}
}

func idTokenWrite(p *yaml.Node) bool {
	if p.Kind == yaml.ScalarNode {
		return p.Value == "write-all"
	}
	v := get(p, "id-token")
	return v != nil && v.Value == "write"
}

// steps checks a job's steps and returns the first step that assumes a role
// over OIDC (nil when none does).
func (l *linter) steps(seq *yaml.Node, sc *scope) (oidc *yaml.Node) {
	if seq.Kind != yaml.SequenceNode {
		l.errorf(seq, "shape", "steps: is not a list")
		return nil
	}
	for _, s := range seq.Content {
		if s.Kind != yaml.MappingNode {
			l.errorf(s, "shape", "a step is not a mapping")
			continue
		}
		uses := get(s, "uses")
		this := uses != nil && l.usesThis(uses.Value)
		if uses == nil && get(s, "run") == nil {
			l.errorf(s, "shape", "a step has neither uses: nor run:")
		}
		for _, p := range pairs(s) {
			k, v := p[0].Value, p[1]
			switch k {
			case "id", "shell":
				l.exprs(v, noExpr, sc, false)
			case "uses":
				l.exprs(v, noExpr, sc, false)
				l.usesTag(v)
			case "run":
				if strings.Contains(v.Value, "${{") {
					for _, m := range exprRe.FindAllString(v.Value, -1) {
						l.errorf(v, "a", "%s inside run:; pass it through env: and use \"$NAME\" (the expression is pasted into the script before the shell reads it)", m)
					}
				}
			case "if":
				l.exprs(v, places["step.if"], sc, true)
			case "name", "env", "continue-on-error", "timeout-minutes", "working-directory":
				l.exprs(v, places["step."+k], sc, false)
			case "with":
				l.exprs(v, places["step.with"], sc, false)
				if this {
					for _, in := range pairs(v) {
						if !l.action.inputs[in[0].Value] {
							l.errorf(in[0], "f", "with: %s: action.yml declares no input %q", in[0].Value, in[0].Value)
						}
					}
				}
				if get(v, "role-to-assume") != nil && get(v, "access-key-id") == nil && oidc == nil {
					oidc = s
				}
			default:
				l.errorf(p[0], "shape", "%s: not a key of a step", k)
			}
		}
		if id := get(s, "id"); id != nil {
			sc.steps[id.Value] = true
			if this {
				sc.actionSteps[id.Value] = true
			}
		}
	}
	return oidc
}

// TestWorkflowBlocks runs the rules on every ```yaml block of the docs.
func TestWorkflowBlocks(t *testing.T) {
	major, action := majorTag(t), readActionMeta(t)
	kinds := map[string]int{}
	var problems []string
	for _, b := range docBlocks(t, "yaml") {
		kind, p := lintYAML(b, major, action)
		kinds[kind]++
		problems = append(problems, p...)
		t.Logf("%s: %s", b, kind)
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if kinds["workflow"] == 0 {
		t.Error("no whole workflow among the docs' yaml blocks: the classification is broken")
	}
}

// TestActionDocExplainsEnv: docs/action.md says why outputs go through env:.
func TestActionDocExplainsEnv(t *testing.T) {
	doc := readFile(t, "docs/action.md")
	if !strings.Contains(doc, "https://docs.github.com/en/actions/concepts/security/script-injections") {
		t.Error("docs/action.md does not point to GitHub's script-injection guidance, which is why its examples pass outputs through env:")
	}
}
