package family

import (
	"errors"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// A panic in Configure or Execute would kill the plugin process mid-RPC:
// Packer would show a crash (and a goroutine dump in its log) instead of a
// diagnostic. Each is returned as an error instead, of class
// imagefamily.ErrInternal, one printable line without the secret (execute
// checks the line and the secret for Execute). A panic in a region's
// goroutine is that region's error: imagefamily
// TestPanicInRegionGoroutineIsThatRegionsError.

// boom is the panic value: the block's secret, a forged line, an escape
// sequence.
const boom = "boom " + keySecret + "\n::error::forged\x1b[2J"

func checkPanicError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error after a panic")
	}
	msg := err.Error()
	if !errors.Is(err, imagefamily.ErrInternal) || !strings.HasPrefix(msg, "alicloud-image-family: internal error: boom [REDACTED]") || !strings.Contains(msg, "please report it") {
		t.Errorf("error %q (class internal: %v)", msg, errors.Is(err, imagefamily.ErrInternal))
	}
	if strings.ContainsAny(msg, "\n\r\x1b") || strings.Contains(msg, "goroutine ") || strings.Contains(msg, keySecret) {
		t.Errorf("error is not one clean line without the secret: %q", msg)
	}
}

func TestConfigurePanicIsAnError(t *testing.T) {
	clearEnv(t)
	testHookConfigure = func(*Config) { panic(boom) }
	t.Cleanup(func() { testHookConfigure = nil })
	_, err := configure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\""+creds)
	checkPanicError(t, err)
}

func TestExecutePanicIsAnError(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	d := mustConfigure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\""+creds+"custom_endpoint_ecs = \""+srv.URL+"\"\n")
	// In Execute's own goroutine.
	d.prepare = func(*imagefamily.Request) { panic(boom) }
	v, _, err := execute(t, d)
	checkPanicError(t, err)
	if !v.IsNull() || srv.Requests("") != 0 {
		t.Errorf("value %#v and %d requests after a panic, want null and none", v, srv.Requests(""))
	}
}
