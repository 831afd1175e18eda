package packere2e

// An image pipeline tested offline: the official alicloud-ecs builder
// (packer-plugin-alicloud v1.1.2, built by scripts/tools.sh) runs a base
// build against the emulator process, reached the way docs/offline-pipelines.md
// tells a user: HTTP_PROXY at the emulator's plain-HTTP listener, NO_PROXY
// not covering *.aliyuncs.com, nothing else changed in the template but the
// credentials. Our post-processor, chained after the builder, promotes the
// copies; then a second build's data source (ours) resolves the family and
// must answer exactly the builder's images.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

const alicloudPluginVersion = "v1.1.2"

var (
	alicloudOnce sync.Once
	alicloudErr  error
)

// installAlicloud installs the official plugin into the test installation's
// plugin directory, the way a user installs a local build.
func installAlicloud(t *testing.T) installation {
	t.Helper()
	in := install(t)
	bin := e2etest.Tool(t, "packer-plugin-alicloud", alicloudPluginVersion)
	alicloudOnce.Do(func() {
		cmd := exec.Command(in.packer, "plugins", "install", "--path", bin, "github.com/hashicorp/alicloud")
		cmd.Env = in.env(filepath.Join(installDir, "home"))
		if out, err := cmd.CombinedOutput(); err != nil {
			alicloudErr = fmt.Errorf("packer plugins install --path %s: %v\n%s", bin, err, out)
		}
	})
	if alicloudErr != nil {
		t.Fatal(alicloudErr)
	}
	return in
}

// baseTemplate is a typical base-image template: no network ids (the builder
// creates and deletes a VPC, VSwitch and security group), a temporary key
// pair, a family target, two copy regions, tags and no communicator. The
// manifest post-processor records the builder's artifact; our
// post-processor follows, talking to the emulator directly
// (custom_endpoint_ecs; loopback is in NO_PROXY), not through the proxy.
const baseTemplate = `
packer {
  required_plugins {
    alicloud = {
      source  = "github.com/hashicorp/alicloud"
      version = "1.1.2"
    }
  }
}

source "alicloud-ecs" "base" {
  access_key          = %[1]q
  secret_key          = %[2]q
  region              = "cn-hangzhou"
  instance_type       = "ecs.g6.large"
  %[3]s
  image_name          = "web-base-{{timestamp}}"
  target_image_family = %[4]q
  image_copy_regions  = ["cn-shanghai", "cn-beijing"]
  tags = {
    role  = "web"
    build = "offline"
  }
  communicator = "none"
}

build {
  sources = ["source.alicloud-ecs.base"]

  post-processor "manifest" {
    output = "manifest.json"
  }

  post-processor "alicloud-image-family" {
    image_family        = %[4]q
    wait_timeout        = "2m"
    access_key          = %[1]q
    secret_key          = %[2]q
    custom_endpoint_ecs = %[5]q
  }
}
`

// builderRun runs `packer build` through the emulator process as the
// builder's user does: the emulator's proxy for every region, loopback
// direct (in.env's NO_PROXY).
func builderRun(t *testing.T, in installation, url, work string, args ...string) result {
	t.Helper()
	proxy := "http://" + strings.TrimPrefix(url, "http://")
	return runPacker(t, in, run{dir: work, env: []string{"HTTP_PROXY=" + proxy, "http_proxy=" + proxy}, args: append([]string{"build", "-color=false"}, args...)})
}

