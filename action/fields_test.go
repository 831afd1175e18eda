package action

import (
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/fieldtest"
)

// TestEveryFieldIsAnOutput: every field of the core's table is an output
// named Field.ActionName() holding Field.Text of the image, through the
// whole step (an endpoint answering with an image whose every field is set,
// the core reading it, the outputs file); with several regions, the first
// region's. Their order is TestFailureOutputsMatchOutputs'; empty when
// nothing was found: checkFailureOutputs.
func TestEveryFieldIsAnOutput(t *testing.T) {
	want := fieldtest.Image()
	h := conformance.StartHostile(conformance.ServeImage(fieldtest.ImageJSON))
	defer h.Close()
	for _, regions := range [][]string{{"cn-hangzhou"}, {"cn-hangzhou", "cn-shanghai"}} {
		s := hostileStep(t, h, regions).run(WithRequest(func(r *imagefamily.Request) { r.Transport = h.Transport() }))
		if s.code != 0 {
			t.Fatalf("%v: exit %d\n%s", regions, s.code, s.stdout.String())
		}
		outs := s.outputs()
		for _, f := range imagefamily.Fields() {
			got, ok := outs[f.ActionName()]
			if !ok {
				t.Errorf("%v: field %s has no output %s", regions, f.Name, f.ActionName())
				continue
			}
			if got != f.Text(want) {
				t.Errorf("%v: output %s = %q, want Field.Text %q", regions, f.ActionName(), got, f.Text(want))
			}
		}
		if len(outs) != len(imagefamily.Fields())+6 {
			t.Errorf("%d outputs, want the %d fields + found, json, image-ids, changed, changes, results", len(outs), len(imagefamily.Fields()))
		}
	}

}
