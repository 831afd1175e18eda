package packere2e

// Release promotion through a real `packer build`: regions feeding two
// source blocks through image_ids, ignore_missing_regions, expected_image_id
// (drift), wait_timeout and newer_than, retries and wait progress (and where
// Packer shows them), the core's guards in every region, and shared
// families resolved against the demo fixture.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// The demo fixture's keys (ecstest/testdata/demo-fixture.json).
const (
	demoKeyID  = "LTAIDEMOACCESSKEYID0001"
	demoSecret = "demo-secret-NOT-A-REAL-SECRET-0001"
)

// newDemoWorld is a world on the demo fixture, its dates as written (the
// tests add images dated against them): web-base in cn-hangzhou
// (m-bp1demowebbase000003) and its copy in cn-shanghai
// (m-uf6demowebbase000003), app-server in cn-shanghai, cn-beijing empty,
// and the shared and public families.
func newDemoWorld(t *testing.T) *world {
	t.Helper()
	in := install(t)
	fixture := filepath.Join(t.TempDir(), "demo-fixture.json")
	if err := os.WriteFile(fixture, ecstest.DemoFixtureAsWritten, 0o600); err != nil {
		t.Fatal(err)
	}
	emu, cert := e2etest.Emulator(t, fixture)
	return &world{t: t, in: in, emu: emu, cert: cert, home: t.TempDir()}
}

// releaseTemplate is one data block "release" with the given attributes
// (plus endpoint, keys and a timeout) and a build of one null source that
// prints the lines given, each as `OUT <line>`.
func releaseTemplate(w *world, keyID, secret, attrs string, out ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `data "alicloud-image-family" "release" {
  access_key          = %q
  secret_key          = %q
  custom_endpoint_ecs = %q
  timeout             = "20s"
%s
}

source "null" "release" {
  communicator = "none"
}

build {
  sources = ["source.null.release"]
  provisioner "shell-local" {
    inline = [
`, keyID, secret, w.emu.Endpoint(), attrs)
	for _, o := range out {
		fmt.Fprintf(&b, "      \"echo 'OUT %s'\",\n", o)
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String()
}

func (w *world) buildTemplate(env []string, name, body string) result {
	w.t.Helper()
	return w.packer(env, "build", "-color=false", writeTemplate(w.t, name, body))
}

// failsOnDataBlock checks that the build stopped with a diagnostic on the
// data block holding every fragment, before the provisioner ran.
func failsOnDataBlock(t *testing.T, r result, frags ...string) {
	t.Helper()
	if r.code == 0 || strings.Contains(r.out, "OUT ") {
		t.Errorf("the build did not stop at the data block (exit %d)", r.code)
	}
	for _, f := range append([]string{"Error:", ".pkr.hcl line 1"}, frags...) {
		if !strings.Contains(r.out, f) {
			t.Errorf("Packer's output lacks %q", f)
		}
	}
	if t.Failed() {
		t.Logf("packer output:\n%s", r.out)
	}
}

