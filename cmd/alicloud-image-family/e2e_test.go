package main

// End-to-end tests: the real CLI binary against the emulator running as a
// separate process (the same binary's `emulator` subcommand) over TLS, with
// the emulator's certificate trusted through SSL_CERT_FILE exactly as a user
// would do it.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/emulatorproc"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// cliBinary is the CLI built once per test run.
func cliBinary(t *testing.T) string {
	t.Helper()
	return e2etest.CLI(t)
}

type emulatorProcess struct {
	URL      string // the ready file's url: scheme://127.0.0.1:PORT
	Endpoint string // the ready file's endpoint: 127.0.0.1:PORT
	CertFile string
	Control  *emulatorproc.Control
	dir      string
}

// startEmulator runs `alicloud-image-family emulator` with the demo fixture
// (its dates as written: the tests compare creation times) over TLS and
// waits for its ready file.
func startEmulator(t *testing.T, extra ...string) *emulatorProcess {
	t.Helper()
	return startEmulatorProcess(t, ecstest.DemoFixtureAsWritten, true, extra...)
}

// startEmulatorProcess runs the emulator process with a fixture of the
// test's, over TLS or plain HTTP.
func startEmulatorProcess(t *testing.T, fixtureJSON []byte, useTLS bool, extra ...string) *emulatorProcess {
	t.Helper()
	bin := cliBinary(t)
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(fixture, fixtureJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready.json")
	args := []string{"emulator", "--fixture", fixture, "--ready-file", ready}
	if useTLS {
		args = append(args, "--tls", "--cert-file", filepath.Join(dir, "cert.pem"))
	}
	args = append(args, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(ready)
		if err == nil {
			var info emulatorproc.ReadyInfo
			if err := json.Unmarshal(data, &info); err != nil {
				t.Fatal(err)
			}
			e := &emulatorProcess{URL: info.URL, Endpoint: info.Endpoint, CertFile: info.CertFile, dir: dir}
			ctl, err := emulatorproc.NewControl(info.URL, info.CertFile)
			if err != nil {
				t.Fatal(err)
			}
			e.Control = ctl
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not become ready: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type run struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// runCLI runs the binary (command) and checks its sinks (checkSinks).
func runCLI(t *testing.T, e *emulatorProcess, env map[string]string, args ...string) run {
	t.Helper()
	return runBinary(t, cliBinary(t), e, env, args...)
}

// runBinary is runCLI with another build of the CLI.
func runBinary(t *testing.T, bin string, e *emulatorProcess, env map[string]string, args ...string) run {
	t.Helper()
	return runBinaryInput(t, bin, e, env, "", args...)
}

// command is the binary with only the environment given plus PATH, a
// temporary HOME, NO_PROXY for loopback and the emulator's certificate, so
// nothing from the developer's shell takes part.
func command(t *testing.T, bin string, e *emulatorProcess, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_PROXY=127.0.0.1,localhost", "SSL_CERT_FILE=" + e.CertFile}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// runBinaryInput is runBinary with stdin; the secrets of a JSON query on
// stdin (secret_key, security_token) are scanned for as well.
func runBinaryInput(t *testing.T, bin string, e *emulatorProcess, env map[string]string, stdin string, args ...string) run {
	t.Helper()
	cmd := command(t, bin, e, env, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	// Every secret the run was given, wherever it came from, plus the
	// fixture's secrets, in every encoding a server message could echo.
	scan := secretscan.New(demoSecret, "demo-secret-NOT-A-REAL-SECRET-0002", "wrong-secret-value-xyz")
	var query map[string]any // a terraform-external query: its secrets too
	_ = json.Unmarshal([]byte(stdin), &query)
	for k, v := range query {
		if s, ok := v.(string); ok && s != "" && (strings.Contains(k, "secret") || strings.Contains(k, "token")) {
			scan.Add(s)
		}
	}
	for k, v := range env {
		if strings.Contains(k, "SECRET") || (strings.Contains(k, "TOKEN") && !strings.HasSuffix(k, "_FILE")) {
			scan.Add(v)
		}
	}
	if f := env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"]; f != "" {
		if b, err := os.ReadFile(f); err == nil {
			scan.Add(strings.TrimSpace(string(b)))
		}
	}
	scan.Check(t, fmt.Sprintf("stdout of %v", args), r.stdout)
	scan.Check(t, fmt.Sprintf("stderr of %v", args), r.stderr)
	checkSinks(t, args, r)
	return r
}

// checkSinks holds for every run of the binary, whatever it was asked:
// nothing crashed; only printable UTF-8 text, line breaks and tabs reach
// the terminal; no line forges a runner's workflow command ("::", the
// action's own commands aside) and "##[" shows only in the exact --output
// text; the signed request shows only in a --debug trace; stdout parses as
// its mode says.
func checkSinks(t *testing.T, args []string, r run) {
	t.Helper()
	cmd, output := "", "id"
	for i, a := range args {
		if i == 0 {
			cmd = a
		}
		if a == "--output" && i+1 < len(args) {
			output = args[i+1]
		}
	}
	for _, crash := range []string{"panic:", "fatal error:", "goroutine ", "[running]"} {
		if strings.Contains(r.stderr, crash) {
			t.Errorf("%v: the binary crashed (%q on stderr):\n%s", args, crash, r.stderr)
		}
	}
	for name, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if i := strings.IndexFunc(text, func(c rune) bool { return c != '\n' && c != '\t' && !unicode.IsPrint(c) }); i >= 0 || !utf8.ValidString(text) {
			t.Errorf("%v: %s holds a control character or invalid UTF-8 (at %d): %.300q", args, name, i, text[max(i, 0):])
		}
		if exact := name == "stdout" && cmd == "resolve" && output == "text"; strings.Contains(text, "##[") && !exact {
			t.Errorf("%v: %s holds the runner's legacy command prefix \"##[\"", args, name)
		}
		for _, leak := range []string{"Signature=", "SignatureNonce"} {
			if strings.Contains(text, leak) && !slices.Contains(args, "--debug") { // a trace shows the request, secrets redacted
				t.Errorf("%v: %s holds the signed request (%q)", args, name, leak)
			}
		}
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimLeft(line, " \t")
			own := name == "stdout" && cmd == "action" && (strings.HasPrefix(line, "::error title=") || strings.HasPrefix(line, "::add-mask::") ||
				strings.HasPrefix(line, "::warning") || strings.HasPrefix(line, "::notice"))
			if strings.HasPrefix(line, "::") && !own {
				t.Errorf("%v: a line of %s starts a workflow command: %q", args, name, line)
			}
		}
	}
	if r.stdout == "" || cmd == "action" {
		return
	}
	if !strings.HasSuffix(r.stdout, "\n") {
		t.Errorf("%v: stdout does not end with a line break", args)
	}
	switch {
	case cmd == "terraform-external":
		var answer map[string]string
		if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil {
			t.Errorf("%v: stdout is not one JSON object of strings: %v", args, err)
		}
	case output == "json":
		if !json.Valid([]byte(r.stdout)) {
			t.Errorf("%v: stdout is not JSON: %.300q", args, r.stdout)
		}
	case output == "dotenv":
		gitlabDotenv(t, r.stdout)
	case output == "text" && cmd == "resolve":
		parseText(t, r.stdout)
	default: // ids, or outcome lines: words separated by tabs
		for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
			if f := strings.Split(line, "\t"); len(f) > 3 || slices.Contains(f, "") || strings.ContainsRune(line, ' ') {
				t.Errorf("%v: stdout line %q is not tab-separated words", args, line)
			}
		}
	}
}

var demoEnv = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": demoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": demoSecret}

// resolveArgs points resolve at the emulator, in cn-hangzhou unless the
// test names a region.
func resolveArgs(e *emulatorProcess, extra ...string) []string {
	args := []string{"resolve", "--endpoint", e.Endpoint, "--sts-endpoint", e.Endpoint}
	if !slices.Contains(extra, "--region") {
		args = append(args, "--region", "cn-hangzhou")
	}
	return append(args, extra...)
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func jwt(claims map[string]any) string {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	return enc(map[string]string{"alg": "RS256"}) + "." + enc(claims) + ".c2ln"
}

// One run per outcome class and credential flag of resolve; the fault rows
// (TestFaultMatrixCLI) cover the failures of the network and of the keys,
// imagefamily's TestResolveErrors the API's errors (unknown region, denied,
// unknown key).
func TestE2EResults(t *testing.T) {
	e := startEmulator(t)
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		code  int
		out   string   // exact stdout, when set
		frags []string // stderr fragments
	}{
		{"found", demoEnv, []string{"--image-family", "web-base"}, 0, wantNewest + "\n", nil},
		{"not found", demoEnv, []string{"--image-family", "no-such-family"}, 3, "", []string{`"no-such-family"`, "cn-hangzhou", "RequestId"}},
		{"ECS instance RAM role", nil, []string{"--image-family", "web-base", "--ram-role-name", "ecs-image-reader", "--metadata-endpoint", "https://" + e.Endpoint}, 0, wantNewest + "\n", nil},
		{"role not attached to the instance", nil, []string{"--image-family", "web-base", "--ram-role-name", "image-reader", "--metadata-endpoint", "https://" + e.Endpoint}, 1, "", []string{`ECS instance RAM role "image-reader"`}},
		{"STS-issued credentials", demoEnv, []string{"--image-family", "web-base", "--role-arn", "acs:ram::123456789012:role/image-reader"}, 0, wantNewest + "\n", nil},
		{"DEBUG=sdk keeps stdout clean", with(demoEnv, "DEBUG", "sdk"), []string{"--image-family", "web-base"}, 0, wantNewest + "\n", nil},
	}
	for _, c := range cases {
		r := runCLI(t, e, c.env, resolveArgs(e, c.args...)...)
		if r.code != c.code || (c.out != "" && r.stdout != c.out) || (c.code != 0 && r.stdout != "") {
			t.Errorf("%s: code=%d stdout=%q stderr=%q", c.name, r.code, r.stdout, r.stderr)
		}
		for _, f := range c.frags {
			if !strings.Contains(r.stderr, f) {
				t.Errorf("%s: stderr %q lacks %q", c.name, r.stderr, f)
			}
		}
	}

	// --debug traces the requests, the security token redacted.
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--role-arn", "acs:ram::123456789012:role/image-reader", "--debug")...)
	if r.code != 0 || r.stdout != wantNewest+"\n" || !strings.Contains(r.stderr, "Action=AssumeRole") || !strings.Contains(r.stderr, "SecurityToken=[REDACTED]") {
		t.Fatalf("--debug: code=%d out=%q trace:\n%s", r.code, r.stdout, r.stderr)
	}
}
