package action

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// decodeExact parses JSON keeping numbers as written: equal values mean the
// same members, values and JSON types.
func decodeExact(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// The json output is the API's Image as it was sent, for one region and for
// several (an object region -> Image): absent members stay absent, unknown
// ones are kept, numbers keep their text.
func TestJSONOutputIsTheAPIsImage(t *testing.T) {
	for name, image := range ecstest.ParityImages() {
		t.Run(name, func(t *testing.T) {
			h := ecstest.StartHostile(ecstest.ServeImage(image))
			defer h.Close()
			want := decodeExact(t, []byte(image))
			for _, regions := range [][]string{{"cn-hangzhou"}, {"cn-hangzhou", "cn-shanghai"}} {
				s := hostileStep(t, h, regions).run(WithRequest(func(r *imagefamily.Request) { r.Transport = h.Transport() }))
				if s.code != 0 {
					t.Fatalf("%v: exit %d\n%s", regions, s.code, s.stdout.String())
				}
				out := s.outputs()["json"]
				if len(regions) == 1 {
					if got := decodeExact(t, []byte(out)); !reflect.DeepEqual(got, want) {
						t.Fatalf("json output differs from the API's Image\n got: %s\nwant: %s", out, image)
					}
					continue
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal([]byte(out), &m); err != nil || len(m) != len(regions) {
					t.Fatalf("multi-region json %q: %v", out, err)
				}
				for _, r := range regions {
					if got := decodeExact(t, m[r]); !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: json differs\n got: %s\nwant: %s", r, m[r], image)
					}
				}
			}
		})
	}
}
