package main

import (
	"encoding/json"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// `--output json` of the real binary is the API's Image as sent, as the
// aliyun CLI shows it under .Image: the same members (absent ones absent,
// unknown ones kept), values and JSON types; with several regions, an
// object region -> that Image.
func TestOutputJSONIsTheAPIsImage(t *testing.T) {
	cliBinary(t)
	for name, image := range conformance.ParityImages() {
		t.Run(name, func(t *testing.T) {
			h := conformance.StartHostile(conformance.ServeImage(image))
			defer h.Close()
			cert, err := h.WriteCertFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": hostileKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": hostileSecret, "no_proxy": "127.0.0.1,localhost"}
			want := []byte(image)
			r := runCLI(t, &emulatorProcess{CertFile: cert}, env, "resolve", "--region", "cn-hangzhou",
				"--image-family", "web-base", "--endpoint", h.Endpoint(), "--output", "json")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !e2etest.SameJSON(t, []byte(r.stdout), want) {
				t.Fatalf("--output json differs from the API's Image\n got: %s\nwant: %s", r.stdout, image)
			}
			r = runCLI(t, &emulatorProcess{CertFile: cert}, env, "resolve", "--region", "cn-hangzhou,cn-shanghai",
				"--image-family", "web-base", "--endpoint", h.Endpoint(), "--output", "json")
			var m map[string]json.RawMessage
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &m) != nil || len(m) != 2 {
				t.Fatalf("two regions: exit %d %q %s", r.code, r.stdout, r.stderr)
			}
			for region, raw := range m {
				if !e2etest.SameJSON(t, raw, want) {
					t.Fatalf("%s differs\n got: %s\nwant: %s", region, raw, image)
				}
			}
		})
	}
}
