package packere2e

// The post-processor's block through a real Packer (testdata/promote.pkr.hcl,
// a null source and the post-processor): that its attributes reach the
// plugin, a bad block fails `packer validate` with nothing sent, and a
// refusal fails the build. Promotion itself, through Packer, is the
// official builder pipeline's (builder_e2e_test.go); its rules are
// imagefamily's (promote_test.go).

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// promote runs testdata/promote.pkr.hcl with image_ids and more -var
// settings.
func (w *world) promote(t *testing.T, command string, images map[string]string, kv ...string) result {
	t.Helper()
	b, err := json.Marshal(images)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{command, "-var", "endpoint=" + w.emu.URL, "-var", "image_ids=" + string(b),
		"-var", "access_key=" + keyID, "-var", "secret_key=" + keySecret}
	for i := 0; i+1 < len(kv); i += 2 {
		args = append(args, "-var", kv[i]+"="+kv[i+1])
	}
	abs, err := filepath.Abs("testdata/promote.pkr.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return w.packer(t, "", nil, append(args, abs)...)
}

// A bad block fails packer validate, every refusal named by its
// attribute, with nothing sent.
func TestPostProcessorBadConfigValidate(t *testing.T) {
	w := newWorld(t)
	r := w.promote(t, "validate", map[string]string{"cn-hangzhou": "web-base", "cn-nowhere!": "m-e2e000000000001"},
		"family", "aliyun-base", "wait_timeout", "7h")
	if r.code == 0 {
		t.Fatalf("packer validate accepted:\n%s", r.out)
	}
	for _, want := range []string{`invalid image_family "aliyun-base"`, `invalid image_ids "web-base"`, `invalid image_ids "cn-nowhere!"`, `invalid wait_timeout "7h"`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := w.emu.Requests(""); n != 0 {
		t.Errorf("%d requests to the emulator", n)
	}
}

// A dry run over two regions: cn-hangzhou's image is an older member of
// the family (superseded, which fails the build, naming the newer image),
// cn-shanghai's copy would join it and does not.
func TestPostProcessorSupersededAndDryRun(t *testing.T) {
	w := newWorld(t)
	const older = "m-e2eolderweb000001"
	w.emu.AddImage("cn-hangzhou", demoImage(older, "web-base", "2024-01-20T00:00:00Z"))
	w.emu.SetCopyPolls(0)
	sh := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-shanghai")
	r := w.promote(t, "build", map[string]string{"cn-hangzhou": older, "cn-shanghai": sh}, "dry_run", "true")
	if r.code == 0 || !strings.Contains(r.out, "cn-hangzhou: superseded "+older) || !strings.Contains(r.out, "m-e2e-web-v2") ||
		!strings.Contains(r.out, "would change") {
		t.Errorf("exit %d: want superseded in cn-hangzhou, naming m-e2e-web-v2, and a change that would be made", r.code)
	}
	if img, _ := w.emu.Image("cn-shanghai", sh); img.ImageFamily != "" {
		t.Errorf("the dry run changed the family to %q", img.ImageFamily)
	}
	if ws := w.emu.Writes(); len(ws) != 1 || ws[0].DryRun != "true" || ws[0].ImageID != sh {
		t.Errorf("writes %+v, want the one DryRun call for %s", ws, sh)
	}
}
