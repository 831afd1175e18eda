//go:build release

package releasetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/emulatorproc"
)

// The demo fixture's account, and the newest Available image of web-base in
// cn-hangzhou (000004 is newer but still Creating).
const (
	demoAccessKeyID     = "LTAIDEMOACCESSKEYID0001"
	demoAccessKeySecret = "demo-secret-NOT-A-REAL-SECRET-0001"
	wantImageID         = "m-bp1demowebbase000003"
)

// startEmulator runs the released CLI's own emulator over TLS on loopback.
func startEmulator(t *testing.T, s *snapshot) emulatorproc.ReadyInfo {
	t.Helper()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	cmd := exec.Command(s.cliBin, "emulator",
		"--fixture", filepath.Join(repoRoot(t), "ecstest", "testdata", "demo-fixture.json"),
		"--tls", "--cert-file", filepath.Join(dir, "cert.pem"), "--ready-file", ready)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := emulatorproc.WaitReady(ctx, ready)
	if err != nil {
		t.Fatalf("emulator: %v\n%s", err, stderr.String())
	}
	if info.CertFile == "" || !strings.HasPrefix(info.URL, "https://127.0.0.1:") {
		t.Fatalf("emulator ready info %+v: want a TLS loopback URL and a certificate", info)
	}
	return info
}

// baseEnv is a small, explicit environment: no proxy for loopback, the
// emulator's certificate trusted, nothing of the caller's cloud settings.
func baseEnv(tmp string, emu emulatorproc.ReadyInfo) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(tmp, "home"),
		"TMPDIR=" + os.TempDir(),
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
		"SSL_CERT_FILE=" + emu.CertFile,
	}
}

// assertNoSecret fails when the access key secret shows anywhere but in an
// `::add-mask::` line, which is how the action asks the runner to hide it.
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, line := range strings.Split(s, "\n") {
		if line == "::add-mask::"+demoAccessKeySecret {
			continue
		}
		if strings.Contains(line, demoAccessKeySecret) {
			t.Errorf("%s shows the access key secret: %q", what, line)
		}
	}
}

func packerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PACKER"); p != "" {
		return p
	}
	p, err := exec.LookPath("packer")
	if err != nil {
		t.Fatal("packer not found: set PACKER or put `scripts/tools.sh packer`'s directory on PATH")
	}
	return p
}

// packerRun is a real Packer with its plugin and configuration directories
// in a temporary directory, away from the user's.
type packerRun struct {
	t         *testing.T
	bin       string
	tmp       string
	pluginDir string
	env       []string
}

