package packere2e

// The fault matrix through a real `packer build`: the data source's
// diagnostic in Packer's output (the same rows as the core's matrix, fewer
// of them since each run starts Packer and the plugin).

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

const describeAction = "DescribeImageFromFamily"

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

type packerFaultRow struct {
	name string
	// setup injects faults and returns -var pairs and extra environment.
	setup    func(t *testing.T, w *world) (vars, env []string)
	frag     string // "" means the build succeeds
	requests map[string]int
}

func packerFaultRows() []packerFaultRow {
	keys := []string{"access_key", keyID, "secret_key", keySecret}
	fault := func(f func(emu *ecstest.Server), more ...string) func(*testing.T, *world) ([]string, []string) {
		return func(_ *testing.T, w *world) ([]string, []string) {
			f(w.emu)
			return append(append([]string{}, keys...), more...), nil
		}
	}
	return []packerFaultRow{
		{name: "throttled once then success", setup: fault(func(e *ecstest.Server) { e.Throttle(describeAction, 1) }, "max_retries", "1"),
			requests: map[string]int{describeAction: 2}},
		// x-acs-retry-after 800ms and a 2s timeout: attempts at 0, 0.8s and
		// 1.6s, then the next wait would pass the deadline.
		{name: "throttled forever fails within the deadline",
			setup: fault(func(e *ecstest.Server) {
				e.Throttle(describeAction, 1000, ecstest.RetryAfter(800*time.Millisecond))
			}, "max_retries", "19", "timeout", "2s"),
			frag: "The API is throttling this account", requests: map[string]int{describeAction: 3}},
		{name: "throttled as often as the attempt limit", setup: fault(func(e *ecstest.Server) { e.Throttle(describeAction, 3) }, "max_retries", "2"),
			frag: "Throttling.User (HTTP 400)", requests: map[string]int{describeAction: 3}},
		{name: "500 once then success", setup: fault(func(e *ecstest.Server) { e.FailStatus(describeAction, 1, 500, "") }, "max_retries", "1"),
			requests: map[string]int{describeAction: 2}},
		{name: "503 on every attempt", setup: fault(func(e *ecstest.Server) { e.FailStatus(describeAction, 100, 503, "") }, "max_retries", "1"),
			frag: "ServiceUnavailable (HTTP 503)", requests: map[string]int{describeAction: 2}},
		{name: "malformed JSON", setup: fault(func(e *ecstest.Server) { e.MalformedBody(describeAction, 1) }),
			frag: "not valid JSON", requests: map[string]int{describeAction: 1}},
		{name: "truncated JSON", setup: fault(func(e *ecstest.Server) { e.TruncatedBody(describeAction, 100) }, "max_retries", "0"),
			frag: "unexpected EOF", requests: map[string]int{describeAction: 1}},
		{name: "empty body", setup: fault(func(e *ecstest.Server) { e.EmptyBody(describeAction, 1) }),
			frag: "empty body", requests: map[string]int{describeAction: 1}},
		{name: "connection dropped", setup: fault(func(e *ecstest.Server) { e.DropConnection(describeAction, 100) }, "max_retries", "0"),
			frag: "EOF", requests: map[string]int{describeAction: 1}},
		{name: "server hangs past the timeout", setup: fault(func(e *ecstest.Server) { e.Hang(describeAction) }, "timeout", "1s"),
			frag: "Raise the timeout", requests: map[string]int{describeAction: 1}},
		{name: "TLS certificate not trusted",
			setup: func(t *testing.T, w *world) ([]string, []string) {
				// A certificate file without the emulator's certificate.
				return keys, []string{"SSL_CERT_FILE=" + filepath.Join(t.TempDir(), "none.pem")}
			},
			frag: "TLS certificate not trusted", requests: map[string]int{"": 0}},
		// With PACKER_LOG the plugin's log is in the output too; the
		// server's SignatureDoesNotMatch message echoes the token
		// percent-encoded twice, and the scan looks for every encoding.
		{name: "wrong secret with a security token",
			setup: func(t *testing.T, w *world) ([]string, []string) {
				id, _, token := assumeRole(t, w.emu)
				return []string{"access_key", id, "secret_key", "e2e-wrong-secret-0003", "security_token", token},
					[]string{"PACKER_LOG=1", "PACKER_LOG_PATH=" + filepath.Join(t.TempDir(), "packer.log")}
			},
			frag: "SignatureDoesNotMatch", requests: map[string]int{describeAction: 1}},
		{name: "expired security token",
			setup: func(t *testing.T, w *world) ([]string, []string) {
				id, secret, token := assumeRole(t, w.emu)
				w.emu.ExpireSessions()
				return []string{"access_key", id, "secret_key", secret, "security_token", token}, nil
			},
			frag: "InvalidSecurityToken.Expired", requests: map[string]int{describeAction: 1}},
		{name: "security token of another key",
			setup: func(t *testing.T, w *world) ([]string, []string) {
				id, secret, _ := assumeRole(t, w.emu)
				_, _, other := assumeRole(t, w.emu)
				return []string{"access_key", id, "secret_key", secret, "security_token", other}, nil
			},
			frag: "InvalidSecurityToken.MismatchWithAccessKey", requests: map[string]int{describeAction: 1}},
		{name: "STS unreachable during OIDC",
			setup: func(t *testing.T, w *world) ([]string, []string) {
				file := filepath.Join(t.TempDir(), "token")
				os.WriteFile(file, []byte(oidcToken()), 0o600)
				return []string{"sts_endpoint", "127.0.0.1:1", "max_retries", "1"}, []string{
					"ALIBABA_CLOUD_ROLE_ARN=acs:ram::123456789012:role/github-oidc",
					"ALIBABA_CLOUD_OIDC_PROVIDER_ARN=acs:ram::123456789012:oidc-provider/github",
					"ALIBABA_CLOUD_OIDC_TOKEN_FILE=" + file,
				}
			},
			frag: "connection refused", requests: map[string]int{"": 0}},
	}
}

