package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// emulator is an in-process ecstest server over TLS on loopback with its
// certificate written for SSL_CERT_FILE.
type emulator struct {
	*ecstest.Server
	cert string
}

// startEmulator starts one; name picks its scratch directory.
func (b *bench) startEmulator(name string, f *ecstest.Fixture) (*emulator, error) {
	srv, err := ecstest.Start(f, ecstest.Options{TLS: true})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		srv.Close()
		return nil, err
	}
	cert, err := srv.WriteCertFile(dir)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &emulator{Server: srv, cert: cert}, nil
}

func demoFixture() *ecstest.Fixture {
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		panic(err) // embedded and checked by ecstest's own tests
	}
	return f
}

// cliResult: one resolve by the CLI vs bench/sdkmin (vs the aliyun CLI).
type cliResult struct {
	cli, sdkmin series
	aliyun      *series
	aliyunNote  string
}

func (b *bench) measureCLI() (*cliResult, error) {
	emu, err := b.startEmulator("cli", demoFixture())
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	env := b.baseEnv(filepath.Join(b.work, "cli", "home"), append(demoKeys(), "SSL_CERT_FILE="+emu.cert)...)
	ep := emu.Endpoint()
	sdk := command{name: "sdkmin", argv: []string{b.sdkmin, ep, "cn-hangzhou", "web-base"}, env: env}
	_, want, err := b.run(sdk)
	if err != nil {
		return nil, err
	}
	sdk.check = outputHas(string(want))
	cli := command{name: "cli", env: env, check: sdk.check,
		argv: []string{b.cli, "resolve", "--endpoint", ep, "--region", "cn-hangzhou", "--image-family", "web-base"}}
	cmds := []command{cli, sdk}

	// The aliyun CLI, when installed, makes the same call with the same keys
	// given as flags (mode AK), so no profile on this machine is read.
	res := &cliResult{aliyunNote: "not installed (no `aliyun` on PATH; the Go module proxy here serves no aliyun-cli " +
		"version to build it from); skipped. For scale, the project's reference notes measured it on this kind of " +
		"machine at about 30 ms and 45 MiB for the same loopback call"}
	aliyun := os.Getenv("ALIYUN")
	if aliyun == "" {
		aliyun, _ = exec.LookPath("aliyun")
	}
	if aliyun != "" && aliyun != "none" {
		ali := command{name: "aliyun", env: env, check: aliyunCheck(strings.TrimSpace(string(want))),
			argv: []string{aliyun, "ecs", "DescribeImageFromFamily", "--RegionId", "cn-hangzhou", "--ImageFamily", "web-base",
				"--endpoint", ep, "--mode", "AK", "--region", "cn-hangzhou", "--access-key-id", demoKeyID, "--access-key-secret", demoSecret}}
		if _, _, err := b.run(ali); err != nil {
			res.aliyunNote = fmt.Sprintf("installed at %s but its call to the emulator failed (%.200s); skipped", aliyun, oneLine(err.Error()))
		} else {
			res.aliyunNote = firstLine(aliyun, "version")
			cmds = append(cmds, ali)
		}
	}
	s, err := b.measure(5, b.runs.cli, cmds...)
	if err != nil {
		return nil, err
	}
	res.cli, res.sdkmin = s[0], s[1]
	if len(s) > 2 {
		res.aliyun = &s[2]
	}
	return res, nil
}

func aliyunCheck(want string) func([]byte, int) error {
	return func(out []byte, exit int) error {
		if err := exitZero(out, exit); err != nil {
			return err
		}
		var v struct{ Image struct{ ImageId string } }
		if err := json.Unmarshal(out, &v); err != nil {
			return err
		}
		if v.Image.ImageId != want {
			return fmt.Errorf("image %q, want %q", v.Image.ImageId, want)
		}
		return nil
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// fanoutResult: 30 regions vs 1 against 100 ms of latency per request.
type fanoutResult struct {
	one, all, c8 series
}

const fanoutRegions = 30

func (b *bench) measureFanout() (*fanoutResult, error) {
	// The demo fixture plus 30 regions, each with one web-base image.
	f := demoFixture()
	var regions []string
	f.Images = map[string][]ecs.Image{}
	for i := 1; i <= fanoutRegions; i++ {
		r := fmt.Sprintf("bench-region-%d", i)
		regions = append(regions, r)
		f.Images[r] = []ecs.Image{{ImageId: "m-" + r, ImageName: "web-base-1", ImageFamily: "web-base", ImageVersion: "1",
			Status: "Available", CreationTime: "2024-03-14T02:00:00Z", Architecture: "x86_64", OSType: "linux", Size: 40}}
	}
	f.Regions = regions
	emu, err := b.startEmulator("fanout", f)
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	emu.Latency(100 * time.Millisecond)
	env := b.baseEnv(filepath.Join(b.work, "fanout", "home"), append(demoKeys(), "SSL_CERT_FILE="+emu.cert)...)
	base := []string{b.cli, "resolve", "--endpoint", emu.Endpoint(), "--image-family", "web-base", "--region"}
	all := strings.Join(regions, ",")
	s, err := b.measure(2, b.runs.fanout,
		command{name: "1 region", env: env, argv: append(base[:len(base):len(base)], regions[0]), check: regionLines(1)},
		command{name: "30 regions", env: env, argv: append(base[:len(base):len(base)], all), check: regionLines(fanoutRegions)},
		command{name: "30 regions, --concurrency 8", env: env, argv: append(base[:len(base):len(base)], all, "--concurrency", "8"),
			check: regionLines(fanoutRegions)})
	if err != nil {
		return nil, err
	}
	return &fanoutResult{one: s[0], all: s[1], c8: s[2]}, nil
}

// regionLines checks a multi-region resolve printed n "region<TAB>image" lines
// (one region prints the bare id).
func regionLines(n int) func([]byte, int) error {
	return func(out []byte, exit int) error {
		if err := exitZero(out, exit); err != nil {
			return err
		}
		got := 0
		for _, line := range bytes.Split(out, []byte("\n")) {
			if r, img, ok := bytes.Cut(line, []byte("\t")); ok && bytes.HasPrefix(r, []byte("bench-region-")) &&
				string(img) == "m-"+string(r) {
				got++
			}
		}
		if n == 1 && got == 0 && strings.TrimSpace(string(out)) == "m-bench-region-1" {
			got = 1
		}
		if got != n {
			return fmt.Errorf("%d images printed, want %d", got, n)
		}
		return nil
	}
}
