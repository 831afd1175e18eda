package docs

// The HCL rules, on every ```hcl block of the docs:
//
//   - it parses (hclparse, the parser Packer uses);
//   - a data "alicloud-image-family" block sets only attributes the data
//     source has, and data.alicloud-image-family.<name>.<attr> names an
//     output it has (both read from the data source's own HCL2 specs);
//   - a block that is not marked "# fragment" is a whole template: it has a
//     build block, and every var.X, local.X, data.T.N and "source.T.N" of
//     build.sources it uses is declared in the block.
//
// A block with a comment line "# terraform" is a Terraform configuration
// (docs/oidc.md sets up RAM with one) and gets the rules of
// terraform_test.go instead.
//
// `packer validate` of the whole templates is left to test/packer, which
// validates example/ with the real Packer; these blocks use the alicloud-ecs
// builder, which is not built here.

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/datasource/family"
	promote "github.com/imagefamily/packer-plugin-alicloud-image-family/postprocessor/family"
)

const dataType = "alicloud-image-family"

// dataSpec is what the data source accepts and offers, and what the
// post-processor accepts.
type dataSpec struct {
	config  *hcl.BodySchema
	outputs map[string]bool
	post    *hcl.BodySchema
}

func readDataSpec() dataSpec {
	d := &family.Datasource{}
	p := &promote.PostProcessor{}
	s := dataSpec{config: hcldec.ImpliedSchema(d.ConfigSpec()), outputs: map[string]bool{}, post: hcldec.ImpliedSchema(p.ConfigSpec())}
	for name := range d.OutputSpec() {
		s.outputs[name] = true
	}
	return s
}

func lintHCL(b block, spec dataSpec) []string {
	var problems []string
	report := func(rng hcl.Range, format string, args ...any) {
		line := b.line
		if rng.Start.Line > 0 {
			line += rng.Start.Line - 1
		}
		problems = append(problems, fmt.Sprintf("%s:%d: %s", b.file, line, fmt.Sprintf(format, args...)))
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
	body := f.Body.(*hclsyntax.Body)

	declared := map[string]bool{} // "var.x", "local.x", "data.T.N", "source.T.N"
	hasBuild := false
	for _, blk := range body.Blocks {
		switch blk.Type {
		case "variable":
			if len(blk.Labels) == 1 {
				declared["var."+blk.Labels[0]] = true
			}
		case "locals":
			for name := range blk.Body.Attributes {
				declared["local."+name] = true
			}
		case "data", "source":
			if len(blk.Labels) == 2 {
				declared[blk.Type+"."+blk.Labels[0]+"."+blk.Labels[1]] = true
			}
			if blk.Type == "data" && len(blk.Labels) == 2 && blk.Labels[0] == dataType {
				_, diags := blk.Body.Content(spec.config)
				for _, d := range diags {
					if d.Severity == hcl.DiagError {
						rng := blk.DefRange()
						if d.Subject != nil {
							rng = *d.Subject
						}
						report(rng, "data %q %q: %s: %s", dataType, blk.Labels[1], d.Summary, d.Detail)
					}
				}
			}
		case "build":
			hasBuild = true
			// post-processor "alicloud-image-family" {}, alone or in a
			// post-processors block.
			pps := blk.Body.Blocks
			for _, inner := range blk.Body.Blocks {
				if inner.Type == "post-processors" {
					pps = append(pps, inner.Body.Blocks...)
				}
			}
			for _, pp := range pps {
				if pp.Type != "post-processor" || len(pp.Labels) != 1 || pp.Labels[0] != dataType {
					continue
				}
				// Packer's own post-processor attributes, beside ours.
				schema := *spec.post
				schema.Attributes = append(append([]hcl.AttributeSchema(nil), schema.Attributes...),
					hcl.AttributeSchema{Name: "name"}, hcl.AttributeSchema{Name: "keep_input_artifact"}, hcl.AttributeSchema{Name: "only"}, hcl.AttributeSchema{Name: "except"})
				_, diags := pp.Body.Content(&schema)
				for _, d := range diags {
					if d.Severity == hcl.DiagError {
						rng := pp.DefRange()
						if d.Subject != nil {
							rng = *d.Subject
						}
						report(rng, "post-processor %q: %s: %s", dataType, d.Summary, d.Detail)
					}
				}
			}
		}
	}

	// Every reference of the block, sorted for stable messages.
	type use struct {
		name string
		rng  hcl.Range
	}
	var uses []use
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok {
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
		switch parts[0] {
		case "var", "local":
			if len(parts) >= 2 {
				uses = append(uses, use{parts[0] + "." + parts[1], e.SrcRange})
			}
		case "data":
			if len(parts) >= 3 {
				uses = append(uses, use{strings.Join(parts[:3], "."), e.SrcRange})
			}
			if len(parts) >= 4 && parts[1] == dataType && parts[3] != "[]" && !spec.outputs[parts[3]] {
				report(e.SrcRange, "data.%s.%s.%s: the data source has no output %q", dataType, parts[2], parts[3], parts[3])
			}
		}
		return nil
	})
	if b.fragment() {
		return problems
	}
	if !hasBuild {
		report(hcl.Range{}, "not a whole template (no build block): complete it, or mark it with a comment line # fragment")
		return problems
	}
	for _, blk := range body.Blocks {
		if blk.Type != "build" {
			continue
		}
		if a, ok := blk.Body.Attributes["sources"]; ok {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || !v.CanIterateElements() {
				report(a.SrcRange, "build.sources is not a list of strings")
				continue
			}
			for it := v.ElementIterator(); it.Next(); {
				_, s := it.Element()
				uses = append(uses, use{s.AsString(), a.SrcRange})
			}
		}
	}
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].rng.Start.Line < uses[j].rng.Start.Line })
	for _, u := range uses {
		if !declared[u.name] {
			report(u.rng, "%s is used but not declared in this template (declare it, or mark the block # fragment)", u.name)
		}
	}
	return problems
}

