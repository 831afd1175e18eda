package main

import (
	"strings"
	"testing"
)

func TestRenderBaseBuild(t *testing.T) {
	r := fixedReport()
	r.baseBuildSkip = "packer-plugin-alicloud v1.1.2 not found"
	if out := render(r); !strings.Contains(out, "## A base build with the official builder\n\nSkipped: packer-plugin-alicloud v1.1.2 not found.\n\n## Memory against a hostile endpoint") {
		t.Errorf("the skipped section, after promote:\n%s", out)
	}
	r.baseBuild = &baseBuildResult{version: "Packer v1.15.1", plugin: "v1.1.2", copyPolls: 1,
		build: ser("b", []float64{1000, 1400}), promoted: ser("p", []float64{3000, 61000})}
	out := render(r)
	for _, want := range []string{
		"packer-plugin-alicloud v1.1.2", "`--build-polls 0`, `--copy-polls 1`", "(2 runs each after 1 warm-up, interleaved)",
		"| base build | 1.200 s ± 0.283 | 1.200 s | 1.400 s |",
		"| base build + post-processor | 32.000 s ± 41.012 | 32.000 s | 61.000 s |",
		"Target (every base build within 60 s of wall time): MISSED.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	r.baseBuild.promoted = ser("p", []float64{3000, 4000})
	if out := render(r); !strings.Contains(out, "within 60 s of wall time): met.") {
		t.Errorf("3 and 4 s missed a 60 s bound")
	}
}