// The recipe with source_image and with image_family as the builder's
// source: --copy-polls 2 leaves the copies Creating when the builder
// returns (it does not wait for them), so the post-processor must wait.
// With a copy that fails (--fail-copies-to cn-beijing) the post-processor
// fails the build naming the region and the status, changes nothing there,
// and promotes the other regions all the same (docs/promotion.md).
func TestOfficialBuilderPipeline(t *testing.T) {
	t.Parallel() // each run waits on the builder's polls, and has an emulator of its own
	in := installAlicloud(t)
	fixture := filepath.Join(e2etest.RepoRoot(t), "ecstest", "testdata", "demo-fixture.json")
	for _, tc := range []struct {
		name, source, family string
		flags                []string
		failed               string // the region whose copy fails
	}{
		{"source_image", `source_image = "aliyun_3_x64_20G_alibase_20240819.vhd"`, "web-base", []string{"--copy-polls", "2"}, ""},
		{"image_family", `image_family = "web-base"`, "web-app", []string{"--copy-polls", "2"}, ""},
		{"failed copy", `source_image = "aliyun_3_x64_20G_alibase_20240819.vhd"`, "web-base", []string{"--copy-polls", "1", "--fail-copies-to", "cn-beijing"}, "cn-beijing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, ctl := startEmulatorProcess(t, fixture, tc.flags...)
			work := t.TempDir()
			writeFile(t, filepath.Join(work, "base.pkr.hcl"), fmt.Sprintf(baseTemplate, demoKeyID, demoSecret, tc.source, tc.family, url))
			r := builderRun(t, in, url, work, "base.pkr.hcl")
			if (r.code != 0) != (tc.failed != "") {
				t.Fatalf("packer build (base): exit %d\nemulator request log:\n%s", r.code, readLog(t))
			}
			images := manifestImages(t, filepath.Join(work, "manifest.json"))
			st, err := ctl.State()
			if err != nil {
				t.Fatal(err)
			}
			for kind, n := range st.BuildResources {
				if n != 0 {
					t.Errorf("after the build the emulator still holds %d %s; the builder deletes what it created", n, kind)
				}
			}
			log := readLog(t)
			for _, want := range []string{`"CreateImage"`, `"ecs.cn-shanghai.aliyuncs.com" "ModifyImageSharePermission"`, `"DeleteVpc"`, `"CopyImage"`} {
				if !strings.Contains(log, want) {
					t.Errorf("the emulator's request log lacks %s", want)
				}
			}
			// The post-processor took the builder's artifact, waited for
			// the copies and put them in the family; the build region's
			// image was in it already.
			want := []string{"cn-shanghai: promoted " + images["cn-shanghai"], "cn-hangzhou: " + images["cn-hangzhou"] + " is already a live member"}
			if tc.failed == "" {
				want = append(want, "waiting in cn-shanghai: poll 1 saw "+images["cn-shanghai"]+" Creating",
					"waiting in cn-beijing: poll 1 saw "+images["cn-beijing"]+" Creating", "cn-beijing: promoted "+images["cn-beijing"])
			} else {
				want = append(want, tc.failed+": failed "+images[tc.failed], "the image is CreateFailed and can never become Available",
					"failed in 1 of 3 regions ("+tc.failed+" failed)")
				if strings.Contains(r.out, "after waiting") {
					t.Errorf("the post-processor waited out its wait_timeout on a CreateFailed copy")
				}
			}
			for _, w := range want {
				if !strings.Contains(r.out, w) {
					t.Errorf("the build output lacks %q", w)
				}
			}
			for _, img := range st.Images["cn-hangzhou"] {
				if img.ImageId == images["cn-hangzhou"] && (img.ImageFamily != tc.family || img.Status != "Available" || len(img.Tags.Tag) != 2) {
					t.Errorf("the built image %+v: want family %s, Available, 2 tags", img, tc.family)
				}
			}
			if tc.failed != "" {
				seen := false
				for _, img := range st.Images[tc.failed] {
					if img.ImageId == images[tc.failed] {
						seen = true
						if img.ImageFamily != "" || img.Status != "CreateFailed" {
							t.Errorf("the failed copy was changed: family %q, status %s", img.ImageFamily, img.Status)
						}
					}
				}
				if !seen {
					t.Errorf("the emulator has no image %s in %s", images[tc.failed], tc.failed)
				}
				for _, line := range strings.Split(log, "\n") {
					if strings.Contains(line, `"ModifyImageAttribute"`) && strings.Contains(line, images[tc.failed]) {
						t.Errorf("a ModifyImageAttribute was sent for the failed copy: %s", line)
					}
				}
				delete(images, tc.failed)
			}
			// Every other region, copies included, resolves to the
			// builder's image.
			got := resolveFamily(t, in, url, work, tc.family, images)
			for region, id := range images {
				if got[region] != id {
					t.Errorf("the data source resolved %s in %s to %q; the builder made %s", tc.family, region, got[region], id)
				}
			}
			if t.Failed() {
				t.Logf("emulator request log:\n%s", log)
			}
		})
	}
}

// manifestImages are the builder's artifact's images by region, from the
// manifest (written even when a later post-processor fails): its id is
// region:image pairs, sorted, comma-separated.
func manifestImages(t *testing.T, path string) map[string]string {
	t.Helper()
	var m struct {
		Builds []struct {
			ArtifactID string `json:"artifact_id"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(e2etest.ReadFile(t, path)), &m); err != nil || len(m.Builds) != 1 {
		t.Fatalf("manifest: %v", err)
	}
	images := map[string]string{}
	for _, part := range strings.Split(m.Builds[0].ArtifactID, ",") {
		region, id, ok := strings.Cut(part, ":")
		if !ok {
			t.Fatalf("artifact id %q", m.Builds[0].ArtifactID)
		}
		images[region] = id
	}
	if len(images) != 3 {
		t.Fatalf("artifact images %v: want cn-hangzhou, cn-shanghai and cn-beijing", images)
	}
	return images
}

// resolveFamily runs a second build whose data source resolves family in
// each region of want, as example/README.md runs a template (the
// emulator's url in ALIBABA_CLOUD_ECS_ENDPOINT, keys in the environment),
// and returns the image ids by region.
func resolveFamily(t *testing.T, in installation, url, work, family string, want map[string]string) map[string]string {
	t.Helper()
	regions := make([]string, 0, len(want))
	for r := range want {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var data string
	var outs []string
	for _, r := range regions {
		name := strings.ReplaceAll(r, "-", "_")
		data += block(name, fmt.Sprintf("region = %q", r), fmt.Sprintf("image_family = %q", family))
		outs = append(outs, r+"=data.alicloud-image-family."+name+".image_id")
	}
	dir := filepath.Join(work, "app")
	writeFile(t, filepath.Join(dir, "app.pkr.hcl"), template(dir, data, outs...))
	r := runPacker(t, in, run{dir: dir, env: exampleEnv(url), args: []string{"build", "-color=false", "."}})
	mustSucceed(t, r, "packer build (app)")
	return r.outputs
}
