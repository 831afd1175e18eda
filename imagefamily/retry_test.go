package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"
)

// fakeClock records the sleeps the retry loop asks for instead of sleeping.
type fakeClock struct{ sleeps []time.Duration }

func (f *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	f.sleeps = append(f.sleeps, d)
	return ctx.Err()
}

func throttled() error {
	return &APIError{Code: "Throttling.User", HTTPStatus: 400, class: ErrThrottled}
}

func TestRetryDelayFullJitter(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: func() float64 { return 0.5 }}
	want := []time.Duration{50, 100, 200, 400, 500, 500}
	for i, w := range want {
		if got := p.delay(i+1, 0); got != w*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	// Jitter 0 still honours the server's retry-after as a floor.
	p.Jitter = func() float64 { return 0 }
	if got := p.delay(1, 750*time.Millisecond); got != 750*time.Millisecond {
		t.Errorf("delay with retry-after = %v", got)
	}
	// Huge attempt numbers do not overflow into negative windows.
	p.Jitter = func() float64 { return 0.999 }
	if got := p.delay(200, 0); got <= 0 || got > time.Second {
		t.Errorf("delay(200) = %v", got)
	}
}

func TestInvokeRetriesThrottlingThenSucceeds(t *testing.T) {
	clock := &fakeClock{}
	p := RetryPolicy{MaxAttempts: 5, Sleep: clock.sleep, Jitter: func() float64 { return 1 }}
	calls := 0
	err := invoke(context.Background(), operation{Service: "ECS", Action: "X"}, p, nil, &scrubber{}, func(context.Context, time.Duration) error {
		calls++
		if calls < 4 {
			return throttled()
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("err=%v calls=%d, want success on 4th", err, calls)
	}
	if len(clock.sleeps) != 3 || clock.sleeps[0] != 200*time.Millisecond || clock.sleeps[2] != 800*time.Millisecond {
		t.Fatalf("sleeps = %v, want 200ms, 400ms, 800ms", clock.sleeps)
	}
}

func TestInvokeGivesUpAfterMaxAttempts(t *testing.T) {
	clock := &fakeClock{}
	p := RetryPolicy{MaxAttempts: 3, Sleep: clock.sleep}
	calls := 0
	err := invoke(context.Background(), operation{Service: "ECS", Action: "X"}, p, nil, &scrubber{}, func(context.Context, time.Duration) error {
		calls++
		return throttled()
	})
	if calls != 3 || !errors.Is(err, ErrThrottled) {
		t.Fatalf("calls=%d err=%v", calls, err)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), "Throttling.User") {
		t.Fatalf("message %q does not say throttling and attempts", err)
	}
}

func TestInvokeNeverRetriesClientErrors(t *testing.T) {
	for _, code := range []string{"InvalidUser.Unauthorized", "SignatureDoesNotMatch", "InvalidRegionId.NotFound", "InvalidAccessKeyId.NotFound"} {
		calls := 0
		p := RetryPolicy{Sleep: (&fakeClock{}).sleep}
		err := invoke(context.Background(), operation{Service: "ECS"}, p, nil, &scrubber{}, func(context.Context, time.Duration) error {
			calls++
			_, e := apiError(operation{Service: "ECS"}, 403, code, "RID", "no", &scrubber{})
			return e
		})
		if calls != 1 || err == nil {
			t.Errorf("%s: calls=%d err=%v, want exactly one attempt", code, calls, err)
		}
	}
}

func TestInvokeRetries5xxAndServiceUnavailable(t *testing.T) {
	for _, c := range []struct {
		status int
		code   string
	}{{500, "InternalError"}, {503, "ServiceUnavailable"}, {502, ""}, {429, "Throttling"}} {
		calls := 0
		p := RetryPolicy{MaxAttempts: 2, Sleep: (&fakeClock{}).sleep}
		_ = invoke(context.Background(), operation{Service: "ECS"}, p, nil, &scrubber{}, func(context.Context, time.Duration) error {
			calls++
			_, e := apiError(operation{Service: "ECS"}, c.status, c.code, "", "", &scrubber{})
			return e
		})
		if calls != 2 {
			t.Errorf("%d %s: calls=%d, want 2", c.status, c.code, calls)
		}
	}
}

func TestInvokeStopsBeforeSleepingPastDeadline(t *testing.T) {
	clock := &fakeClock{}
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour, Sleep: clock.sleep, Jitter: func() float64 { return 0.9 }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	calls := 0
	err := invoke(ctx, operation{Service: "ECS"}, p, nil, &scrubber{}, func(context.Context, time.Duration) error {
		calls++
		return throttled()
	})
	if calls != 1 || len(clock.sleeps) != 0 || !errors.Is(err, ErrThrottled) {
		t.Fatalf("calls=%d sleeps=%v err=%v: must give up rather than sleep past the deadline", calls, clock.sleeps, err)
	}
}

func TestInvokeHonoursCancellationDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := invoke(ctx, operation{Service: "ECS", Action: "DescribeImageFromFamily"}, RetryPolicy{}, nil, &scrubber{}, func(context.Context, time.Duration) error {
		time.Sleep(2 * time.Second) // an SDK call that ignores the context
		return nil
	})
	if !errors.Is(err, ErrTimeout) || time.Since(start) > time.Second {
		t.Fatalf("err=%v after %v, want a timeout soon after the deadline", err, time.Since(start))
	}
}

