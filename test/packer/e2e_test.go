// Package packere2e runs a real Packer v1.15.1 with the plugin installed the
// way users install a local build (`packer plugins install --path`), against
// the ECS + STS emulator on loopback. Packer, the plugin and shell-local run
// as separate processes; the emulator runs in the test process so that the
// test can see every request (counts, the security token the plugin used).
//
// Packer comes from scripts/tools.sh (built from the Go module proxy and
// cached). Without it these tests fail under CI and skip elsewhere.
package packere2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

const (
	packerVersion = "v1.15.1"
	source        = "github.com/imagefamily/alicloud-image-family"

	keyID        = "LTAIE2EPACKERKEY0001"
	keySecret    = "e2e-secret-MUST-NOT-LEAK-0001"
	deniedID     = "LTAIE2EDENIEDKEY0002"
	deniedSecret = "e2e-secret-MUST-NOT-LEAK-0002"
	roleARN      = "acs:ram::123456789012:role/image-reader"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// packerBinary is Packer v1.15.1 as scripts/tools.sh builds it (see
// e2etest.Tool).
func packerBinary(t *testing.T) string {
	t.Helper()
	return e2etest.Tool(t, "packer", packerVersion)
}

// installation is the plugin built from this tree, installed with
// `packer plugins install --path` into a plugin directory of its own.
type installation struct {
	packer     string
	binDir     string // holds packer-plugin-alicloud-image-family
	pluginPath string // PACKER_PLUGIN_PATH
	configDir  string // PACKER_CONFIG_DIR
}

var (
	installOnce sync.Once
	installed   installation
	installErr  error
	installDir  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "packer-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	installDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func install(t *testing.T) installation {
	t.Helper()
	packer := packerBinary(t)
	installOnce.Do(func() {
		in := installation{
			packer:     packer,
			binDir:     filepath.Join(installDir, "bin"),
			pluginPath: filepath.Join(installDir, "plugins"),
			configDir:  filepath.Join(installDir, "config"),
		}
		for _, d := range []string{in.binDir, in.pluginPath, in.configDir} {
			if installErr = os.MkdirAll(d, 0o755); installErr != nil {
				return
			}
		}
		build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(in.binDir, "packer-plugin-alicloud-image-family"), "./cmd/packer-plugin-alicloud-image-family")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		installed = in
		cmd := exec.Command(packer, "plugins", "install", "--path", filepath.Join(in.binDir, "packer-plugin-alicloud-image-family"), source)
		cmd.Env = in.env(filepath.Join(installDir, "home"))
		if out, err := cmd.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("packer plugins install --path: %v\n%s", err, out)
		}
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
	return installed
}

// env is a minimal environment: nothing from the machine that could supply
// credentials, a region or a proxy by accident.
func (in installation) env(home string) []string {
	os.MkdirAll(home, 0o755)
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"PACKER_PLUGIN_PATH=" + in.pluginPath,
		"PACKER_CONFIG_DIR=" + in.configDir,
		"CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
		// Loopback is never proxied (the SDK honours HTTPS_PROXY).
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// world is one emulator and a way to run Packer against it.
type world struct {
	t    *testing.T
	in   installation
	emu  *ecstest.Server
	cert string
	home string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	in := install(t)
	// The plugin runs in its own process and trusts the emulator through
	// SSL_CERT_FILE, as a user behind a TLS-inspecting proxy would.
	emu, cert := e2etest.Emulator(t, "testdata/fixture.json")
	return &world{t: t, in: in, emu: emu, cert: cert, home: t.TempDir()}
}

type result struct {
	out  string
	code int
}

// packer runs one Packer command in the test's working directory with the
// plugin installed and the emulator trusted.
func (w *world) packer(extraEnv []string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.in.packer, args...)
	cmd.Env = append(append(w.in.env(w.home), "SSL_CERT_FILE="+w.cert), extraEnv...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			w.t.Fatalf("packer %v: %v\n%s", args, err, out)
		}
		code = ee.ExitCode()
	}
	return result{out: string(out), code: code}
}

