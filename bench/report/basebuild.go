package main

// The base build section: a real `packer build` of a typical base template
// with the official alicloud-ecs builder against the emulator, reached
// through HTTP_PROXY as docs/offline-pipelines.md tells a user, alone and
// with our post-processor chained after it. Its bound: a base build within
// 60 s of wall time.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// alicloudPluginVersion is the official plugin the emulator serves;
// scripts/tools.sh builds it.
const alicloudPluginVersion = "v1.1.2"

// baseBuildTarget is the bound on a base build's wall time.
const baseBuildTarget = 60 // seconds

// baseBuildResult: the base template built alone and with the
// post-processor promoting its images (one copy to wait for in each copy
// region).
type baseBuildResult struct {
	version, plugin  string
	build, promoted  series
	copyPolls, polls int
}

// baseBuildHCL is the template of docs/offline-pipelines.md: no network ids,
// a temporary key pair, a family target, two copy regions, tags, no
// communicator; the image name is unique per run (the emulator keeps every
// run's images). %s is the post-processor, or nothing.
const baseBuildHCL = `
source "alicloud-ecs" "base" {
  access_key          = "` + demoKeyID + `"
  secret_key          = "` + demoSecret + `"
  region              = "cn-hangzhou"
  instance_type       = "ecs.g6.large"
  source_image        = "aliyun_3_x64_20G_alibase_20240819.vhd"
  image_name          = "web-base-${uuidv4()}"
  target_image_family = "web-base"
  image_copy_regions  = ["cn-shanghai", "cn-beijing"]
  tags = {
    role = "web"
  }
  communicator = "none"
}

build {
  sources = ["source.alicloud-ecs.base"]
%s}
`

// baseBuildPromote is the post-processor, talking to the emulator directly.
const baseBuildPromote = `
  post-processor "alicloud-image-family" {
    image_family        = "web-base"
    wait_timeout        = "2m"
    access_key          = "` + demoKeyID + `"
    secret_key          = "` + demoSecret + `"
    custom_endpoint_ecs = "%s"
  }
`

// baseBuildRuns: a base build takes seconds, not the data source's
// fraction of one; a quarter of the packer section's runs.
func (b *bench) baseBuildRuns() int { return max(2, b.runs.packer/4) }

func (b *bench) measureBaseBuild() (*baseBuildResult, string, error) {
	if b.packer == "" {
		return nil, b.packerMiss, nil
	}
	alicloud, miss := findTool("packer-plugin-alicloud", alicloudPluginVersion)
	if alicloud == "" {
		return nil, miss, nil
	}
	// Plain HTTP, as the builder's SDK speaks; the emulator's defaults
	// (docs/offline-pipelines.md): transitions at once, copies Creating
	// for one poll.
	srv, err := ecstest.Start(demoFixture(), ecstest.Options{})
	if err != nil {
		return nil, "", err
	}
	defer srv.Close()
	res := &baseBuildResult{version: firstLine(b.packer, "version"), plugin: alicloudPluginVersion, copyPolls: 1}
	srv.SetBuildPolls(res.polls)
	srv.SetCopyPolls(res.copyPolls)

	dir := filepath.Join(b.work, "base-build")
	for _, d := range []string{"plugins", "config", "bin", "build", "promoted"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, "", err
		}
	}
	proxy := "http://" + strings.TrimPrefix(srv.URL, "http://")
	env := b.baseEnv(filepath.Join(dir, "home"), "PACKER_PLUGIN_PATH="+filepath.Join(dir, "plugins"),
		"PACKER_CONFIG_DIR="+filepath.Join(dir, "config"), "CHECKPOINT_DISABLE=1", "PACKER_NO_COLOR=1",
		"HTTP_PROXY="+proxy, "http_proxy="+proxy)
	// Packer installs a plugin binary named as the plugin.
	bin := filepath.Join(dir, "bin", "packer-plugin-alicloud")
	data, err := os.ReadFile(alicloud)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		return nil, "", err
	}
	for source, path := range map[string]string{"github.com/hashicorp/alicloud": bin, "github.com/imagefamily/alicloud-image-family": b.plugin} {
		if _, _, err := b.run(command{name: "packer plugins install", env: env,
			argv: []string{b.packer, "plugins", "install", "--path", path, source}}); err != nil {
			return nil, "", err
		}
	}
	files := map[string]string{
		"build/base.pkr.hcl":    fmt.Sprintf(baseBuildHCL, ""),
		"promoted/base.pkr.hcl": fmt.Sprintf(baseBuildHCL, fmt.Sprintf(baseBuildPromote, srv.URL)),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, "", err
		}
	}
	build := func(name, template string, check ...string) command {
		return command{name: name, env: env, combined: true, check: outputHas(append([]string{"Alicloud images were created"}, check...)...),
			argv: []string{b.packer, "build", "-color=false", filepath.Join(dir, template)}}
	}
	s, err := b.measure(1, b.baseBuildRuns(),
		build("base build", "build"),
		build("base build + post-processor", "promoted", "cn-shanghai: promoted", "cn-beijing: promoted"))
	if err != nil {
		return nil, "", err
	}
	res.build, res.promoted = s[0], s[1]
	return res, "", nil
}

