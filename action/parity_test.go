package action

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/fieldtest"
)

// The outputs are the API's Image as it was sent, through the whole step
// (an endpoint answering, the core reading it, the outputs file), for one
// region and for several: the json output is the Image (an object region ->
// Image with several), absent members staying absent, unknown ones kept,
// numbers keeping their text; and every field of the core's table is an
// output named Field.ActionName() holding Field.Text of the first region's
// image (the image with every field set). Their order is
// TestFailureOutputsMatchOutputs'; empty when nothing was found:
// checkFailureOutputs.
func TestOutputsAreTheAPIsImage(t *testing.T) {
	images := maps.Clone(conformance.ParityImages())
	images["every field set"] = fieldtest.ImageJSON
	for name, image := range images {
		t.Run(name, func(t *testing.T) {
			h := conformance.StartHostile(conformance.ServeImage(image))
			defer h.Close()
			for _, regions := range [][]string{{"cn-hangzhou"}, {"cn-hangzhou", "cn-shanghai"}} {
				s := hostileStep(t, h, regions).run(WithRequest(func(r *imagefamily.Request) { r.Transport = h.Transport() }))
				if s.code != 0 {
					t.Fatalf("%v: exit %d\n%s", regions, s.code, s.stdout.String())
				}
				outs := s.outputs()
				byRegion := map[string]json.RawMessage{"cn-hangzhou": json.RawMessage(outs["json"])}
				if len(regions) > 1 {
					if err := json.Unmarshal([]byte(outs["json"]), &byRegion); err != nil || len(byRegion) != len(regions) {
						t.Fatalf("multi-region json %q: %v", outs["json"], err)
					}
				}
				for _, r := range regions {
					if !e2etest.SameJSON(t, byRegion[r], []byte(image)) {
						t.Fatalf("%s: json output differs from the API's Image\n got: %s\nwant: %s", r, byRegion[r], image)
					}
				}
				if image != fieldtest.ImageJSON {
					continue
				}
				want := fieldtest.Image()
				for _, f := range imagefamily.Fields() {
					if got, ok := outs[f.ActionName()]; !ok || got != f.Text(want) {
						t.Errorf("%v: output %s = %q (written %v), want Field.Text %q", regions, f.ActionName(), got, ok, f.Text(want))
					}
				}
			}
		})
	}
}
