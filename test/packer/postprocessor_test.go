package packere2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// promote runs testdata/promote.pkr.hcl (a null source and the
// post-processor) with image_ids and more -var settings.
func (w *world) promote(command string, images map[string]string, kv ...string) result {
	w.t.Helper()
	b, err := json.Marshal(images)
	if err != nil {
		w.t.Fatal(err)
	}
	args := []string{command}
	if command == "build" {
		args = append(args, "-color=false")
	}
	args = append(args, w.vars(append([]string{"image_ids", string(b), "access_key", keyID, "secret_key", keySecret}, kv...)...)...)
	return w.packer(nil, append(args, "testdata/promote.pkr.hcl")...)
}

// The copy problem fixed by a real packer build: three regions, one copy
// still Creating; afterwards the data source resolves every region to the
// promoted ids; a second run changes nothing.
func TestPostProcessorPromotesThenDataSourceResolves(t *testing.T) {
	w := newWorld(t)
	w.emu.SetCopyPolls(0)
	hz := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-hangzhou")
	sh := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-shanghai")
	w.emu.SetCopyPolls(2)
	bj := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-beijing")
	images := map[string]string{"cn-hangzhou": hz, "cn-shanghai": sh, "cn-beijing": bj}

	// Before: the copy resolves nowhere (cn-beijing has no other image).
	r := w.resolve("cn-beijing")
	if r.code == 0 {
		t.Fatalf("resolved before promote:\n%s", r.out)
	}

	r = w.promote("build", images)
	mustSucceed(t, r, "packer build with the post-processor")
	for _, want := range []string{
		"cn-beijing: promoted " + bj, "cn-hangzhou: promoted " + hz, "cn-shanghai: promoted " + sh,
		`ImageFamily "" -> "web-base"`, "Creating",
		"cn-beijing:" + bj + ",cn-hangzhou:" + hz + ",cn-shanghai:" + sh,
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	noSecrets(t, r.out)

	r = w.resolve("cn-beijing", "cn-hangzhou", "cn-shanghai")
	mustSucceed(t, r, "packer build with the data source")
	got := map[string]string{}
	for _, pair := range strings.Split(outputs(r.out)["image_ids"], ",") {
		region, id, _ := strings.Cut(pair, "=")
		got[region] = id
	}
	if len(got) != 3 {
		t.Fatalf("image_ids %v:\n%s", got, r.out)
	}
	for region, id := range images {
		if got[region] != id {
			t.Errorf("%s resolves to %s, want %s", region, got[region], id)
		}
	}

	// Idempotent.
	before := w.emu.Requests("ModifyImageAttribute")
	r = w.promote("build", images)
	mustSucceed(t, r, "second packer build")
	if n := w.emu.Requests("ModifyImageAttribute") - before; n != 0 || strings.Count(r.out, " is already a live member of the family") != 3 {
		t.Errorf("second run: %d changes:\n%s", n, r.out)
	}
}

// resolve runs testdata/resolve.pkr.hcl for regions.
func (w *world) resolve(regions ...string) result {
	w.t.Helper()
	b, _ := json.Marshal(regions)
	args := append([]string{"build", "-color=false"}, w.vars("regions", string(b), "access_key", keyID, "secret_key", keySecret)...)
	return w.packer(nil, append(args, "testdata/resolve.pkr.hcl")...)
}

// Superseded fails the build, naming the newer image; a dry run changes
// nothing.
func TestPostProcessorSupersededAndDryRun(t *testing.T) {
	w := newWorld(t)
	// Two copies a minute apart, both promoted: the family resolves to the
	// newer, and promoting the older again is superseded.
	w.emu.SetCopyPolls(0)
	start := time.Now()
	w.emu.SetClock(func() time.Time { return start })
	older := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-hangzhou")
	w.emu.SetClock(func() time.Time { return start.Add(time.Minute) })
	newer := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-hangzhou")
	mustSucceed(t, w.promote("build", map[string]string{"cn-hangzhou": older}), "promote the older copy")
	mustSucceed(t, w.promote("build", map[string]string{"cn-hangzhou": newer}), "promote the newer copy")
	r := w.promote("build", map[string]string{"cn-hangzhou": older})
	if r.code == 0 || !strings.Contains(r.out, "cn-hangzhou: superseded "+older) || !strings.Contains(r.out, newer) {
		t.Fatalf("superseded: exit %d:\n%s", r.code, r.out)
	}

	w.emu.SetCopyPolls(0)
	sh := w.emu.CopyImage("cn-hangzhou", "m-e2e-web-v2", "cn-shanghai")
	before := w.emu.Requests("ModifyImageAttribute")
	r = w.promote("build", map[string]string{"cn-shanghai": sh}, "dry_run", "true")
	mustSucceed(t, r, "dry run")
	if img, _ := w.emu.Image("cn-shanghai", sh); img.ImageFamily != "" || !strings.Contains(r.out, "would change") {
		t.Fatalf("dry run changed the family to %q:\n%s", img.ImageFamily, r.out)
	}
	if w.emu.Requests("ModifyImageAttribute")-before != 1 {
		t.Errorf("dry run: %d ModifyImageAttribute calls, want the one DryRun call", w.emu.Requests("ModifyImageAttribute")-before)
	}
}

// A bad block fails packer validate, every refusal named by its
// attribute, with nothing sent.
func TestPostProcessorBadConfigValidate(t *testing.T) {
	w := newWorld(t)
	r := w.promote("validate", map[string]string{"cn-hangzhou": "web-base", "cn-nowhere!": "m-e2e000000000001"},
		"family", "aliyun-base", "wait_timeout", "7h")
	if r.code == 0 {
		t.Fatalf("packer validate accepted:\n%s", r.out)
	}
	for _, want := range []string{`invalid image_family "aliyun-base"`, `invalid image_ids "web-base"`, `invalid image_ids "cn-nowhere!"`, `invalid wait_timeout "7h"`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if n := w.emu.Requests(""); n != 0 {
		t.Errorf("%d requests to the emulator", n)
	}
}
