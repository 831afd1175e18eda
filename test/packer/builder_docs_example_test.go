package packere2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// The official builder's documentation example: the basic example of
// github.com/hashicorp/packer-plugin-alicloud@v1.1.2
// docs/builders/alicloud-ecs.mdx, as testdata/alicloud-docs-basic-example.pkr.hcl.
const (
	docsExample       = "testdata/alicloud-docs-basic-example.pkr.hcl"
	docsExampleSource = "github.com/hashicorp/packer-plugin-alicloud@" + alicloudPluginVersion + "/docs/builders/alicloud-ecs.mdx"
	docsExampleImage  = "centos_7_04_64_20G_alibase_201701015.vhd"
)

// docsExampleChanges are the only lines of the documented example the
// testdata copy may drop (trimmed, blank lines ignored): the SSH
// communicator and the provisioner that needs it. docs/offline-pipelines.md
// lists them, and why.
var docsExampleChanges = []string{
	`ssh_username = "root"`,
	`provisioner "shell" {`,
	`inline = [`,
	`"sleep 30", "yum install redis.x86_64 -y",`,
	`]`,
	`}`,
}

// The testdata copy is the documented example but for docsExampleChanges:
// every other line of the example is in it, unchanged.
func TestDocsExampleIsTheBuildersOwn(t *testing.T) {
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(strings.TrimSpace(string(gomodcache)), filepath.FromSlash(docsExampleSource))
	mdx, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the builder's documentation: %v (scripts/tools.sh packer-plugin-alicloud downloads the module)", err)
	}
	_, block, ok := strings.Cut(string(mdx), "```hcl\nvariable \"access_key\"")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 || !strings.Contains(block, `"basic-example"`) {
		t.Fatalf("%s: no basic-example block", path)
	}
	var have []string
	for _, l := range lines(e2etest.ReadFile(t, docsExample)) {
		l, _, _ = strings.Cut(l, " # changed")
		have = append(have, strings.TrimSpace(l))
	}
	// Ours = the example - docsExampleChanges + the packer block pinning
	// the plugin and the communicator, as multisets of lines.
	want := lines(`variable "access_key"` + block)
	for _, l := range docsExampleChanges {
		i := slices.Index(want, l)
		if i < 0 {
			t.Fatalf("the example has no line %q any more: update docsExampleChanges and docs/offline-pipelines.md", l)
		}
		want = slices.Delete(want, i, i+1)
	}
	want = append(want, lines(`packer {
  required_plugins {
    alicloud = {
      source  = "github.com/hashicorp/alicloud"
      version = "1.1.2"
    }
  }
}
communicator = "none"`)...)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("%s is not the documented example with only the changes docs/offline-pipelines.md lists:\nhave %q\nwant %q", docsExample, have, want)
	}
}

// lines are s's trimmed lines, without blank lines and comments.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// The documented example builds against the emulator with only the
// credentials (its own variables) and HTTP_PROXY given, and the changes
// above. Its source image is added to the emulated account, as a user
// adds the images their templates name to their fixture.
func TestDocsExampleBuildsOffline(t *testing.T) {
	t.Parallel()
	in := installAlicloud(t)
	url, ctl := startEmulatorProcess(t, docsExampleFixture(t))
	tmpl, err := filepath.Abs(docsExample)
	if err != nil {
		t.Fatal(err)
	}
	r := builderRun(t, in, url, t.TempDir(), "-var", "access_key="+demoKeyID, "-var", "secret_key="+demoSecret, tmpl)
	if r.code != 0 {
		t.Fatalf("packer build of the builder's documented example: exit %d\nemulator request log:\n%s", r.code, readLog(t))
	}
	st, err := ctl.State()
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for _, img := range st.Images["cn-beijing"] {
		if img.ImageName == "packer_test2" && img.Status == "Available" {
			made = append(made, img.ImageId)
		}
	}
	if len(made) != 1 || !strings.Contains(r.out, "cn-beijing: "+made[0]) {
		t.Errorf("images named packer_test2 in cn-beijing: %v", made)
	}
	for kind, n := range st.BuildResources {
		if n != 0 {
			t.Errorf("after the build the emulator still holds %d %s", n, kind)
		}
	}
}

// docsExampleFixture is the demo fixture plus the example's source image,
// a public image in cn-beijing.
func docsExampleFixture(t *testing.T) string {
	t.Helper()
	var fx map[string]any
	if err := json.Unmarshal([]byte(e2etest.ReadFile(t, filepath.Join(e2etest.RepoRoot(t), "ecstest", "testdata", "demo-fixture.json"))), &fx); err != nil {
		t.Fatal(err)
	}
	images := fx["images"].(map[string]any)
	var public map[string]any
	for _, img := range images["cn-hangzhou"].([]any) {
		if m := img.(map[string]any); m["ImageOwnerAlias"] == "system" {
			public = m
		}
	}
	if public == nil {
		t.Fatal("the demo fixture has no public image to copy")
	}
	img := map[string]any{}
	for k, v := range public {
		img[k] = v
	}
	img["ImageId"], img["ImageName"], img["ImageFamily"] = docsExampleImage, docsExampleImage, "acs:centos_7_04_x64"
	img["OSName"], img["OSNameEn"], img["Platform"] = "CentOS 7.04 64 bit", "CentOS 7.04 64 bit", "CentOS"
	beijing, _ := images["cn-beijing"].([]any)
	images["cn-beijing"] = append(beijing, img)
	path := filepath.Join(t.TempDir(), "fixture.json")
	b, err := json.Marshal(fx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
