package packere2e

// The Packer front's runner of the hostile-endpoint table
// (conformance.HostileRows): a row per outcome class and per sink
// (conformance.Sample, EndToEnd) through a real `packer build` with the
// plugin installed, its ECS endpoint pointed at the row's listener. A row
// the user must get an image from builds and hands exactly that image id to
// the provisioner; every other row stops the build with a diagnostic on the
// data block that holds the row's fragment. Whatever the endpoint sends,
// Packer's output (and its PACKER_LOG file) stays printable text in which no
// line starts with what the endpoint tried to plant, the secret and the
// signed request never show, and a redirect target never hears from us.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	hostileKeyID  = "LTAIHOSTILEPACKER001"
	hostileSecret = "hostile-packer-secret-MUST-NOT-LEAK-0001"
	// hostileParallel caps the builds running at once: each is a Packer
	// process, a plugin process and the row's listeners in this one.
	hostileParallel = 4
)

// hostileTemplate is the data block the table runs through: the row's
// endpoint, the table's timeout and attempt budget (max_retries counts
// retries, the table counts attempts), keys from the environment. The
// provisioner writes outputs to files, base64-encoded on the way, never
// through the shell's parser or Packer's UI, so the files hold the exact
// HCL values. (Not as raw environment_vars: shell-local logs its command
// line, variables included, to PACKER_LOG as it is; an output holding a
// newline or an escape sequence, such as the description of the accepted
// hostile row, would show up there verbatim, which is the template's doing
// and not the data source's.)
func hostileTemplate() string {
	return fmt.Sprintf(`variable "endpoint" { type = string }
variable "out_dir" { type = string }
variable "family" { type = string }
variable "timeout" { type = string }

data "alicloud-image-family" "x" {
  region              = "cn-hangzhou"
  image_family        = var.family
  custom_endpoint_ecs = var.endpoint
  timeout             = var.timeout
  max_retries         = %d
}

source "null" "hostile" {
  communicator = "none"
}

build {
  sources = ["source.null.hostile"]
  provisioner "shell-local" {
    environment_vars = [
      "IMAGE_ID_B64=${base64encode(data.alicloud-image-family.x.image_id)}",
      "DESCRIPTION_B64=${base64encode(data.alicloud-image-family.x.description)}",
      "OUT_DIR=${var.out_dir}",
    ]
    inline = [
      "printf '%%s' \"$IMAGE_ID_B64\" | base64 -d > \"$OUT_DIR/image_id\"",
      "printf '%%s' \"$DESCRIPTION_B64\" | base64 -d > \"$OUT_DIR/description\"",
    ]
  }
}
`, conformance.HostileMaxAttempts-1)
}

// hostileRun is one packer build against one row.
type hostileRun struct {
	stdout, stderr string
	log            string // the PACKER_LOG_PATH file
	code           int
	outDir         string
	elapsed        time.Duration
}

func runHostile(t *testing.T, in installation, template string, h *conformance.HostileServer) hostileRun {
	t.Helper()
	dir := t.TempDir()
	cert, err := h.WriteCertFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "packer.log")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.packer, "build", "-color=false",
		"-var", "endpoint="+h.Endpoint(), "-var", "out_dir="+outDir, "-var", "family="+h.Family(), "-var", "timeout="+h.Timeout().String(), template)
	cmd.Dir = dir
	cmd.Env = append(in.env(filepath.Join(dir, "home")),
		"SSL_CERT_FILE="+cert,
		"ALICLOUD_ACCESS_KEY="+hostileKeyID,
		"ALICLOUD_SECRET_KEY="+hostileSecret,
		// The plugin's redacted trace goes to a file the test scans too.
		"PACKER_LOG=1", "PACKER_LOG_PATH="+logPath,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r := hostileRun{stdout: stdout.String(), stderr: stderr.String(), outDir: outDir, elapsed: time.Since(start)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("packer build: %v (after %s)\n%s%s", err, r.elapsed, r.stdout, r.stderr)
		}
		r.code = ee.ExitCode()
	}
	if b, err := os.ReadFile(logPath); err == nil {
		r.log = string(b)
	} else {
		t.Errorf("PACKER_LOG_PATH file: %v", err)
	}
	return r
}

// unredactedSignature is a Signature parameter with anything but the
// trace's redaction after it.
var unredactedSignature = regexp.MustCompile(`Signature=($|[^\[])`)