// vars are the -var flags of testdata/build.pkr.hcl.
func (w *world) vars(kv ...string) []string {
	args := []string{"-var", "endpoint=" + w.emu.URL}
	for i := 0; i+1 < len(kv); i += 2 {
		args = append(args, "-var", kv[i]+"="+kv[i+1])
	}
	return args
}

var withKeys = []string{"access_key", keyID, "secret_key", keySecret}

func (w *world) build(kv ...string) result {
	w.t.Helper()
	args := append([]string{"build", "-color=false"}, w.vars(kv...)...)
	return w.packer(nil, append(args, "testdata/build.pkr.hcl")...)
}

// outputs reads the `OUT key=value` lines the provisioner prints.
func outputs(out string) map[string]string {
	m := map[string]string{}
	re := regexp.MustCompile(`OUT ([a-z_]+)=(.*)$`)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if g := re.FindStringSubmatch(strings.TrimRight(sc.Text(), "\r")); g != nil {
			m[g[1]] = g[2]
		}
	}
	return m
}

func mustSucceed(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s failed with exit code %d:\n%s", what, r.code, r.out)
	}
}

// dataBlockLine is where the data block starts in the template, which is
// where Packer anchors the data source's diagnostics.
func dataBlockLine(t *testing.T, template string) int {
	t.Helper()
	b, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, `data "alicloud-image-family"`) {
			return i + 1
		}
	}
	t.Fatalf("no data block in %s", template)
	return 0
}

// noSecrets scans Packer's output (which holds the plugin's log under
// PACKER_LOG) for the fixture's secrets and the given ones, in every
// encoding a server message or trace could carry them in.
func noSecrets(t *testing.T, out string, secrets ...string) {
	t.Helper()
	secretscan.New(keySecret, deniedSecret).Add(secrets...).Check(t, "Packer's output", out)
}

func TestPluginDescribeAndCheck(t *testing.T) {
	in := install(t)
	bin := filepath.Join(in.binDir, "packer-plugin-alicloud-image-family")
	out, err := exec.Command(bin, "describe").Output()
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	var desc struct {
		Version        string   `json:"version"`
		APIVersion     string   `json:"api_version"`
		Datasources    []string `json:"datasources"`
		PostProcessors []string `json:"post_processors"`
	}
	if err := json.Unmarshal(out, &desc); err != nil {
		t.Fatalf("describe output %q: %v", out, err)
	}
	if desc.APIVersion != "x5.0" || desc.Version != version.String() || len(desc.Datasources) != 1 || desc.Datasources[0] != "-packer-default-plugin-name-" ||
		len(desc.PostProcessors) != 1 || desc.PostProcessors[0] != "-packer-default-plugin-name-" {
		t.Fatalf("describe = %s", out)
	}
	// packer-sdc plugin-check, built from the pinned SDK, on the binary by
	// its release name.
	sdc := filepath.Join(in.binDir, "packer-sdc")
	build := exec.Command("go", "build", "-o", sdc, "github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc")
	build.Dir = repoRoot(t)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build packer-sdc: %v\n%s", err, b)
	}
	check := exec.Command(sdc, "plugin-check", "packer-plugin-alicloud-image-family")
	check.Dir = in.binDir
	if b, err := check.CombinedOutput(); err != nil {
		t.Fatalf("packer-sdc plugin-check: %v\n%s", err, b)
	}
}

