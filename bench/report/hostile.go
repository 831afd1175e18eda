package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// hostileRows are the rows of conformance.HostileRows measured, by the start of
// their names, in this order; the first is the baseline. sdkmin (the SDK
// with no trust boundary) runs only against the rows whose body ends by
// itself: against the endless body it reads until the server stops.
var hostileRows = []struct {
	prefix string
	sdkmin bool
}{
	{"well-formed answer", true},
	{"endless chunked 200 body", false},
	{"64 MiB HTML error page", true},
	{"gzip bomb", true},
	{"Content-Length of 2 GiB", true},
}

type hostileRow struct {
	name   string
	cli    series
	sdkmin *series
}

type hostileResult struct {
	rows           []hostileRow
	maxResponseKiB int
}

func (b *bench) measureHostile() (*hostileResult, error) {
	res := &hostileResult{maxResponseKiB: imagefamily.MaxResponseBytes >> 10}
	all := conformance.HostileRows()
	for _, want := range hostileRows {
		var row *conformance.HostileRow
		for i := range all {
			if strings.HasPrefix(all[i].Name, want.prefix) {
				row = &all[i]
				break
			}
		}
		if row == nil {
			return nil, fmt.Errorf("conformance.HostileRows has no row named %q...", want.prefix)
		}
		r := hostileRow{name: row.Name}
		var err error
		r.cli, err = b.hostileSeries(*row, "cli", func(h *conformance.HostileServer) []string {
			return []string{b.cli, "resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--endpoint", h.Endpoint(),
				"--timeout", h.Timeout().String(), "--max-attempts", "1"}
		})
		if err != nil {
			return nil, err
		}
		if want.sdkmin {
			s, err := b.hostileSeries(*row, "sdkmin", func(h *conformance.HostileServer) []string {
				return []string{b.sdkmin, h.Endpoint(), "cn-hangzhou", "web-base"}
			})
			if err != nil {
				return nil, err
			}
			r.sdkmin = &s
		}
		res.rows = append(res.rows, r)
	}
	return res, nil
}

// hostileSeries runs a program against a fresh server of the row each run
// (so one run's endless body cannot slow the next). Exit codes are kept,
// not judged: refusing is the point.
func (b *bench) hostileSeries(row conformance.HostileRow, name string, argv func(*conformance.HostileServer) []string) (series, error) {
	s := series{name: name}
	for i := range b.runs.hostile {
		h := conformance.StartHostile(row)
		dir := filepath.Join(b.work, "hostile", fmt.Sprintf("%s-%d", name, i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			h.Close()
			return s, err
		}
		cert, err := h.WriteCertFile(dir)
		if err != nil {
			h.Close()
			return s, err
		}
		x, _, err := b.run(command{name: name + " vs " + row.Name, argv: argv(h),
			env:   b.baseEnv(filepath.Join(dir, "home"), append(demoKeys(), "SSL_CERT_FILE="+cert)...),
			check: func([]byte, int) error { return nil }})
		h.Close()
		if err != nil {
			return s, err
		}
		s.samples = append(s.samples, x)
	}
	return s, nil
}
