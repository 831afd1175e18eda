package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// packerResult: the same null-builder template built with the data source
// resolving the image id and with the id written as a literal.
type packerResult struct {
	version             string
	datasource, literal series
	// rssDatasource and rssLiteral are builds with the plugin behind the
	// sampling wrapper (packer's peak RSS comes from them too).
	rssDatasource, rssLiteral series
	pluginKiB                 int64
	pluginStarts              int
}

// packerTarget is what the data source may add to a build.
const packerTarget = 0.3 // seconds

func (p *packerResult) diffS() float64 {
	return (p.datasource.wallMS().mean - p.literal.wallMS().mean) / 1000
}

func (p *packerResult) targetMet() bool { return p.diffS() < packerTarget }

const packerRSSRuns = 5

const packerDatasourceHCL = `data "alicloud-image-family" "base" {
  region              = "cn-hangzhou"
  image_family        = "web-base"
  custom_endpoint_ecs = "%s"
}
source "null" "bench" {
  communicator = "none"
}
build {
  sources = ["source.null.bench"]
  provisioner "shell-local" {
    inline = ["echo source_image=${data.alicloud-image-family.base.image_id}"]
  }
}
`

const packerLiteralHCL = `locals {
  image_id = "` + demoImage + `"
}
source "null" "bench" {
  communicator = "none"
}
build {
  sources = ["source.null.bench"]
  provisioner "shell-local" {
    inline = ["echo source_image=${local.image_id}"]
  }
}
`

func (b *bench) measurePacker() (*packerResult, string, error) {
	if b.packer == "" {
		return nil, b.packerMiss, nil
	}
	emu, err := b.startEmulator("packer", demoFixture())
	if err != nil {
		return nil, "", err
	}
	defer emu.Close()

	// Packer and the plugin see only this environment: no machine
	// credentials, config or plugins.
	dir := filepath.Join(b.work, "packer")
	for _, d := range []string{"plugins", "rss-plugins", "config", "datasource", "literal", "wrap", "hwm"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, "", err
		}
	}
	env := func(plugins string) []string {
		return b.baseEnv(filepath.Join(dir, "home"), "PACKER_PLUGIN_PATH="+filepath.Join(dir, plugins),
			"PACKER_CONFIG_DIR="+filepath.Join(dir, "config"), "CHECKPOINT_DISABLE=1", "PACKER_NO_COLOR=1",
			"SSL_CERT_FILE="+emu.cert, "ALICLOUD_ACCESS_KEY="+demoKeyID, "ALICLOUD_SECRET_KEY="+demoSecret)
	}
	files := map[string]string{
		"datasource/main.pkr.hcl": fmt.Sprintf(packerDatasourceHCL, emu.URL),
		"literal/main.pkr.hcl":    packerLiteralHCL,
		// The plugin's peak memory: Packer ends plugins with SIGKILL, so
		// nothing can report at their exit. A wrapper installed as the
		// plugin records its pid and arguments and execs the plugin (same
		// pid); hwmSampler copies the kernel's high-water mark (VmHWM).
		"wrap/packer-plugin-alicloud-image-family": fmt.Sprintf("#!/bin/sh\necho \"$*\" >%q/$$\nexec %q \"$@\"\n",
			filepath.Join(dir, "hwm"), b.plugin),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			return nil, "", err
		}
	}
	for plugins, bin := range map[string]string{"plugins": b.plugin, "rss-plugins": filepath.Join(dir, "wrap", "packer-plugin-alicloud-image-family")} {
		if _, _, err := b.run(command{name: "packer plugins install", env: env(plugins),
			argv: []string{b.packer, "plugins", "install", "--path", bin, "github.com/imagefamily/alicloud-image-family"}}); err != nil {
			return nil, "", err
		}
	}
	build := func(template, plugins string) command {
		// Both templates must print the same id, or the comparison is
		// meaningless.
		return command{name: "packer build " + template, env: env(plugins), check: outputHas("source_image=" + demoImage),
			argv: []string{b.packer, "build", "-color=false", filepath.Join(dir, template)}}
	}
	res := &packerResult{version: firstLine(b.packer, "version")}
	s, err := b.measure(3, b.runs.packer, build("datasource", "plugins"), build("literal", "plugins"))
	if err != nil {
		return nil, "", err
	}
	res.datasource, res.literal = s[0], s[1]

	sampler := startHWMSampler(filepath.Join(dir, "hwm"))
	s, err = b.measure(0, packerRSSRuns, build("datasource", "rss-plugins"), build("literal", "plugins"))
	starts := sampler.stop()
	if err != nil {
		return nil, "", err
	}
	res.rssDatasource, res.rssLiteral = s[0], s[1]
	// Only the starts that served a build, not `describe`, which Packer runs
	// to discover the plugin.
	for _, st := range starts {
		if strings.HasPrefix(st.args, "describe") {
			continue
		}
		res.pluginStarts++
		res.pluginKiB = max(res.pluginKiB, st.hwmKiB)
	}
	if res.pluginKiB == 0 {
		return nil, "", fmt.Errorf("the plugin wrapper recorded nothing in %d builds", packerRSSRuns)
	}
	return res, "", nil
}

// hwmSampler polls /proc/PID/status of every process the plugin wrapper
// recorded (a file named by its pid holding its arguments) every 10 ms and
// keeps the largest VmHWM seen, until the process is gone.
type hwmSampler struct {
	dir   string
	done  chan struct{}
	wg    sync.WaitGroup
	procs map[int]*pluginStart
}

type pluginStart struct {
	args   string
	hwmKiB int64
	gone   bool
}

func startHWMSampler(dir string) *hwmSampler {
	s := &hwmSampler{dir: dir, done: make(chan struct{}), procs: map[int]*pluginStart{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			s.poll()
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *hwmSampler) poll() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p := s.procs[pid]
		if p == nil {
			p = &pluginStart{}
			s.procs[pid] = p
		}
		if p.args == "" { // the wrapper may not have written it yet
			args, _ := os.ReadFile(filepath.Join(s.dir, e.Name()))
			p.args = strings.TrimSpace(string(args))
		}
		if p.gone {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			p.gone = true
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				p.hwmKiB = max(p.hwmKiB, kib)
			}
		}
	}
}

// stop waits for the last process to be noticed gone and returns every
// start seen.
func (s *hwmSampler) stop() []pluginStart {
	time.Sleep(100 * time.Millisecond)
	close(s.done)
	s.wg.Wait()
	var out []pluginStart
	for _, p := range s.procs {
		out = append(out, *p)
	}
	return out
}
