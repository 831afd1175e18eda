package imagefamily

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

func TestImageJSONIsTheAPIsImage(t *testing.T) {
	for name, image := range conformance.ParityImages() {
		t.Run(name, func(t *testing.T) {
			h := conformance.StartHostile(conformance.ServeImage(image))
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
				if !e2etest.SameJSON(t, out, []byte(image)) {
					t.Fatalf("JSON differs from the API's Image\n got: %s\nwant: %s", out, image)
				}
			}
			// Several regions: an object region -> Image, each exact.
			both, _ := json.Marshal(map[string]Image{"cn-hangzhou": img, "cn-shanghai": img})
			var m map[string]json.RawMessage
			if err := json.Unmarshal(both, &m); err != nil || len(m) != 2 {
				t.Fatalf("map: %v %s", err, both)
			}
			if !e2etest.SameJSON(t, m["cn-shanghai"], []byte(image)) {
				t.Fatalf("multi-region JSON differs: %s", m["cn-shanghai"])
			}
			// The typed view still works, and a round trip keeps the bytes.
			if !strings.HasPrefix(img.ImageID, "m-bp1g7004ksh0oeuc") {
				t.Fatalf("typed view: %+v", img)
			}
			var back Image
			if err := json.Unmarshal(mustMarshal(t, img), &back); err != nil || back.ImageID != img.ImageID ||
				!e2etest.SameJSON(t, mustMarshal(t, back), []byte(image)) {
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
	h := conformance.StartHostile(conformance.ServeImage(conformance.ParityImages()["both tag spellings"]))
	defer h.Close()
	img, err := Resolve(context.Background(), hostileRequest(h))
	if err != nil {
		t.Fatal(err)
	}
	if img.Tags["a"] != "1" || img.Tags["only-new"] != "2" {
		t.Fatalf("typed tags %v", img.Tags)
	}
}
