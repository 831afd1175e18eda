package packere2e

// An image pipeline tested offline: the official alicloud-ecs builder
// (packer-plugin-alicloud v1.1.2, built by scripts/tools.sh) runs a base
// build against the emulator process, reached the way docs/offline-pipelines.md
// tells a user: HTTP_PROXY at the emulator's plain-HTTP listener, NO_PROXY
// not covering *.aliyuncs.com, nothing else changed in the template but the
// credentials. Then a second build's data source (ours) resolves the family
// and must answer exactly the builder's image.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

const alicloudPluginVersion = "v1.1.2"

var (
	alicloudOnce sync.Once
	alicloudErr  error
)

// installAlicloud installs the official plugin into the test installation's
// plugin directory, the way a user installs a local build.
func installAlicloud(t *testing.T, in installation) {
	t.Helper()
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
}

// baseTemplate is a typical base-image template: no network ids (the builder
// creates and deletes a VPC, VSwitch and security group), a temporary key
// pair, a family target, two copy regions, tags and no communicator. source
// is the source selector line (source_image or image_family). The manifest
// post-processor records the builder's artifact; a post-processor chained
// after the builder goes in postProcessors.
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
  access_key          = %q
  secret_key          = %q
  region              = "cn-hangzhou"
  instance_type       = "ecs.g6.large"
  %s
  image_name          = "web-base-{{timestamp}}"
  target_image_family = %q
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
%s
}
`

// promoteBlock chains our post-processor after the builder. It talks to the
// emulator directly (custom_endpoint_ecs; loopback is in NO_PROXY), not
// through the proxy the builder uses.
func promoteBlock(family, endpoint string) string {
	return fmt.Sprintf(`
  post-processor "alicloud-image-family" {
    image_family        = %q
    wait_timeout        = "2m"
    access_key          = %q
    secret_key          = %q
    custom_endpoint_ecs = %q
  }
`, family, demoKeyID, demoSecret, endpoint)
}

// resolveTemplate resolves the family in each region with our data source
// and prints region=image_id lines.
func resolveTemplate(family string, regions []string) string {
	var b strings.Builder
	b.WriteString(`
packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}
`)
	var lines []string
	for _, r := range regions {
		name := strings.ReplaceAll(r, "-", "_")
		fmt.Fprintf(&b, "data \"alicloud-image-family\" %q {\n  region       = %q\n  image_family = %q\n}\n", name, r, family)
		lines = append(lines, fmt.Sprintf("%q", "echo resolved "+r+"=${data.alicloud-image-family."+name+".image_id}"))
	}
	fmt.Fprintf(&b, "source \"null\" \"app\" {\n  communicator = \"none\"\n}\nbuild {\n  sources = [\"source.null.app\"]\n  provisioner \"shell-local\" {\n    inline = [%s]\n  }\n}\n", strings.Join(lines, ", "))
	return b.String()
}

var resolvedLine = regexp.MustCompile(`resolved ([a-z0-9-]+)=(\S*)`)

func TestOfficialBuilderPipeline(t *testing.T) {
	in := install(t)
	installAlicloud(t, in)
	root := repoRoot(t)
	fixture := filepath.Join(root, "ecstest", "testdata", "demo-fixture.json")
	for _, tc := range []struct {
		name, source, family string
	}{
		{"source_image", `source_image = "aliyun_3_x64_20G_alibase_20240819.vhd"`, "web-base"},
		{"image_family", `image_family = "web-base"`, "web-app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// --copy-polls 2: the copies are still Creating when the builder
			// returns (it does not wait for them), so the post-processor
			// must wait.
			url, ctl := startEmulatorProcess(t, fixture, "--copy-polls", "2")
			work := t.TempDir()
			env := proxyEnv(in, url, work)

			out, images, err := baseBuild(t, in, env, work, tc.source, tc.family, promoteBlock(tc.family, url))
			if err != nil {
				t.Fatalf("packer build (base): %v\n%s\nemulator request log:\n%s", err, out, readLog(t))
			}
			if len(images) != 3 || images["cn-hangzhou"] == "" || images["cn-shanghai"] == "" || images["cn-beijing"] == "" {
				t.Fatalf("artifact images %v: want cn-hangzhou, cn-shanghai and cn-beijing", images)
			}
			st, err := ctl.State()
			if err != nil {
				t.Fatal(err)
			}
			for kind, n := range st.BuildResources {
				if n != 0 {
					t.Errorf("after the build the emulator still holds %d %s; the builder deletes what it created", n, kind)
				}
			}
			for _, img := range st.Images["cn-hangzhou"] {
				if img.ImageId == images["cn-hangzhou"] && (img.ImageFamily != tc.family || img.Status != "Available" || len(img.Tags.Tag) != 2) {
					t.Errorf("the built image %+v: want family %s, Available, 2 tags", img, tc.family)
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
			for _, want := range []string{
				"waiting in cn-shanghai: poll 1 saw " + images["cn-shanghai"] + " Creating",
				"waiting in cn-beijing: poll 1 saw " + images["cn-beijing"] + " Creating",
				"cn-shanghai: promoted " + images["cn-shanghai"],
				"cn-beijing: promoted " + images["cn-beijing"],
				"cn-hangzhou: " + images["cn-hangzhou"] + " is already a live member",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("the build output lacks %q:\n%s", want, out)
				}
			}

			// Every region, copies included, resolves to the builder's image.
			got := resolveFamily(t, in, url, work, tc.family, images)
			for r, id := range images {
				if got[r] != id {
					t.Errorf("the data source resolved %s in %s to %q; the builder made %s", tc.family, r, got[r], id)
				}
			}
			if t.Failed() {
				t.Logf("emulator request log:\n%s", log)
			}
		})
	}
}

// A copy that fails: the copies into cn-beijing end CreateFailed. The
// post-processor fails the build, naming the region and the status, and
// changes nothing there; each region is promoted on its own, so the build
// region and cn-shanghai are promoted all the same (docs/promotion.md).
func TestOfficialBuilderPipelineFailedCopy(t *testing.T) {
	in := install(t)
	installAlicloud(t, in)
	fixture := filepath.Join(repoRoot(t), "ecstest", "testdata", "demo-fixture.json")
	url, ctl := startEmulatorProcess(t, fixture, "--copy-polls", "1", "--fail-copies-to", "cn-beijing")
	work := t.TempDir()
	const family = "web-base"
	out, images, err := baseBuild(t, in, proxyEnv(in, url, work), work,
		`source_image = "aliyun_3_x64_20G_alibase_20240819.vhd"`, family, promoteBlock(family, url))
	if err == nil {
		t.Fatalf("packer build succeeded with a failed copy:\n%s", out)
	}
	if len(images) != 3 {
		t.Fatalf("artifact images %v (the manifest runs before the post-processor):\n%s", images, out)
	}
	bj := images["cn-beijing"]
	for _, want := range []string{
		"cn-beijing: failed " + bj, "the image is CreateFailed and can never become Available",
		"failed in 1 of 3 regions (cn-beijing failed)",
		"cn-shanghai: promoted " + images["cn-shanghai"],
		"cn-hangzhou: " + images["cn-hangzhou"] + " is already a live member",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the build output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "after waiting") {
		t.Errorf("the post-processor waited out its wait_timeout on a CreateFailed copy:\n%s", out)
	}
	st, err := ctl.State()
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, img := range st.Images["cn-beijing"] {
		if img.ImageId == bj {
			seen = true
			if img.ImageFamily != "" || img.Status != "CreateFailed" {
				t.Errorf("the failed copy was changed: family %q, status %s", img.ImageFamily, img.Status)
			}
		}
	}
	if !seen {
		t.Errorf("the emulator has no image %s in cn-beijing", bj)
	}
	for _, line := range strings.Split(readLog(t), "\n") {
		if strings.Contains(line, `"ModifyImageAttribute"`) && strings.Contains(line, bj) {
			t.Errorf("a ModifyImageAttribute was sent for the failed copy: %s", line)
		}
	}
	// The other regions resolve to the builder's images.
	want := map[string]string{"cn-hangzhou": images["cn-hangzhou"], "cn-shanghai": images["cn-shanghai"]}
	got := resolveFamily(t, in, url, work, family, want)
	for r, id := range want {
		if got[r] != id {
			t.Errorf("the data source resolved %s in %s to %q; the builder made %s", family, r, got[r], id)
		}
	}
	if t.Failed() {
		t.Logf("emulator request log:\n%s", readLog(t))
	}
}

// proxyEnv is the user's recipe: every builder call, to any region, goes
// through the emulator; loopback stays direct (in.env's NO_PROXY).
func proxyEnv(in installation, url, work string) []string {
	proxy := "http://" + strings.TrimPrefix(url, "http://")
	return append(in.env(filepath.Join(work, "home")), "HTTP_PROXY="+proxy, "http_proxy="+proxy)
}

func readLog(t *testing.T) string {
	b, _ := os.ReadFile(emulatorLog(t))
	return string(b)
}

// baseBuild runs `packer build` on baseTemplate and returns its output and
// the artifact's images by region (from the manifest, written even when a
// later post-processor fails).
func baseBuild(t *testing.T, in installation, env []string, work, source, family, postProcessors string) (string, map[string]string, error) {
	t.Helper()
	tmpl := filepath.Join(work, "base.pkr.hcl")
	if err := os.WriteFile(tmpl, []byte(fmt.Sprintf(baseTemplate, demoKeyID, demoSecret, source, family, postProcessors)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.packer, "build", "-color=false", tmpl)
	cmd.Dir, cmd.Env = work, env
	b, buildErr := cmd.CombinedOutput()
	out := string(b)
	noSecrets(t, out, demoSecret)
	b, err := os.ReadFile(filepath.Join(work, "manifest.json"))
	if err != nil {
		t.Fatalf("no manifest: %v (build: %v)\n%s\nemulator request log:\n%s", err, buildErr, out, readLog(t))
	}
	var m struct {
		Builds []struct {
			ArtifactID string `json:"artifact_id"`
		} `json:"builds"`
	}
	if err := json.Unmarshal(b, &m); err != nil || len(m.Builds) != 1 {
		t.Fatalf("manifest %s: %v", b, err)
	}
	// The builder's artifact id: region:image pairs, sorted, comma-separated.
	images := map[string]string{}
	for _, part := range strings.Split(m.Builds[0].ArtifactID, ",") {
		region, id, ok := strings.Cut(part, ":")
		if !ok {
			t.Fatalf("artifact id %q", m.Builds[0].ArtifactID)
		}
		images[region] = id
	}
	return out, images, buildErr
}

// resolveFamily runs a second build whose data source resolves family in
// each region of want, and returns what it printed by region.
func resolveFamily(t *testing.T, in installation, url, work, family string, want map[string]string) map[string]string {
	t.Helper()
	regions := make([]string, 0, len(want))
	for r := range want {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	dir := filepath.Join(work, "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.pkr.hcl"), []byte(resolveTemplate(family, regions)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.packer, "build", "-color=false", ".")
	cmd.Dir = dir
	cmd.Env = append(in.env(filepath.Join(work, "home")), "ALIBABA_CLOUD_ECS_ENDPOINT="+url,
		"ALICLOUD_ACCESS_KEY="+demoKeyID, "ALICLOUD_SECRET_KEY="+demoSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("packer build (app): %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, m := range resolvedLine.FindAllStringSubmatch(string(out), -1) {
		got[m[1]] = m[2]
	}
	return got
}