func TestBuildPrintsOutputs(t *testing.T) {
	w := newWorld(t)
	r := w.build(withKeys...)
	mustSucceed(t, r, "packer build")
	got := outputs(r.out)
	want := map[string]string{
		// m-e2e-web-v3-creating is newer but still Creating.
		"image_id": "m-e2e-web-v2", "image_name": "web-base-v2", "image_family": "web-base",
		"image_version": "2", "creation_time": "2024-02-10T02:00:00Z", "status": "Available",
		"architecture": "x86_64", "os_type": "linux", "os_name_en": "Ubuntu 22.04 64 bit",
		"platform": "Ubuntu", "boot_mode": "UEFI", "size_plus_one": "41", "is_self_shared": "true",
		"is_support_cloudinit": "true", "usage": "instance", "region": "cn-hangzhou",
		"tag_build": "2", "tag_count": "2", "disk_count": "2", "disk_snapshots": "s-e2e-sys-2,s-e2e-data-2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if t.Failed() {
		t.Logf("packer output:\n%s", r.out)
	}
	// One build, one lookup: Packer evaluates the data source once.
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 1 {
		t.Errorf("%d DescribeImageFromFamily requests for one build, want 1", n)
	}
	noSecrets(t, r.out)
}

func TestNewerImageIsPickedAndCreatingNever(t *testing.T) {
	w := newWorld(t)
	id := func() string {
		t.Helper()
		r := w.build(withKeys...)
		mustSucceed(t, r, "packer build")
		return outputs(r.out)["image_id"]
	}
	if got := id(); got != "m-e2e-web-v2" {
		t.Fatalf("first run picked %q, want m-e2e-web-v2", got)
	}
	newer := image("m-e2e-web-v4", "2024-04-01T00:00:00Z", "Available")
	w.emu.AddImage("cn-hangzhou", newer)
	if got := id(); got != "m-e2e-web-v4" {
		t.Fatalf("after a newer image joined the family the build picked %q, want m-e2e-web-v4", got)
	}
	w.emu.AddImage("cn-hangzhou", image("m-e2e-web-v5", "2024-05-01T00:00:00Z", "Creating"))
	if got := id(); got != "m-e2e-web-v4" {
		t.Fatalf("with a newer image still Creating the build picked %q, want m-e2e-web-v4", got)
	}
	w.emu.SetImageStatus("cn-hangzhou", "m-e2e-web-v5", "Available")
	if got := id(); got != "m-e2e-web-v5" {
		t.Fatalf("once the image is Available the build picked %q, want m-e2e-web-v5", got)
	}
}

func image(id, created, status string) ecs.Image {
	var im ecs.Image
	im.ImageId, im.ImageName, im.ImageFamily = id, id, "web-base"
	im.CreationTime, im.Status, im.Progress = created, status, "100%"
	im.Architecture, im.OSType, im.Size, im.IsSelfShared = "x86_64", "linux", 40, "false"
	return im
}

func TestValidateWithoutCredentials(t *testing.T) {
	w := newWorld(t)
	// No keys anywhere: the environment is minimal and the template's key
	// variables are empty. Configure must not need them, nor the network.
	r := w.packer(nil, append(append([]string{"validate"}, w.vars()...), "testdata/build.pkr.hcl")...)
	mustSucceed(t, r, "packer validate")
	if !strings.Contains(r.out, "The configuration is valid") {
		t.Fatalf("packer validate output:\n%s", r.out)
	}
	// A data source whose family comes from another data source's output:
	// during validate the value is an unknown placeholder.
	r = w.packer(nil, "validate", "-var", "endpoint="+w.emu.URL, "testdata/chain.pkr.hcl")
	mustSucceed(t, r, "packer validate of a chained data source")
	if n := w.emu.Requests(""); n != 0 {
		t.Fatalf("packer validate sent %d requests; Configure must work offline", n)
	}
	// Offline checks still run: an invalid family is reported by validate.
	r = w.packer(nil, append(append([]string{"validate"}, w.vars("family", "aliyun-base")...), "testdata/build.pkr.hcl")...)
	if r.code == 0 || !strings.Contains(r.out, `invalid image_family "aliyun-base"`) {
		t.Fatalf("validate of an invalid family: exit %d\n%s", r.code, r.out)
	}
	if n := w.emu.Requests(""); n != 0 {
		t.Fatalf("an invalid family sent %d requests", n)
	}
}

