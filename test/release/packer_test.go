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
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// The demo fixture's account, and the newest Available image of web-base in
// cn-hangzhou (000004 is newer but still Creating).
const (
	demoAccessKeyID     = "LTAIDEMOACCESSKEYID0001"
	demoAccessKeySecret = "demo-secret-NOT-A-REAL-SECRET-0001"
	wantImageID         = "m-bp1demowebbase000003"
)

// startEmulator runs the released CLI's own emulator over TLS on loopback.
func startEmulator(t *testing.T, s *snapshot) ecstest.ReadyInfo {
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
	info, err := ecstest.WaitReady(ctx, ready)
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
func baseEnv(tmp string, emu ecstest.ReadyInfo) []string {
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

// TestPackerInstallsAndBuildsWithPlugin installs the plugin binary from the
// snapshot's zip with a real Packer into an empty plugin directory, then
// runs a build whose data source resolves an image in the emulator.
func TestPackerInstallsAndBuildsWithPlugin(t *testing.T) {
	s := loadSnapshot(t)
	packer := packerBinary(t)
	emu := startEmulator(t, s)
	tmp := t.TempDir()
	pluginDir := filepath.Join(tmp, "plugins")
	for _, d := range []string{pluginDir, filepath.Join(tmp, "config"), filepath.Join(tmp, "home"), filepath.Join(tmp, "template")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(baseEnv(tmp, emu),
		"PACKER_PLUGIN_PATH="+pluginDir,
		"PACKER_CONFIG_DIR="+filepath.Join(tmp, "config"),
		"CHECKPOINT_DISABLE=1",
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+demoAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET="+demoAccessKeySecret,
	)
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(packer, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		assertNoSecret(t, "packer "+args[0]+" output", string(out))
		if err != nil {
			t.Fatalf("packer %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	run(tmp, "plugins", "install", "--path", s.pluginBin, pluginSource)

	// Packer names the installed binary from the plugin's describe; it must
	// be the release binary's own name, or `packer init` and a local install
	// would disagree about what is installed.
	installed := filepath.Join(pluginDir, filepath.FromSlash(pluginSource), filepath.Base(s.pluginBin))
	data, err := os.ReadFile(installed)
	if err != nil {
		entries, _ := filepath.Glob(filepath.Join(pluginDir, filepath.FromSlash(pluginSource), "*"))
		t.Fatalf("not installed as %s (found %v): %v", installed, entries, err)
	}
	sum, err := os.ReadFile(installed + "_SHA256SUM")
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(data); string(sum) != hex.EncodeToString(got[:]) {
		t.Errorf("installed checksum %s does not match the binary", sum)
	}
	if out := run(tmp, "plugins", "installed"); !strings.Contains(out, installed) {
		t.Errorf("packer plugins installed does not list %s:\n%s", installed, out)
	}

	template := `
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
	tplDir := filepath.Join(tmp, "template")
	if err := os.WriteFile(filepath.Join(tplDir, "release-check.pkr.hcl"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	endpoint := "-var=endpoint=" + emu.URL
	run(tplDir, "validate", endpoint, ".")
	out := run(tplDir, "build", "-color=false", endpoint, ".")
	if want := "resolved=" + wantImageID + "/Available"; !strings.Contains(out, want) {
		t.Errorf("packer build output lacks %q:\n%s", want, out)
	}
}
