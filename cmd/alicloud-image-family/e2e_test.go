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
	return startEmulatorWith(t, ecstest.DemoFixtureAsWritten, extra...)
}

// startEmulatorWith runs the emulator process over TLS with a fixture of the
// test's.
func startEmulatorWith(t *testing.T, fixtureJSON []byte, extra ...string) *emulatorProcess {
	t.Helper()
	return startEmulatorProcess(t, fixtureJSON, true, extra...)
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

// runCLI runs the binary with only the environment given (plus PATH), so
// nothing from the developer's shell takes part.
func runCLI(t *testing.T, e *emulatorProcess, env map[string]string, args ...string) run {
	t.Helper()
	return runBinary(t, cliBinary(t), e, env, args...)
}

// runBinary is runCLI with another build of the CLI.
func runBinary(t *testing.T, bin string, e *emulatorProcess, env map[string]string, args ...string) run {
	t.Helper()
	return runBinaryInput(t, bin, e, env, "", args...)
}

// runBinaryInput is runBinary with stdin; the secrets of a JSON query on
// stdin (secret_key, security_token) are scanned for as well.
func runBinaryInput(t *testing.T, bin string, e *emulatorProcess, env map[string]string, stdin string, args ...string) run {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_PROXY=127.0.0.1,localhost", "SSL_CERT_FILE=" + e.CertFile}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
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
	return r
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
		{"ALICLOUD_ variables", map[string]string{"ALICLOUD_ACCESS_KEY": demoAccessKeyID, "ALICLOUD_SECRET_KEY": demoSecret}, []string{"--image-family", "web-base"}, 0, wantNewest + "\n", nil},
		{"not found", demoEnv, []string{"--image-family", "no-such-family"}, 3, "", []string{`"no-such-family"`, "cn-hangzhou", "RequestId"}},
		{"unknown region", demoEnv, []string{"--image-family", "web-base", "--region", "xx-nowhere-1"}, 1, "", []string{"InvalidRegionId.NotFound", "RequestId"}},
		{"denied", map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIDEMODENIEDKEYID0002", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "demo-secret-NOT-A-REAL-SECRET-0002"},
			[]string{"--image-family", "web-base"}, 1, "", []string{"InvalidUser.Unauthorized", "ecs:DescribeImageFromFamily"}},
		{"wrong secret", with(demoEnv, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret-value-xyz"), []string{"--image-family", "web-base"}, 1, "", []string{"SignatureDoesNotMatch", "secret does not match"}},
		{"unknown key", with(demoEnv, "ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAINOSUCHKEY000"), []string{"--image-family", "web-base"}, 1, "", []string{"InvalidAccessKeyId.NotFound"}},
		{"ECS instance RAM role", nil, []string{"--image-family", "web-base", "--ram-role-name", "ecs-image-reader", "--metadata-endpoint", "https://" + e.Endpoint}, 0, wantNewest + "\n", nil},
		{"ECS instance RAM role from the environment", map[string]string{"ALIBABA_CLOUD_ECS_METADATA": "ecs-image-reader", "ALIBABA_CLOUD_ECS_METADATA_ENDPOINT": "https://" + e.Endpoint},
			[]string{"--image-family", "web-base"}, 0, wantNewest + "\n", nil},
		{"role not attached to the instance", nil, []string{"--image-family", "web-base", "--ram-role-name", "image-reader", "--metadata-endpoint", "https://" + e.Endpoint}, 1, "", []string{`ECS instance RAM role "image-reader"`}},
		{"STS-issued credentials", demoEnv, []string{"--image-family", "web-base", "--role-arn", "acs:ram::123456789012:role/image-reader"}, 0, wantNewest + "\n", nil},
		{"invalid family", demoEnv, []string{"--image-family", "http://x"}, 2, "", []string{`invalid --image-family "http://x"`, "http://"}},
		{"no credentials", nil, []string{"--image-family", "web-base"}, 2, "", []string{"no Alibaba Cloud credentials"}},
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
}

func TestE2EDebugTraceIsRedacted(t *testing.T) {
	e := startEmulator(t)
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--role-arn", "acs:ram::123456789012:role/image-reader", "--debug")...)
	if r.code != 0 || r.stdout != wantNewest+"\n" {
		t.Fatalf("code=%d out=%q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "Action=AssumeRole") || !strings.Contains(r.stderr, "SecurityToken=[REDACTED]") {
		t.Fatalf("trace:\n%s", r.stderr)
	}
}

func TestE2EThrottledThenSuccess(t *testing.T) {
	e := startEmulator(t)
	if err := e.Control.Fault(ecstest.FaultSpec{Kind: "throttle", Action: "DescribeImageFromFamily", N: 2}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base")...)
	counts, err := e.Control.Requests()
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 0 || r.stdout != wantNewest+"\n" || counts.ByAction["DescribeImageFromFamily"] != 3 {
		t.Fatalf("code=%d out=%q requests=%v stderr=%q", r.code, r.stdout, counts, r.stderr)
	}
	// Throttled on every attempt: fails, says so, and stops at --max-attempts.
	e.Control.ResetCounts()
	e.Control.Fault(ecstest.FaultSpec{Kind: "throttle", Action: "DescribeImageFromFamily", N: 100})
	r = runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--max-attempts", "3")...)
	counts, _ = e.Control.Requests()
	if r.code != 1 || !strings.Contains(r.stderr, "Throttling") || counts.ByAction["DescribeImageFromFamily"] != 3 {
		t.Fatalf("code=%d requests=%v stderr=%q", r.code, counts, r.stderr)
	}
}

func TestE2EHangCutByTimeout(t *testing.T) {
	e := startEmulator(t)
	e.Control.Fault(ecstest.FaultSpec{Kind: "hang", Action: "DescribeImageFromFamily"})
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--timeout", "1s")...)
	// Either clock may stop it first on a busy machine: the overall deadline
	// or the attempt's own (the HTTP client's timeout); both say so.
	if r.code != 1 || !strings.Contains(r.stderr, "Raise the timeout") || r.elapsed > 10*time.Second {
		t.Fatalf("code=%d after %v stderr=%q", r.code, r.elapsed, r.stderr)
	}
}

func TestE2EUsageErrorsSendNothing(t *testing.T) {
	e := startEmulator(t)
	for _, args := range [][]string{
		{"--image-family", "a"},
		{"--image-family", "acs:x"},
		{"--image-family", "web-base", "--endpoint", "https://x/y"},
		{"--image-family", "web-base", "--output", "xml"},
	} {
		r := runCLI(t, e, demoEnv, resolveArgs(e, args...)...)
		if r.code != 2 {
			t.Errorf("%v: code %d", args, r.code)
		}
	}
	counts, err := e.Control.Requests()
	if err != nil || counts.All != 0 {
		t.Fatalf("emulator saw %v requests (%v)", counts, err)
	}
}

func jwt(claims map[string]any) string {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	return enc(map[string]string{"alg": "RS256"}) + "." + enc(claims) + ".c2ln"
}

func TestE2EOIDC(t *testing.T) {
	e := startEmulator(t)
	token := jwt(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:imagefamily/x:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(token), 0o600)
	env := map[string]string{
		"ALIBABA_CLOUD_ROLE_ARN":          "acs:ram::123456789012:role/github-oidc-image-reader",
		"ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "acs:ram::123456789012:oidc-provider/github",
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE":   file,
	}
	r := runCLI(t, e, env, resolveArgs(e, "--image-family", "web-base")...)
	if r.code != 0 || r.stdout != wantNewest+"\n" || strings.Contains(r.stderr, token) {
		t.Fatalf("code=%d out=%q stderr=%q", r.code, r.stdout, r.stderr)
	}
	bad := jwt(map[string]any{"aud": "other-audience", "exp": time.Now().Add(time.Hour).Unix()})
	os.WriteFile(file, []byte(bad), 0o600)
	r = runCLI(t, e, env, resolveArgs(e, "--image-family", "web-base")...)
	if r.code != 1 || !strings.Contains(r.stderr, "other-audience") || strings.Contains(r.stderr, bad) {
		t.Fatalf("code=%d stderr=%q", r.code, r.stderr)
	}
}

func TestE2ESeveralRegionsConcurrently(t *testing.T) {
	e := startEmulator(t, "--latency", "300ms")
	start := time.Now()
	r := runCLI(t, e, demoEnv, "resolve", "--endpoint", e.Endpoint, "--image-family", "web-base", "--region", "cn-hangzhou,cn-hangzhou,cn-shanghai,cn-beijing")
	if r.code != 3 || r.stdout != "cn-hangzhou\t"+wantNewest+"\ncn-shanghai\tm-uf6demowebbase000003\n" {
		t.Fatalf("code=%d out=%q err=%q", r.code, r.stdout, r.stderr)
	}
	t.Logf("3 regions at 300ms latency each took %v", time.Since(start))
}
