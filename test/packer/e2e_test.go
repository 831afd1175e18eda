// Package packere2e runs a real Packer v1.15.1 with the plugin installed the
// way users install a local build (`packer plugins install --path`), against
// the ECS + STS emulator on loopback (in the test process, so the test sees
// every request) or the emulator process. Packer, the plugin and shell-local
// run as separate processes.
//
// Every Packer run goes through runPacker, which always writes PACKER_LOG to
// a file and checks the UI and that log the same way (checkSinks): printable
// text, no forged line start, no secret, no signed request. The tests then
// check only what their run maps: outputs, the diagnostic, request counts.
//
// Packer comes from scripts/tools.sh (built from the Go module proxy and
// cached). Without it these tests fail under CI and skip elsewhere.
package packere2e

import (
	"bytes"
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

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

const (
	packerVersion = "v1.15.1"
	source        = "github.com/imagefamily/alicloud-image-family"

	// testdata/fixture.json's keys and role.
	keyID     = "LTAIE2EPACKERKEY0001"
	keySecret = "e2e-secret-MUST-NOT-LEAK-0001"
	roleARN   = "acs:ram::123456789012:role/image-reader"
	// The demo fixture's keys (ecstest/testdata/demo-fixture.json).
	demoKeyID  = "LTAIDEMOACCESSKEYID0001"
	demoSecret = "demo-secret-NOT-A-REAL-SECRET-0001"
)

// knownSecrets are scanned for in every run's output and log.
var knownSecrets = []string{keySecret, demoSecret, hostileSecret, conformance.FaultWrongSecret, "pw-secret-123", "tok-only-123456"}

// forgedText is every text the hostile endpoints plant: no line of any
// run's output or log may start with it.
var forgedText = func() []string {
	var f []string
	for _, row := range conformance.HostileRows() {
		f = append(f, row.Forged...)
	}
	return f
}()

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
	packer := e2etest.Tool(t, "packer", packerVersion)
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
		bin := filepath.Join(in.binDir, "packer-plugin-alicloud-image-family")
		build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/packer-plugin-alicloud-image-family")
		build.Dir = e2etest.RepoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		installed = in
		cmd := exec.Command(packer, "plugins", "install", "--path", bin, source)
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

// result is one Packer run: its UI (stdout and stderr), the PACKER_LOG file
// (the plugin's log and redacted request trace) and the outputs the
// provisioner of a template made by template() wrote.
type result struct {
	stdout, stderr, log string
	out                 string // stdout and stderr
	code                int
	outputs             map[string]string
}

// run is what runPacker runs: args in dir with env (beside the minimal one
// and the log settings), and the secrets checkSinks looks for besides
// knownSecrets.
type run struct {
	dir     string
	env     []string
	args    []string
	secrets func() []string // read after the run
}

// runPacker runs Packer and checks its sinks.
func runPacker(t *testing.T, in installation, rn run) result {
	t.Helper()
	if rn.dir == "" {
		rn.dir = t.TempDir()
	}
	logPath := filepath.Join(t.TempDir(), "packer.log")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.packer, rn.args...)
	cmd.Dir = rn.dir
	cmd.Env = append(append(in.env(filepath.Join(rn.dir, "home")), "PACKER_LOG=1", "PACKER_LOG_PATH="+logPath), rn.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), outputs: map[string]string{}}
	r.out = r.stdout + r.stderr
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("packer %v: %v\n%s", rn.args, err, r.out)
		}
		r.code = ee.ExitCode()
	}
	if b, err := os.ReadFile(logPath); err == nil {
		r.log = string(b)
	} else {
		t.Errorf("PACKER_LOG_PATH file: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(rn.dir, "out", "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		r.outputs[filepath.Base(f)] = string(b)
	}
	var extra []string
	if rn.secrets != nil {
		extra = rn.secrets()
	}
	checkSinks(t, r, extra)
	if t.Failed() {
		t.Logf("packer %v: exit %d\n%s", rn.args, r.code, r.out)
	}
	return r
}

// unredactedSignature is a Signature parameter with anything but the
// trace's redaction after it.
var unredactedSignature = regexp.MustCompile(`Signature=($|[^\[])`)

