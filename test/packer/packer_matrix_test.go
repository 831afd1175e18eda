package packere2e

// Packer's runner of the fault table (conformance.FaultRows, which the core
// and the CLI binary run in full): a row per outcome class and per sink
// (conformance.Sample, EndToEnd), through a real `packer build`:
// each row is checked for the data source's diagnostic in Packer's output
// (or the image id the build printed), the requests the emulator saw, and
// that no secret reached Packer's output or the plugin's log.

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const describeAction = conformance.ActionDescribe

// packerStartAllowance is what the runner adds to a row's time bound: a
// build starts Packer, which starts the plugin.
const packerStartAllowance = 4 * time.Second

// matrixTemplate sets every attribute the rows vary from a variable.
const matrixTemplate = `
variable "endpoint" { type = string }
variable "sts_endpoint" { type = string }
variable "access_key" {
  type      = string
  default   = ""
  sensitive = true
}
variable "secret_key" {
  type      = string
  default   = ""
  sensitive = true
}
variable "security_token" {
  type      = string
  default   = ""
  sensitive = true
}
variable "timeout" {
  type    = string
  default = "20s"
}
variable "max_retries" {
  type    = number
  default = 1
}

data "alicloud-image-family" "base" {
  region              = "cn-hangzhou"
  image_family        = "web-base"
  access_key          = var.access_key
  secret_key          = var.secret_key
  security_token      = var.security_token
  custom_endpoint_ecs = var.endpoint
  sts_endpoint        = var.sts_endpoint
  timeout             = var.timeout
  max_retries         = var.max_retries
}

source "null" "matrix" {
  communicator = "none"
}

build {
  sources = ["source.null.matrix"]
  provisioner "shell-local" {
    inline = ["echo 'OUT image_id=${data.alicloud-image-family.base.image_id}'"]
  }
}
`

// writeTemplate writes a template into a directory of its own and returns
// its path.
func writeTemplate(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// assumeRole obtains STS credentials from the emulator, for rows that give
// the data source a security token.
func assumeRole(t *testing.T, emu *ecstest.Server) (id, secret, token string) {
	t.Helper()
	c, err := ecstest.AssumeRole(emu.Client(), emu.URL, keyID, keySecret, roleARN)
	if err != nil {
		t.Fatal(err)
	}
	return c.AccessKeyID, c.AccessKeySecret, c.SecurityToken
}

// faultBuild maps a row onto the template's variables and the build's
// environment. The template's max_retries is the row's attempt budget less
// one (the alicloud builder's attribute).
func faultBuild(t *testing.T, w *world, row conformance.FaultRow) (vars, env []string) {
	t.Helper()
	sts := func(id, secret, token string) []string {
		return []string{"access_key", id, "secret_key", secret, "security_token", token}
	}
	switch row.Credentials {
	case conformance.CredKeys:
		vars = []string{"access_key", keyID, "secret_key", keySecret}
	case conformance.CredWrongSecret:
		vars = []string{"access_key", keyID, "secret_key", conformance.FaultWrongSecret}
	case conformance.CredSTSWrongSecret:
		id, _, token := assumeRole(t, w.emu)
		vars = sts(id, conformance.FaultWrongSecret, token)
		// With PACKER_LOG the plugin's log is in the output too; the
		// server's SignatureDoesNotMatch message echoes the token
		// percent-encoded twice, and the scan looks for every encoding.
		env = []string{"PACKER_LOG=1", "PACKER_LOG_PATH=" + filepath.Join(t.TempDir(), "packer.log")}
	case conformance.CredSTSExpired:
		id, secret, token := assumeRole(t, w.emu)
		w.emu.ExpireSessions()
		vars = sts(id, secret, token)
	case conformance.CredSTSOtherToken:
		id, secret, _ := assumeRole(t, w.emu)
		_, _, other := assumeRole(t, w.emu)
		vars = sts(id, secret, other)
	case conformance.CredOIDC:
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte(oidcToken()), 0o600); err != nil {
			t.Fatal(err)
		}
		env = []string{
			"ALIBABA_CLOUD_ROLE_ARN=acs:ram::123456789012:role/github-oidc",
			"ALIBABA_CLOUD_OIDC_PROVIDER_ARN=acs:ram::123456789012:oidc-provider/github",
			"ALIBABA_CLOUD_OIDC_TOKEN_FILE=" + file,
		}
	default:
		t.Fatalf("row %q: credentials %d have no mapping in Packer's runner", row.Name, row.Credentials)
	}
	if row.STSUnreachable {
		vars = append(vars, "sts_endpoint", "127.0.0.1:1")
	}
	if row.Untrusted {
		// A certificate file without the emulator's certificate (it comes
		// after the world's own SSL_CERT_FILE, so it wins).
		env = append(env, "SSL_CERT_FILE="+filepath.Join(t.TempDir(), "none.pem"))
	}
	vars = append(vars, "max_retries", strconv.Itoa(row.MaxAttempts-1))
	if row.Timeout > 0 {
		vars = append(vars, "timeout", row.Timeout.String())
	}
	return vars, env
}

