package imagefamily

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// panicValue is what the hooks below panic with: the secret, a forged
// workflow command on a line of its own, an escape sequence, and more text
// than an error may quote.
func panicValue(region string) string {
	return "boom in " + region + " " + demoSecret + "\n::error::forged\x1b[2J" + strings.Repeat("x", 4000)
}

// setLookupHook sets testHookLookup for the test.
func setLookupHook(t *testing.T, f func(region string)) {
	t.Helper()
	testHookLookup = f
	t.Cleanup(func() { testHookLookup = nil })
}

// checkInternal: err is an *InternalError of class ErrInternal only (never
// an input error, so no front maps it to exit code 2), one printable,
// bounded line without the secret.
func checkInternal(t *testing.T, err error, region string) {
	t.Helper()
	var ie *InternalError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInternal) {
		t.Fatalf("err = %v (%T), want an *InternalError of class ErrInternal", err, err)
	}
	if IsInputError(err) || errors.Is(err, ErrAPI) || errors.Is(err, ErrNotFound) {
		t.Errorf("an internal error matches another class: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "internal error: boom in "+region) || !strings.Contains(msg, "please report it") {
		t.Errorf("message %q", msg)
	}
	if !safetext.IsClean(msg) || strings.ContainsAny(msg, "\n\r\x1b") {
		t.Errorf("message is not one printable line: %q", msg)
	}
	if len(ie.Value) > maxInternalBytes+64 {
		t.Errorf("panic value quoted in %d bytes, want about %d at most", len(ie.Value), maxInternalBytes)
	}
	secretscan.New(demoSecret).Check(t, "the internal error", msg)
}

// A panic in one region's goroutine is that region's error; the other
// regions are resolved as usual, and the process does not crash (a panic in
// a goroutine is beyond the reach of any recover in the caller's).
func TestPanicInRegionGoroutineIsThatRegionsError(t *testing.T) {
	srv := emulator(t)
	setLookupHook(t, func(region string) {
		if region == "cn-shanghai" {
			panic(panicValue(region))
		}
	})
	regions := []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"}
	results, err := ResolveRegions(context.Background(), request(srv), regions, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkInternal(t, results[1].Err, "cn-shanghai")
	if !strings.HasPrefix(results[1].Err.Error(), `ECS DescribeImageFromFamily for family "web-base" in region cn-shanghai: internal error:`) {
		t.Errorf("the error does not name the lookup: %v", results[1].Err)
	}
	if results[0].Err != nil || results[0].Image.ImageID != wantNewest {
		t.Errorf("cn-hangzhou: %v", results[0].Err)
	}
	if results[2].Err == nil && results[2].Image.ImageID == "" {
		t.Errorf("cn-beijing: no image and no error")
	}
}

// Resolve, in the caller's goroutine, returns the same error instead of
// passing the panic on; a hook of the request (OnRetry) panicking counts as
// well.
func TestPanicInResolveIsAnError(t *testing.T) {
	srv := emulator(t)
	setLookupHook(t, func(region string) { panic(panicValue(region)) })
	_, err := Resolve(context.Background(), request(srv))
	checkInternal(t, err, hangzhou)
	if n := srv.Requests(""); n != 0 {
		t.Errorf("%d requests after a panic before the call", n)
	}
}

// sync.Once counts a panicking call as done: without care, the regions after
// the one whose goroutine obtained credentials (and panicked) would go on
// with no keys and no error. Every region gets the internal error, and
// nothing is sent.
func TestPanicWhileObtainingCredentials(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	var calls atomic.Int32
	r.Credentials.Getenv = func(k string) string {
		if k == "ALICLOUD_ASSUME_ROLE_ARN" { // read only while obtaining keys
			calls.Add(1)
			panic("boom in credentials " + demoSecret)
		}
		return ""
	}
	results, err := ResolveRegions(context.Background(), r, []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if !errors.Is(res.Err, ErrInternal) || !strings.Contains(res.Err.Error(), "obtaining credentials") {
			t.Errorf("%s: %v, want the internal error of obtaining credentials", res.Region, res.Err)
		}
		if res.Err != nil {
			secretscan.New(demoSecret).Check(t, res.Region, res.Err.Error())
		}
	}
	if calls.Load() != 1 {
		t.Errorf("credentials were obtained %d times, want once", calls.Load())
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("the emulator saw %d requests; want none", n)
	}
}

// A front's own recover: the panic value loses every secret the settings or
// the environment hold, and the extra ones the front names.
func TestNewInternalError(t *testing.T) {
	env := map[string]string{"ALICLOUD_SECRET_KEY": "env-secret-value-0003", "ALIBABA_CLOUD_SECURITY_TOKEN": "env-token-value-0004"}
	c := Credentials{AccessKeySecret: demoSecret, Getenv: envFunc(env)}
	v := "x " + demoSecret + " " + env["ALICLOUD_SECRET_KEY"] + " " + env["ALIBABA_CLOUD_SECURITY_TOKEN"] + " other-secret-0005\n::warning::y"
	err := NewInternalError("", v, c, "other-secret-0005")
	msg := err.Error()
	if !strings.HasPrefix(msg, "internal error: x [REDACTED]") || strings.Contains(msg, "\n") || !errors.Is(err, ErrInternal) {
		t.Errorf("NewInternalError = %q", msg)
	}
	secretscan.New(demoSecret, env["ALICLOUD_SECRET_KEY"], env["ALIBABA_CLOUD_SECURITY_TOKEN"], "other-secret-0005").Check(t, "the internal error", msg)
}
