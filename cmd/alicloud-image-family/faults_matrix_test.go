package main

// The CLI's runner of the fault table (conformance.FaultRows, the rows the core
// runs in imagefamily/faults_matrix_test.go), through the real binary
// against the emulator process: each row is checked for its exit code
// (docs/cli.md), a fragment of stderr, the retry lines and the requests the
// emulator saw.

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	describeAction = conformance.ActionDescribe
	oidcRoleARN    = "acs:ram::123456789012:role/github-oidc-image-reader"
	oidcProvARN    = "acs:ram::123456789012:oidc-provider/github"
)

// processStartAllowance is what a runner that starts the binary adds to a
// row's time bound.
const processStartAllowance = time.Second

// stsSession is a set of STS credentials the emulator issued.
type stsSession struct{ id, secret, token string }

// assumeRole asks the emulator process for STS credentials, so the matrix
// can hand security tokens to the binary.
func assumeRole(t *testing.T, e *emulatorProcess) stsSession {
	t.Helper()
	c, err := ecstest.AssumeRole(e.Control.Client, "https://"+e.Endpoint, demoAccessKeyID, demoSecret, "acs:ram::123456789012:role/image-reader")
	if err != nil {
		t.Fatal(err)
	}
	return stsSession{c.AccessKeyID, c.AccessKeySecret, c.SecurityToken}
}

func stsEnv(id, secret, token string) map[string]string {
	return map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token}
}

// oidcEnv configures OIDC from the environment with a token file.
func oidcEnv(t *testing.T) map[string]string {
	token := jwt(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:o/r:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"ALIBABA_CLOUD_ROLE_ARN": oidcRoleARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": oidcProvARN, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": file}
}

// faultInvocation maps a row onto the binary's environment and flags. STS
// secrets the row brings in are in the environment, where runCLI finds
// every *SECRET* and *TOKEN* variable to scan for.
func faultInvocation(t *testing.T, e *emulatorProcess, row conformance.FaultRow) (env map[string]string, args []string) {
	t.Helper()
	switch row.Credentials {
	case conformance.CredKeys:
		env = demoEnv
	case conformance.CredWrongSecret:
		env = with(demoEnv, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", conformance.FaultWrongSecret)
	case conformance.CredSTSWrongSecret:
		s := assumeRole(t, e)
		env = stsEnv(s.id, conformance.FaultWrongSecret, s.token)
	case conformance.CredSTSExpired:
		s := assumeRole(t, e)
		if err := e.Control.ExpireSessions(); err != nil {
			t.Fatal(err)
		}
		env = stsEnv(s.id, s.secret, s.token)
	case conformance.CredSTSOtherToken:
		a, b := assumeRole(t, e), assumeRole(t, e)
		env = stsEnv(a.id, a.secret, b.token)
	case conformance.CredOIDC:
		env = oidcEnv(t)
	default:
		t.Fatalf("row %q: credentials %d have no mapping in the CLI's runner", row.Name, row.Credentials)
	}
	if row.Untrusted {
		// A certificate file without the emulator's certificate.
		env = with(env, "SSL_CERT_FILE", filepath.Join(t.TempDir(), "none.pem"))
	}
	args = []string{"--image-family", "web-base", "--max-attempts", strconv.Itoa(row.MaxAttempts)}
	if row.STSUnreachable {
		args = append(args, "--sts-endpoint", "127.0.0.1:1")
	}
	if row.Timeout > 0 {
		args = append(args, "--timeout", row.Timeout.String())
	}
	return env, args
}

func TestFaultMatrixCLI(t *testing.T) {
	e := startEmulator(t)
	for _, row := range conformance.FaultRows() {
		t.Run(row.Name, func(t *testing.T) {
			if err := e.Control.ClearFaults(); err != nil {
				t.Fatal(err)
			}
			env, args := faultInvocation(t, e, row)
			for _, f := range row.Faults {
				if err := e.Control.Fault(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, e, env, resolveArgs(e, args...)...)
			t.Logf("exit %d after %v: %s", r.code, r.elapsed.Round(time.Millisecond), strings.TrimSpace(r.stderr))
			if r.code != row.ExitCode() {
				t.Errorf("exit code %d, want %d", r.code, row.ExitCode())
			}
			if row.ExitCode() == exitOK && r.stdout != wantNewest+"\n" {
				t.Errorf("stdout %q", r.stdout)
			}
			if row.ExitCode() != exitOK && (r.stdout != "" || !strings.Contains(r.stderr, row.Fragment)) {
				t.Errorf("stdout %q, stderr lacks %q", r.stdout, row.Fragment)
			}
			checkFaultRowRun(t, e, row, r)
		})
	}
	e.Control.ClearFaults()
}

// checkFaultRowRun checks what every fault row states about a run of the
// binary: the retry lines, the time bound and the requests the emulator saw
// by action ("" for all); it returns the emulator's counts.
func checkFaultRowRun(t *testing.T, e *emulatorProcess, row conformance.FaultRow, r run) ecstest.RequestCounts {
	t.Helper()
	if n := retryLines(r.stderr); n != row.Retries {
		t.Errorf("%d retry lines on stderr, want %d", n, row.Retries)
	}
	if row.Within > 0 && r.elapsed > row.Within+processStartAllowance {
		t.Errorf("took %v, want at most %v", r.elapsed, row.Within+processStartAllowance)
	}
	counts, err := e.Control.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range row.Requests {
		got := counts.ByAction[action]
		if action == "" {
			got = counts.All
		}
		if got != want {
			t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
		}
	}
	return counts
}

// retryLines counts the "retrying" lines on stderr.
func retryLines(stderr string) int {
	n := 0
	for _, l := range strings.Split(stderr, "\n") {
		if retryLine.MatchString(l) {
			n++
		}
	}
	return n
}

// tlsPeek is a TCP proxy in front of the emulator that records whether each
// connection opened with a TLS handshake record (0x16), so a test can prove
// that a client never retried in plain HTTP.
type tlsPeek struct {
	ln    net.Listener
	mu    sync.Mutex
	first []byte
}

func newTLSPeek(t *testing.T, backend string) *tlsPeek {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsPeek{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c, backend)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *tlsPeek) serve(c net.Conn, backend string) {
	defer c.Close()
	br := bufio.NewReader(c)
	b, err := br.Peek(1)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.first = append(p.first, b[0])
	p.mu.Unlock()
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, br)
	io.Copy(c, up)
}

func (p *tlsPeek) connections() (tls, plain int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.first {
		if b == 0x16 {
			tls++
		} else {
			plain++
		}
	}
	return tls, plain
}

// An untrusted certificate fails the lookup with exit 1 and the reason, is
// not retried, and no plain-HTTP request follows.
func TestFaultMatrixCLIUntrustedCertificate(t *testing.T) {
	e := startEmulator(t)
	peek := newTLSPeek(t, e.Endpoint)
	// A certificate file without the emulator's certificate.
	env := with(demoEnv, "SSL_CERT_FILE", filepath.Join(t.TempDir(), "none.pem"))
	r := runCLI(t, e, env, "resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--endpoint", peek.ln.Addr().String())
	if r.code != exitFailure || !strings.Contains(r.stderr, "TLS certificate not trusted") || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	tlsConns, plain := peek.connections()
	if tlsConns != 1 || plain != 0 {
		t.Errorf("%d TLS and %d plain connections; want exactly one, TLS", tlsConns, plain)
	}
	if c, err := e.Control.Requests(); err != nil || c.All != 0 {
		t.Errorf("the emulator saw %v requests (%v)", c, err)
	}
}
