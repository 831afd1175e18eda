package packere2e

// Release promotion's attributes through a real `packer build` on the demo
// fixture: that each reaches the plugin and its answer the template. Their
// rules are the core's and the data source's (datasource/family
// release_test.go runs them in process); here one build holds a data block
// per attribute, one build waits, and a build fails per outcome class.

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

func TestReleaseAttributesPacker(t *testing.T) {
	w := newDemoWorld(t)
	c := w.conn()
	r := w.build(t, nil,
		block("regions", `regions = ["cn-hangzhou", "cn-shanghai"]`, `image_family = "web-base"`, c)+
			block("ignore", `regions = ["cn-shanghai", "cn-beijing", "cn-hangzhou"]`, `image_family = "app-server"`, "ignore_missing_regions = true", c)+
			block("expected", `region = "cn-hangzhou"`, `image_family = "web-base"`, `expected_image_id = "m-bp1demowebbase000003"`, c)+
			block("shared", `region = "cn-hangzhou"`, `image_family = "acs:210987654321:golden-base"`, c)+
			block("public", `region = "cn-hangzhou"`, `image_family = "acs:alibaba_cloud_linux_3_2104_lts_x64"`, c),
		"regions=jsonencode(data.alicloud-image-family.regions.image_ids)",
		"first=data.alicloud-image-family.regions.image_id", "first_region=data.alicloud-image-family.regions.region",
		"ignore=jsonencode(data.alicloud-image-family.ignore.image_ids)",
		"expected=data.alicloud-image-family.expected.image_id",
		"shared=data.alicloud-image-family.shared.image_id", "public=data.alicloud-image-family.public.image_id")
	mustSucceed(t, r, "packer build with the release attributes")
	for k, v := range map[string]string{
		"regions": `{"cn-hangzhou":"m-bp1demowebbase000003","cn-shanghai":"m-uf6demowebbase000003"}`,
		"first":   "m-bp1demowebbase000003", "first_region": "cn-hangzhou",
		// app-server is only in cn-shanghai.
		"ignore":   `{"cn-shanghai":"m-uf6demoappserver00001"}`,
		"expected": "m-bp1demowebbase000003",
		"shared":   "m-bp1sharedgolden00001", "public": "aliyun_3_x64_20G_alibase_20240819.vhd",
	} {
		if r.outputs[k] != v {
			t.Errorf("%s = %q, want %q", k, r.outputs[k], v)
		}
	}
	// One Execute per block: a lookup per region.
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 8 {
		t.Errorf("%d lookups, want 8 (one per block and region)", n)
	}
}

// wait_timeout and newer_than: the build waits for the image a pipeline
// step is publishing. Progress lines are in the plugin log, which Packer
// 1.15.1 writes to PACKER_LOG's destination and never to its UI.
func TestWaitPacker(t *testing.T) {
	w := newDemoWorld(t)
	// Published after one more answer: poll 1 sees m-bp1demowebbase000003,
	// poll 2 the new one.
	w.emu.AddImageAfter("cn-hangzhou", demoImage("m-bp1demowebbase000005", "web-base", "2024-04-01T00:00:00Z"), 1)
	r := w.build(t, nil, block("wait", `region = "cn-hangzhou"`, `image_family = "web-base"`, `wait_timeout = "2m"`,
		`newer_than = "m-bp1demowebbase000003"`, w.conn()), "image_id=data.alicloud-image-family.wait.image_id")
	mustSucceed(t, r, "packer build waiting for a newer image")
	if got := r.outputs["image_id"]; got != "m-bp1demowebbase000005" {
		t.Errorf("image_id %q, want the newer m-bp1demowebbase000005", got)
	}
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 2 {
		t.Errorf("%d polls, want 2", n)
	}
	progress := `alicloud-image-family: family "web-base": waiting in cn-hangzhou: poll 1 saw m-bp1demowebbase000003 (created 2024-03-14T02:00:00Z); next poll in 2s`
	if !strings.Contains(r.log, progress) {
		t.Errorf("the PACKER_LOG file lacks the progress line %q", progress)
	}
	if strings.Contains(r.out, "waiting in cn-hangzhou") {
		t.Errorf("Packer's UI showed the plugin's progress lines; update the docs")
	}
}

// A failing build per outcome class: the diagnostic on the data block
// names what the user must know.
func TestFailingBuildsPacker(t *testing.T) {
	w := newDemoWorld(t)
	for _, tc := range []struct {
		class string
		attrs []string
		frags []string
	}{
		{"not found", []string{`regions = ["cn-shanghai", "cn-beijing", "cn-hangzhou"]`, `image_family = "app-server"`}, []string{"2 of 3 regions failed",
			`no available image in family "app-server" in region cn-beijing`, `no available image in family "app-server" in region cn-hangzhou`}},
		{"guard refused", []string{`regions = ["cn-hangzhou", "cn-shanghai"]`, `image_family = "web-base"`, `architecture = "arm64"`}, []string{"2 of 2 regions failed",
			`image family "web-base" in region cn-hangzhou resolved to m-bp1demowebbase000003`,
			`image family "web-base" in region cn-shanghai resolved to m-uf6demowebbase000003`,
			`fails the architecture guard: expected "arm64", found "x86_64"`}},
		{"differs", []string{`region = "cn-hangzhou"`, `image_family = "web-base"`, `expected_image_id = "m-bp1demowebbase000002"`}, []string{
			`image family "web-base" moved away from expected_image_id`,
			"cn-hangzhou: m-bp1demowebbase000002 -> m-bp1demowebbase000003 (created 2024-03-14T02:00:00Z)"}},
		// ignore_missing_regions ignores nothing but a missing image.
		{"API error", []string{`regions = ["cn-hangzhou", "cn-nowhere-1"]`, `image_family = "web-base"`, "ignore_missing_regions = true"},
			[]string{`for family "web-base" in region cn-nowhere-1`, "InvalidRegionId.NotFound"}},
	} {
		t.Run(tc.class, func(t *testing.T) {
			r := w.build(t, nil, block("x", append(tc.attrs, w.conn())...), "id=data.alicloud-image-family.x.image_id")
			failsOnDataBlock(t, r, append([]string{"build.pkr.hcl line 1"}, tc.frags...)...)
		})
	}
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