func newPackerRun(t *testing.T, emu emulatorproc.ReadyInfo, extraEnv ...string) *packerRun {
	t.Helper()
	p := &packerRun{t: t, bin: packerBinary(t), tmp: t.TempDir()}
	p.pluginDir = filepath.Join(p.tmp, "plugins")
	for _, d := range []string{p.pluginDir, filepath.Join(p.tmp, "config"), filepath.Join(p.tmp, "home"), filepath.Join(p.tmp, "template")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.env = append(baseEnv(p.tmp, emu),
		"PACKER_PLUGIN_PATH="+p.pluginDir,
		"PACKER_CONFIG_DIR="+filepath.Join(p.tmp, "config"),
		"CHECKPOINT_DISABLE=1",
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+demoAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET="+demoAccessKeySecret,
	)
	p.env = append(p.env, extraEnv...)
	return p
}

func (p *packerRun) run(dir string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Dir, cmd.Env = dir, p.env
	out, err := cmd.CombinedOutput()
	assertNoSecret(p.t, "packer "+args[0]+" output", string(out))
	if err != nil {
		p.t.Fatalf("packer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// installedPath is where Packer keeps the plugin binary: its release name
// under the source's directory.
func (p *packerRun) installedPath(s *snapshot) string {
	return filepath.Join(p.pluginDir, filepath.FromSlash(pluginSource), filepath.Base(s.pluginBin))
}

// checkInstalled: the binary Packer installed is the release binary, under
// the release binary's own name, with Packer's checksum file beside it.
func (p *packerRun) checkInstalled(s *snapshot) {
	p.t.Helper()
	installed := p.installedPath(s)
	data, err := os.ReadFile(installed)
	if err != nil {
		entries, _ := filepath.Glob(filepath.Join(p.pluginDir, filepath.FromSlash(pluginSource), "*"))
		p.t.Fatalf("not installed as %s (found %v): %v", installed, entries, err)
	}
	shipped, err := os.ReadFile(s.pluginBin)
	if err != nil {
		p.t.Fatal(err)
	}
	if !bytes.Equal(data, shipped) {
		p.t.Error("the installed plugin differs from the binary in the release zip")
	}
	sum, err := os.ReadFile(installed + "_SHA256SUM")
	if err != nil {
		p.t.Fatal(err)
	}
	if got := sha256.Sum256(data); string(sum) != hex.EncodeToString(got[:]) {
		p.t.Errorf("installed checksum %s does not match the binary", sum)
	}
	if out := p.run(p.tmp, "plugins", "installed"); !strings.Contains(out, installed) {
		p.t.Errorf("packer plugins installed does not list %s:\n%s", installed, out)
	}
}

const buildTemplate = `
variable "endpoint" {
  type = string
}

data "alicloud-image-family" "web" {
  image_family        = "web-base"
  region              = "cn-hangzhou"
  custom_endpoint_ecs = var.endpoint
}

source "null" "release-check" {
  communicator = "none"
}

build {
  sources = ["source.null.release-check"]

  provisioner "shell-local" {
    inline = ["echo resolved=${data.alicloud-image-family.web.image_id}/${data.alicloud-image-family.web.status}"]
  }
}
`

// build writes the template (after an optional packer block) and runs
// validate and build against the emulator.
func (p *packerRun) build(emu emulatorproc.ReadyInfo, packerBlock string) {
	p.t.Helper()
	dir := filepath.Join(p.tmp, "template")
	if err := os.WriteFile(filepath.Join(dir, "release-check.pkr.hcl"), []byte(packerBlock+buildTemplate), 0o644); err != nil {
		p.t.Fatal(err)
	}
	endpoint := "-var=endpoint=" + emu.URL
	p.run(dir, "validate", endpoint, ".")
	out := p.run(dir, "build", "-color=false", endpoint, ".")
	if want := "resolved=" + wantImageID + "/Available"; !strings.Contains(out, want) {
		p.t.Errorf("packer build output lacks %q:\n%s", want, out)
	}
}

// TestPackerInstallsAndBuildsWithPlugin installs the plugin binary from the
// snapshot's zip with `packer plugins install --path` into an empty plugin
// directory, then runs a build whose data source resolves an image in the
// emulator.
func TestPackerInstallsAndBuildsWithPlugin(t *testing.T) {
	s := loadSnapshot(t)
	emu := startEmulator(t, s)
	p := newPackerRun(t, emu)
	p.run(p.tmp, "plugins", "install", "--path", s.pluginBin, pluginSource)
	// Packer names a local install from the plugin's describe; that must be
	// the release binary's name, or `packer init` and a local install would
	// disagree about what is installed.
	p.checkInstalled(s)
	p.build(emu, "")
}

// TestPackerInitInstallsFromRelease runs a real `packer init` for a template
// that requires this version, against the snapshot served as the GitHub
// release (see fakeGitHub): Packer's own getter lists the tags, reads the
// SHA256SUMS file, picks and verifies the zip for this platform, unpacks and
// describes the binary. Then a build uses what it installed.
func TestPackerInitInstallsFromRelease(t *testing.T) {
	s := loadSnapshot(t)
	if strings.Contains(s.version, "-") {
		t.Fatalf("snapshot version %s is a pre-release, which packer init never installs; build the snapshot with scripts/release-check.sh (it sets SNAPSHOT_VERSION)", s.version)
	}
	emu := startEmulator(t, s)
	gh := newFakeGitHub(t, s)
	certEmu, err := os.ReadFile(emu.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bundle := filepath.Join(tmp, "roots.pem")
	if err := os.WriteFile(bundle, append(append([]byte{}, gh.caPEM...), certEmu...), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPackerRun(t, emu,
		"SSL_CERT_FILE="+bundle, // later entries win in os/exec
		"HTTPS_PROXY="+gh.proxyURL, "https_proxy="+gh.proxyURL,
		"HTTP_PROXY="+gh.proxyURL, "http_proxy="+gh.proxyURL,
	)
	packerBlock := `
packer {
  required_plugins {
    alicloud-image-family = {
      source  = "` + pluginSource + `"
      version = "= ` + s.version + `"
    }
  }
}
`
	dir := filepath.Join(p.tmp, "template")
	if err := os.WriteFile(filepath.Join(dir, "release-check.pkr.hcl"), []byte(packerBlock+buildTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	out := p.run(dir, "init", ".")
	if want := "Installed plugin " + pluginSource + " v" + s.version; !strings.Contains(out, want) {
		t.Errorf("packer init output lacks %q:\n%s", want, out)
	}
	p.checkInstalled(s)

	repo := "imagefamily/" + projectName
	goos, _, _ := strings.Cut(hostPlatform(), "/")
	for _, want := range []string{
		"api.github.com/repos/" + repo + "/git/matching-refs/tags",
		"github.com/" + repo + "/releases/download/v" + s.version + "/" + projectName + "_v" + s.version + "_SHA256SUMS",
		"github.com/" + repo + "/releases/download/v" + s.version + "/" + strings.TrimSuffix(filepath.Base(s.pluginBin), exeSuffix(goos)) + ".zip",
	} {
		if !slices.Contains(gh.served(), want) {
			t.Errorf("packer init did not fetch %s; it fetched %v", want, gh.served())
		}
	}
	if r := gh.refusedConnects(); len(r) > 0 {
		t.Errorf("packer init tried hosts other than %v: %v", fakeHosts, r)
	}
	p.build(emu, packerBlock)
}
