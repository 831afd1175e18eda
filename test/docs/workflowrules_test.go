package docs

import (
	"strings"
	"testing"
)

// TestWorkflowRulesFire proves each rule of workflow_test.go catches what it
// is for, so a docs run without findings means something.
func TestWorkflowRulesFire(t *testing.T) {
	action := actionMeta{
		inputs:  map[string]bool{"region": true, "image-family": true, "role-to-assume": true, "oidc-provider-arn": true, "access-key-id": true, "access-key-secret": true},
		outputs: map[string]bool{"image-id": true, "json": true, "image-ids": true},
	}
	const head = "on: [push]\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
	const lookup = "      - id: base\n        uses: " + actionRepo + "@v0\n        with: { region: cn-hangzhou, image-family: web-base }\n"
	for _, c := range []struct {
		name, yaml string
		kind       string
		want       []string // substrings of the problems, in any order; none: clean
	}{
		{
			name: "clean workflow",
			yaml: "on: [push]\npermissions: { id-token: write }\nenv: { A: '${{ secrets.X }}' }\njobs:\n  a:\n    runs-on: ubuntu-latest\n    outputs: { ids: '${{ steps.base.outputs.image-ids }}' }\n    steps:\n" + lookup +
				"      - if: steps.base.outputs.image-id != '' && success()\n        env:\n          ID: ${{ steps.base.outputs.image-id }}\n          TMP: ${{ runner.temp }}\n          F: ${{ hashFiles('x') }}\n        run: echo \"$ID\"\n" +
				"  b:\n    needs: a\n    if: needs.a.outputs.ids != ''\n    runs-on: ${{ github.event_name == 'push' && 'ubuntu-latest' || 'macos-latest' }}\n    steps:\n      - env: { IDS: '${{ needs.a.outputs.ids }}' }\n        run: echo \"$IDS\"\n",
			kind: "workflow",
		},
		{
			name: "(a) expression in run",
			yaml: head + "    steps:\n" + lookup + "      - run: echo '${{ steps.base.outputs.json }}' | jq\n",
			kind: "workflow", want: []string{"(a) ${{ steps.base.outputs.json }} inside run:"},
		},
		{
			name: "(b) runner in a job's env",
			yaml: head + "    env:\n      F: ${{ runner.temp }}/token\n    steps:\n      - run: 'true'\n",
			kind: "workflow", want: []string{`(b) context "runner" is not available at jobs.<job_id>.env`},
		},
		{
			name: "(b) steps and matrix in the workflow's env, env in a job's env",
			yaml: "on: [push]\nenv:\n  A: ${{ steps.x.outputs.y }}\n  B: ${{ matrix.os }}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    env: { C: '${{ env.A }}' }\n    steps:\n      - run: 'true'\n",
			kind: "workflow", want: []string{`(b) context "steps" is not available at env`, `(b) context "matrix" is not available at env`, `(b) context "env" is not available at jobs.<job_id>.env`},
		},
		{
			name: "(b) secrets in a step's if, steps in a job's if, a status function outside if, not a context",
			yaml: head + "    if: steps.x.outcome == 'success'\n    steps:\n      - if: secrets.X != ''\n        run: 'true'\n      - env: { A: '${{ always() }}', B: '${{ foo.bar }}' }\n        run: 'true'\n",
			kind: "workflow", want: []string{`context "secrets" is not available at jobs.<job_id>.steps.if`, `context "steps" is not available at jobs.<job_id>.if`, "function always() is not available at jobs.<job_id>.steps.env", `"foo" is not a context`},
		},
		{
			name: "(b) expression where GitHub evaluates none",
			yaml: head + "    steps:\n      - id: ${{ github.sha }}\n        run: 'true'\n",
			kind: "workflow", want: []string{"(b) expression ${{ github.sha }} at (a place"},
		},
		{
			name: "(c) unknown, later and wrong step outputs",
			yaml: head + "    outputs: { x: '${{ steps.nope.outputs.y }}' }\n    steps:\n      - env: { A: '${{ steps.base.outputs.image-id }}' }\n        run: 'true'\n" + lookup +
				"      - env: { B: '${{ steps.base.outputs.imageid }}', C: '${{ steps.base.output.x }}' }\n        run: 'true'\n",
			kind: "workflow", want: []string{`(c) steps.nope: no step with id "nope"`, `(c) steps.base: no step with id "base" before this point`, `(c) steps.base.outputs.imageid: action.yml declares no output "imageid"`, "(c) steps.base.output: a step has outputs"},
		},
		{
			name: "(d) wrong major tag",
			yaml: "- uses: " + actionRepo + "@v1\n  with: { region: r, image-family: f }\n",
			kind: "steps", want: []string{"(d) uses: " + actionRepo + "@v1: the release workflow moves v0"},
		},
		{
			name: "(e) OIDC without id-token: write",
			yaml: "on: [push]\npermissions: { id-token: write }\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: { contents: read }\n    steps:\n      - uses: " + actionRepo + "@v0\n        with: { region: r, image-family: f, role-to-assume: x, oidc-provider-arn: y }\n" +
				"  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: " + actionRepo + "@v0\n        with: { region: r, image-family: f, role-to-assume: x, access-key-id: k, access-key-secret: s }\n",
			kind: "workflow", want: []string{"(e) job a assumes a role over OIDC but the permissions of the job do not include id-token: write"},
		},
		{
			name: "(e) OIDC in a lone step list without a word on permissions",
			yaml: "- uses: " + actionRepo + "@v0\n  with: { region: r, image-family: f, role-to-assume: x, oidc-provider-arn: y }\n",
			kind: "steps", want: []string{"(e) this step assumes a role over OIDC, and the block does not show the job"},
		},
		{
			name: "(e) OIDC in a job body without permissions",
			yaml: "runs-on: ubuntu-latest\nsteps:\n  - uses: " + actionRepo + "@v0\n    with: { region: r, image-family: f, role-to-assume: x, oidc-provider-arn: y }\n",
			kind: "job", want: []string{"(e) job (the job) assumes a role over OIDC, and the block shows no permissions"},
		},
		{
			name: "(f) an input action.yml does not declare",
			yaml: "- uses: " + actionRepo + "@v0\n  with: { region: r, image-family: f, vpc: true }\n",
			kind: "steps", want: []string{`(f) with: vpc: action.yml declares no input "vpc"`},
		},
		{
			name: "(g) needs of a job not needed, an output not declared",
			yaml: "on: [push]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    outputs: { x: '1' }\n    steps:\n      - run: 'true'\n  b:\n    needs: [a]\n    runs-on: ubuntu-latest\n    env: { X: '${{ needs.a.outputs.y }}', Y: '${{ needs.c.outputs.x }}' }\n    steps:\n      - run: 'true'\n",
			kind: "workflow", want: []string{`(g) needs.a.outputs.y: job "a" declares no output "y"`, `(g) needs.c: the job does not list "c"`},
		},
		{
			name: "(shape) no on:, unknown keys, unrecognised block",
			yaml: "jobs:\n  a:\n    runs_on: x\n    steps:\n      - run: 'true'\n        with-env: 1\n",
			kind: "workflow", want: []string{"(shape) a workflow without on:", "(shape) runs_on: not a key of a job", "(shape) with-env: not a key of a step"},
		},
		{
			name: "(shape) unrecognised block",
			yaml: "region: cn-hangzhou\n",
			kind: "unknown", want: []string{"(shape) not a workflow, a job, a step or a list of steps"},
		},
		{
			name: "marked fragment: parsed, (a) and (d) only",
			yaml: "# fragment\nsomething:\n  - run: echo ${{ x }}\n  - uses: " + actionRepo + "@main\n",
			kind: "fragment", want: []string{"(a) ${{ }} inside run:", "(d) uses: " + actionRepo + "@main"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			kind, problems := lintYAML(block{file: "x.md", line: 1, lang: "yaml", text: c.yaml}, "v0", action)
			if kind != c.kind {
				t.Errorf("taken for %q, want %q", kind, c.kind)
			}
			all := strings.Join(problems, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("no problem %q among:\n%s", w, all)
				}
			}
			if len(problems) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(problems), len(c.want), all)
			}
		})
	}
}

func TestScanExpr(t *testing.T) {
	refs, funcs := scanExpr(" fromJSON(needs.resolve.outputs.image-ids)[matrix.region] != 'a.b' && steps['x'].outputs.* && github.event.x == null ")
	var got []string
	for _, r := range refs {
		got = append(got, r.context+":"+strings.Join(r.path, "."))
	}
	want := "needs:resolve.outputs.image-ids matrix:region steps:x.outputs.* github:event.x"
	if strings.Join(got, " ") != want {
		t.Errorf("refs %q, want %q", strings.Join(got, " "), want)
	}
	if strings.Join(funcs, " ") != "fromjson" {
		t.Errorf("funcs %q", funcs)
	}
}
