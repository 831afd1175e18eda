package main

// The ECS endpoint from the environment (ALIBABA_CLOUD_ECS_ENDPOINT) and the
// emulator's ready file, through the real binary against the emulator
// process. Bad values of the variable are rows of cli_badinput_test.go.

import (
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// offline adds a proxy that refuses every connection (loopback port 1) to
// env: NO_PROXY (runBinary) exempts the emulator on 127.0.0.1, so a lookup
// that misses it (the variable not read: the SDK's ecs.<region>.aliyuncs.com)
// fails on loopback instead of reaching the network.
func offline(env map[string]string) map[string]string {
	return with(env, "HTTPS_PROXY", "http://127.0.0.1:1", "HTTP_PROXY", "http://127.0.0.1:1")
}

func TestE2EECSEndpointFromEnvironment(t *testing.T) {
	e := startEmulator(t)
	region := []string{"--region", "cn-hangzhou", "--image-family", "web-base"}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string // after "resolve"
	}{
		{"the variable alone", with(demoEnv, "ALIBABA_CLOUD_ECS_ENDPOINT", e.Endpoint), region},
		{"the variable as the ready file's url", with(demoEnv, "ALIBABA_CLOUD_ECS_ENDPOINT", e.URL), region},
		// Nothing listens on port 1: the flag must win, or the lookup fails.
		{"--endpoint wins", with(demoEnv, "ALIBABA_CLOUD_ECS_ENDPOINT", "127.0.0.1:1"), append([]string{"--endpoint", e.Endpoint}, region...)},
		{"--endpoint wins over a bad value", with(demoEnv, "ALIBABA_CLOUD_ECS_ENDPOINT", "ftp://ecs.example.com"), append([]string{"--endpoint", e.Endpoint}, region...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, e, offline(c.env), append([]string{"resolve"}, c.args...)...)
			if r.code != exitOK || r.stdout != wantNewest+"\n" || r.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %s", r.code, r.stdout, r.stderr, wantNewest)
			}
			if counts, err := e.Control.Requests(); err != nil || counts.All != 1 {
				t.Errorf("the emulator saw %+v (%v); want the one lookup", counts, err)
			}
		})
	}
}

// The ready file's url works as given, in both modes, as --endpoint and as
// ALIBABA_CLOUD_ECS_ENDPOINT. (Its endpoint, host and port, means HTTPS:
// against a plain-HTTP server that fails with a hint to write http:// out,
// imagefamily's TestPlainHTTPEndpointHint.)
func TestE2EReadyFileURL(t *testing.T) {
	plain := startEmulatorProcess(t, ecstest.DemoFixture, false)
	secure := startEmulator(t)
	if !strings.HasPrefix(plain.URL, "http://127.0.0.1:") || plain.Endpoint != strings.TrimPrefix(plain.URL, "http://") || plain.CertFile != "" {
		t.Fatalf("plain ready file: url %q, endpoint %q, cert_file %q", plain.URL, plain.Endpoint, plain.CertFile)
	}
	if !strings.HasPrefix(secure.URL, "https://127.0.0.1:") || secure.Endpoint != strings.TrimPrefix(secure.URL, "https://") {
		t.Fatalf("TLS ready file: url %q, endpoint %q", secure.URL, secure.Endpoint)
	}
	args := []string{"resolve", "--region", "cn-hangzhou", "--image-family", "web-base"}
	for _, e := range []*emulatorProcess{plain, secure} {
		for _, r := range []run{
			runCLI(t, e, offline(demoEnv), append(args, "--endpoint", e.URL)...),
			runCLI(t, e, offline(with(demoEnv, "ALIBABA_CLOUD_ECS_ENDPOINT", e.URL)), args...),
		} {
			if r.code != exitOK || r.stdout != wantNewest+"\n" {
				t.Errorf("url %s: exit %d, stdout %q, stderr %q", e.URL, r.code, r.stdout, r.stderr)
			}
		}
	}

	if counts, err := plain.Control.Requests(); err != nil || counts.All != 2 {
		t.Errorf("the plain emulator saw %+v (%v); want the two lookups", counts, err)
	}
}