func TestInvokeRecoversSDKPanic(t *testing.T) {
	err := invoke(context.Background(), operation{Service: "ECS"}, RetryPolicy{MaxAttempts: 1}, nil, &scrubber{}, func(context.Context, time.Duration) error {
		panic("interface conversion: interface {} is float64, not string")
	})
	if !errors.Is(err, ErrAPI) || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("err=%v", err)
	}
}

func TestScrubberRemovesEveryEncoding(t *testing.T) {
	s := &scrubber{}
	secret := "CAIS+token/with=chars&more"
	s.add(secret)
	once := rpcencode.Encode(secret)
	text := "a " + secret + " b " + once + " c " + rpcencode.Encode(once)
	got := s.clean(text)
	if strings.Contains(got, "CAIS") || strings.Count(got, redacted) != 3 {
		t.Fatalf("clean = %q", got)
	}
	s.add("abc") // too short to scrub safely
	if s.clean("abc") != "abc" {
		t.Fatal("short value scrubbed")
	}
}

func TestSignatureMismatchMessageDropsStringToSign(t *testing.T) {
	s := &scrubber{}
	s.add("SECRET-TOKEN-VALUE")
	retry, e := apiError(operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web"}, 400, "SignatureDoesNotMatch", "RID-1",
		"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&SecurityToken%3DSECRET-TOKEN-VALUE", s)
	msg := e.Error()
	if retry || strings.Contains(msg, "SECRET") || strings.Contains(msg, "string to sign") {
		t.Fatalf("message %q", msg)
	}
	for _, frag := range []string{"SignatureDoesNotMatch", "RID-1", "cn-hangzhou", `"web"`, "secret does not match"} {
		if !strings.Contains(msg, frag) {
			t.Errorf("message %q lacks %q", msg, frag)
		}
	}
	if !errors.Is(e, ErrAuthFailed) {
		t.Error("not ErrAuthFailed")
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		status int
		code   string
		class  error
		hint   string
	}{
		{403, "InvalidUser.Unauthorized", ErrAccessDenied, "ecs:DescribeImageFromFamily"},
		{404, "InvalidRegionId.NotFound", ErrRegionNotFound, "region"},
		{400, "SignatureDoesNotMatch", ErrAuthFailed, "secret"},
		{404, "InvalidAccessKeyId.NotFound", ErrAuthFailed, "access key id"},
		{400, "InvalidSecurityToken.Expired", ErrAuthFailed, "security token"},
		{400, "Throttling.User", ErrThrottled, "throttling"},
		{503, "ServiceUnavailable", ErrAPI, "temporary"},
		{400, "SomethingElse", ErrAPI, ""},
	}
	for _, c := range cases {
		_, e := apiError(operation{Service: "ECS", Region: "cn-x-1"}, c.status, c.code, "", "", &scrubber{})
		if !errors.Is(e, c.class) || !strings.Contains(e.Error(), c.hint) {
			t.Errorf("%s: %v (class want %v, hint %q)", c.code, e, c.class, c.hint)
		}
	}
}

// Every retry is announced with the operation, the attempt, the reason and
// the wait, before the wait.
func TestRetryNotices(t *testing.T) {
	srv := emulator(t)
	srv.Throttle("DescribeImageFromFamily", 2)
	var notices []RetryNotice
	r := request(srv)
	r.Retry.OnRetry = func(n RetryNotice) { notices = append(notices, n) }
	if _, err := Resolve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 2 {
		t.Fatalf("%d notices, want 2: %+v", len(notices), notices)
	}
	for i, n := range notices {
		line := n.String()
		if n.Attempt != i+1 || n.MaxAttempts != 5 || n.Region != "cn-hangzhou" || !strings.Contains(line, "Throttling") ||
			!strings.Contains(line, "RequestId") || !strings.Contains(line, fmt.Sprintf("attempt %d of 5", i+1)) || !strings.Contains(line, "next attempt in") {
			t.Errorf("notice %d: %s", i, line)
		}
	}
}

func TestRetryPolicyDo(t *testing.T) {
	var notices []RetryNotice
	p := RetryPolicy{MaxAttempts: 3, Sleep: noSleep, OnRetry: func(n RetryNotice) { notices = append(notices, n) }}
	calls := 0
	err := p.Do(context.Background(), "GitHub ID-token request", func(context.Context) (bool, error) {
		calls++
		if calls < 3 {
			return true, errors.New("HTTP 503")
		}
		return false, nil
	})
	if err != nil || calls != 3 || len(notices) != 2 || !strings.Contains(notices[1].String(), "GitHub ID-token request: attempt 2 of 3 failed (HTTP 503)") {
		t.Fatalf("err %v calls %d notices %+v", err, calls, notices)
	}
	calls = 0
	err = p.Do(context.Background(), "x", func(context.Context) (bool, error) { calls++; return false, errors.New("HTTP 400") })
	if err == nil || calls != 1 {
		t.Fatalf("a non-retryable error was retried: %d calls", calls)
	}
}
