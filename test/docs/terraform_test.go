package docs

// The Terraform rules, on every ```hcl block that says "# terraform" (a
// comment line): it parses, and, unless it is also marked "# fragment", it
// is a whole configuration: every var.X, local.X, data.T.N and resource
// T.N it refers to is declared in the block, and it says which provider
// (and version) it was written for. `terraform validate` needs the
// provider from the registry, so it is not run here.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var terraformMark = regexp.MustCompile(`(?m)^\s*#\s*terraform\b`)

func (b block) terraform() bool { return terraformMark.MatchString(b.text) }

// terraformRoots are the first names of references that are not a resource
// of the configuration, and the type keywords of a variable's type.
var terraformRoots = map[string]bool{"var": true, "local": true, "data": true, "path": true, "terraform": true, "count": true, "each": true, "self": true, "module": true,
	"string": true, "number": true, "bool": true, "any": true, "list": true, "map": true, "set": true, "object": true, "tuple": true}

func lintTerraform(b block) []string {
	var problems []string
	report := func(rng hcl.Range, format string, args ...any) {
		line := b.line
		if rng.Start.Line > 0 {
			line += rng.Start.Line - 1
		}
		problems = append(problems, fmt.Sprintf("%s:%d: (terraform) %s", b.file, line, fmt.Sprintf(format, args...)))
	}
	f, diags := hclparse.NewParser().ParseHCL([]byte(b.text), b.String())
	if diags.HasErrors() {
		for _, d := range diags.Errs() {
			if de, ok := d.(*hcl.Diagnostic); ok && de.Subject != nil {
				report(*de.Subject, "does not parse: %s: %s", de.Summary, de.Detail)
			} else {
				report(hcl.Range{}, "does not parse: %v", d)
			}
		}
		return problems
	}
	if b.fragment() {
		return problems
	}
	body := f.Body.(*hclsyntax.Body)
	declared := map[string]bool{} // var.x, local.x, data.T.N, T.N
	providers := false
	for _, blk := range body.Blocks {
		switch {
		case blk.Type == "variable" && len(blk.Labels) == 1:
			declared["var."+blk.Labels[0]] = true
		case blk.Type == "locals":
			for name := range blk.Body.Attributes {
				declared["local."+name] = true
			}
		case blk.Type == "data" && len(blk.Labels) == 2:
			declared["data."+blk.Labels[0]+"."+blk.Labels[1]] = true
		case blk.Type == "resource" && len(blk.Labels) == 2:
			declared[blk.Labels[0]+"."+blk.Labels[1]] = true
		case blk.Type == "terraform":
			for _, inner := range blk.Body.Blocks {
				if inner.Type == "required_providers" && len(inner.Body.Attributes) > 0 {
					providers = true
				}
			}
		}
	}
	if !providers {
		report(hcl.Range{}, "no terraform { required_providers { ... } }: say which provider, and from which version, the configuration is written for")
	}

	// A bare name as an object key ({ Version = "1" }) is a string, not a
	// reference.
	keys := map[hclsyntax.Expression]bool{}
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		if k, ok := n.(*hclsyntax.ObjectConsKeyExpr); ok && !k.ForceNonLiteral {
			keys[k.Wrapped] = true
		}
		return nil
	})
	type use struct {
		name string
		rng  hcl.Range
	}
	var uses []use
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok || keys[e] {
			return nil
		}
		var parts []string
		for _, step := range e.Traversal {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				parts = append(parts, s.Name)
			case hcl.TraverseAttr:
				parts = append(parts, s.Name)
			default:
				parts = append(parts, "[]")
			}
		}
		switch {
		case (parts[0] == "var" || parts[0] == "local") && len(parts) >= 2:
			uses = append(uses, use{parts[0] + "." + parts[1], e.SrcRange})
		case parts[0] == "data" && len(parts) >= 3:
			uses = append(uses, use{strings.Join(parts[:3], "."), e.SrcRange})
		case !terraformRoots[parts[0]] && len(parts) >= 2:
			uses = append(uses, use{parts[0] + "." + parts[1], e.SrcRange})
		case !terraformRoots[parts[0]]:
			report(e.SrcRange, "%s: a reference to nothing (a resource is TYPE.NAME)", parts[0])
		}
		return nil
	})
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].rng.Start.Line < uses[j].rng.Start.Line })
	for _, u := range uses {
		if !declared[u.name] {
			report(u.rng, "%s is used but not declared in this configuration (declare it, or mark the block # fragment)", u.name)
		}
	}
	return problems
}

func TestTerraformRulesFire(t *testing.T) {
	const head = "# terraform\nterraform {\n  required_providers {\n    alicloud = { source = \"aliyun/alicloud\" }\n  }\n}\n"
	for _, c := range []struct {
		name, hcl string
		want      []string
	}{
		{"clean", head + "variable \"repo\" { default = \"a/b\" }\ndata \"alicloud_account\" \"me\" {}\nlocals { arn = \"acs:ram::${data.alicloud_account.me.id}:x\" }\n" +
			"resource \"alicloud_ram_role\" \"r\" {\n  role_name = \"r\"\n  assume_role_policy_document = jsonencode({ Version = \"1\", Statement = [{ Principal = { Federated = [local.arn] }, Sub = \"repo:${var.repo}\" }] })\n}\n" +
			"resource \"alicloud_ram_role_policy_attachment\" \"a\" {\n  role_name = alicloud_ram_role.r.role_name\n}\noutput \"arn\" { value = alicloud_ram_role.r.arn }\n", nil},
		{"syntax", head + "resource \"x\" \"y\" {\n  a = \n}\n", []string{"does not parse"}},
		{"no provider", "# terraform\nresource \"alicloud_ram_role\" \"r\" { role_name = \"r\" }\n", []string{"no terraform { required_providers"}},
		{"undeclared", head + "resource \"alicloud_ram_role_policy_attachment\" \"a\" {\n  role_name = alicloud_ram_role.r.role_name\n  policy_name = var.p\n  x = local.y\n  z = data.alicloud_account.me.id\n}\n",
			[]string{"alicloud_ram_role.r is used but not declared", "var.p is used but not declared", "local.y is used but not declared", "data.alicloud_account.me is used but not declared"}},
		{"fragment", "# terraform\n# fragment\nresource \"a\" \"b\" { x = var.nope }\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := block{file: "x.md", line: 1, lang: "hcl", text: c.hcl}
			if !b.terraform() {
				t.Fatal("the # terraform mark is not recognised")
			}
			got := lintTerraform(b)
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
}
