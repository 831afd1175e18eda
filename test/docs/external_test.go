package docs

// Terraform's external data source running `alicloud-image-family
// terraform-external`, in the docs' Terraform blocks: its query's keys are
// attributes of the Packer data source (the command takes their names), and
// every data.external.<name>.result.<key> read is one of its outputs.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/datasource/family"
)

func lintExternal(b block) []string {
	f, diags := hclparse.NewParser().ParseHCL([]byte(b.text), b.String())
	if diags.HasErrors() {
		return nil // lintTerraform reports it
	}
	d := &family.Datasource{}
	config, outputs := d.ConfigSpec(), d.OutputSpec()
	var problems []string
	report := func(rng hcl.Range, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: (external) %s", b.file, b.line+rng.Start.Line-1, fmt.Sprintf(format, args...)))
	}
	ours := map[string]bool{}
	body := f.Body.(*hclsyntax.Body)
	for _, blk := range body.Blocks {
		if blk.Type != "data" || len(blk.Labels) != 2 || blk.Labels[0] != "external" {
			continue
		}
		prog, ok := blk.Body.Attributes["program"]
		if !ok || !strings.Contains(string(prog.SrcRange.SliceBytes([]byte(b.text))), "terraform-external") {
			continue
		}
		ours[blk.Labels[1]] = true
		q, ok := blk.Body.Attributes["query"]
		if !ok {
			continue
		}
		obj, ok := q.Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			report(q.SrcRange, "query: write it as an object, so its keys can be checked")
			continue
		}
		for _, item := range obj.Items {
			key := hcl.ExprAsKeyword(item.KeyExpr)
			if _, ok := config[key]; !ok || strings.HasPrefix(key, "packer_") {
				report(item.KeyExpr.Range(), "query key %q is not an attribute of the data source", key)
			}
		}
	}
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok || e.Traversal.RootName() != "data" || len(e.Traversal) < 5 {
			return nil
		}
		var parts []string
		for _, s := range e.Traversal[1:5] {
			if a, ok := s.(hcl.TraverseAttr); ok {
				parts = append(parts, a.Name)
			}
		}
		if len(parts) == 4 && parts[0] == "external" && ours[parts[1]] && parts[2] == "result" {
			if _, ok := outputs[parts[3]]; !ok {
				report(e.SrcRange, "result.%s is not an output of the data source", parts[3])
			}
		}
		return nil
	})
	return problems
}

func TestExternalBlocks(t *testing.T) {
	n := 0
	for _, b := range docBlocks(t, "hcl") {
		if !b.terraform() || !strings.Contains(b.text, "terraform-external") {
			continue
		}
		n++
		for _, p := range lintExternal(b) {
			t.Error(p)
		}
	}
	if n == 0 {
		t.Error("no Terraform block of the docs runs terraform-external (docs/terraform.md)")
	}
}

func TestExternalRulesFire(t *testing.T) {
	const cfg = "data \"external\" \"x\" {\n  program = [\"alicloud-image-family\", \"terraform-external\"]\n  query = { image_family = \"w\", regions = \"a\", imagefamily = \"w\" }\n}\noutput \"a\" { value = data.external.x.result.image_id }\noutput \"b\" { value = data.external.x.result.imageid }\n"
	got := lintExternal(block{file: "x.md", line: 1, lang: "hcl", text: cfg})
	want := []string{`query key "imagefamily"`, "result.imageid"}
	if len(got) != len(want) {
		t.Fatalf("problems %q, want %q", got, want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("%q lacks %q", got[i], w)
		}
	}
}