func TestValidateEvaluateDatasources(t *testing.T) {
	w := newWorld(t)
	args := append([]string{"validate", "-evaluate-datasources"}, w.vars(withKeys...)...)
	r := w.packer(nil, append(args, "testdata/build.pkr.hcl")...)
	mustSucceed(t, r, "packer validate -evaluate-datasources")
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 1 {
		t.Fatalf("-evaluate-datasources sent %d lookups, want 1", n)
	}
	// The chained template resolves both data sources in order.
	r = w.packer(nil, "validate", "-evaluate-datasources", "-var", "endpoint="+w.emu.URL,
		"-var", "access_key="+keyID, "-var", "secret_key="+keySecret, "testdata/chain.pkr.hcl")
	mustSucceed(t, r, "packer validate -evaluate-datasources of a chained data source")
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 3 {
		t.Fatalf("%d lookups after the chained template, want 3", n)
	}
	// Without credentials the evaluation fails with the core's explanation.
	args = append([]string{"validate", "-evaluate-datasources"}, w.vars()...)
	r = w.packer(nil, append(args, "testdata/build.pkr.hcl")...)
	if r.code == 0 || !strings.Contains(r.out, "no Alibaba Cloud credentials found") ||
		!strings.Contains(r.out, `"web-base"`) || !strings.Contains(r.out, "cn-hangzhou") {
		t.Fatalf("-evaluate-datasources without credentials: exit %d\n%s", r.code, r.out)
	}
}

func TestChainedBuild(t *testing.T) {
	w := newWorld(t)
	r := w.packer(nil, "build", "-color=false", "-var", "endpoint="+w.emu.URL,
		"-var", "access_key="+keyID, "-var", "secret_key="+keySecret, "testdata/chain.pkr.hcl")
	mustSucceed(t, r, "packer build of a chained data source")
	got := outputs(r.out)
	if got["hangzhou"] != "m-e2e-web-v2" || got["shanghai"] != "m-e2e-web-sh-v2" || got["shanghai_copied"] != "true" {
		t.Fatalf("outputs %v\n%s", got, r.out)
	}
}

// Each error path stops the build with Packer's own diagnostic on the data
// block, naming family, region, cause and RequestId.
func TestErrorPaths(t *testing.T) {
	w := newWorld(t)
	line := fmt.Sprintf("build.pkr.hcl line %d", dataBlockLine(t, "testdata/build.pkr.hcl"))
	rid := regexp.MustCompile(`RequestId [0-9A-F-]{36}`)
	cases := []struct {
		name      string
		vars      []string
		want      []string
		noRequest bool // rejected before anything is sent
	}{
		{"missing image", append([]string{"family", "no-such-family"}, withKeys...),
			[]string{`no available image in family "no-such-family" in region cn-hangzhou`}, false},
		{"image only in another region", append([]string{"family", "arm-base", "region", "cn-shanghai"}, withKeys...),
			[]string{`no available image in family "arm-base" in region cn-shanghai`, "another region"}, false},
		{"denied credential", []string{"access_key", deniedID, "secret_key", deniedSecret},
			[]string{`for family "web-base" in region cn-hangzhou`, "InvalidUser.Unauthorized", "ecs:DescribeImageFromFamily"}, false},
		{"wrong secret", []string{"access_key", keyID, "secret_key", "e2e-wrong-secret-0003"},
			[]string{`for family "web-base" in region cn-hangzhou`, "SignatureDoesNotMatch"}, false},
		{"unknown region", append([]string{"region", "cn-nowhere-1"}, withKeys...),
			[]string{`for family "web-base" in region cn-nowhere-1`, "InvalidRegionId.NotFound"}, false},
		{"invalid family", append([]string{"family", "web/base"}, withKeys...),
			[]string{`invalid image_family "web/base"`, `"/"`}, true},
		{"architecture guard", append([]string{"architecture", "arm64"}, withKeys...),
			[]string{`image family "web-base" in region cn-hangzhou resolved to m-e2e-web-v2`, `fails the architecture guard: expected "arm64", found "x86_64"`}, false},
		{"os_type guard", append([]string{"os_type", "windows"}, withKeys...),
			[]string{`resolved to m-e2e-web-v2`, `fails the os_type guard: expected "windows", found "linux"`}, false},
		{"max_age guard", append([]string{"max_age", "30d"}, withKeys...),
			[]string{`resolved to m-e2e-web-v2`, "fails the max_age guard: expected an image at most 30d old, found one", "created 2024-02-10T02:00:00Z"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.emu.ResetCounts()
			r := w.build(tc.vars...)
			if r.code == 0 {
				t.Fatalf("the build succeeded:\n%s", r.out)
			}
			want := append([]string{"Error:", line}, tc.want...)
			for _, s := range want {
				if !strings.Contains(r.out, s) {
					t.Errorf("output does not contain %q", s)
				}
			}
			if tc.noRequest {
				if n := w.emu.Requests(""); n != 0 {
					t.Errorf("%d requests sent for input that is invalid offline", n)
				}
			} else if !rid.MatchString(r.out) {
				t.Errorf("output does not name the RequestId")
			}
			// The provisioner must not have run.
			if strings.Contains(r.out, "OUT image_id=") {
				t.Errorf("the build went on after the data source failed")
			}
			noSecrets(t, r.out, "e2e-wrong-secret-0003")
			if t.Failed() {
				t.Logf("packer output:\n%s", r.out)
			}
		})
	}
}

