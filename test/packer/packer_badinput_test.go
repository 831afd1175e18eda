package packere2e

// Bad input through a real Packer: a data block per stage at which Packer
// refuses input, each breaking several rules over a valid base (the data
// source reports every problem of a block at once). `packer validate` and
// `packer build` stop with a diagnostic on the block that names each
// attribute and rule, and the emulator sees no request (a rule the offline
// checks missed would show up as one in the build). The rows are the
// Packer front's own paths (HCL types, a bare number for a duration, lists,
// unknown attributes, the environment, a secret in the refused value);
// every value of each rule is the core's (imagefamily/validate_test.go) and
// the data source's (datasource/family TestConfigureRejects,
// TestConfigureRejectsReleaseAttributes, TestConfigureReportsEveryProblem).

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestBadInputPacker(t *testing.T) {
	w := newWorld(t)
	endpoint := fmt.Sprintf("custom_endpoint_ecs = %q", w.emu.Endpoint())
	keys := fmt.Sprintf("access_key = %q\n  secret_key = %q", keyID, keySecret)
	// The environment gives ALICLOUD_REGION=Cn-Hangzhou and a key id
	// without its secret.
	env := []string{"ALICLOUD_REGION=Cn-Hangzhou", "ALICLOUD_ACCESS_KEY=" + keyID}
	for _, row := range []struct {
		name  string
		attrs []string
		frags []string
		build bool // known only when Execute reads the environment
	}{
		{name: "values", attrs: []string{
			`image_family = "x"`,
			// A bare number converted to the string attribute: 2^64 ns,
			// which multiplied out would wrap around.
			"timeout = 18446744074", "max_retries = 50", `wait_timeout = "7h"`, `architecture = "amd64"`,
			`regions = ["cn-hangzhou", "CN-SHANGHAI"]`, `custom_endpoint_ecs = "https://LTAIKEY:pw-secret-123@ecs.example.com"`,
			`security_token = "tok-only-123456"`,
		}, frags: []string{
			`invalid image_family "x"`, "2 to 128 characters long (it has 1)",
			`invalid timeout "18446744074"`, "between 100ms and 1h0m0s (a bare number counts seconds)",
			`invalid max_retries "50"`, "0 (no retries) to 19", `invalid wait_timeout "7h"`, "between 0s and 6h0m0s",
			`architecture "amd64"`, "x86_64, arm64, i386", `invalid regions "CN-SHANGHAI"`, "lower case",
			"custom_endpoint_ecs", "user information", "security_token", "needs the access key id and secret",
		}},
		{name: "types", attrs: []string{`region = "cn-hangzhou"`, `image_family = "web-base"`, `regions = "cn-hangzhou"`, `image_familly = "web-base"`, keys, endpoint},
			frags: []string{"Incorrect attribute value type", "list of string required", "Unsupported argument", `"image_familly" is not expected here`}},
		{name: "region from the environment", attrs: []string{`image_family = "web-base"`, keys, endpoint},
			frags: []string{`invalid region "Cn-Hangzhou"`, "lower case"}},
		{name: "key from the environment", attrs: []string{`region = "cn-hangzhou"`, `image_family = "web-base"`, endpoint},
			frags: []string{"ALICLOUD_SECRET_KEY is empty or unset"}, build: true},
	} {
		t.Run(row.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "bad.pkr.hcl")
			writeFile(t, file, template(dir, block("bad", row.attrs...), "id=data.alicloud-image-family.bad.image_id"))
			commands := []string{"validate", "build"}
			if row.build {
				commands = commands[1:]
			}
			for _, command := range commands {
				r := w.packer(t, dir, env, command, file)
				failsOnDataBlock(t, r, row.frags...)
				if n := w.emu.Requests(""); n != 0 {
					t.Errorf("packer %s: the emulator saw %d requests; want none", command, n)
				}
			}
		})
	}
}
