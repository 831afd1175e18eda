package family

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// A panic in Configure or Execute would kill the plugin process mid-RPC:
// Packer would show a crash (and a goroutine dump in its log) instead of a
// diagnostic. Each is returned as an error instead, of class
// imagefamily.ErrInternal, one printable line without the secret.

// boom is the panic value: the block's secret, a forged line, an escape
// sequence.
const boom = "boom " + keySecret + "\n::error::forged\x1b[2J"

func checkPanicError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error after a panic")
	}
	msg := err.Error()
	if !errors.Is(err, imagefamily.ErrInternal) || !strings.Contains(msg, "internal error: boom [REDACTED]") || !strings.Contains(msg, "please report it") {
		t.Errorf("error %q (class internal: %v)", msg, errors.Is(err, imagefamily.ErrInternal))
	}
	if strings.ContainsAny(msg, "\n\r\x1b") || strings.Contains(msg, "goroutine ") {
		t.Errorf("error is not one clean line: %q", msg)
	}
	secretscan.New(keySecret).Check(t, "the diagnostic", msg)
}

func TestConfigurePanicIsAnError(t *testing.T) {
	clearEnv(t)
	testHookConfigure = func(*Config) { panic(boom) }
	t.Cleanup(func() { testHookConfigure = nil })
	_, err := configure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\""+creds)
	checkPanicError(t, err)
	if !strings.HasPrefix(err.Error(), "alicloud-image-family: internal error: ") {
		t.Errorf("error %q", err)
	}
}

func TestExecutePanicIsAnError(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	d := mustConfigure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\""+creds+
		"custom_endpoint_ecs = \""+srv.URL+"\"\n")
	// In Execute's own goroutine.
	d.prepare = func(*imagefamily.Request) { panic(boom) }
	v, err := d.Execute()
	checkPanicError(t, err)
	if !v.IsNull() {
		t.Errorf("value %#v after a panic, want null", v)
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// A panic in a region's goroutine (the guard's clock, called after the
// answer was accepted) is that region's error; the other region's failure is
// reported beside it.
func TestExecutePanicInRegionGoroutine(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	d := mustConfigure(t, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-beijing\"]\nmax_age = \"3650d\""+creds+
		"custom_endpoint_ecs = \""+srv.URL+"\"\n")
	d.prepare = func(r *imagefamily.Request) {
		r.Transport = srv.Transport()
		r.Guards.Now = func() time.Time { panic(boom) }
	}
	_, err := d.Execute()
	checkPanicError(t, err)
	if !strings.Contains(err.Error(), "cn-hangzhou") || !errors.Is(err, imagefamily.ErrNotFound) {
		t.Errorf("error %q: want the region named, and cn-beijing's not found beside it", err)
	}
}