// With PACKER_LOG=1 Packer copies the plugin's log, including the redacted
// request trace, into its own output. No secret may be in it: not the access
// key secret, not the security token of the assumed role, not a signature.
func TestPackerLogHasNoSecrets(t *testing.T) {
	w := newWorld(t)
	env := []string{"PACKER_LOG=1"}
	args := append([]string{"build", "-color=false"}, w.vars(append([]string{"ram_role_arn", roleARN}, withKeys...)...)...)
	r := w.packer(env, append(args, "testdata/build.pkr.hcl")...)
	mustSucceed(t, r, "packer build with PACKER_LOG=1")
	rec := w.emu.LastRequest("DescribeImageFromFamily")
	token := rec.Params.Get("SecurityToken")
	if token == "" {
		t.Fatal("the lookup did not use the assumed role's credentials (no SecurityToken)")
	}
	// The trace must be there, or this test proves nothing.
	for _, s := range []string{"Action=AssumeRole", "Action=DescribeImageFromFamily", "SecurityToken=[REDACTED]", "resolved to m-e2e-web-v2"} {
		if !strings.Contains(r.out, s) {
			t.Errorf("PACKER_LOG output lacks %q", s)
		}
	}
	noSecrets(t, r.out, token, rec.Params.Get("Signature"), w.emu.LastRequest("AssumeRole").Params.Get("Signature"))

	// An error path under PACKER_LOG: the server's SignatureDoesNotMatch
	// message echoes the string to sign; the wrong secret must not show.
	args = append([]string{"build", "-color=false"}, w.vars("access_key", keyID, "secret_key", "e2e-wrong-secret-0003")...)
	r = w.packer(env, append(args, "testdata/build.pkr.hcl")...)
	if r.code == 0 || !strings.Contains(r.out, "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret under PACKER_LOG: exit %d\n%s", r.code, r.out)
	}
	noSecrets(t, r.out, "e2e-wrong-secret-0003")
}

func TestExamplesValidate(t *testing.T) {
	w := newWorld(t)
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "example", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(d), func(t *testing.T) {
			r := w.packer(nil, "validate", d)
			mustSucceed(t, r, "packer validate "+d)
			r = w.packer(nil, "fmt", "-check", d)
			if r.code != 0 {
				t.Errorf("packer fmt -check %s:\n%s", d, r.out)
			}
		})
	}
	if n == 0 {
		t.Fatal("no example templates found")
	}
	if n := w.emu.Requests(""); n != 0 {
		t.Fatalf("validating the examples sent %d requests", n)
	}
}
