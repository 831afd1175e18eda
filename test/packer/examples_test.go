package packere2e

// Every template in example/ builds offline, unedited, with a real
// `packer build` against the emulator process (`alicloud-image-family
// emulator`) serving the bundled demo fixture, the way example/README.md
// tells a user to run them: the emulator in plain-HTTP mode and its ready
// file's url in ALIBABA_CLOUD_ECS_ENDPOINT, the demo keys in
// ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY, and nothing else (beside the
// minimal environment every test here gives Packer, and a refusing proxy as
// a safety net). Plain HTTP (written out as http://, the only way the
// plugin speaks it) keeps the recipe to one variable: no certificate, no
// SSL_CERT_FILE.
//
// The examples use the built-in null builder and shell-local provisioner
// (with alicloud-ecs, a build would need a real cloud), so the whole
// template runs, the data source included; a build validates the template
// as `packer validate` does, and `packer fmt -check` runs on them all once.
// Packer is required: like every
// test here, this one fails under CI (CI=true) when Packer cannot be had and
// is skipped elsewhere (install, e2etest.Tool).

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/emulatorproc"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// exampleWants are lines each example's build must print (the demo
// fixture's newest web-base images: m-bp1demowebbase000003 in cn-hangzhou,
// its copy m-uf6demowebbase000003 in cn-shanghai).
var exampleWants = map[string][]string{
	"basic":  {"image_id:      m-bp1demowebbase000003", "build tag:     3", "os:            Alibaba Cloud Linux 3.2104 LTS 64 bit (x86_64)"},
	"guards": {"building from m-bp1demowebbase000003, created "},
	"chain":  {"source_image = m-bp1demowebbase000003 (web-base-v3, version 3)"},
	"cross-region": {"cn-hangzhou: source_image = m-bp1demowebbase000003",
		"cn-shanghai: source_image = m-uf6demowebbase000003"},
	"release": {"releasing on m-bp1demowebbase000003 (web-base-v3, created "},
}

// exampleEnv is example/README.md's recipe: the plain-HTTP emulator's url
// and the demo keys. The refusing proxy is not the recipe but a safety net:
// NO_PROXY (in.env) exempts the emulator, so a lookup that misses it (the
// variable not read) fails on loopback instead of going out.
func exampleEnv(url string) []string {
	return []string{"ALIBABA_CLOUD_ECS_ENDPOINT=" + url, "ALICLOUD_ACCESS_KEY=" + demoKeyID, "ALICLOUD_SECRET_KEY=" + demoSecret,
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1"}
}

func TestExamplesBuildAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	in := install(t)
	root := e2etest.RepoRoot(t)
	url, ctl := startEmulatorProcess(t, filepath.Join(root, "ecstest", "testdata", "demo-fixture.json"))
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("ready file url %q: want the plain-HTTP emulator", url)
	}
	if r := runPacker(t, in, run{args: []string{"fmt", "-check", "-recursive", filepath.Join(root, "example")}}); r.code != 0 {
		t.Errorf("packer fmt -check -recursive example: exit %d\n%s", r.code, r.out)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "example", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			names = append(names, filepath.Base(d))
		}
	}
	for name := range exampleWants {
		if !slices.Contains(names, name) {
			t.Errorf("exampleWants names %s, which is not in example/", name)
		}
	}
	if len(names) < 5 {
		t.Fatalf("found only the examples %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, "example", name)
			before := listing(t, dir)
			if err := ctl.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			// The working directory is the test's: what a template writes
			// (chain's manifest.json) lands there, not in example/.
			work := t.TempDir()
			r := runPacker(t, in, run{dir: work, env: exampleEnv(url), args: []string{"build", "-color=false", dir}})
			mustSucceed(t, r, "packer build "+dir)
			for _, want := range exampleWants[name] {
				if !strings.Contains(r.out, want) {
					t.Errorf("the build's output lacks %q", want)
				}
			}
			counts, err := ctl.Requests()
			if err != nil || counts.ByAction["DescribeImageFromFamily"] == 0 {
				t.Errorf("the emulator saw %+v (%v); the data source must have asked it", counts, err)
			}
			if name == "chain" {
				checkChainManifest(t, filepath.Join(work, "manifest.json"))
			}
			if after := listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("the build changed example/%s: %v, then %v", name, before, after)
			}
		})
	}
}

// startEmulatorProcess runs `alicloud-image-family emulator` in plain-HTTP
// mode with the fixture file and any further flags, as a user would, and
// returns its ready file's url and a control client. It stops when the test
// ends; its stderr (the request log) is emulatorLog(t).
func startEmulatorProcess(t *testing.T, fixture string, flags ...string) (string, *emulatorproc.Control) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, e2etest.CLI(t), append([]string{"emulator", "--fixture", fixture, "--ready-file", ready}, flags...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	logFile, err := os.Create(emulatorLog(t))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait(); logFile.Close() })
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	info, err := emulatorproc.WaitReady(wctx, ready)
	if err != nil {
		t.Fatalf("emulator: %v\n%s", err, readLog(t))
	}
	ctl, err := emulatorproc.NewControl(info.URL, info.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return info.URL, ctl
}

// emulatorLogs holds each test's emulator log path, in its own temporary
// directory.
var emulatorLogs sync.Map

// emulatorLog is where startEmulatorProcess writes the emulator's stderr.
func emulatorLog(t *testing.T) string {
	p, _ := emulatorLogs.LoadOrStore(t.Name(), filepath.Join(t.TempDir(), "emulator.log"))
	return p.(string)
}

func readLog(t *testing.T) string {
	b, _ := os.ReadFile(emulatorLog(t))
	return string(b)
}

// listing is every file under dir, with its size and modification time.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+" "+fi.ModTime().String()+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkChainManifest: the chain example records the base image it started
// from in its manifest.
func checkChainManifest(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("chain wrote no manifest: %v", err)
		return
	}
	var m struct {
		Builds []struct {
			CustomData map[string]string `json:"custom_data"`
		} `json:"builds"`
	}
	if err := json.Unmarshal(b, &m); err != nil || len(m.Builds) != 1 ||
		m.Builds[0].CustomData["base_image_id"] != "m-bp1demowebbase000003" || m.Builds[0].CustomData["base_image_version"] != "3" {
		t.Errorf("manifest %s: %v", b, err)
	}
}
