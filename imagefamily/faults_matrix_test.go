package imagefamily

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// The fault matrix of the core: every way the endpoint can fail, against the
// in-process emulator, each row stating the error class, a fragment of the
// message and how many requests the emulator saw. The same faults are run
// through each front's binary in cmd/alicloud-image-family, test/packer and
// action/test/action (files named *_matrix_test.go).

const describe = "DescribeImageFromFamily"

// schemeRecorder remembers the scheme and host of every request the core
// tries to send, so a test can prove that nothing went out over plain HTTP.
type schemeRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (s *schemeRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.urls = append(s.urls, r.URL.Scheme+"://"+r.URL.Host)
	s.mu.Unlock()
	return s.base.RoundTrip(r)
}

// stsKeys obtains STS credentials from the emulator (AssumeRole with the
// demo key), for the rows that need a security token.
func stsKeys(t *testing.T, srv *ecstest.Server) keys {
	t.Helper()
	r := request(srv)
	r.Credentials.AssumeRoleARN = readerRole
	k, err := newSession(r).credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type faultRow struct {
	name string
	// setup injects the fault and adjusts the request; it returns secrets
	// the row brought in (STS tokens) for the leak scan.
	setup func(t *testing.T, srv *ecstest.Server, r *Request) []string
	class error   // nil: the lookup succeeds
	also  []error // further classes the error matches (a transport cause)
	frag  string  // fragment of the message, case-insensitive
	// requests the emulator saw, by action; "" is every request.
	requests map[string]int
	// within bounds the wall time (deadline rows).
	within time.Duration
}

func faultRows() []faultRow {
	attempts := func(n int) func(*Request) { return func(r *Request) { r.Retry.MaxAttempts = n } }
	inject := func(f func(srv *ecstest.Server), mods ...func(*Request)) func(*testing.T, *ecstest.Server, *Request) []string {
		return func(_ *testing.T, srv *ecstest.Server, r *Request) []string {
			f(srv)
			for _, m := range mods {
				m(r)
			}
			return nil
		}
	}
	oidc := func(r *Request, srv *ecstest.Server) {
		good := fakeJWT(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:o/r:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})
		r.Credentials = Credentials{OIDCRoleARN: oidcRole, OIDCProviderARN: oidcProv, OIDCToken: good,
			STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil), HomeDir: "/nonexistent"}
	}
	return []faultRow{
		{name: "throttled once then success",
			setup:    inject(func(s *ecstest.Server) { s.Throttle(describe, 1) }),
			requests: map[string]int{describe: 2}},
		{name: "throttled 4 times then success (attempt limit 5)",
			setup:    inject(func(s *ecstest.Server) { s.Throttle(describe, 4) }, attempts(5)),
			requests: map[string]int{describe: 5}},
		{name: "throttled (HTTP 429) twice then success",
			setup:    inject(func(s *ecstest.Server) { s.Throttle(describe, 2, ecstest.TooManyRequests()) }),
			requests: map[string]int{describe: 3}},
		{name: "throttled as often as the attempt limit",
			setup: inject(func(s *ecstest.Server) { s.Throttle(describe, 5) }, attempts(5)),
			class: ErrThrottled, frag: "Throttling.User (HTTP 400)", requests: map[string]int{describe: 5}},
		{name: "throttled (HTTP 429) past the attempt limit",
			setup: inject(func(s *ecstest.Server) { s.Throttle(describe, 100, ecstest.TooManyRequests()) }, attempts(3)),
			class: ErrThrottled, frag: "after 3 attempts. The API is throttling", requests: map[string]int{describe: 3}},
		// Real waits: x-acs-retry-after 600ms, jitter 0 and a 1.5s deadline
		// allow attempts at 0, 0.6s and 1.2s; the next wait would end past
		// the deadline, so the lookup stops with the throttling error (not a
		// timeout) before the deadline.
		{name: "throttled forever fails within the deadline",
			setup: inject(func(s *ecstest.Server) { s.Throttle(describe, 1000, ecstest.RetryAfter(600*time.Millisecond)) },
				func(r *Request) {
					r.Timeout = 1500 * time.Millisecond
					r.Retry = RetryPolicy{MaxAttempts: 20, BaseDelay: time.Millisecond, Jitter: func() float64 { return 0 }}
				}),
			class: ErrThrottled, frag: "throttling", requests: map[string]int{describe: 3}, within: 1500 * time.Millisecond},
		{name: "500 once then success",
			setup:    inject(func(s *ecstest.Server) { s.FailStatus(describe, 1, 500, "") }),
			requests: map[string]int{describe: 2}},
		{name: "503 twice then success",
			setup:    inject(func(s *ecstest.Server) { s.FailStatus(describe, 2, 503, "") }),
			requests: map[string]int{describe: 3}},
		{name: "500 on every attempt",
			setup: inject(func(s *ecstest.Server) { s.FailStatus(describe, 100, 500, "") }, attempts(3)),
			class: ErrAPI, frag: "InternalError (HTTP 500)", requests: map[string]int{describe: 3}},
		{name: "503 on every attempt",
			setup: inject(func(s *ecstest.Server) { s.FailStatus(describe, 100, 503, "") }, attempts(3)),
			class: ErrAPI, frag: "ServiceUnavailable (HTTP 503)", requests: map[string]int{describe: 3}},
		{name: "502 from a gateway without an API body",
			setup: inject(func(s *ecstest.Server) { s.FailStatus(describe, 100, 502, "") }, attempts(2)),
			class: ErrAPI, frag: "HTTP 502", requests: map[string]int{describe: 2}},
		// A body that is not JSON is not retried: the same server would
		// most likely answer the same again.
		{name: "malformed JSON",
			setup: inject(func(s *ecstest.Server) { s.MalformedBody(describe, 1) }),
			class: ErrAPI, frag: "not valid JSON", requests: map[string]int{describe: 1}},
		{name: "truncated JSON",
			setup: inject(func(s *ecstest.Server) { s.TruncatedBody(describe, 100) }, attempts(2)),
			class: ErrNetwork, frag: "EOF", requests: map[string]int{describe: 2}},
		{name: "truncated JSON once then success",
			setup:    inject(func(s *ecstest.Server) { s.TruncatedBody(describe, 1) }),
			requests: map[string]int{describe: 2}},
		{name: "empty body",
			setup: inject(func(s *ecstest.Server) { s.EmptyBody(describe, 1) }),
			class: ErrAPI, frag: "empty body", requests: map[string]int{describe: 1}},
		{name: "connection dropped once then success",
			setup:    inject(func(s *ecstest.Server) { s.DropConnection(describe, 1) }),
			requests: map[string]int{describe: 2}},
		{name: "connection dropped on every attempt",
			setup: inject(func(s *ecstest.Server) { s.DropConnection(describe, 100) }, attempts(3)),
			class: ErrNetwork, frag: "EOF", requests: map[string]int{describe: 3}},
		{name: "server hangs past the timeout",
			setup: inject(func(s *ecstest.Server) { s.Hang(describe) }, func(r *Request) { r.Timeout = 300 * time.Millisecond }),
			class: ErrTimeout, frag: "Raise the timeout", requests: map[string]int{describe: 1}, within: 3 * time.Second},
		{name: "server answers after the timeout",
			setup: inject(func(s *ecstest.Server) { s.Delay(describe, 5*time.Second) }, func(r *Request) { r.Timeout = 300 * time.Millisecond }),
			class: ErrTimeout, frag: "Raise the timeout", requests: map[string]int{describe: 1}, within: 3 * time.Second},
		{name: "wrong secret",
			setup: inject(func(*ecstest.Server) {}, func(r *Request) { r.Credentials.AccessKeySecret = "wrong-secret-value-123" }),
			class: ErrAuthFailed, frag: "SignatureDoesNotMatch", requests: map[string]int{describe: 1}},
		// The server's SignatureDoesNotMatch message echoes its string to
		// sign, which holds the security token percent-encoded twice.
		{name: "wrong secret with a security token",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				k := stsKeys(t, srv)
				r.Credentials = Credentials{AccessKeyID: k.ID, AccessKeySecret: "wrong-secret-value-123", SecurityToken: k.Token, Getenv: envFunc(nil)}
				return []string{k.Secret, k.Token}
			},
			class: ErrAuthFailed, frag: "secret does not match", requests: map[string]int{describe: 1}},
		{name: "expired security token",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				k := stsKeys(t, srv)
				srv.ExpireSessions()
				r.Credentials = Credentials{AccessKeyID: k.ID, AccessKeySecret: k.Secret, SecurityToken: k.Token, Getenv: envFunc(nil)}
				return []string{k.Secret, k.Token}
			},
			class: ErrAuthFailed, frag: "InvalidSecurityToken.Expired", requests: map[string]int{describe: 1}},
		{name: "security token of another key",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				a, b := stsKeys(t, srv), stsKeys(t, srv)
				r.Credentials = Credentials{AccessKeyID: a.ID, AccessKeySecret: a.Secret, SecurityToken: b.Token, Getenv: envFunc(nil)}
				return []string{a.Secret, a.Token, b.Secret, b.Token}
			},
			class: ErrAuthFailed, frag: "InvalidSecurityToken.MismatchWithAccessKey", requests: map[string]int{describe: 1}},
		{name: "STS unreachable during OIDC",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				oidc(r, srv)
				r.Credentials.STSEndpoint = "127.0.0.1:1"
				r.Retry.MaxAttempts = 2
				return []string{r.Credentials.OIDCToken}
			},
			class: ErrCredentials, also: []error{ErrNetwork}, frag: "connection refused", requests: map[string]int{"": 0}},
		{name: "STS answers 503 during OIDC",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				oidc(r, srv)
				srv.FailStatus("AssumeRoleWithOIDC", 100, 503, "")
				r.Retry.MaxAttempts = 3
				return []string{r.Credentials.OIDCToken}
			},
			class: ErrCredentials, also: []error{ErrAPI}, frag: "ServiceUnavailable", requests: map[string]int{"AssumeRoleWithOIDC": 3, describe: 0}},
		{name: "STS hangs during OIDC",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				oidc(r, srv)
				srv.Hang("AssumeRoleWithOIDC")
				r.Timeout = 300 * time.Millisecond
				return []string{r.Credentials.OIDCToken}
			},
			class: ErrCredentials, also: []error{ErrTimeout}, frag: "Raise the timeout", requests: map[string]int{"AssumeRoleWithOIDC": 1, describe: 0}, within: 3 * time.Second},
		{name: "STS throttled once during OIDC then success",
			setup: func(t *testing.T, srv *ecstest.Server, r *Request) []string {
				oidc(r, srv)
				srv.Throttle("AssumeRoleWithOIDC", 1)
				return []string{r.Credentials.OIDCToken}
			},
			requests: map[string]int{"AssumeRoleWithOIDC": 2, describe: 1}},
	}
}

