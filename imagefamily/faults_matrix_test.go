package imagefamily

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The core's runner of the fault table (conformance.FaultRows): every way an
// honest endpoint can fail, against the in-process emulator, each row
// checked for its error class, a fragment of the message, the retries
// reported and the requests the emulator saw. Each front runs the same rows
// through its own runner (files named *_matrix_test.go).

const describe = conformance.ActionDescribe

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

// untrusting trusts no certificate at all.
func untrusting() http.RoundTripper {
	return &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
}

// faultRequest maps a row onto the core's Request; it returns the secrets
// the row brought in (STS secrets and tokens) for the leak scan.
func faultRequest(t *testing.T, srv *ecstest.Server, row conformance.FaultRow) (Request, []string) {
	t.Helper()
	r := request(srv)
	var secrets []string
	sts := func(id, secret, token string) {
		r.Credentials = Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token, Getenv: envFunc(nil)}
	}
	switch row.Credentials {
	case conformance.CredKeys:
	case conformance.CredWrongSecret:
		r.Credentials.AccessKeySecret = conformance.FaultWrongSecret
	case conformance.CredSTSWrongSecret:
		k := stsKeys(t, srv)
		sts(k.ID, conformance.FaultWrongSecret, k.Token)
		secrets = append(secrets, k.Secret, k.Token)
	case conformance.CredSTSExpired:
		k := stsKeys(t, srv)
		srv.ExpireSessions()
		sts(k.ID, k.Secret, k.Token)
		secrets = append(secrets, k.Secret, k.Token)
	case conformance.CredSTSOtherToken:
		a, b := stsKeys(t, srv), stsKeys(t, srv)
		sts(a.ID, a.Secret, b.Token)
		secrets = append(secrets, a.Secret, a.Token, b.Secret, b.Token)
	case conformance.CredReadOnly:
		r.Credentials.AccessKeyID, r.Credentials.AccessKeySecret = conformance.ReadOnlyKeyID, conformance.ReadOnlyKeySecret
	case conformance.CredNoWrite:
		r.Credentials.AccessKeyID, r.Credentials.AccessKeySecret = conformance.NoWriteKeyID, conformance.NoWriteKeySecret
	case conformance.CredOIDC:
		good := fakeJWT(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:o/r:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})
		r.Credentials = Credentials{OIDCRoleARN: oidcRole, OIDCProviderARN: oidcProv, OIDCToken: good,
			STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil), HomeDir: "/nonexistent"}
		secrets = append(secrets, good)
	default:
		t.Fatalf("row %q: credentials %d have no mapping in the core's runner", row.Name, row.Credentials)
	}
	if row.STSUnreachable {
		r.Credentials.STSEndpoint = "127.0.0.1:1"
	}
	if row.Untrusted {
		r.Transport = untrusting()
	}
	r.Retry.MaxAttempts = row.MaxAttempts
	if row.Timeout > 0 {
		r.Timeout = row.Timeout
	}
	if row.Within > 0 {
		// The rows about deadlines need the real waits.
		r.Retry = RetryPolicy{MaxAttempts: row.MaxAttempts, BaseDelay: time.Millisecond, Jitter: func() float64 { return 0 }}
	}
	return r, secrets
}

// outcomeClass is the error class of each outcome of the table.
var outcomeClass = map[conformance.FaultOutcome]error{
	conformance.FaultThrottled:  ErrThrottled,
	conformance.FaultAPIError:   ErrAPI,
	conformance.FaultNetwork:    ErrNetwork,
	conformance.FaultTimeout:    ErrTimeout,
	conformance.FaultAuthFailed: ErrAuthFailed,
	// Only the lifecycle's rows (LifecycleFaultRows).
	conformance.FaultAccessDenied: ErrAccessDenied,
}

func TestFaultMatrix(t *testing.T) {
	srv := emulator(t)
	for _, row := range conformance.FaultRows() {
		t.Run(row.Name, func(t *testing.T) {
			runFaultRow(t, srv, row, func(r Request) error {
				img, err := Resolve(context.Background(), r)
				if err == nil && img.ImageID != wantNewest {
					t.Fatalf("want success with %s, got %q", wantNewest, img.ImageID)
				}
				return err
			})
		})
	}
}

// runFaultRow runs one row through do (the front's call of the core) and
// checks the error class, the message, the retries reported, the requests
// the emulator saw and that no secret is in the message.
func runFaultRow(t *testing.T, srv *ecstest.Server, row conformance.FaultRow, do func(Request) error) {
	t.Helper()
	srv.ClearFaults()
	srv.SetTokenLifetime(0)
	t.Cleanup(srv.ClearFaults)
	r, extra := faultRequest(t, srv, row)
	srv.Inject(row.Faults...)
	srv.ResetCounts() // after the row's credentials, which may come from STS
	var retries atomic.Int32
	r.Retry.OnRetry = func(RetryNotice) { retries.Add(1) }
	start := time.Now()
	err := do(r)
	elapsed := time.Since(start)
	t.Logf("after %v: %v", elapsed.Round(time.Millisecond), err)
	checkRow(t, row, err, elapsed)
	if got := int(retries.Load()); got != row.Retries {
		t.Errorf("%d retries reported, want %d", got, row.Retries)
	}
	for action, want := range row.Requests {
		if got := srv.Requests(action); got != want {
			t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
		}
	}
	if err != nil {
		// The signature of a request that never got an answer can
		// be replayed until its timestamp expires: it is as
		// sensitive as the token it was made with.
		for _, action := range []string{describe, conformance.ActionDescribeImages, conformance.ActionModifyImage} {
			extra = append(extra, srv.LastRequest(action).Params.Get("Signature"))
		}
		secretscan.New(demoSecret, deniedSec, conformance.FaultWrongSecret, conformance.ReadOnlyKeySecret, conformance.NoWriteKeySecret,
			r.Credentials.AccessKeySecret, r.Credentials.SecurityToken, r.Credentials.OIDCToken).Add(extra...).Check(t, "error", err.Error())
	}
}

func checkRow(t *testing.T, row conformance.FaultRow, err error, elapsed time.Duration) {
	t.Helper()
	if row.Outcome == conformance.FaultFound {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
	} else {
		class := outcomeClass[row.Outcome]
		if class == nil {
			t.Fatalf("outcome %v has no error class in the core's runner", row.Outcome)
		}
		if !errors.Is(err, class) {
			t.Fatalf("err = %v, want class %v", err, class)
		}
		if row.DuringCredentials && !errors.Is(err, ErrCredentials) {
			t.Errorf("err = %v, want it to be a credentials error too", err)
		}
		if !strings.Contains(err.Error(), row.Fragment) {
			t.Errorf("message %q lacks %q", err, row.Fragment)
		}
	}
	if row.Within > 0 && elapsed > row.Within {
		t.Errorf("took %v, want at most %v", elapsed, row.Within)
	}
}

// An untrusted certificate fails at once, is not retried, and nothing is
// ever sent over plain HTTP instead.
func TestFaultMatrixUntrustedCertificate(t *testing.T) {
	srv := emulator(t)
	for _, endpoint := range []string{srv.Endpoint(), "https://" + srv.Endpoint()} {
		rec := &schemeRecorder{base: untrusting()}
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
