package ecstest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ---- errors and responses ----

// apiError is an error answer in the gateway's JSON shape.
type apiError struct {
	status        int
	code, message string
	header        http.Header
}

func newAPIError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// errMissing is the gateway's answer for an absent required parameter.
func errMissing(name string) *apiError {
	return newAPIError(400, "Missing"+name, name+" is mandatory for this action.")
}

// response is a complete answer, built before writing so that body faults
// can mangle what would have been sent.
type response struct {
	status int
	header http.Header
	body   []byte
}

func jsonResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ecstest: marshal response: " + err.Error())
	}
	return &response{status: status, header: http.Header{}, body: b}
}

func (e *apiError) response(requestID string) *response {
	r := jsonResponse(e.status, struct {
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		Recommend string `json:"Recommend"`
	}{requestID, hostID, e.code, e.message, "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code)})
	for k, v := range e.header {
		r.header[k] = v
	}
	return r
}

// sleep waits d unless the client goes away or the server closes; it reports
// whether the full time passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// abort closes the connection without an answer.
func (s *Server) abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Cannot hijack (not HTTP/1.x): make net/http drop the stream.
	panic(http.ErrAbortHandler)
}

// writeTruncated sends the status line, headers and a Content-Length for the
// whole body, then half the body, then closes: the client sees an
// unexpected EOF mid-body.
func (s *Server) writeTruncated(w http.ResponseWriter, resp *response) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	keys := make([]string, 0, len(resp.header))
	for k := range resp.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.header[k] {
			fmt.Fprintf(buf, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(buf, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(resp.body))
	_, _ = buf.Write(resp.body[:len(resp.body)/2])
	_ = buf.Flush()
}

// newRequestID returns a random upper-case UUID-shaped id, like the real
// RequestId.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ecstest: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
