package action

import (
	"encoding/json"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// The json output is the API's Image as it was sent, for one region and for
// several (an object region -> Image): absent members stay absent, unknown
// ones are kept, numbers keep their text.
func TestJSONOutputIsTheAPIsImage(t *testing.T) {
	for name, image := range conformance.ParityImages() {
		t.Run(name, func(t *testing.T) {
			h := conformance.StartHostile(conformance.ServeImage(image))
			defer h.Close()
			want := []byte(image)
			for _, regions := range [][]string{{"cn-hangzhou"}, {"cn-hangzhou", "cn-shanghai"}} {
				s := hostileStep(t, h, regions).run(WithRequest(func(r *imagefamily.Request) { r.Transport = h.Transport() }))
				if s.code != 0 {
					t.Fatalf("%v: exit %d\n%s", regions, s.code, s.stdout.String())
				}
				out := s.outputs()["json"]
				if len(regions) == 1 {
					if !e2etest.SameJSON(t, []byte(out), want) {
						t.Fatalf("json output differs from the API's Image\n got: %s\nwant: %s", out, image)
					}
					continue
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal([]byte(out), &m); err != nil || len(m) != len(regions) {
					t.Fatalf("multi-region json %q: %v", out, err)
				}
				for _, r := range regions {
					if !e2etest.SameJSON(t, m[r], want) {
						t.Fatalf("%s: json differs\n got: %s\nwant: %s", r, m[r], image)
					}
				}
			}
		})
	}
}
