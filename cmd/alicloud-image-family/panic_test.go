package main

// A panic on the lookup path is exit code 1 with one line on stderr: never
// Go's exit code 2 (which means bad input here), never a goroutine dump,
// never a secret. In process for the CLI's own goroutine
// (TestPanicIsAnInternalError); through a real binary, built with the tag
// imagefamily_testpanic, for a panic in a region's goroutine, which no
// recover in main can reach. (A panic inside the SDK call is recovered by
// the core: imagefamily's TestInvokeRecoversSDKPanic.)

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

type secretPanicWriter struct{}

func (secretPanicWriter) Write([]byte) (int, error) {
	panic("boom " + demoSecret + "\n::error::forged\x1b[2J")
}

// panicCLI is the CLI built with the tag imagefamily_testpanic: in that
// build (never a release) ALICLOUD_IMAGE_FAMILY_TEST_PANIC names a region
// whose lookup panics inside its goroutine.
func panicCLI(t *testing.T) string {
	t.Helper()
	return e2etest.CLIWithTags(t, "imagefamily_testpanic")
}

// Several regions, a panic inside one region's goroutine: exit 1 (the worst
// of found, not found and the internal error), one line for that region,
// the other regions' results as usual.
func TestE2EPanicInRegionGoroutine(t *testing.T) {
	e := startEmulator(t)
	bin := panicCLI(t)
	env := with(demoEnv, "ALICLOUD_IMAGE_FAMILY_TEST_PANIC", "cn-shanghai")
	r := runBinary(t, bin, e, env, resolveArgs(e, "--region", "cn-hangzhou,cn-shanghai,cn-beijing", "--image-family", "web-base")...)
	if r.code != exitFailure {
		t.Errorf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if r.stdout != "cn-hangzhou\t"+wantNewest+"\n" {
		t.Errorf("stdout %q; want cn-hangzhou's image", r.stdout)
	}
	want := `alicloud-image-family: cn-shanghai: ECS DescribeImageFromFamily for family "web-base" in region cn-shanghai: internal error: test panic in region cn-shanghai, holding the secret [REDACTED]\n::error::forged\x1b[2J; this is a bug, please report it` + "\n"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks the region's internal error line %q:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, "cn-beijing") {
		t.Errorf("stderr lacks cn-beijing's not found:\n%s", r.stderr)
	}

	// Without the hook's variable the same binary resolves as usual: the
	// exit code above is the panic's.
	r = runBinary(t, bin, e, demoEnv, resolveArgs(e, "--region", "cn-hangzhou", "--image-family", "web-base")...)
	if r.code != exitOK || r.stdout != wantNewest+"\n" {
		t.Errorf("without the hook: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The action runs through the same binary (`alicloud-image-family action`,
// started by action/launcher.sh): a panic in a region's goroutine is exit 1,
// an annotation, and the failure outputs in GITHUB_OUTPUT.
func TestE2EActionPanicInRegionGoroutine(t *testing.T) {
	e := startEmulator(t)
	bin := panicCLI(t)
	outputs := filepath.Join(t.TempDir(), "output")
	if err := os.WriteFile(outputs, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := with(demoEnv, "ALICLOUD_IMAGE_FAMILY_TEST_PANIC", "cn-hangzhou",
		"GITHUB_OUTPUT", outputs,
		"INPUT_REGION", "cn-hangzhou,cn-beijing", "INPUT_IMAGE-FAMILY", "web-base",
		"INPUT_ENDPOINT", e.Endpoint, "INPUT_STS-ENDPOINT", e.Endpoint)
	r := runBinary(t, bin, e, env, "action")
	if r.code != exitFailure {
		t.Errorf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "::error title=Image family lookup failed in cn-hangzhou::ECS DescribeImageFromFamily for family \"web-base\" in region cn-hangzhou: internal error: test panic in region cn-hangzhou, holding the secret [REDACTED]") {
		t.Errorf("no annotation of the internal error:\n%s", r.stdout)
	}
	// runBinary has checked both streams: no crash report, no escape, no
	// workflow command but the action's own.
	b, err := os.ReadFile(outputs)
	if err != nil {
		t.Fatal(err)
	}
	outs := readOutputs(t, string(b))
	for name, want := range map[string]string{"found": "false", "image-id": "", "image-ids": "{}", "json": "{}", "changed": "false"} {
		if v, ok := outs[name]; !ok || v != want {
			t.Errorf("output %s = %q (written: %v), want %q", name, v, ok, want)
		}
	}
}

// readOutputs reads a GITHUB_OUTPUT file of name<<delimiter blocks, as the
// action writes it; a name written twice fails the test.
func readOutputs(t *testing.T, s string) map[string]string {
	t.Helper()
	outs := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q", lines[i])
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		if _, dup := outs[name]; dup {
			t.Fatalf("output %s written twice:\n%s", name, s)
		}
		outs[name] = strings.Join(val, "\n")
	}
	return outs
}