// checkSinks holds for every run: the UI and the log are printable text in
// which no line starts with forged text, no secret shows in any encoding,
// and the signed request does not show.
func checkSinks(t *testing.T, r result, secrets []string) {
	t.Helper()
	scan := secretscan.New(knownSecrets...).Add(secrets...)
	for _, s := range []struct{ name, text string }{{"stdout", r.stdout}, {"stderr", r.stderr}, {"PACKER_LOG file", r.log}} {
		checkPrintable(t, s.name, s.text)
		scan.Check(t, s.name, s.text)
	}
	for _, leak := range []string{"Signature=", "SignatureNonce"} {
		if strings.Contains(r.out, leak) {
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
func checkPrintable(t *testing.T, what, text string) {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if !safetext.IsClean(strings.ReplaceAll(l, "\t", " ")) {
			t.Errorf("%s line %d holds a control or format character: %q", what, i+1, safetext.Excerpt(l, 300))
		}
		trimmed := strings.TrimLeft(l, " \t")
		for _, f := range forgedText {
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

// block is one data source block.
func block(name string, attrs ...string) string {
	return fmt.Sprintf("data \"alicloud-image-family\" %q {\n  %s\n}\n", name, strings.Join(attrs, "\n  "))
}

// template is the data blocks and a build of one null source whose
// shell-local provisioner writes each output ("name=expression") to
// out/name in dir, base64-encoded on the way and never through the shell's
// parser or Packer's UI, so that the files hold the exact values.
func template(dir, data string, outs ...string) string {
	cmds := []string{fmt.Sprintf(`"mkdir -p '%s'"`, filepath.Join(dir, "out"))}
	for _, o := range outs {
		name, expr, _ := strings.Cut(o, "=")
		cmds = append(cmds, fmt.Sprintf(`"printf '%%s' '${base64encode(%s)}' | base64 -d > '%s'"`, expr, filepath.Join(dir, "out", name)))
	}
	return data + fmt.Sprintf(`
source "null" "x" {
  communicator = "none"
}

build {
  sources = ["source.null.x"]
  provisioner "shell-local" {
    inline = [%s]
  }
}
`, strings.Join(cmds, ", "))
}

// world is one in-process emulator and a way to run Packer against it.
type world struct {
	in          installation
	emu         *ecstest.Server
	cert        string
	key, secret string
}

// newWorld serves testdata/fixture.json: web-base in cn-hangzhou
// (m-e2e-web-v2 and a newer one still Creating) and in cn-shanghai.
func newWorld(t *testing.T) *world {
	t.Helper()
	return startWorld(t, "testdata/fixture.json", keyID, keySecret)
}

// newDemoWorld serves the demo fixture, its dates as written: web-base in
// cn-hangzhou (m-bp1demowebbase000003) and its copy in cn-shanghai
// (m-uf6demowebbase000003), app-server in cn-shanghai, cn-beijing empty,
// and the shared and public families.
func newDemoWorld(t *testing.T) *world {
	t.Helper()
	fixture := filepath.Join(t.TempDir(), "demo-fixture.json")
	if err := os.WriteFile(fixture, ecstest.DemoFixtureAsWritten, 0o600); err != nil {
		t.Fatal(err)
	}
	return startWorld(t, fixture, demoKeyID, demoSecret)
}

func startWorld(t *testing.T, fixture, key, secret string) *world {
	in := install(t)
	// The plugin trusts the emulator through SSL_CERT_FILE, as a user
	// behind a TLS-inspecting proxy would.
	emu, cert := e2etest.Emulator(t, fixture)
	return &world{in: in, emu: emu, cert: cert, key: key, secret: secret}
}

// conn are the attributes that point a data block at the emulator with the
// world's keys.
func (w *world) conn() string {
	return fmt.Sprintf("access_key = %q\n  secret_key = %q\n  custom_endpoint_ecs = %q\n  sts_endpoint = %q\n  timeout = \"20s\"",
		w.key, w.secret, w.emu.Endpoint(), w.emu.Endpoint())
}

// seen are the last signatures and security tokens the emulator saw, for
// the sink check.
func (w *world) seen() []string {
	var s []string
	for _, a := range []string{"DescribeImageFromFamily", "AssumeRole", "ModifyImageAttribute", ""} {
		p := w.emu.LastRequest(a).Params
		s = append(s, p.Get("Signature"), p.Get("SecurityToken"))
	}
	return s
}

// packer runs Packer in dir trusting the emulator.
func (w *world) packer(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runPacker(t, w.in, run{dir: dir, env: append([]string{"SSL_CERT_FILE=" + w.cert}, env...), args: args, secrets: w.seen})
}

// build writes template(data, outs) and runs `packer build` on it.
func (w *world) build(t *testing.T, env []string, data string, outs ...string) result {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "build.pkr.hcl")
	writeFile(t, file, template(dir, data, outs...))
	return w.packer(t, dir, env, "build", "-color=false", file)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSucceed(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s failed with exit code %d:\n%s", what, r.code, r.out)
	}
}

// failsOnDataBlock checks that the build stopped with a diagnostic on a
// data block holding every fragment, before the provisioner ran.
func failsOnDataBlock(t *testing.T, r result, frags ...string) {
	t.Helper()
	if r.code == 0 || len(r.outputs) != 0 {
		t.Errorf("the build did not stop at the data block (exit %d, outputs %v)", r.code, r.outputs)
	}
	for _, f := range append([]string{"Error:", ".pkr.hcl line "}, frags...) {
		if !strings.Contains(r.out, f) {
			t.Errorf("Packer's output lacks %q", f)
		}
	}
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
	build.Dir = e2etest.RepoRoot(t)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build packer-sdc: %v\n%s", err, b)
	}
	check := exec.Command(sdc, "plugin-check", "packer-plugin-alicloud-image-family")
	check.Dir = in.binDir
	if b, err := check.CombinedOutput(); err != nil {
		t.Fatalf("packer-sdc plugin-check: %v\n%s", err, b)
	}
}

// Every output attribute reaches the template, from one lookup, with the
// credentials of an assumed role; the plugin's trace is in the log (and
// checkSinks finds neither the role's security token nor a signature).
func TestBuildPrintsOutputs(t *testing.T) {
	w := newWorld(t)
	img := "data.alicloud-image-family.base."
	r := w.build(t, nil, block("base", `region = "cn-hangzhou"`, `image_family = "web-base"`, "ram_role_arn = "+fmt.Sprintf("%q", roleARN), w.conn()),
		"image_id="+img+"image_id", "image_name="+img+"image_name", "image_family="+img+"image_family",
		"image_version="+img+"image_version", "creation_time="+img+"creation_time", "status="+img+"status",
		"architecture="+img+"architecture", "os_type="+img+"os_type", "os_name_en="+img+"os_name_en",
		"platform="+img+"platform", "boot_mode="+img+"boot_mode", "size_plus_one="+img+"size + 1",
		"is_self_shared="+img+"is_self_shared", "is_support_cloudinit="+img+"is_support_cloudinit",
		"usage="+img+"usage", "region="+img+"region", "tag_build=lookup("+img+`tags, "build", "none")`,
		"tag_count=length("+img+"tags)", "disk_count=length("+img+"disk_device_mappings)",
		"disk_snapshots=join(\",\", "+img+"disk_device_mappings[*].snapshot_id)")
	mustSucceed(t, r, "packer build")
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
		if r.outputs[k] != v {
			t.Errorf("%s = %q, want %q", k, r.outputs[k], v)
		}
	}
	// One build, one lookup: Packer evaluates the data source once.
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 1 {
		t.Errorf("%d DescribeImageFromFamily requests for one build, want 1", n)
	}
	if w.emu.LastRequest("DescribeImageFromFamily").Params.Get("SecurityToken") == "" {
		t.Error("the lookup did not use the assumed role's credentials (no SecurityToken)")
	}
	// The trace must be in the log, or the sink check proves nothing.
	for _, s := range []string{"Action=AssumeRole", "Action=DescribeImageFromFamily", "SecurityToken=[REDACTED]", "resolved to m-e2e-web-v2"} {
		if !strings.Contains(r.log, s) {
			t.Errorf("the PACKER_LOG file lacks %q", s)
		}
	}
}

// A data source whose family comes from another data source's output:
// `packer validate` without credentials works offline (the second family is
// an unknown placeholder then); the build resolves both in order.
func TestChainedValidateThenBuild(t *testing.T) {
	w := newWorld(t)
	chain := func(conn string) string {
		return block("hangzhou", `region = "cn-hangzhou"`, `image_family = "web-base"`, conn) +
			block("shanghai", `region = "cn-shanghai"`, "image_family = data.alicloud-image-family.hangzhou.image_family", conn)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "chain.pkr.hcl")
	offline := fmt.Sprintf("custom_endpoint_ecs = %q", w.emu.Endpoint())
	writeFile(t, file, template(dir, chain(offline), "x=data.alicloud-image-family.shanghai.image_id"))
	r := w.packer(t, dir, nil, "validate", file)
	if r.code != 0 || !strings.Contains(r.out, "The configuration is valid") {
		t.Fatalf("packer validate: exit %d\n%s", r.code, r.out)
	}
	if n := w.emu.Requests(""); n != 0 {
		t.Fatalf("packer validate sent %d requests; Configure must work offline", n)
	}
	r = w.build(t, nil, chain(w.conn()), "hangzhou=data.alicloud-image-family.hangzhou.image_id",
		"shanghai=data.alicloud-image-family.shanghai.image_id", "copied=data.alicloud-image-family.shanghai.is_copied")
	mustSucceed(t, r, "packer build of a chained data source")
	if o := r.outputs; o["hangzhou"] != "m-e2e-web-v2" || o["shanghai"] != "m-e2e-web-sh-v2" || o["copied"] != "true" {
		t.Fatalf("outputs %v", o)
	}
}
