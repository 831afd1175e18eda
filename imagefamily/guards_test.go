package imagefamily

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGuardsOnResolve(t *testing.T) {
	srv := emulator(t)
	// The demo family's newest image: x86_64 linux, created 2024-03-14.
	clock := func() time.Time { return time.Date(2024, 3, 24, 2, 0, 0, 0, time.UTC) }
	cases := []struct {
		g    Guards
		frag string // "" means accepted
	}{
		{Guards{Architecture: "x86_64", OSType: "Linux", MaxAge: 30 * 24 * time.Hour, Now: clock}, ""},
		{Guards{Architecture: "arm64"}, `fails the architecture guard: expected "arm64", found "x86_64"`},
		{Guards{OSType: "windows"}, `fails the os type guard: expected "windows", found "linux"`},
		{Guards{MaxAge: 7 * 24 * time.Hour, Now: clock}, "fails the max age guard: expected an image at most 7d old, found one 10d old"},
	}
	for _, c := range cases {
		r := request(srv)
		r.Guards = c.g
		img, err := Resolve(context.Background(), r)
		if c.frag == "" {
			if err != nil || img.ImageID != wantNewest {
				t.Errorf("%+v: %v", c.g, err)
			}
			continue
		}
		var ge *GuardError
		if !errors.As(err, &ge) || !errors.Is(err, ErrGuard) || IsInputError(err) || !strings.Contains(err.Error(), c.frag) ||
			!strings.Contains(err.Error(), wantNewest) || !strings.Contains(err.Error(), "created 2024-03-14") {
			t.Errorf("%+v: err = %v, want %q", c.g, err, c.frag)
		}
	}
	for _, g := range []Guards{{Architecture: "amd64"}, {OSType: "macos"}, {MaxAge: -time.Hour}} {
		srv.ResetCounts()
		r := request(srv)
		r.Guards = g
		if _, err := Resolve(context.Background(), r); !IsInputError(err) || srv.Requests("") != 0 {
			t.Errorf("%+v: %v, %d requests", g, err, srv.Requests(""))
		}
	}
}

func TestParseMaxAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "720h": 720 * time.Hour, "1d": 24 * time.Hour} {
		if got, err := ParseMaxAge("max age", in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0d", "-1d", "30 days", "999999999d", "1y", "0s"} {
		if _, err := ParseMaxAge("--max-age", in); !IsInputError(err) || !strings.Contains(err.Error(), "--max-age") {
			t.Errorf("%q: %v", in, err)
		}
	}
}