// TestHCLBlocks runs the rules on every ```hcl block of the docs: the
// Packer rules, or the Terraform rules (terraform_test.go) on a block that
// says "# terraform".
func TestHCLBlocks(t *testing.T) {
	spec := readDataSpec()
	whole := 0
	for _, b := range docBlocks(t, "hcl") {
		if b.terraform() {
			for _, p := range lintTerraform(b) {
				t.Error(p)
			}
			t.Logf("%s: terraform, fragment=%v", b, b.fragment())
			continue
		}
		for _, p := range lintHCL(b, spec) {
			t.Error(p)
		}
		if !b.fragment() {
			whole++
		}
		t.Logf("%s: fragment=%v", b, b.fragment())
	}
	if whole == 0 {
		t.Error("no whole template among the docs' hcl blocks")
	}
}

func TestHCLRulesFire(t *testing.T) {
	spec := readDataSpec()
	for _, c := range []struct {
		name, hcl string
		want      []string
	}{
		{"clean", "variable \"r\" {}\ndata \"alicloud-image-family\" \"b\" {\n  region = var.r\n  image_family = \"x\"\n}\nsource \"null\" \"n\" { communicator = \"none\" }\nbuild {\n  sources = [\"source.null.n\"]\n  provisioner \"shell-local\" { inline = [\"echo ${data.alicloud-image-family.b.image_id}\"] }\n}\n", nil},
		{"syntax", "data \"x\" {\n  a = \n}\n", []string{"does not parse"}},
		{"unknown attribute", "# fragment\ndata \"alicloud-image-family\" \"b\" {\n  image_family = \"x\"\n  vpc = true\n}\n", []string{`data "alicloud-image-family" "b": Unsupported argument`}},
		{"unknown output", "# fragment\nlocals { x = data.alicloud-image-family.b.imageid }\n", []string{`the data source has no output "imageid"`}},
		{"unknown post-processor attribute", "# fragment\nbuild {\n  post-processor \"alicloud-image-family\" {\n    image_family = \"x\"\n    regions = []\n  }\n}\n", []string{`post-processor "alicloud-image-family": Unsupported argument`}},
		{"not whole", "data \"alicloud-image-family\" \"b\" {\n  image_family = \"x\"\n}\n", []string{"not a whole template"}},
		{"undeclared", "source \"null\" \"n\" { communicator = \"none\" }\nbuild {\n  sources = [\"source.null.n\", \"source.null.m\"]\n  provisioner \"shell-local\" { inline = [var.x, data.alicloud-image-family.b.image_id] }\n}\n",
			[]string{"source.null.m is used but not declared", "var.x is used but not declared", "data.alicloud-image-family.b is used but not declared"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := lintHCL(block{file: "x.md", line: 1, lang: "hcl", text: c.hcl}, spec)
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