func TestHostileEndpointsPacker(t *testing.T) {
	in := install(t)
	template := writeTemplate(t, "hostile.pkr.hcl", hostileTemplate())
	line := fmt.Sprintf("hostile.pkr.hcl line %d", dataBlockLine(t, template))
	sem := make(chan struct{}, hostileParallel)
	start := time.Now()
	var ran atomic.Int64
	t.Cleanup(func() {
		t.Logf("%d rows, %d at a time, in %s", ran.Load(), hostileParallel, time.Since(start).Round(time.Millisecond))
	})
	rows := conformance.Sample(conformance.HostileRows(), conformance.EndToEnd)
	for _, row := range rows {
		t.Run(row.Name, func(t *testing.T) {
			t.Parallel()
			ran.Add(1)
			sem <- struct{}{}
			defer func() { <-sem }()
			h := conformance.StartHostile(row)
			defer h.Close()
			r := runHostile(t, in, template, h)
			checkHostilePacker(t, row, h, r, line)
			if t.Failed() || testing.Verbose() {
				t.Logf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
			}
		})
	}
}

func checkHostilePacker(t *testing.T, row conformance.HostileRow, h *conformance.HostileServer, r hostileRun, line string) {
	t.Helper()
	combined := r.stdout + r.stderr
	if n := h.OtherRequests(); n != 0 {
		t.Errorf("the second listener (a redirect target) saw %d requests, want 0", n)
	}
	if n := h.Requests(); n != row.Requests {
		t.Errorf("the endpoint saw %d requests, want %d", n, row.Requests)
	}
	// The Packer UI and the plugin's log stay within a small multiple of
	// what was served (Packer's own lines are the slack).
	if n := int64(len(combined) + len(r.log)); n > h.OutputBound() {
		t.Errorf("packer wrote %d bytes for %d served: more than %d times the answer", n, h.ServedBytes(), conformance.HostileOutputRatio)
	}

	idFile, idErr := os.ReadFile(filepath.Join(r.outDir, "image_id"))
	descFile, _ := os.ReadFile(filepath.Join(r.outDir, "description"))
	if row.ExitCode == 0 {
		if r.code != 0 {
			t.Errorf("the build failed (exit %d), want it to succeed with %s", r.code, conformance.HostileImageID)
		}
		if idErr != nil || string(idFile) != conformance.HostileImageID {
			t.Errorf("image_id handed to the provisioner = %q (%v), want exactly %q", idFile, idErr, conformance.HostileImageID)
		}
		// Outputs are machine values: exact, never escaped, and never
		// just the planted text.
		for _, f := range row.Forged {
			if string(idFile) == f || string(descFile) == f {
				t.Errorf("an output's value is the forged text %q", f)
			}
			if !strings.Contains(string(descFile), f) {
				t.Errorf("description %q does not hold %q verbatim; outputs must stay exact", descFile, f)
			}
		}
	} else {
		if r.code == 0 {
			t.Errorf("the build succeeded; want it to fail (%s)", row.Outcome)
		}
		if idErr == nil {
			t.Errorf("the provisioner ran with image_id %q; the build must stop at the data source", idFile)
		}
		for _, s := range []string{"Error:", line, h.Fill(row.Fragment)} {
			if !strings.Contains(combined, s) {
				t.Errorf("Packer's output lacks %q", s)
			}
		}
	}

	for _, stream := range []struct{ name, text string }{
		{"stdout", r.stdout}, {"stderr", r.stderr}, {"PACKER_LOG file", r.log},
	} {
		checkPrintable(t, stream.name, stream.text, row.Forged)
	}

	scan := secretscan.New(hostileSecret)
	scan.Check(t, "stdout", r.stdout)
	scan.Check(t, "stderr", r.stderr)
	scan.Check(t, "PACKER_LOG file", r.log)
	for _, leak := range []string{"Signature=", "SignatureNonce"} {
		if strings.Contains(combined, leak) {
			t.Errorf("Packer's output holds %q: the signed request leaked", leak)
		}
	}
	if m := unredactedSignature.FindString(r.log); m != "" {
		t.Errorf("the PACKER_LOG file holds an unredacted signature (%q)", m)
	}
}

// checkPrintable fails when text holds a control byte other than a line
// break or tab, an escape sequence, a C1 control or a bidi override, a
// line that starts (also after indentation) with forged text, or a line
// that holds forged text with the legacy command prefix "##[" anywhere.
func checkPrintable(t *testing.T, what, text string, forged []string) {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if !safetext.IsClean(strings.ReplaceAll(l, "\t", " ")) {
			t.Errorf("%s line %d holds a control or format character: %q", what, i+1, safetext.Excerpt(l, 300))
		}
		trimmed := strings.TrimLeft(l, " \t")
		for _, f := range forged {
			if strings.HasPrefix(l, f) || strings.HasPrefix(trimmed, f) {
				t.Errorf("%s line %d starts with the forged text %q: %q", what, i+1, f, safetext.Excerpt(l, 300))
			}
			// A GitHub runner finds its legacy "##[" prefix anywhere in a
			// line of Packer's output.
			if strings.Contains(f, "##[") && strings.Contains(l, f) {
				t.Errorf("%s line %d holds the forged legacy command %q as it is: %q", what, i+1, f, safetext.Excerpt(l, 300))
			}
		}
	}
}