// Several regions in one data block, each of two builds
// starting from its own region's image through image_ids. The test
// publishes a newer web-base image in cn-shanghai than the demo fixture's.
func TestRegionsFeedTwoSources(t *testing.T) {
	w := newDemoWorld(t)
	sh := demoImage("m-uf6demowebbase000001", "web-base", "2024-03-15T02:00:00Z")
	w.emu.AddImage("cn-shanghai", sh)
	body := fmt.Sprintf(`data "alicloud-image-family" "release" {
  regions             = ["cn-hangzhou", "cn-shanghai"]
  image_family        = "web-base"
  access_key          = %q
  secret_key          = %q
  custom_endpoint_ecs = %q
}

locals {
  region = {
    hangzhou = "cn-hangzhou"
    shanghai = "cn-shanghai"
  }
}

source "null" "hangzhou" {
  communicator = "none"
}

source "null" "shanghai" {
  communicator = "none"
}

build {
  sources = ["source.null.hangzhou", "source.null.shanghai"]
  provisioner "shell-local" {
    inline = ["echo 'OUT source_image=${data.alicloud-image-family.release.image_ids[local.region[source.name]]}'"]
  }
}

build {
  name    = "first"
  sources = ["source.null.hangzhou"]
  provisioner "shell-local" {
    inline = [
      "echo 'OUT first_image_id=${data.alicloud-image-family.release.image_id}'",
      "echo 'OUT first_region=${data.alicloud-image-family.release.region}'",
      "echo 'OUT region_count=${length(data.alicloud-image-family.release.image_ids)}'",
    ]
  }
}
`, demoKeyID, demoSecret, w.emu.Endpoint())
	r := w.buildTemplate(nil, "regions.pkr.hcl", body)
	mustSucceed(t, r, "packer build with regions")
	// Each build's lines carry its name: null.hangzhou got cn-hangzhou's
	// image, null.shanghai cn-shanghai's.
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)null\.(hangzhou|shanghai): OUT source_image=(\S+)`).FindAllStringSubmatch(r.out, -1) {
		got[m[1]] = m[2]
	}
	if got["hangzhou"] != "m-bp1demowebbase000003" || got["shanghai"] != sh.ImageId || len(got) != 2 {
		t.Errorf("each build's source image = %v, want hangzhou m-bp1demowebbase000003 and shanghai %s", got, sh.ImageId)
	}
	o := outputs(r.out)
	if o["first_image_id"] != "m-bp1demowebbase000003" || o["first_region"] != "cn-hangzhou" || o["region_count"] != "2" {
		t.Errorf("single-image attributes %v, want cn-hangzhou's and 2 regions", o)
	}
	// One Execute for the whole template: one lookup per region.
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 2 {
		t.Errorf("%d lookups, want 2 (one per region)", n)
	}
	noSecrets(t, r.out, demoSecret)
	if t.Failed() {
		t.Logf("packer output:\n%s", r.out)
	}
}

func TestIgnoreMissingRegionsPacker(t *testing.T) {
	w := newDemoWorld(t)
	// app-server is only in cn-shanghai.
	attrs := `  regions      = ["cn-shanghai", "cn-beijing", "cn-hangzhou"]
  image_family = "app-server"`
	show := []string{
		"ids=${jsonencode(data.alicloud-image-family.release.image_ids)}",
		"beijing=${lookup(data.alicloud-image-family.release.image_ids, \"cn-beijing\", \"none\")}",
	}
	// Without ignore_missing_regions: the build fails naming each region
	// without an image.
	r := w.buildTemplate(nil, "missing.pkr.hcl", releaseTemplate(w, demoKeyID, demoSecret, attrs, show...))
	failsOnDataBlock(t, r, "2 of 3 regions failed", `no available image in family "app-server" in region cn-beijing`,
		`no available image in family "app-server" in region cn-hangzhou`)

	// With it: they are left out of image_ids.
	r = w.buildTemplate(nil, "ignore.pkr.hcl", releaseTemplate(w, demoKeyID, demoSecret, attrs+"\n  ignore_missing_regions = true", show...))
	mustSucceed(t, r, "packer build with ignore_missing_regions")
	o := outputs(r.out)
	if o["ids"] != `{"cn-shanghai":"m-uf6demoappserver00001"}` || o["beijing"] != "none" {
		t.Errorf("outputs %v, want only cn-shanghai in image_ids\n%s", o, r.out)
	}

	// No region with an image: the build still fails.
	r = w.buildTemplate(nil, "none.pkr.hcl", releaseTemplate(w, demoKeyID, demoSecret,
		"  regions = [\"cn-beijing\", \"cn-hangzhou\"]\n  image_family = \"app-server\"\n  ignore_missing_regions = true", show...))
	failsOnDataBlock(t, r, "none of the 2 regions has an available image", "in region cn-beijing", "in region cn-hangzhou")

	// Other failures are never ignored: a region ECS does not know.
	r = w.buildTemplate(nil, "unknown.pkr.hcl", releaseTemplate(w, demoKeyID, demoSecret,
		"  regions = [\"cn-hangzhou\", \"cn-nowhere-1\"]\n  image_family = \"web-base\"\n  ignore_missing_regions = true", show...))
	failsOnDataBlock(t, r, `for family "web-base" in region cn-nowhere-1`, "InvalidRegionId.NotFound")
}

func TestGuardsInEveryRegionPacker(t *testing.T) {
	w := newWorld(t)
	r := w.buildTemplate(nil, "guards.pkr.hcl", releaseTemplate(w, keyID, keySecret,
		"  regions = [\"cn-hangzhou\", \"cn-shanghai\"]\n  image_family = \"web-base\"\n  architecture = \"arm64\"", "id=x"))
	failsOnDataBlock(t, r, "2 of 2 regions failed",
		`image family "web-base" in region cn-hangzhou resolved to m-e2e-web-v2`,
		`image family "web-base" in region cn-shanghai resolved to m-e2e-web-sh-v2`,
		`fails the architecture guard: expected "arm64", found "x86_64"`)
}

func TestExpectedImageIDPacker(t *testing.T) {
	w := newWorld(t)
	// Expected ids have an image id's shape: the newest image
	// here has a real-looking id.
	w.emu.AddImage("cn-hangzhou", image("m-bp1e2eweb000000003", "2024-03-01T00:00:00Z", "Available"))
	attrs := "  region = \"cn-hangzhou\"\n  image_family = \"web-base\"\n  expected_image_id = "
	r := w.buildTemplate(nil, "same.pkr.hcl", releaseTemplate(w, keyID, keySecret, attrs+`"m-bp1e2eweb000000003"`,
		"image_id=${data.alicloud-image-family.release.image_id}"))
	mustSucceed(t, r, "packer build with the expected image")
	if got := outputs(r.out)["image_id"]; got != "m-bp1e2eweb000000003" {
		t.Errorf("image_id %q", got)
	}
	// The family moved: both ids in the diagnostic.
	r = w.buildTemplate(nil, "moved.pkr.hcl", releaseTemplate(w, keyID, keySecret, attrs+`"m-bp1e2eweb000000001"`,
		"image_id=${data.alicloud-image-family.release.image_id}"))
	failsOnDataBlock(t, r, `image family "web-base" moved away from expected_image_id`,
		"cn-hangzhou: m-bp1e2eweb000000001 -> m-bp1e2eweb000000003 (created 2024-03-01T00:00:00Z)")
}

// wait_timeout and newer_than: the build waits for the image a pipeline
// step is publishing. Progress lines are in the plugin log: Packer 1.15.1
// shows them with PACKER_LOG=1 and not otherwise (it reads a plugin's
// stderr only into its log), which this test pins down.
func TestWaitPacker(t *testing.T) {
	w := newWorld(t)
	attrs := func(newerThan string) string {
		return "  region = \"cn-hangzhou\"\n  image_family = \"web-base\"\n  wait_timeout = \"2m\"\n  newer_than = \"" + newerThan + "\""
	}
	show := "image_id=${data.alicloud-image-family.release.image_id}"
	progress := `waiting in cn-hangzhou: poll 1 saw m-e2e-web-v2 (created 2024-02-10T02:00:00Z); next poll in 2s`

	// The newer image is published after one more answer: poll 1 sees
	// m-e2e-web-v2, poll 2 the new one.
	w.emu.AddImageAfter("cn-hangzhou", image("m-e2e-web-v4", "2024-04-01T00:00:00Z", "Available"), 1)
	r := w.buildTemplate(nil, "wait.pkr.hcl", releaseTemplate(w, keyID, keySecret, attrs("m-e2e-web-v2"), show))
	mustSucceed(t, r, "packer build waiting for a newer image")
	if got := outputs(r.out)["image_id"]; got != "m-e2e-web-v4" {
		t.Errorf("image_id %q, want the newer m-e2e-web-v4", got)
	}
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 2 {
		t.Errorf("%d polls, want 2", n)
	}
	if strings.Contains(r.out, "waiting in cn-hangzhou") {
		t.Errorf("without PACKER_LOG Packer showed the plugin's progress lines; update the docs:\n%s", r.out)
	}

	// With PACKER_LOG=1 the progress lines are in Packer's output.
	w.emu.ResetCounts()
	w.emu.AddImageAfter("cn-hangzhou", image("m-e2e-web-v5", "2024-05-01T00:00:00Z", "Available"), 1)
	progress = strings.Replace(strings.Replace(progress, "m-e2e-web-v2", "m-e2e-web-v4", 1), "2024-02-10T02:00:00Z", "2024-04-01T00:00:00Z", 1)
	r = w.buildTemplate([]string{"PACKER_LOG=1"}, "wait.pkr.hcl", releaseTemplate(w, keyID, keySecret, attrs("m-e2e-web-v4"), show))
	mustSucceed(t, r, "packer build waiting with PACKER_LOG=1")
	if got := outputs(r.out)["image_id"]; got != "m-e2e-web-v5" {
		t.Errorf("image_id %q, want m-e2e-web-v5", got)
	}
	if !strings.Contains(r.out, `alicloud-image-family: family "web-base": `+progress) {
		t.Errorf("PACKER_LOG output lacks the progress line %q", progress)
	}
	noSecrets(t, r.out)

	// At the deadline: how long, how many polls, what was seen last (polls
	// at 0s, 2s and, the last, at the 5s deadline).
	r = w.buildTemplate(nil, "deadline.pkr.hcl", releaseTemplate(w, keyID, keySecret,
		"  region = \"cn-hangzhou\"\n  image_family = \"late-base\"\n  wait_timeout = 5", show))
	failsOnDataBlock(t, r, `no available image in family "late-base" in region cn-hangzhou after waiting`,
		"after waiting 5s (3 polls; last seen: no available image)")
	if t.Failed() {
		t.Logf("packer output:\n%s", r.out)
	}
}

// Retries: one line each in the plugin log, shown with PACKER_LOG=1.
func TestRetriesVisiblePacker(t *testing.T) {
	w := newWorld(t)
	attrs := "  region = \"cn-hangzhou\"\n  image_family = \"web-base\"\n  max_retries = 2"
	show := "image_id=${data.alicloud-image-family.release.image_id}"
	line := `retrying ECS DescribeImageFromFamily for family "web-base" in region cn-hangzhou: attempt 1 of 3 failed (Throttling.User`

	w.emu.Throttle(describeAction, 1)
	r := w.buildTemplate(nil, "retry.pkr.hcl", releaseTemplate(w, keyID, keySecret, attrs, show))
	mustSucceed(t, r, "packer build throttled once")
	if strings.Contains(r.out, "retrying ") {
		t.Errorf("without PACKER_LOG Packer showed the plugin's retry line; update the docs:\n%s", r.out)
	}

	w.emu.Throttle(describeAction, 2)
	r = w.buildTemplate([]string{"PACKER_LOG=1"}, "retry.pkr.hcl", releaseTemplate(w, keyID, keySecret, attrs, show))
	mustSucceed(t, r, "packer build throttled twice with PACKER_LOG=1")
	if got := outputs(r.out)["image_id"]; got != "m-e2e-web-v2" {
		t.Errorf("image_id %q", got)
	}
	for _, s := range []string{line, strings.Replace(line, "attempt 1 of 3", "attempt 2 of 3", 1)} {
		if !strings.Contains(r.out, s) {
			t.Errorf("PACKER_LOG output lacks %q", s)
		}
	}
	noSecrets(t, r.out)
	if t.Failed() {
		t.Logf("packer output:\n%s", r.out)
	}
}

// Shared and public families through a real build against the demo
// fixture.
func TestSharedFamilyPacker(t *testing.T) {
	w := newDemoWorld(t)
	for family, want := range map[string]string{
		"acs:210987654321:golden-base":           "m-bp1sharedgolden00001",
		"acs:alibaba_cloud_linux_3_2104_lts_x64": "aliyun_3_x64_20G_alibase_20240819.vhd",
	} {
		t.Run(family, func(t *testing.T) {
			attrs := fmt.Sprintf("  region = \"cn-hangzhou\"\n  image_family = %q", family)
			body := releaseTemplate(w, demoKeyID, demoSecret, attrs, "image_id=${data.alicloud-image-family.release.image_id}")
			v := w.packer(nil, "validate", writeTemplate(t, "shared.pkr.hcl", body))
			mustSucceed(t, v, "packer validate of a shared family")
			r := w.buildTemplate(nil, "shared.pkr.hcl", body)
			mustSucceed(t, r, "packer build of a shared family")
			if got := outputs(r.out)["image_id"]; got != want {
				t.Errorf("image_id %q, want %q", got, want)
			}
		})
	}
	// Not shared in cn-shanghai: the diagnostic says what to check.
	r := w.buildTemplate(nil, "unshared.pkr.hcl", releaseTemplate(w, demoKeyID, demoSecret,
		"  region = \"cn-shanghai\"\n  image_family = \"acs:210987654321:golden-base\"", "id=x"))
	failsOnDataBlock(t, r, `no available image in family "acs:210987654321:golden-base" in region cn-shanghai`, "account 210987654321")
}

// demoImage is an Available x86_64 Linux image of the account's own.
func demoImage(id, family, created string) ecs.Image {
	var im ecs.Image
	im.ImageId, im.ImageName, im.ImageFamily = id, id, family
	im.CreationTime, im.Status, im.Progress = created, "Available", "100%"
	im.Architecture, im.OSType, im.Size, im.IsSelfShared = "x86_64", "linux", 40, "false"
	im.ImageOwnerAlias = "self"
	return im
}
