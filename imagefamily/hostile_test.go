package imagefamily

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The core's runner of the hostile-endpoint table (conformance.HostileRows):
// every row through Resolve, stating the outcome class, the message
// fragment, that the message is one bounded line of printable text with
// nothing forged, and the requests each listener saw.

const hostileSecret = "hostile-secret-MUST-NOT-LEAK-0001"

func hostileRequest(h *conformance.HostileServer) Request {
	return Request{
		Region: hangzhou, Family: h.Family(),
		Credentials: Credentials{AccessKeyID: "LTAIHOSTILE0001", AccessKeySecret: hostileSecret,
			Getenv: envFunc(nil), HomeDir: "/nonexistent"},
		Endpoint:  h.Endpoint(),
		Transport: h.Transport(),
		Timeout:   h.Timeout(),
		Retry:     RetryPolicy{MaxAttempts: conformance.HostileMaxAttempts, Sleep: noSleep},
		Front:     FrontLib,
	}
}

func TestHostileEndpoints(t *testing.T) {
	for _, row := range conformance.HostileRows() {
		t.Run(row.Name, func(t *testing.T) {
			h := conformance.StartHostile(row)
			defer h.Close()
			req := hostileRequest(h)
			var retryLines []string // OnRetry runs on this goroutine
			req.Retry.OnRetry = func(n RetryNotice) { retryLines = append(retryLines, n.String()) }
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			img, err := Resolve(context.Background(), req)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			checkHostileOutcome(t, row, h, img, err)
			if n := len(retryLines); n != row.Requests-1 {
				t.Errorf("%d retry notices, want %d", n, row.Requests-1)
			}
			for _, line := range retryLines {
				checkNoLegacyForged(t, "retry notice", line, row.Forged)
			}
			// Bounded reads: whatever the row streams (64 MiB pages, endless
			// bodies, 2 GiB promises), the lookup allocates a bounded amount.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > h.AllocBound() {
				t.Errorf("the lookup allocated %d MiB for %d bytes served; reads are not bounded", grew>>20, h.ServedBytes())
			}
		})
	}
}

func checkHostileOutcome(t *testing.T, row conformance.HostileRow, h *conformance.HostileServer, img Image, err error) {
	t.Helper()
	if n := h.OtherRequests(); n != 0 {
		t.Errorf("the second listener (a redirect target) saw %d requests, want 0", n)
	}
	if n := h.Requests(); n != row.Requests {
		t.Errorf("the endpoint saw %d requests, want %d", n, row.Requests)
	}
	if row.Outcome == conformance.HostileFound {
		if err != nil {
			t.Fatalf("err = %v, want the image", err)
		}
		if img.ImageID != conformance.HostileImageID {
			t.Fatalf("image id %q, want %q", img.ImageID, conformance.HostileImageID)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted %+v, want %v", img, row.Outcome)
	}
	var refused *AnswerError
	var api *APIError
	switch row.Outcome {
	case conformance.HostileRefused:
		if !errors.As(err, &refused) {
			t.Errorf("err is %T, want *AnswerError: %v", err, err)
		}
	case conformance.HostileAPIError:
		if !errors.As(err, &api) {
			t.Errorf("err is %T, want *APIError: %v", err, err)
		}
	case conformance.HostileNotFound:
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want not found", err)
		}
	case conformance.HostileTimeout:
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("err = %v, want a timeout", err)
		}
	}
	msg := err.Error()
	if frag := h.Fill(row.Fragment); !strings.Contains(msg, frag) {
		t.Errorf("message lacks %q:\n%s", frag, msg)
	}
	if len(msg) > 2048 {
		t.Errorf("message is %d bytes; server text must be quoted as a bounded excerpt", len(msg))
	}
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 || c == 0x7f {
			t.Fatalf("message holds control byte %#x at %d: %q", c, i, msg)
		}
	}
	for _, f := range row.Forged {
		if strings.HasPrefix(msg, f) {
			t.Errorf("message starts with forged text %q", f)
		}
	}
	checkNoLegacyForged(t, "message", msg, row.Forged)
	for _, leak := range []string{hostileSecret, "Signature=", "SignatureNonce"} {
		if strings.Contains(msg, leak) {
			t.Errorf("message holds %q: %s", leak, msg)
		}
	}
	if errors.Is(err, ErrInvalidInput) {
		t.Errorf("a server answer became an input error (exit 2): %v", err)
	}
}

// checkNoLegacyForged: forged text holding a GitHub runner's legacy command
// prefix "##[" must not appear as it is anywhere in a line of human output
// (the runner looks for the prefix anywhere in a line, not only at its
// start).
func checkNoLegacyForged(t *testing.T, what, text string, forged []string) {
	t.Helper()
	for _, f := range forged {
		if strings.Contains(f, "##[") && strings.Contains(text, f) {
			t.Errorf("%s holds the forged legacy command %q as it is: %s", what, f, text)
		}
	}
}

