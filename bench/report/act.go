package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/worktree"
)

// actResult: act in host mode runs testdata/bench/action.yml (the action
// resolving one image) and trivial.yml (the same output from a one-line
// step), in alternating pairs; then the action built from source.
type actResult struct {
	version                 string // `act --version`
	action, trivial, source series
	// act's own step times ("Success - Main resolve [225ms]"), ms: the whole
	// step, and for the action its composite's inner launcher step.
	stepAction, stepTrivial, stepSource []float64
	innerAction, innerSource            []float64
	actionKiB                           int64 // the action's own process, max of actRSSRuns
}

const actRSSRuns = 3

// pairDiff is the paired difference action minus trivial, ms.
func (a *actResult) pairDiff() stats {
	var d []float64
	for i := range min(len(a.action.samples), len(a.trivial.samples)) {
		d = append(d, float64((a.action.samples[i].wall-a.trivial.samples[i].wall).Microseconds())/1000)
	}
	return summarize(d)
}

var (
	actStepRE  = regexp.MustCompile(`Success - Main resolve \[([^\]]*)\]`)
	actInnerRE = regexp.MustCompile(`Success - Main bash "\$ALICLOUD_IMAGE_FAMILY_ACTION_PATH/action/launcher\.sh" \[([^\]]*)\]`)
)

// stepTimes collects act's step times from the runs' output.
type stepTimes struct{ step, inner []float64 }

func (st *stepTimes) add(out []byte) {
	for _, re := range []*regexp.Regexp{actStepRE, actInnerRE} {
		for _, m := range re.FindAllSubmatch(out, -1) {
			if d, err := time.ParseDuration(string(m[1])); err == nil {
				ms := float64(d.Microseconds()) / 1000
				if re == actStepRE {
					st.step = append(st.step, ms)
				} else {
					st.inner = append(st.inner, ms)
				}
			}
		}
	}
}

func (b *bench) measureAct() (*actResult, string, error) {
	if b.act == "" {
		return nil, b.actMiss, nil
	}
	emu, err := b.startEmulator("act", demoFixture())
	if err != nil {
		return nil, "", err
	}
	defer emu.Close()
	dir := filepath.Join(b.work, "act")
	ws := filepath.Join(dir, "ws")
	if err := worktree.Copy(b.root, ws); err != nil {
		return nil, "", err
	}
	goenv := []string{"--env", "GOPROXY=off", "--env", "GOFLAGS=-mod=mod", "--env", "GOTOOLCHAIN=local", "--env", "CGO_ENABLED=0"}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOROOT"} {
		v, err := goEnv(k)
		if err != nil {
			return nil, "", err
		}
		goenv = append(goenv, "--env", k+"="+v)
	}
	// Offline: every non-loopback connection goes to a closed loopback port.
	const dead = "http://127.0.0.1:9"
	proxies := []string{"HTTP_PROXY=" + dead, "HTTPS_PROXY=" + dead, "http_proxy=" + dead, "https_proxy=" + dead}
	env := b.baseEnv(filepath.Join(dir, "home"), append(proxies, "ALL_PROXY="+dead, "ACT_DISABLE_VERSION_CHECK=1")...)
	times := map[string]*stepTimes{}
	// actRun is one act run of workflow with the launcher given bin (or
	// building from source when bin is ""); key names its step times.
	actRun := func(workflow, bin, key string) command {
		argv := []string{b.act, "push", "-W", "testdata/bench/" + workflow, "-P", "ubuntu-latest=-self-hosted",
			"--action-offline-mode", "--pull=false", "--no-cache-server", "--action-cache-path", filepath.Join(dir, "cache"),
			"--secret", "ALICLOUD_ACCESS_KEY_ID=" + demoKeyID, "--secret", "ALICLOUD_ACCESS_KEY_SECRET=" + demoSecret,
			"--env", "EMULATOR_ENDPOINT=" + emu.Endpoint(), "--env", "SSL_CERT_FILE=" + emu.cert,
			"--env", "NO_PROXY=127.0.0.1,localhost,::1", "--env", "no_proxy=127.0.0.1,localhost,::1"}
		for _, p := range proxies {
			argv = append(argv, "--env", p)
		}
		if bin != "" {
			argv = append(argv, "--env", "ALICLOUD_IMAGE_FAMILY_BIN="+bin)
		} else {
			argv = append(argv, goenv...)
		}
		if times[key] == nil {
			times[key] = &stepTimes{}
		}
		check := outputHas("BENCH-IMAGE="+demoImage, "Job succeeded")
		return command{name: "act " + key, argv: argv, env: env, dir: ws, combined: true,
			check: func(out []byte, exit int) error {
				if err := check(out, exit); err != nil {
					return err
				}
				times[key].add(out)
				return nil
			}}
	}
	action, trivial, source := actRun("action.yml", b.cli, "action"), actRun("trivial.yml", "", "trivial"), actRun("action.yml", "", "source")
	// The first runs fill act's caches and Go's build cache; not counted.
	for _, c := range []command{action, trivial, source} {
		if _, _, err := b.run(c); err != nil {
			return nil, "", err
		}
	}
	clear(times)
	times["action"], times["trivial"], times["source"] = &stepTimes{}, &stepTimes{}, &stepTimes{}
	res := &actResult{version: firstLine(b.act, "--version")}
	s, err := b.measure(0, b.runs.act, action, trivial)
	if err != nil {
		return nil, "", err
	}
	res.action, res.trivial = s[0], s[1]
	if s, err = b.measure(0, b.runs.actSource, source); err != nil {
		return nil, "", err
	}
	res.source = s[0]
	res.stepAction, res.innerAction = times["action"].step, times["action"].inner
	res.stepTrivial = times["trivial"].step
	res.stepSource, res.innerSource = times["source"].step, times["source"].inner

	// The action's own process: the launcher runs a wrapper that runs the
	// binary through bench/rusage, one record per run.
	rssDir := filepath.Join(dir, "action-rss")
	wrapper := filepath.Join(dir, "action-rss.sh")
	if err := os.MkdirAll(rssDir, 0o755); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(wrapper, fmt.Appendf(nil, "#!/bin/sh\nexec %q %q/$$ %q \"$@\"\n", b.rusage, rssDir, b.cli), 0o755); err != nil {
		return nil, "", err
	}
	if _, err := b.measure(0, actRSSRuns, actRun("action.yml", wrapper, "rss")); err != nil {
		return nil, "", err
	}
	records, _ := os.ReadDir(rssDir)
	for _, e := range records {
		s, err := readRusage(filepath.Join(rssDir, e.Name()))
		if err != nil {
			return nil, "", fmt.Errorf("the action's RSS wrapper: %v", err)
		}
		res.actionKiB = max(res.actionKiB, s.rssKiB)
	}
	if len(records) == 0 {
		return nil, "", fmt.Errorf("the action's RSS wrapper recorded nothing in %d runs", actRSSRuns)
	}
	return res, "", nil
}
