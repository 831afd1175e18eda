package action

// The fault matrix through the action's entry point (Main, as the
// `alicloud-image-family action` subcommand calls it) with an injected step
// environment, against the in-process emulator: each row states the exit
// code, a fragment of the ::error annotation and the requests the emulator
// saw. test/action runs a few rows through act.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

const describeAction = "DescribeImageFromFamily"

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

// httpsOnly records the scheme of every request and trusts no certificate.
type httpsOnly struct {
	mu   sync.Mutex
	urls []string
	base http.RoundTripper
}

func (h *httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.urls = append(h.urls, r.URL.Scheme)
	h.mu.Unlock()
	return h.base.RoundTrip(r)
}

type actionFaultRow struct {
	name string
	// setup injects faults and returns the step's inputs (beyond region,
	// family and endpoints) and options.
	setup    func(t *testing.T, srv *ecstest.Server) (inputs []string, opts []Option)
	code     int
	frag     string // in the ::error annotation
	requests map[string]int
	within   time.Duration
}

func actionFaultRows() []actionFaultRow {
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	fault := func(f func(srv *ecstest.Server), more ...string) func(*testing.T, *ecstest.Server) ([]string, []Option) {
		return func(_ *testing.T, srv *ecstest.Server) ([]string, []Option) {
			f(srv)
			return append(append([]string{}, keys...), more...), []Option{viaEmulator(srv)}
		}
	}
	withToken := func(f func(t *testing.T, srv *ecstest.Server) (id, secret, token string)) func(*testing.T, *ecstest.Server) ([]string, []Option) {
		return func(t *testing.T, srv *ecstest.Server) ([]string, []Option) {
			id, secret, token := f(t, srv)
			return []string{"access-key-id", id, "access-key-secret", secret, "security-token", token}, []Option{viaEmulator(srv)}
		}
	}
	return []actionFaultRow{
		{name: "throttled twice then success", setup: fault(func(s *ecstest.Server) { s.Throttle(describeAction, 2) }),
			requests: map[string]int{describeAction: 3}},
		{name: "throttled 4 times then success (attempt limit 5)", setup: fault(func(s *ecstest.Server) { s.Throttle(describeAction, 4) }),
			requests: map[string]int{describeAction: 5}},
		{name: "throttled as often as the attempt limit", setup: fault(func(s *ecstest.Server) { s.Throttle(describeAction, 5) }),
			code: 1, frag: "Throttling.User (HTTP 400)", requests: map[string]int{describeAction: 5}},
		// x-acs-retry-after 800ms and timeout 2s, with real waits: attempts
		// at 0, 0.8s and 1.6s, then the next wait would pass the deadline.
		{name: "throttled forever fails within the deadline",
			setup: func(_ *testing.T, srv *ecstest.Server) ([]string, []Option) {
				srv.Throttle(describeAction, 1000, ecstest.RetryAfter(800*time.Millisecond))
				return append(append([]string{}, keys...), "timeout", "2s"), []Option{realSleep(srv)}
			},
			code: 1, frag: "The API is throttling this account", requests: map[string]int{describeAction: 3}, within: 2 * time.Second},
		{name: "500 once then success", setup: fault(func(s *ecstest.Server) { s.FailStatus(describeAction, 1, 500, "") }),
			requests: map[string]int{describeAction: 2}},
		{name: "503 on every attempt", setup: fault(func(s *ecstest.Server) { s.FailStatus(describeAction, 100, 503, "") }),
			code: 1, frag: "ServiceUnavailable (HTTP 503)", requests: map[string]int{describeAction: 5}},
		{name: "malformed JSON", setup: fault(func(s *ecstest.Server) { s.MalformedBody(describeAction, 1) }),
			code: 1, frag: "not valid JSON", requests: map[string]int{describeAction: 1}},
		{name: "truncated JSON on every attempt", setup: fault(func(s *ecstest.Server) { s.TruncatedBody(describeAction, 100) }),
			code: 1, frag: "EOF (after 5 attempts)", requests: map[string]int{describeAction: 5}},
		{name: "empty body", setup: fault(func(s *ecstest.Server) { s.EmptyBody(describeAction, 1) }),
			code: 1, frag: "empty body", requests: map[string]int{describeAction: 1}},
		{name: "connection dropped on every attempt", setup: fault(func(s *ecstest.Server) { s.DropConnection(describeAction, 100) }),
			code: 1, frag: "EOF (after 5 attempts)", requests: map[string]int{describeAction: 5}},
		{name: "server hangs past the timeout", setup: fault(func(s *ecstest.Server) { s.Hang(describeAction) }, "timeout", "1s"),
			code: 1, frag: "Raise the timeout", requests: map[string]int{describeAction: 1}, within: 5 * time.Second},
		{name: "TLS certificate not trusted",
			setup: func(*testing.T, *ecstest.Server) ([]string, []Option) {
				tr := &httpsOnly{base: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
				return keys, []Option{WithRequest(func(r *imagefamily.Request) { r.Transport = tr })}
			},
			code: 1, frag: "TLS certificate not trusted", requests: map[string]int{"": 0}},
		{name: "wrong secret", setup: withToken(func(*testing.T, *ecstest.Server) (string, string, string) {
			return emuKeyID, "wrong-secret-value-9999", ""
		}), code: 1, frag: "SignatureDoesNotMatch", requests: map[string]int{describeAction: 1}},
		// SignatureDoesNotMatch echoes the string to sign, which holds the
		// token percent-encoded twice; scanAll looks for every encoding.
		{name: "wrong secret with a security token", setup: withToken(func(t *testing.T, srv *ecstest.Server) (string, string, string) {
			c := assumeRole(t, srv)
			return c.id, "wrong-secret-value-9999", c.token
		}), code: 1, frag: "secret does not match", requests: map[string]int{describeAction: 1}},
		{name: "expired security token", setup: withToken(func(t *testing.T, srv *ecstest.Server) (string, string, string) {
			c := assumeRole(t, srv)
			srv.ExpireSessions()
			return c.id, c.secret, c.token
		}), code: 1, frag: "InvalidSecurityToken.Expired", requests: map[string]int{describeAction: 1}},
		{name: "security token of another key", setup: withToken(func(t *testing.T, srv *ecstest.Server) (string, string, string) {
			a, b := assumeRole(t, srv), assumeRole(t, srv)
			return a.id, a.secret, b.token
		}), code: 1, frag: "InvalidSecurityToken.MismatchWithAccessKey", requests: map[string]int{describeAction: 1}},
	}
}

func TestFaultMatrixAction(t *testing.T) {
	srv := emulator(t)
	for _, row := range actionFaultRows() {
		t.Run(row.name, func(t *testing.T) {
			srv.ClearFaults()
			t.Cleanup(srv.ClearFaults)
			inputs, opts := row.setup(t, srv)
			srv.ResetCounts()
			s := newStep(t, emuInputs(srv, inputs...))
			start := time.Now()
			s.runMain(opts...)
			checkActionRow(t, s, row.code, row.frag, time.Since(start), row.within)
			checkCounts(t, srv, row.requests)
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
		if outs := s.outputs(); outs["image-id"] != "m-hznew" || outs["found"] != "true" {
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

// OIDC rows: the ID token comes from a stand-in of the runner's token
// service; STS is down, failing, or the token service itself is down.
func TestFaultMatrixActionOIDC(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	cases := []struct {
		name     string
		setup    func(s *step)
		code     int
		frag     string
		requests map[string]int
	}{
		{"STS unreachable during OIDC", func(s *step) { s.env["INPUT_STS_ENDPOINT"] = "127.0.0.1:1" },
			1, "connection refused", map[string]int{"": 0}},
		{"STS answers 503 during OIDC", func(*step) { srv.FailStatus("AssumeRoleWithOIDC", 100, 503, "") },
			1, "STS AssumeRoleWithOIDC failed: ServiceUnavailable", map[string]int{"AssumeRoleWithOIDC": 5, describeAction: 0}},
		{"STS throttled once during OIDC then success", func(*step) { srv.Throttle("AssumeRoleWithOIDC", 1) },
			0, "", map[string]int{"AssumeRoleWithOIDC": 2, describeAction: 1}},
		{"GitHub token service unreachable", func(s *step) { s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = "http://127.0.0.1:1/token" },
			1, "requesting a GitHub ID token", map[string]int{"": 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.ClearFaults()
			t.Cleanup(srv.ClearFaults)
			srv.ResetCounts()
			s := oidcStep(t, srv, tokens)
			c.setup(s)
			start := time.Now()
			s.runMain(viaEmulator(srv))
			// The minted ID tokens are secrets too.
			s.assertNoSecrets(*minted...)
			checkActionRow(t, s, c.code, c.frag, time.Since(start), 0)
			checkCounts(t, srv, c.requests)
		})
	}
}