func TestFaultMatrix(t *testing.T) {
	srv := emulator(t)
	for _, row := range faultRows() {
		t.Run(row.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.SetTokenLifetime(0)
			t.Cleanup(srv.ClearFaults)
			r := request(srv)
			extra := row.setup(t, srv, &r)
			srv.ResetCounts() // after setup, which may obtain STS keys
			start := time.Now()
			img, err := Resolve(context.Background(), r)
			elapsed := time.Since(start)
			t.Logf("%v after %v: %v", img.ImageID, elapsed.Round(time.Millisecond), err)
			checkRow(t, row, img, err, elapsed)
			for action, want := range row.requests {
				if got := srv.Requests(action); got != want {
					t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
				}
			}
			if err != nil {
				// The signature of a request that never got an answer can
				// be replayed until its timestamp expires: it is as
				// sensitive as the token it was made with.
				sig := srv.LastRequest(describe).Params.Get("Signature")
				secretscan.New(demoSecret, deniedSec, "wrong-secret-value-123", r.Credentials.AccessKeySecret,
					r.Credentials.SecurityToken, r.Credentials.OIDCToken, sig).Add(extra...).Check(t, "error", err.Error())
			}
		})
	}
}

func checkRow(t *testing.T, row faultRow, img Image, err error, elapsed time.Duration) {
	t.Helper()
	if row.class == nil {
		if err != nil || img.ImageID != wantNewest {
			t.Fatalf("want success, got %q, %v", img.ImageID, err)
		}
	} else {
		if !errors.Is(err, row.class) {
			t.Fatalf("err = %v, want class %v", err, row.class)
		}
		for _, c := range row.also {
			if !errors.Is(err, c) {
				t.Errorf("err = %v, want it to match %v too", err, c)
			}
		}
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(row.frag)) {
			t.Errorf("message %q lacks %q", err, row.frag)
		}
	}
	if row.within > 0 && elapsed > row.within {
		t.Errorf("took %v, want at most %v", elapsed, row.within)
	}
}

// An untrusted certificate fails at once, is not retried, and nothing is
// ever sent over plain HTTP instead.
func TestFaultMatrixUntrustedCertificate(t *testing.T) {
	srv := emulator(t)
	for _, endpoint := range []string{srv.Endpoint(), "https://" + srv.Endpoint()} {
		rec := &schemeRecorder{base: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
		r := request(srv)
		r.Endpoint = endpoint
		r.Transport = rec
		srv.ResetCounts()
		_, err := Resolve(context.Background(), r)
		if !errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), "TLS certificate not trusted") {
			t.Fatalf("%s: err = %v", endpoint, err)
		}
		if n := srv.Requests(""); n != 0 {
			t.Errorf("%s: %d requests reached the emulator", endpoint, n)
		}
		rec.mu.Lock()
		if len(rec.urls) != 1 || rec.urls[0] != "https://"+srv.Endpoint() {
			t.Errorf("%s: requests tried: %v; want exactly one, over https", endpoint, rec.urls)
		}
		rec.mu.Unlock()
	}
}
