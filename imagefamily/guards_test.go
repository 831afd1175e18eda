package imagefamily

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
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

func TestOwnersGuard(t *testing.T) {
	srv := emulator(t)
	const shared = "acs:210987654321:golden-base" // the fixture's shared image: others, account 210987654321
	cases := []struct {
		family string
		owners []string
		frag   string // "" means accepted
	}{
		{webBase, nil, ""},
		{webBase, []string{"self"}, ""},
		{webBase, []string{"SELF"}, ""},
		{webBase, []string{"system", "self"}, ""},
		{shared, []string{"210987654321"}, ""},
		{shared, []string{"others"}, ""},
		{webBase, []string{"system", "marketplace"}, `fails the owners guard: expected an image owned by one of system, marketplace, found ImageOwnerAlias "self", ImageOwnerId none (the API left it empty)`},
		{shared, []string{"self", "123456789012"}, `fails the owners guard: expected an image owned by one of self, 123456789012, found ImageOwnerAlias "others", ImageOwnerId 210987654321`},
	}
	for _, c := range cases {
		r := request(srv)
		r.Family, r.Guards = c.family, Guards{Owners: c.owners}
		_, err := Resolve(context.Background(), r)
		if c.frag == "" {
			if err != nil {
				t.Errorf("%s %v: %v", c.family, c.owners, err)
			}
			continue
		}
		if !errors.Is(err, ErrGuard) || ExitCode(err) != ExitGuard || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%s %v: err = %v, want %q", c.family, c.owners, err, c.frag)
		}
	}
	for _, owners := range [][]string{{"me"}, {"0"}, {"-1"}, {"12a"}, {"99999999999999999999"}, {"self", ""}, {"+1"}} {
		srv.ResetCounts()
		r := request(srv)
		r.Guards = Guards{Owners: owners}
		if _, err := Resolve(context.Background(), r); !IsInputError(err) || ExitCode(err) != ExitUsage || srv.Requests("") != 0 {
			t.Errorf("%q: %v, %d requests", owners, err, srv.Requests(""))
		}
	}
}

func TestParseOwners(t *testing.T) {
	for in, want := range map[string][]string{
		"":                           nil,
		"self":                       {"self"},
		"self,210987654321":          {"self", "210987654321"},
		" self ,\n system\nself\r\n": {"self", "system"},
	} {
		if got, err := ParseOwners(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{",", "self,me", "acs:123", "123.4"} {
		_, err := ParseOwners(in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "owners" || !strings.Contains(err.Error(), "an owner is self, system, others or marketplace") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestOwnerConsistency(t *testing.T) {
	// A family that names its owner, answered with an image of another
	// account, is refused at the trust boundary whether or not owners is
	// set; an answer without an owner id, or with the named one, is not.
	for _, c := range []struct {
		id      any
		refused bool
	}{{int64(999999999999), true}, {-1, true}, {0, false}, {nil, false}, {int64(210987654321), false}} {
		row := conformance.HostileRow{Family: "acs:210987654321:golden-base", Serve: func(w http.ResponseWriter, r *http.Request, _ conformance.HostileEnv) {
			img := map[string]any{"ImageId": "m-bp1sharedgolden00002", "ImageFamily": "golden-base", "Status": "Available", "ImageOwnerAlias": "others"}
			if c.id != nil {
				img["ImageOwnerId"] = c.id
			}
			b, _ := json.Marshal(map[string]any{"RequestId": "R-1", "Image": img})
			w.Write(b)
		}}
		h := conformance.StartHostile(row)
		_, err := Resolve(context.Background(), hostileRequest(h))
		h.Close()
		var ae *AnswerError
		if c.refused != errors.As(err, &ae) || (c.refused && (ExitCode(err) != ExitFailure || !strings.Contains(err.Error(), "ImageOwnerId"))) {
			t.Errorf("ImageOwnerId %v: %v", c.id, err)
		}
		if !c.refused && err != nil {
			t.Errorf("ImageOwnerId %v: %v", c.id, err)
		}
	}
}
