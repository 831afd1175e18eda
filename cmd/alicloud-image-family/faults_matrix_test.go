package main

// The fault matrix through the real CLI binary against the emulator process
// (the same rows as imagefamily/faults_matrix_test.go, seen from outside):
// each row states the exit code (docs/cli.md), a fragment of stderr and the
// requests the emulator saw.

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

const (
	describeAction = "DescribeImageFromFamily"
	oidcRoleARN    = "acs:ram::123456789012:role/github-oidc-image-reader"
	oidcProvARN    = "acs:ram::123456789012:oidc-provider/github"
)

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

type cliFaultRow struct {
	name   string
	faults []ecstest.FaultSpec
	// env returns the row's environment (nil: the demo keys); it may ask
	// the emulator for STS credentials.
	env      func(t *testing.T, e *emulatorProcess) map[string]string
	args     []string
	code     int
	frag     string
	requests map[string]int // by action; "" is every request
	within   time.Duration
	// retries is how many retry lines stderr holds ("retrying ...: attempt
	// N of M failed (...); next attempt in ..."), one before each request
	// but the first of each exchange.
	retries int
}

func cliFaultRows() []cliFaultRow {
	throttle := func(n int) ecstest.FaultSpec {
		return ecstest.FaultSpec{Kind: ecstest.FaultThrottle, Action: describeAction, N: n}
	}
	fault := func(kind ecstest.FaultKind, n int) ecstest.FaultSpec {
		return ecstest.FaultSpec{Kind: kind, Action: describeAction, N: n}
	}
	return []cliFaultRow{
		{name: "throttled twice then success", faults: []ecstest.FaultSpec{throttle(2)},
			code: exitOK, requests: map[string]int{describeAction: 3}, retries: 2},
		{name: "throttled 4 times then success (attempt limit 5)", faults: []ecstest.FaultSpec{throttle(4)},
			args: []string{"--max-attempts", "5"}, code: exitOK, requests: map[string]int{describeAction: 5}, retries: 4},
		{name: "throttled as often as the attempt limit", faults: []ecstest.FaultSpec{throttle(3)},
			args: []string{"--max-attempts", "3"}, code: exitFailure, frag: "Throttling.User (HTTP 400)", requests: map[string]int{describeAction: 3}, retries: 2},
		// x-acs-retry-after 800ms and a 2s deadline: attempts at 0, 0.8s and
		// 1.6s; the next wait would end past the deadline.
		{name: "throttled forever fails within the deadline",
			faults: []ecstest.FaultSpec{{Kind: ecstest.FaultThrottle429, Action: describeAction, N: 1000, RetryAfter: 800 * time.Millisecond}},
			args:   []string{"--max-attempts", "20", "--timeout", "2s"}, code: exitFailure, frag: "The API is throttling this account",
			requests: map[string]int{describeAction: 3}, retries: 2, within: 2*time.Second + time.Second},
		{name: "500 once then success", faults: []ecstest.FaultSpec{{Kind: ecstest.FaultStatus, Action: describeAction, N: 1, Status: 500}},
			code: exitOK, requests: map[string]int{describeAction: 2}, retries: 1},
		{name: "503 on every attempt", faults: []ecstest.FaultSpec{{Kind: ecstest.FaultStatus, Action: describeAction, N: 100, Status: 503}},
			args: []string{"--max-attempts", "2"}, code: exitFailure, frag: "ServiceUnavailable (HTTP 503)", requests: map[string]int{describeAction: 2}, retries: 1},
		{name: "malformed JSON", faults: []ecstest.FaultSpec{fault(ecstest.FaultMalformed, 1)},
			code: exitFailure, frag: "not valid JSON", requests: map[string]int{describeAction: 1}},
		{name: "truncated JSON on every attempt", faults: []ecstest.FaultSpec{fault(ecstest.FaultTruncated, 100)},
			args: []string{"--max-attempts", "2"}, code: exitFailure, frag: "EOF (after 2 attempts)", requests: map[string]int{describeAction: 2}, retries: 1},
		{name: "empty body", faults: []ecstest.FaultSpec{fault(ecstest.FaultEmpty, 1)},
			code: exitFailure, frag: "empty body", requests: map[string]int{describeAction: 1}},
		{name: "connection dropped on every attempt", faults: []ecstest.FaultSpec{fault(ecstest.FaultDrop, 100)},
			args: []string{"--max-attempts", "2"}, code: exitFailure, frag: "EOF (after 2 attempts)", requests: map[string]int{describeAction: 2}, retries: 1},
		{name: "server hangs past the timeout", faults: []ecstest.FaultSpec{{Kind: ecstest.FaultHang, Action: describeAction}},
			args: []string{"--timeout", "1s"}, code: exitFailure, frag: "Raise the timeout", requests: map[string]int{describeAction: 1}, within: 5 * time.Second},
		{name: "wrong secret",
			env: func(*testing.T, *emulatorProcess) map[string]string {
				return with(demoEnv, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret-value-xyz")
			},
			code: exitFailure, frag: "SignatureDoesNotMatch", requests: map[string]int{describeAction: 1}},
		// SignatureDoesNotMatch echoes the string to sign, which holds the
		// token percent-encoded twice; runCLI scans for it in every form.
		{name: "wrong secret with a security token",
			env: func(t *testing.T, e *emulatorProcess) map[string]string {
				s := assumeRole(t, e)
				return stsEnv(s.id, "wrong-secret-value-xyz", s.token)
			},
			code: exitFailure, frag: "secret does not match", requests: map[string]int{describeAction: 1}},
		{name: "expired security token",
			env: func(t *testing.T, e *emulatorProcess) map[string]string {
				s := assumeRole(t, e)
				if err := e.Control.ExpireSessions(); err != nil {
					t.Fatal(err)
				}
				return stsEnv(s.id, s.secret, s.token)
			},
			code: exitFailure, frag: "InvalidSecurityToken.Expired", requests: map[string]int{describeAction: 1}},
		{name: "security token of another key",
			env: func(t *testing.T, e *emulatorProcess) map[string]string {
				a, b := assumeRole(t, e), assumeRole(t, e)
				return stsEnv(a.id, a.secret, b.token)
			},
			code: exitFailure, frag: "InvalidSecurityToken.MismatchWithAccessKey", requests: map[string]int{describeAction: 1}},
		{name: "STS unreachable during OIDC",
			env:  func(t *testing.T, _ *emulatorProcess) map[string]string { return oidcEnv(t) },
			args: []string{"--sts-endpoint", "127.0.0.1:1", "--max-attempts", "2"}, code: exitFailure, frag: "connection refused",
			requests: map[string]int{"": 0}, retries: 1},
		{name: "STS answers 503 during OIDC",
			faults: []ecstest.FaultSpec{{Kind: ecstest.FaultStatus, Action: "AssumeRoleWithOIDC", N: 100, Status: 503}},
			env:    func(t *testing.T, _ *emulatorProcess) map[string]string { return oidcEnv(t) },
			args:   []string{"--max-attempts", "2"}, code: exitFailure, frag: "STS AssumeRoleWithOIDC failed: ServiceUnavailable",
			requests: map[string]int{"AssumeRoleWithOIDC": 2, describeAction: 0}, retries: 1},
	}
}

func TestFaultMatrixCLI(t *testing.T) {
	e := startEmulator(t)
	for _, row := range cliFaultRows() {
		t.Run(row.name, func(t *testing.T) {
			if err := e.Control.ClearFaults(); err != nil {
				t.Fatal(err)
			}
			env := demoEnv
			if row.env != nil {
				env = row.env(t, e)
			}
			for _, f := range row.faults {
				if err := e.Control.Fault(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			// Secrets of the row (an STS token and secret) are scanned by
			// runCLI, which takes every *SECRET* and *TOKEN* variable.
			r := runCLI(t, e, env, resolveArgs(e, append([]string{"--image-family", "web-base"}, row.args...)...)...)
			t.Logf("exit %d after %v: %s", r.code, r.elapsed.Round(time.Millisecond), strings.TrimSpace(r.stderr))
			if r.code != row.code {
				t.Errorf("exit code %d, want %d", r.code, row.code)
			}
			if row.code == exitOK && r.stdout != wantNewest+"\n" {
				t.Errorf("stdout %q", r.stdout)
			}
			if row.code != exitOK && (r.stdout != "" || !strings.Contains(r.stderr, row.frag)) {
				t.Errorf("stdout %q, stderr lacks %q", r.stdout, row.frag)
			}
			var retries []string
			for _, l := range strings.Split(r.stderr, "\n") {
				if retryLine.MatchString(l) {
					retries = append(retries, l)
				}
			}
			if len(retries) != row.retries {
				t.Errorf("%d retry lines on stderr, want %d", len(retries), row.retries)
			}
			if row.within > 0 && r.elapsed > row.within {
				t.Errorf("took %v, want at most %v", r.elapsed, row.within)
			}
			counts, err := e.Control.Requests()
			if err != nil {
				t.Fatal(err)
			}
			for action, want := range row.requests {
				got := counts.ByAction[action]
				if action == "" {
					got = counts.All
				}
				if got != want {
					t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
				}
			}
		})
	}
	e.Control.ClearFaults()
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
