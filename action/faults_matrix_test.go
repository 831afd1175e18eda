package action

// The action's runner of the fault table (conformance.FaultRows, which the
// core and the CLI binary run in full): the rows conformance.Sample picks for
// an in-process front (one per class and set of sinks), through the action's
// entry point (Main, as the `alicloud-image-family action` subcommand calls
// it) with an injected step environment, against the in-process emulator:
// each row is checked for its exit code, a fragment of the ::error
// annotation, the retry lines in the step log and the requests the emulator
// saw. test/action runs a smaller sample through act.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const describeAction = conformance.ActionDescribe

// runMain runs the step through Main and scans everything it wrote.
func (s *step) runMain(opts ...Option) *step {
	s.t.Helper()
	s.code = Main(context.Background(), s.getenv, s.stdout, opts...)
	s.scanAll()
	return s
}

// realSleep points the step at the emulator but keeps the real retry waits,
// for the rows about deadlines.
func realSleep(srv *ecstest.Server) Option {
	return WithRequest(func(r *imagefamily.Request) { r.Transport = srv.Transport() })
}

type stsCreds struct{ id, secret, token string }

// assumeRole obtains STS credentials from the emulator, so rows can give the
// action a security token.
func assumeRole(t *testing.T, srv *ecstest.Server) stsCreds {
	t.Helper()
	c, err := ecstest.AssumeRole(srv.Client(), srv.URL, emuKeyID, emuSecret, keyRole)
	if err != nil {
		t.Fatal(err)
	}
	return stsCreds{c.AccessKeyID, c.AccessKeySecret, c.SecurityToken}
}

// stepRetryLine is the step log's line for a retry (imagefamily.RetryNotice).
var stepRetryLine = regexp.MustCompile(`^retrying .+: attempt \d+ of \d+ failed \(.+\); next attempt in \S+$`)

// faultStep maps a row onto a step: its inputs and environment, and the
// options that point it at the emulator. The row's attempt budget is the
// max-attempts input. Secrets the row brings in are inputs, which scanAll
// scans for.
func faultStep(t *testing.T, srv *ecstest.Server, tokens *httptest.Server, row conformance.FaultRow) (*step, []Option) {
	t.Helper()
	keys := func(id, secret, token string) *step {
		return newStep(t, emuInputs(srv, "access-key-id", id, "access-key-secret", secret, "security-token", token))
	}
	var s *step
	switch row.Credentials {
	case conformance.CredKeys:
		s = keys(emuKeyID, emuSecret, "")
	case conformance.CredWrongSecret:
		s = keys(emuKeyID, conformance.FaultWrongSecret, "")
	case conformance.CredSTSWrongSecret:
		c := assumeRole(t, srv)
		s = keys(c.id, conformance.FaultWrongSecret, c.token)
	case conformance.CredSTSExpired:
		c := assumeRole(t, srv)
		srv.ExpireSessions()
		s = keys(c.id, c.secret, c.token)
	case conformance.CredSTSOtherToken:
		a, b := assumeRole(t, srv), assumeRole(t, srv)
		s = keys(a.id, a.secret, b.token)
	case conformance.CredOIDC:
		s = oidcStep(t, srv, tokens)
	default:
		t.Fatalf("row %q: credentials %d have no mapping in the action's runner", row.Name, row.Credentials)
	}
	if row.STSUnreachable {
		s.env["INPUT_STS_ENDPOINT"] = "127.0.0.1:1"
	}
	if row.Timeout > 0 {
		s.env["INPUT_TIMEOUT"] = row.Timeout.String()
	}
	opts := []Option{viaEmulator(srv)}
	if row.Within > 0 {
		opts = []Option{realSleep(srv)}
	}
	if row.Untrusted {
		// Trusts no certificate at all.
		tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
		opts = append(opts, WithRequest(func(r *imagefamily.Request) { r.Transport = tr }))
	}
	if row.MaxAttempts > 0 {
		s.env["INPUT_MAX_ATTEMPTS"] = strconv.Itoa(row.MaxAttempts)
	}
	return s, opts
}

func TestFaultMatrixAction(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	// The action runs a row per class and sink (the CLI and the core run
	// every row).
	for _, row := range conformance.Sample(conformance.FaultRows(), conformance.InProcess) {
		t.Run(row.Name, func(t *testing.T) {
			srv.ClearFaults()
			t.Cleanup(srv.ClearFaults)
			s, opts := faultStep(t, srv, tokens, row)
			srv.Inject(row.Faults...)
			srv.ResetCounts()
			start := time.Now()
			s.runMain(opts...)
			s.assertNoSecrets(*minted...) // the minted ID tokens are secrets too
			checkActionRow(t, s, row.ExitCode(), row.Fragment, time.Since(start), row.Within)
			var retries int
			for _, l := range strings.Split(s.stdout.String(), "\n") {
				if stepRetryLine.MatchString(l) {
					retries++
				}
			}
			if retries != row.Retries {
				t.Errorf("%d retry lines in the step log, want %d", retries, row.Retries)
			}
			checkCounts(t, srv, row.Requests)
		})
	}
}

func checkActionRow(t *testing.T, s *step, code int, frag string, elapsed, within time.Duration) {
	t.Helper()
	out := s.stdout.String()
	if s.code != code {
		t.Errorf("exit %d, want %d", s.code, code)
	}
	if code == 0 {
		if outs := s.outputs(); outs["image-id"] != "m-hznew0001" || outs["found"] != "true" {
			t.Errorf("outputs %v", outs)
		}
	} else {
		var annotation string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "::error ") {
				annotation = l
			}
		}
		if !strings.Contains(annotation, frag) {
			t.Errorf("no ::error annotation with %q", frag)
		}
	}
	if within > 0 && elapsed > within {
		t.Errorf("took %v, want at most %v", elapsed, within)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}
}

func checkCounts(t *testing.T, srv *ecstest.Server, want map[string]int) {
	t.Helper()
	for action, n := range want {
		if got := srv.Requests(action); got != n {
			t.Errorf("the emulator saw %d %q requests, want %d", got, action, n)
		}
	}
}

// The runner's ID token service is the action's own: when it is down, the
// step fails before anything reaches STS.
func TestFaultActionTokenServiceUnreachable(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	srv.ResetCounts()
	s := oidcStep(t, srv, tokens)
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = "http://127.0.0.1:1/token"
	start := time.Now()
	s.runMain(viaEmulator(srv))
	s.assertNoSecrets(*minted...)
	checkActionRow(t, s, 1, "requesting a GitHub ID token", time.Since(start), 0)
	checkCounts(t, srv, map[string]int{"": 0})
}
