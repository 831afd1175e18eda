package action

// The one HTTP exchange the action makes itself: the GitHub ID-token
// request. It goes through the core's trust boundary
// (imagefamily.GuardTransport, NoRedirects, a timeout) and the request's
// retry policy: a token service that redirects, streams without end,
// promises a huge body, drips, answers 4xx or plants workflow commands
// fails the step with exit code 1, every output written, the runner's
// bearer token sent nowhere else and printed nowhere, nothing sent to STS;
// 5xx answers, resets and timeouts of a single request are retried, each
// announced by a retry line; a job without the id-token permission is bad
// input (exit 2) and sends nothing.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

var tokenRetryLine = regexp.MustCompile(`^retrying GitHub ID-token request for audience "sts\.aliyuncs\.com": attempt (\d) of 5 failed \((.+)\); next attempt in [0-9.]+m?s$`)

func TestIDTokenService(t *testing.T) {
	srv := emulator(t)
	status := func(code int) func(http.ResponseWriter, *http.Request, string) {
		return func(w http.ResponseWriter, _ *http.Request, _ string) { http.Error(w, "try later", code) }
	}
	rows := []struct {
		name string
		// serve answers the first failures requests (every one when
		// failures is 0); the others get a token.
		serve    func(w http.ResponseWriter, r *http.Request, other string)
		failures int
		url      string // ACTIONS_ID_TOKEN_REQUEST_URL instead of the service's; "-" unsets it
		timeout  string
		client   *http.Client // Run with this client instead of Main
		code     int
		frag     string // in the ::error annotation; "{other}" is the second listener
		forged   []string
		requests int
		reasons  []string // of the retry lines, in order
		within   time.Duration
	}{
		{name: "302 to another listener, echoing the query", code: 1, requests: 1,
			serve: func(w http.ResponseWriter, r *http.Request, other string) {
				http.Redirect(w, r, other+"/steal?"+r.URL.RawQuery, http.StatusFound)
			},
			frag: "GitHub ID-token service: refused the answer from http://127.0.0.1:"},
		{name: "307 to another listener (would re-send the bearer token)", code: 1, requests: 1,
			serve: func(w http.ResponseWriter, r *http.Request, other string) {
				http.Redirect(w, r, other+"/steal", http.StatusTemporaryRedirect)
			},
			frag: "redirect HTTP 307 to {other}"},
		{name: "308 to another listener", code: 1, requests: 1,
			serve: func(w http.ResponseWriter, r *http.Request, other string) {
				http.Redirect(w, r, other+"/", http.StatusPermanentRedirect)
			},
			frag: "redirect HTTP 308 to {other}"},
		{name: "endless chunked 200 body", code: 1, requests: 1, frag: "requesting a GitHub ID token",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"count":1,"value":"`)
				streamUntilGone(w, r, bytes.Repeat([]byte("A"), 64<<10), 0)
			}},
		{name: "endless 500 error page with escapes and a workflow command, retried", code: 1, requests: 5,
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, "oops\x1b[2J\n::error::forged-by-token-service ##[error]forged-legacy-by-token-service\n")
				streamUntilGone(w, r, bytes.Repeat([]byte("<p>error \x1b[31m</p>\n"), 2048), 0)
			},
			frag:    `GitHub refused to mint an ID token for audience "sts.aliyuncs.com" (HTTP 500 after 5 attempts)`,
			forged:  []string{"::error::forged-by-token-service", "##[error]forged-legacy-by-token-service"},
			reasons: []string{"HTTP 500", "HTTP 500", "HTTP 500", "HTTP 500"}},
		{name: "deep arrays under the cap", code: 1, requests: 1, frag: "nested more than 12 deep",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				io.WriteString(w, `{"count":1,"value":"x","nested":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`)
			}},
		{name: "Content-Length of 2 GiB", code: 1, requests: 1, frag: "body of 2147483648 bytes (Content-Length)",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				w.Header().Set("Content-Length", "2147483648")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, `{"count":1,"value":"`)
			}},
		{name: "a token with line breaks (one add-mask per line)", code: 1, requests: 1, frag: "not a JWT",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				fmt.Fprint(w, `{"count":1,"value":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\ne\n::\n"}`)
			},
			forged: []string{"::add-mask::e", "::add-mask:::"}},
		{name: "slow drip (one byte every 200ms) past the timeout input", code: 1, requests: 1, timeout: "1s",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				w.WriteHeader(http.StatusOK)
				streamUntilGone(w, r, []byte(" "), 200*time.Millisecond)
			},
			frag: "did not answer within 1s", within: 5 * time.Second},
		{name: "401 is not retried", serve: status(401), code: 1, requests: 1, frag: `audience "sts.aliyuncs.com" (HTTP 401): try later`},
		{name: "429 is not retried (a 4xx)", serve: status(429), code: 1, requests: 1, frag: "(HTTP 429): try later"},
		{name: "503 twice, then a token", serve: status(503), failures: 2, requests: 3, reasons: []string{"HTTP 503", "HTTP 503"}},
		{name: "connection reset once, then a token", failures: 1, requests: 2, reasons: []string{"connection reset"},
			serve: func(w http.ResponseWriter, _ *http.Request, _ string) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
					conn.Close()
				}
			}},
		// The HTTP client's timeout, well inside the timeout input, is
		// retried; the timeout input itself is not (the drip above).
		{name: "a request timing out once, then a token", failures: 1, requests: 2, reasons: []string{"no answer in time: "},
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			client: &http.Client{Transport: imagefamily.GuardTransport(nil, idTokenService), CheckRedirect: imagefamily.NoRedirects, Timeout: 300 * time.Millisecond}},
		{name: "service unreachable", url: "http://127.0.0.1:1/token", code: 1, frag: "requesting a GitHub ID token",
			reasons: []string{"connection refused", "connection refused", "connection refused", "connection refused"}},
		{name: "no id-token permission", url: "-", code: 2, frag: "permissions: id-token: write"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var otherRequests atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				otherRequests.Add(1)
				fmt.Fprint(w, `{"count":1,"value":"stolen"}`)
			}))
			defer other.Close()
			stop := make(chan struct{})
			var requests atomic.Int64
			tokens, minted := githubTokenService(t, func(w http.ResponseWriter, r *http.Request) bool {
				if n := requests.Add(1); row.failures != 0 && n > int64(row.failures) {
					return false
				}
				row.serve(w, r.WithContext(context.WithValue(r.Context(), stopKey{}, stop)), other.URL)
				return true
			})
			defer close(stop)
			defer tokens.CloseClientConnections()

			srv.ResetCounts()
			s := oidcStep(t, srv, tokens)
			if row.url != "" {
				s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = strings.TrimPrefix(row.url, "-") // empty: not set
			}
			if row.timeout != "" {
				s.env["INPUT_TIMEOUT"] = row.timeout
			}
			start := time.Now()
			if row.client != nil {
				a := githubactions.New(githubactions.WithGetenv(s.getenv), githubactions.WithWriter(StepLog(s.stdout)), githubactions.WithHTTPClient(row.client))
				s.code = ExitCode(Run(context.Background(), a, viaEmulator(srv)))
				s.scanAll()
			} else {
				s.runMain(viaEmulator(srv))
			}
			elapsed := time.Since(start)
			s.assertNoSecrets(*minted...)
			stdout := s.stdout.String()
			defer func() {
				if t.Failed() {
					t.Logf("stdout:\n%s", excerptForLog(stdout))
				}
			}()

			if s.code != row.code {
				t.Errorf("exit %d, want %d", s.code, row.code)
			}
			if n := requests.Load(); row.url == "" && n != int64(row.requests) {
				t.Errorf("the token service saw %d requests, want %d", n, row.requests)
			}
			lines := annotations(s, "retrying ")
			if len(lines) != len(row.reasons) {
				t.Errorf("%d retry lines, want %d", len(lines), len(row.reasons))
			}
			for i, l := range lines {
				m := tokenRetryLine.FindStringSubmatch(l)
				if m == nil || m[1] != fmt.Sprint(i+1) || i >= len(row.reasons) || !strings.Contains(m[2], row.reasons[i]) {
					t.Errorf("retry line %q", l)
				}
			}
			if n := otherRequests.Load(); n != 0 {
				t.Errorf("the redirect target saw %d requests, want 0", n)
			}
			if row.code == 0 {
				if s.outputs()["image-id"] != "m-hznew0001" || srv.Requests("AssumeRoleWithOIDC") != 1 || len(*minted) != 1 {
					t.Fatalf("outputs %v, AssumeRoleWithOIDC %d, minted %d", s.outputs(), srv.Requests("AssumeRoleWithOIDC"), len(*minted))
				}
				// Masked before it is used, retries or not.
				if !strings.Contains(stdout, "::add-mask::"+(*minted)[0]+"\n") {
					t.Error("the ID token was not masked")
				}
				return
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; nothing may reach STS without a token", n)
			}
			checkFailureOutputs(t, s)
			frag := escapeData(strings.ReplaceAll(row.frag, "{other}", other.URL))
			if e := annotations(s, "::error "); len(e) != 1 || !strings.Contains(e[0], frag) || len(e[0]) > 2048 {
				t.Errorf("::error annotations %d, want one of at most 2048 bytes with %q", len(e), frag)
			}
			checkForged(t, s, row.forged)
			// runMain's scan covers the bearer token; "stolen" would be the
			// redirect target's token.
			secretscan.New("stolen").Check(t, "stdout", stdout)
			if row.within > 0 && elapsed > row.within {
				t.Errorf("took %v, want at most %v", elapsed, row.within)
			}
		})
	}
}

type stopKey struct{}

// streamUntilGone writes chunk until the client goes away or the test ends
// (at most a minute).
func streamUntilGone(w http.ResponseWriter, r *http.Request, chunk []byte, every time.Duration) {
	flusher, _ := w.(http.Flusher)
	stop, _ := r.Context().Value(stopKey{}).(chan struct{})
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if every > 0 {
			time.Sleep(every)
		}
	}
}
