package version

import (
	"runtime/debug"
	"testing"
)

func withBuildInfo(t *testing.T, bi *debug.BuildInfo, version, pre string) {
	t.Helper()
	oldRead, oldV, oldP := readBuildInfo, Version, Prerelease
	t.Cleanup(func() { readBuildInfo, Version, Prerelease = oldRead, oldV, oldP })
	readBuildInfo = func() (*debug.BuildInfo, bool) { return bi, bi != nil }
	Version, Prerelease = version, pre
}

func TestVersionSources(t *testing.T) {
	main := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: ModulePath, Version: v}}
	}
	dep := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "example.com/consumer", Version: "(devel)"},
			Deps: []*debug.Module{{Path: "github.com/other/x", Version: "v9.9.9"}, {Path: ModulePath, Version: v}}}
	}
	cases := []struct {
		name       string
		bi         *debug.BuildInfo
		ver, pre   string
		want       string
		wantV, wPr string
	}{
		{"stamped release wins over build info", main("v7.7.7"), "1.2.3", "", "1.2.3", "1.2.3", ""},
		{"go install @v1.4.0", main("v1.4.0"), "0.1.0", "dev", "1.4.0", "1.4.0", ""},
		{"go install @v1.5.0-rc.1", main("v1.5.0-rc.1"), "0.1.0", "dev", "1.5.0-rc.1", "1.5.0", "rc.1"},
		{"required by another module", dep("v1.6.2"), "0.1.0", "dev", "1.6.2", "1.6.2", ""},
		{"local build, no VCS", main("(devel)"), "0.1.0", "dev", "0.1.0-dev", "0.1.0", "dev"},
		{"local build, pseudo-version", main("v0.0.0-20261202024722-30791afb3c1e"), "0.1.0", "dev", "0.1.0-dev", "0.1.0", "dev"},
		{"local build after a tag", main("v0.1.1-0.20261202024722-30791afb3c1e"), "0.1.0", "dev", "0.1.0-dev", "0.1.0", "dev"},
		{"dirty tagged checkout", main("v1.2.3+dirty"), "0.1.0", "dev", "0.1.0-dev", "0.1.0", "dev"},
		{"no build info", nil, "0.1.0", "dev", "0.1.0-dev", "0.1.0", "dev"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withBuildInfo(t, c.bi, c.ver, c.pre)
			if got := String(); got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
			if v, p := Parts(); v != c.wantV || p != c.wPr {
				t.Errorf("Parts() = %q, %q; want %q, %q", v, p, c.wantV, c.wPr)
			}
		})
	}
}