// The boundary covers every exchange the core makes, not only ECS: an STS
// endpoint or a metadata service that redirects or streams without end is
// refused the same way.
func TestHostileCredentialEndpoints(t *testing.T) {
	rows := map[string]conformance.HostileRow{}
	for _, r := range conformance.HostileRows() {
		rows[r.Name] = r
	}
	for _, name := range []string{"302 to another host, echoing the signed query", "endless chunked 200 body", "307 to plain http on another host",
		"shape: deep arrays in an unknown member", "shape: deep arrays in an error answer"} {
		row := rows[name]
		if row.Serve == nil {
			t.Fatalf("no row %q", name)
		}
		for _, via := range []string{"STS AssumeRole", "ECS metadata"} {
			t.Run(via+"/"+name, func(t *testing.T) {
				h := conformance.StartHostile(row)
				defer h.Close()
				r := hostileRequest(h)
				r.Endpoint = "https://127.0.0.1:1" // never reached: credentials fail first
				switch via {
				case "STS AssumeRole":
					r.Credentials.AssumeRoleARN = readerRole
					r.Credentials.STSEndpoint = h.Endpoint()
				case "ECS metadata":
					r.Credentials.AccessKeyID, r.Credentials.AccessKeySecret = "", ""
					r.Credentials.ECSRoleName = "image-reader"
					r.Credentials.MetadataEndpoint = h.URL()
				}
				_, err := Resolve(context.Background(), r)
				var refused *AnswerError
				if !errors.As(err, &refused) {
					t.Fatalf("err = %v (%T), want a refused answer", err, err)
				}
				if frag := h.Fill(row.Fragment); !strings.Contains(err.Error(), frag) {
					t.Errorf("message lacks %q: %v", frag, err)
				}
				if n := h.OtherRequests(); n != 0 {
					t.Errorf("the redirect target saw %d requests", n)
				}
				if strings.Contains(err.Error(), hostileSecret) || strings.Contains(err.Error(), "Signature=") {
					t.Errorf("message leaks the signed request: %v", err)
				}
			})
		}
	}
}

// A debug writer is never written after Resolve returns, even when the
// deadline leaves an SDK call running (the slow-drip row): a caller may read
// a plain bytes.Buffer at once (-race checks it).
func TestDebugWriterQuietAfterReturn(t *testing.T) {
	for _, row := range conformance.HostileRows() {
		if row.Outcome != conformance.HostileTimeout {
			continue
		}
		h := conformance.StartHostile(row)
		var buf bytes.Buffer
		r := hostileRequest(h)
		r.Timeout = 500 * time.Millisecond
		r.Debug = &buf
		if _, err := Resolve(context.Background(), r); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		n := buf.Len()
		time.Sleep(300 * time.Millisecond)
		if buf.Len() != n {
			t.Fatalf("the trace grew after Resolve returned: %q", buf.String()[n:])
		}
		h.Close()
	}
}

// STS-issued credentials outside the credential alphabet (a line break in
// the token would register one add-mask per line in the action) are
// refused, and never handed to the front's OnSecret hook.
func TestIssuedCredentialsChecked(t *testing.T) {
	for _, creds := range []string{
		`{"AccessKeyId":"STS.REVIEW0001","AccessKeySecret":"stssecret-123456","SecurityToken":"ststoken-123456\na\ne\n:"}`,
		`{"AccessKeyId":"\u001b]0;X\u0007","AccessKeySecret":"stssecret-123456","SecurityToken":"tok"}`,
		`{"AccessKeyId":"STS.REVIEW0001","AccessKeySecret":"has space","SecurityToken":"tok"}`,
	} {
		row := conformance.HostileRow{Name: "sts", Serve: func(w http.ResponseWriter, r *http.Request, _ conformance.HostileEnv) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"RequestId":"R2","Credentials":` + creds + `}`))
		}}
		h := conformance.StartHostile(row)
		var told []string
		r := hostileRequest(h)
		r.Credentials.AssumeRoleARN = readerRole
		r.Credentials.STSEndpoint = h.Endpoint()
		r.Credentials.OnSecret = func(v string) { told = append(told, v) }
		_, err := Resolve(context.Background(), r)
		h.Close()
		var refused *AnswerError
		if !errors.As(err, &refused) || !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "Credentials.") {
			t.Fatalf("%s: err = %v", creds, err)
		}
		for _, v := range told {
			if strings.ContainsAny(v, "\r\n \x1b") {
				t.Fatalf("OnSecret told of %q", v)
			}
		}
		if h.Requests() != 1 {
			t.Fatalf("%d requests", h.Requests())
		}
	}
}
