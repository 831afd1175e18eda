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
// region's. Nothing found: every one of them empty.
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

	core := &fakeCore{images: map[string]imagefamily.Image{}}
	s := newStep(t, map[string]string{"region": "cn-hangzhou", "image-family": "web-base", "fail-if-not-found": "false"}).run(core.option())
	outs := s.outputs()
	for _, f := range imagefamily.Fields() {
		if v, ok := outs[f.ActionName()]; !ok || v != "" {
			t.Errorf("not found: output %s = %q (written %v), want empty", f.ActionName(), v, ok)
		}
	}
}

// TestOutputsFollowTheTable: outputsFor names its outputs after the table,
// in its order, with the front's own six after them.
func TestOutputsFollowTheTable(t *testing.T) {
	img := fieldtest.Image()
	outs, err := outputsFor(&inputs{}, []imagefamily.Result{{Region: "cn-hangzhou", Image: img}}, map[string]imagefamily.Image{"cn-hangzhou": img}, false)
	if err != nil {
		t.Fatal(err)
	}
	fields := imagefamily.Fields()
	if len(outs) != len(fields)+6 {
		t.Fatalf("%d outputs for %d fields", len(outs), len(fields))
	}
	for i, f := range fields {
		if outs[i].name != f.ActionName() || outs[i].value != f.Text(img) {
			t.Errorf("output %d = %s=%q, want %s=%q", i, outs[i].name, outs[i].value, f.ActionName(), f.Text(img))
		}
	}
	for i, name := range []string{"found", "json", "image-ids"} {
		if got := outs[len(fields)+i].name; got != name {
			t.Errorf("output %d is %s, want %s", len(fields)+i, got, name)
		}
	}
}
