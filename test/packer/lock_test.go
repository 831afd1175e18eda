package packere2e

// A template builds on a pinned image: the real CLI writes the lock file
// from the emulator, and a real `packer build` reads the id from it with
// jsondecode(file(...)), as docs/cli.md shows.

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

const lockTemplate = `locals {
  base_image = jsondecode(file("images.lock.json")).families["web-base"]["cn-hangzhou"].image_id
}

source "null" "pinned" {
  communicator = "none"
}

build {
  sources = ["source.null.pinned"]

  provisioner "shell-local" {
    inline = ["echo pinned=${local.base_image}"]
  }
}
`

func TestTemplateReadsThePinnedImage(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()

	lock := exec.Command(e2etest.CLI(t), "lock", "--lock-file", "images.lock.json", "--endpoint", w.emu.URL,
		"--image-family", "web-base", "--region", "cn-hangzhou,cn-shanghai")
	lock.Dir = dir
	lock.Env = append(w.in.env(filepath.Join(dir, "home")), "SSL_CERT_FILE="+w.cert,
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+keyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+keySecret)
	if out, err := lock.CombinedOutput(); err != nil {
		t.Fatalf("lock: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(dir, "pinned.pkr.hcl"), lockTemplate)

	// A newer image appears: the template still builds on the pin.
	w.emu.AddImage("cn-hangzhou", demoImage("m-e2e-web-v9", "web-base", "2025-01-01T00:00:00Z"))
	r := runPacker(t, w.in, run{dir: dir, args: []string{"build", "-color=false", "pinned.pkr.hcl"}})
	mustSucceed(t, r, "packer build")
	if !strings.Contains(r.out, "pinned=m-e2e-web-v2") {
		t.Fatalf("the template did not get the pinned id:\n%s", r.out)
	}
}
