package ecstest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
)

const action = "DescribeImageFromFamily"

func TestThrottleAndFailStatus(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")

	s.Throttle(action, 2)
	s.Throttle("AssumeRole", 5) // another action: no effect here
	for i := 0; i < 2; i++ {
		_, err := describe(c, s, "cn-hangzhou", "web-base")
		se := wantServerError(t, err, 400, "Throttling.User")
		if se.Message() != "Request was denied due to user flow control." {
			t.Fatal(se.Message())
		}
	}
	if _, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	if n := s.Requests(action); n != 3 {
		t.Fatalf("Requests = %d (throttled requests count)", n)
	}

	s.Throttle("", 1, TooManyRequests(), RetryAfter(1500*time.Millisecond))
	a := raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil)
	if e := decodeError(t, a); a.Status != 429 || e.Code != "Throttling" || a.Header.Get("x-acs-retry-after") != "1500" {
		t.Fatalf("%d %+v %v", a.Status, e, a.Header)
	}

	s.FailStatus(action, 1, 503, "ServiceUnavailable")
	s.FailStatus(action, 1, 500, "")
	_, err := describe(c, s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 503, "ServiceUnavailable")
	_, err = describe(c, s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 500, "InternalError")

	s.FailStatus("", 3, 500, "InternalError")
	s.ClearFaults()
	if _, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
}

func TestBodyFaults(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")

	s.MalformedBody(action, 1)
	a := raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil)
	if a.Err != nil || a.Status != 200 || strings.HasPrefix(string(a.Body), "{}") || json.Valid(a.Body) {
		t.Fatalf("malformed: %v %d %s", a.Err, a.Status, a.Body)
	}
	s.MalformedBody(action, 1)
	_, err := describe(c, s, "cn-hangzhou", "web-base")
	var ce *sdkerrors.ClientError
	if !errors.As(err, &ce) || ce.ErrorCode() != sdkerrors.JsonUnmarshalErrorCode {
		t.Fatalf("SDK on a malformed body: %T %v", err, err)
	}

	s.EmptyBody(action, 1)
	a = raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil)
	if a.Err != nil || a.Status != 200 || len(a.Body) != 0 {
		t.Fatalf("empty: %v %d %q", a.Err, a.Status, a.Body)
	}

	s.TruncatedBody(action, 1)
	a = raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil)
	if !errors.Is(a.Err, io.ErrUnexpectedEOF) || a.Status != 200 || len(a.Body) == 0 {
		t.Fatalf("truncated: %v %d %q", a.Err, a.Status, a.Body)
	}

	s.DropConnection(action, 1)
	a = raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil)
	if a.Err == nil {
		t.Fatalf("drop: got an answer %d", a.Status)
	}
	s.DropConnection(action, 1)
	if _, err := describe(c, s, "cn-hangzhou", "web-base"); err == nil {
		t.Fatal("SDK got an answer from a dropped connection")
	}

	// All used up: normal answers again.
	if _, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	if n := s.Requests(action); n != 7 {
		t.Fatalf("Requests = %d", n)
	}
}

func TestDelayLatencyHang(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")

	s.Delay(action, 300*time.Millisecond)
	start := time.Now()
	if _, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("Delay: answered after %v", d)
	}
	s.Delay(action, 0)

	s.Latency(200 * time.Millisecond)
	start = time.Now()
	if a := raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil); a.Err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("Latency: %v after %v", a.Err, time.Since(start))
	}
	s.Latency(0)

	// A delay is cut short when the client gives up.
	s.Delay("", 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := post(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	s.ClearFaults()

	// Hang: no answer until the client goes away...
	s.Hang(action)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel2()
	if err := post(ctx2, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hang: %v", err)
	}
	// ...or the server closes.
	done := make(chan error, 1)
	go func() { done <- post(context.Background(), s) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Requests(action) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Hang answered")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a hanging request")
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}

// post sends one signed DescribeImageFromFamily and reads the whole answer.
func post(ctx context.Context, s *Server) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/?"+signed("POST", demoKey, demoSecret, nil).Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}