func renderBaseBuild(p printer, r *reportData) {
	bb := r.baseBuild
	if !heading(p, "A base build with the official builder", bb != nil, r.baseBuildSkip) {
		return
	}
	build, promoted := bb.build.wallMS(), bb.promoted.wallMS()
	p("A real `packer build` (%s) of the base template of [offline-pipelines.md](offline-pipelines.md)", bb.version)
	p("with the official `alicloud-ecs` builder (packer-plugin-alicloud %s) against the emulator", bb.plugin)
	p("(plain HTTP, reached through `HTTP_PROXY`): it creates and deletes a VPC, VSwitch, security")
	p("group, key pair and instance, creates the image, copies it to two regions and shares it;")
	p("then the same with the `alicloud-image-family` post-processor promoting the three images, which")
	p("waits for the copies. The emulator at its defaults: `--build-polls %d`, `--copy-polls %d`", bb.polls, bb.copyPolls)
	p("(%d runs each after 1 warm-up, interleaved).", build.n)
	p("")
	p("| build | wall time (mean ± sd) | median | max |")
	p("|---|---|---|---|")
	p("| base build | %s | %.3f s | %.3f s |", secSD(build), build.median/1000, build.max/1000)
	p("| base build + post-processor | %s | %.3f s | %.3f s |", secSD(promoted), promoted.median/1000, promoted.max/1000)
	p("")
	verdict := "met"
	if build.max > baseBuildTarget*1000 || promoted.max > baseBuildTarget*1000 {
		verdict = "MISSED"
	}
	p("Target (every base build within %d s of wall time): %s. The post-processor's share is mostly its", baseBuildTarget, verdict)
	p("wait: it polls a `Creating` copy after 2 s. Each `--build-polls` step adds the builder's 5 s")
	p("poll interval to every status it waits for.")
	p("")
}

// reportBaseBuild measures the base build section alone and splices it
// into the report at out (after the promote section when it has none yet).
func reportBaseBuild(out string, r runs) error {
	b, cleanup, err := setup(r)
	if err != nil {
		return err
	}
	defer cleanup()
	logf("base build (%d runs each)", b.baseBuildRuns())
	rep := &reportData{runs: r}
	if rep.baseBuild, rep.baseBuildSkip, err = b.measureBaseBuild(); err != nil {
		return err
	}
	skipped(rep.baseBuild == nil, "base build", rep.baseBuildSkip)
	var w strings.Builder
	renderBaseBuild(func(format string, a ...any) { fmt.Fprintf(&w, format+"\n", a...) }, rep)
	if err := spliceSection(out, "## A base build with the official builder", "## Memory against a hostile endpoint", w.String()); err != nil {
		return err
	}
	logf("replaced the base build section of %s", out)
	return nil
}