// oidcToken is shaped like a GitHub ID token.
func oidcToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"aud":"sts.aliyuncs.com","sub":"repo:o/r:ref:refs/heads/main"}`)) +
		"." + enc([]byte("oidc-matrix-signature"))
}

func TestFaultMatrixPacker(t *testing.T) {
	w := newWorld(t)
	template := writeTemplate(t, "matrix.pkr.hcl", matrixTemplate)
	line := fmt.Sprintf("matrix.pkr.hcl line %d", dataBlockLine(t, template))
	for _, row := range packerFaultRows() {
		t.Run(row.name, func(t *testing.T) {
			w.emu.ClearFaults()
			t.Cleanup(w.emu.ClearFaults)
			vars, env := row.setup(t, w)
			w.emu.ResetCounts()
			args := []string{"build", "-color=false", "-var", "endpoint=" + w.emu.Endpoint(), "-var", "sts_endpoint=" + w.emu.Endpoint()}
			for i := 0; i+1 < len(vars); i += 2 {
				args = append(args, "-var", vars[i]+"="+vars[i+1])
			}
			r := w.packer(env, append(args, template)...)
			if row.frag == "" {
				mustSucceed(t, r, "packer build")
				if got := outputs(r.out)["image_id"]; got != "m-e2e-web-v2" {
					t.Errorf("image_id %q", got)
				}
			} else {
				if r.code == 0 || strings.Contains(r.out, "OUT image_id=") {
					t.Errorf("the build did not stop at the data source (exit %d)", r.code)
				}
				for _, s := range []string{"Error:", line, row.frag} {
					if !strings.Contains(r.out, s) {
						t.Errorf("Packer's output lacks %q", s)
					}
				}
			}
			for action, want := range row.requests {
				if got := w.emu.Requests(action); got != want {
					t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
				}
			}
			scan := secretscan.New(keySecret, deniedSecret, "e2e-wrong-secret-0003", oidcToken())
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
