package imagefamily

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// decodeExact parses JSON keeping numbers as written, so equality means the
// same members, the same values and the same JSON types.
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

func TestImageJSONIsTheAPIsImage(t *testing.T) {
	for name, image := range ecstest.ParityImages() {
		t.Run(name, func(t *testing.T) {
			h := ecstest.StartHostile(ecstest.ServeImage(image))
			defer h.Close()
			img, err := Resolve(context.Background(), hostileRequest(h))
			if err != nil {
				t.Fatal(err)
			}
			for _, marshal := range []func(any) ([]byte, error){json.Marshal, func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }} {
				out, err := marshal(img)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := decodeExact(t, out), decodeExact(t, []byte(image)); !reflect.DeepEqual(got, want) {
					t.Fatalf("JSON differs from the API's Image\n got: %s\nwant: %s", out, image)
				}
			}
			// Several regions: an object region -> Image, each exact.
			both, _ := json.Marshal(map[string]Image{"cn-hangzhou": img, "cn-shanghai": img})
			var m map[string]json.RawMessage
			if err := json.Unmarshal(both, &m); err != nil || len(m) != 2 {
				t.Fatalf("map: %v %s", err, both)
			}
			if !reflect.DeepEqual(decodeExact(t, m["cn-shanghai"]), decodeExact(t, []byte(image))) {
				t.Fatalf("multi-region JSON differs: %s", m["cn-shanghai"])
			}
			// The typed view still works, and a round trip keeps the bytes.
			if !strings.HasPrefix(img.ImageID, "m-bp1g7004ksh0oeuc") {
				t.Fatalf("typed view: %+v", img)
			}
			var back Image
			if err := json.Unmarshal(mustMarshal(t, img), &back); err != nil || back.ImageID != img.ImageID ||
				!reflect.DeepEqual(decodeExact(t, mustMarshal(t, back)), decodeExact(t, []byte(image))) {
				t.Fatalf("round trip: %v %+v", err, back)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImageTagsKeepBothSpellings(t *testing.T) {
	h := ecstest.StartHostile(ecstest.ServeImage(ecstest.ParityImages()["both tag spellings"]))
	defer h.Close()
	img, err := Resolve(context.Background(), hostileRequest(h))
	if err != nil {
		t.Fatal(err)
	}
	if img.Tags["a"] != "1" || img.Tags["only-new"] != "2" {
		t.Fatalf("typed tags %v", img.Tags)
	}
}