// oidcToken is shaped like a GitHub ID token.
func oidcToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"aud":"sts.aliyuncs.com","sub":"repo:o/r:ref:refs/heads/main","exp":%d}`, time.Now().Add(time.Hour).Unix())
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) +
		"." + enc([]byte("oidc-matrix-signature"))
}

func TestFaultMatrixPacker(t *testing.T) {
	w := newWorld(t)
	template := writeTemplate(t, "matrix.pkr.hcl", matrixTemplate)
	line := fmt.Sprintf("matrix.pkr.hcl line %d", dataBlockLine(t, template))
	// A real build runs a row per class and per sink (the CLI and the core
	// run every row).
	for _, row := range conformance.Sample(conformance.FaultRows(), conformance.EndToEnd) {
		t.Run(row.Name, func(t *testing.T) {
			w.emu.ClearFaults()
			t.Cleanup(w.emu.ClearFaults)
			vars, env := faultBuild(t, w, row)
			w.emu.Inject(row.Faults...)
			w.emu.ResetCounts()
			start := time.Now()
			args := []string{"build", "-color=false", "-var", "endpoint=" + w.emu.Endpoint(), "-var", "sts_endpoint=" + w.emu.Endpoint()}
			for i := 0; i+1 < len(vars); i += 2 {
				args = append(args, "-var", vars[i]+"="+vars[i+1])
			}
			r := w.packer(env, append(args, template)...)
			elapsed := time.Since(start)
			if row.Within > 0 && elapsed > row.Within+packerStartAllowance {
				t.Errorf("took %v, want at most %v", elapsed, row.Within+packerStartAllowance)
			}
			if row.Outcome == conformance.FaultFound {
				mustSucceed(t, r, "packer build")
				if got := outputs(r.out)["image_id"]; got != "m-e2e-web-v2" {
					t.Errorf("image_id %q", got)
				}
			} else {
				if r.code == 0 || strings.Contains(r.out, "OUT image_id=") {
					t.Errorf("the build did not stop at the data source (exit %d)", r.code)
				}
				for _, s := range []string{"Error:", line, row.Fragment} {
					if !strings.Contains(r.out, s) {
						t.Errorf("Packer's output lacks %q", s)
					}
				}
			}
			for action, want := range row.Requests {
				if got := w.emu.Requests(action); got != want {
					t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
				}
			}
			scan := secretscan.New(keySecret, deniedSecret, conformance.FaultWrongSecret)
			for _, e := range env {
				if file, ok := strings.CutPrefix(e, "ALIBABA_CLOUD_OIDC_TOKEN_FILE="); ok {
					b, _ := os.ReadFile(file)
					scan.Add(string(b))
				}
			}
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == "secret_key" || vars[i] == "security_token" {
					scan.Add(vars[i+1])
				}
			}
			scan.Add(w.emu.LastRequest(describeAction).Params.Get("Signature"))
			scan.Check(t, "Packer's output", r.out)
			for _, e := range env {
				if path, ok := strings.CutPrefix(e, "PACKER_LOG_PATH="); ok {
					// The log file holds the plugin's trace; it must exist
					// and be clean.
					if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "Action=DescribeImageFromFamily") {
						t.Errorf("PACKER_LOG_PATH file: %v, %d bytes without the trace", err, len(b))
					}
					scan.CheckFile(t, path)
				}
			}
			if t.Failed() {
				t.Logf("packer output:\n%s", r.out)
			}
		})
	}
}
