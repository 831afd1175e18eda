package packere2e

// Packer's runner of the conformance tables (conformance.FaultRows and
// conformance.HostileRows, which the core and the CLI binary run in full):
// a row per outcome class and per sink (conformance.Sample, EndToEnd),
// through a real `packer build` of one data block. A fault row's server is
// the emulator with the row's faults, a hostile row's the row's listener;
// runRow checks what the user gets (the image id handed on, or the
// diagnostic on the data block), runPacker the sinks.

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const describeAction = conformance.ActionDescribe

// packerStartAllowance is what the runner adds to a row's time bound: a
// build starts Packer, which starts the plugin.
const packerStartAllowance = 4 * time.Second

// tableRow is a row mapped onto a data block.
type tableRow struct {
	attrs   []string // the data block's attributes
	env     []string
	found   string // the image id the build hands on; "" when it must stop
	frag    string // in the diagnostic when it stops
	secrets func() []string
}

// runRow builds the row's data block, handing image_id and description to
// the provisioner, and checks the outcome.
func runRow(t *testing.T, in installation, row tableRow) (result, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "row.pkr.hcl")
	body := template(dir, block("x", row.attrs...), "image_id=data.alicloud-image-family.x.image_id", "description=data.alicloud-image-family.x.description")
	writeFile(t, file, body)
	start := time.Now()
	r := runPacker(t, in, run{dir: dir, env: row.env, args: []string{"build", "-color=false", file}, secrets: row.secrets})
	elapsed := time.Since(start)
	if row.found == "" {
		// The diagnostic is on the data block, the template's first line.
		failsOnDataBlock(t, r, "row.pkr.hcl line 1", row.frag)
	} else if r.code != 0 || r.outputs["image_id"] != row.found {
		t.Errorf("exit %d, image_id %q handed on; want exactly %q", r.code, r.outputs["image_id"], row.found)
	}
	return r, elapsed
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

// faultRow maps a row's credentials and settings onto the data block and
// the environment. max_retries is the row's attempt budget less one.
func faultRow(t *testing.T, w *world, row conformance.FaultRow) tableRow {
	t.Helper()
	var creds, env, secrets []string
	keys := func(id, secret, token string) {
		creds = []string{fmt.Sprintf("access_key = %q", id), fmt.Sprintf("secret_key = %q", secret), fmt.Sprintf("security_token = %q", token)}
		secrets = append(secrets, secret, token)
	}
	switch row.Credentials {
	case conformance.CredKeys:
		keys(keyID, keySecret, "")
	case conformance.CredWrongSecret:
		keys(keyID, conformance.FaultWrongSecret, "")
	case conformance.CredSTSWrongSecret:
		// The server's SignatureDoesNotMatch message echoes the token
		// percent-encoded twice; the scan looks for every encoding.
		id, _, token := assumeRole(t, w.emu)
		keys(id, conformance.FaultWrongSecret, token)
	case conformance.CredSTSExpired:
		id, secret, token := assumeRole(t, w.emu)
		w.emu.ExpireSessions()
		keys(id, secret, token)
	case conformance.CredSTSOtherToken:
		id, secret, _ := assumeRole(t, w.emu)
		_, _, other := assumeRole(t, w.emu)
		keys(id, secret, other)
	case conformance.CredOIDC:
		enc := base64.RawURLEncoding.EncodeToString
		claims := fmt.Sprintf(`{"aud":"sts.aliyuncs.com","sub":"repo:o/r:ref:refs/heads/main","exp":%d}`, time.Now().Add(time.Hour).Unix())
		token := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("oidc-matrix-signature"))
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, token)
		env = []string{
			"ALIBABA_CLOUD_ROLE_ARN=acs:ram::123456789012:role/github-oidc",
			"ALIBABA_CLOUD_OIDC_PROVIDER_ARN=acs:ram::123456789012:oidc-provider/github",
			"ALIBABA_CLOUD_OIDC_TOKEN_FILE=" + file,
		}
	default:
		t.Fatalf("row %q: credentials %d have no mapping in Packer's runner", row.Name, row.Credentials)
	}
	sts := w.emu.Endpoint()
	if row.STSUnreachable {
		sts = "127.0.0.1:1"
	}
	env = append(env, "SSL_CERT_FILE="+w.cert)
	if row.Untrusted {
		// A certificate file without the emulator's certificate (it comes
		// after the world's, so it wins).
		env = append(env, "SSL_CERT_FILE="+filepath.Join(t.TempDir(), "none.pem"))
	}
	timeout := "20s"
	if row.Timeout > 0 {
		timeout = row.Timeout.String()
	}
	attrs := append(creds, `region = "cn-hangzhou"`, `image_family = "web-base"`, fmt.Sprintf("custom_endpoint_ecs = %q", w.emu.Endpoint()),
		fmt.Sprintf("sts_endpoint = %q", sts), fmt.Sprintf("timeout = %q", timeout), fmt.Sprintf("max_retries = %d", row.MaxAttempts-1))
	tr := tableRow{attrs: attrs, env: env, frag: row.Fragment, secrets: func() []string { return append(secrets, w.seen()...) }}
	if row.Outcome == conformance.FaultFound {
		tr.found = "m-e2e-web-v2"
	}
	return tr
}

func TestFaultMatrixPacker(t *testing.T) {
	w := newWorld(t)
	for _, row := range conformance.Sample(conformance.FaultRows(), conformance.EndToEnd) {
		t.Run(row.Name, func(t *testing.T) {
			w.emu.ClearFaults()
			t.Cleanup(w.emu.ClearFaults)
			tr := faultRow(t, w, row)
			w.emu.Inject(row.Faults...)
			w.emu.ResetCounts()
			r, elapsed := runRow(t, w.in, tr)
			if row.Within > 0 && elapsed > row.Within+packerStartAllowance {
				t.Errorf("took %v, want at most %v", elapsed, row.Within+packerStartAllowance)
			}
			for action, want := range row.Requests {
				if got := w.emu.Requests(action); got != want {
					t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
				}
			}
			// The log holds the trace (so its scan means something) and
			// the retry lines, which Packer's UI never shows.
			if row.Requests[describeAction] > 0 && !strings.Contains(r.log, "Action=DescribeImageFromFamily") {
				t.Errorf("the PACKER_LOG file lacks the request trace")
			}
			if got := strings.Count(r.log, "retrying "); got != row.Retries || strings.Contains(r.out, "retrying ") {
				t.Errorf("%d retry lines in the PACKER_LOG file, want %d, and none in the UI", got, row.Retries)
			}
		})
	}
}
