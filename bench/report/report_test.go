package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	st := summarize([]float64{4, 1, 3, 2})
	if st.n != 4 || st.mean != 2.5 || st.median != 2.5 || st.max != 4 {
		t.Errorf("summarize = %+v", st)
	}
	if want := math.Sqrt(5.0 / 3); math.Abs(st.sd-want) > 1e-12 { // sample standard deviation
		t.Errorf("sd = %v, want %v", st.sd, want)
	}
	if st := summarize([]float64{7, 1, 4}); st.median != 4 || st.sd != 3 {
		t.Errorf("odd count: %+v", st)
	}
	if st := summarize([]float64{3}); st.sd != 0 || st.median != 3 {
		t.Errorf("one value: %+v", st)
	}
	if st := summarize(nil); st.n != 0 || st.mean != 0 {
		t.Errorf("no values: %+v", st)
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ratio(60.8, 56.7), "1.07x"},
		{ratio(1, 3), "0.33x"},
		{ratio(1, 0), "n/a"},
		{mib(15155), "14.8 MiB"},
		{size(9332736), "8.9 MiB"},
		{msSD(stats{mean: 60.84, sd: 11.26}), "60.8 ms ± 11.3"},
		{secSD(stats{mean: 724.4, sd: 142.2}), "0.724 s ± 0.142"},
		{joinInts([]int{0, 1}), "0, 1"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// ser makes a series of runs with these wall times (ms) and peak RSS (KiB).
func ser(name string, wallMS []float64, rssKiB ...int64) series {
	s := series{name: name}
	for i, w := range wallMS {
		x := sample{wall: time.Duration(w * float64(time.Millisecond))}
		if i < len(rssKiB) {
			x.rssKiB = rssKiB[i]
		}
		s.samples = append(s.samples, x)
	}
	return s
}

func TestSeriesAndPairs(t *testing.T) {
	s := ser("x", []float64{10, 30, 20}, 100, 300, 200)
	s.samples[1].exit = 1
	if w := s.wallMS(); w.mean != 20 || w.median != 20 {
		t.Errorf("wall %+v", w)
	}
	if r := s.rssKiB(); r.max != 300 {
		t.Errorf("rss %+v", r)
	}
	if got := s.exits(); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("exits %v", got)
	}
	a := &actResult{action: ser("a", []float64{110, 130, 120}), trivial: ser("t", []float64{100, 100, 110})}
	if d := a.pairDiff(); d.n != 3 || math.Abs(d.mean-50.0/3) > 1e-9 || d.median != 10 {
		t.Errorf("paired difference %+v", d)
	}
}

func TestChecksAndParsers(t *testing.T) {
	if err := regionLines(2)([]byte("bench-region-1\tm-bench-region-1\nbench-region-2\tm-bench-region-2\n"), 0); err != nil {
		t.Error(err)
	}
	if err := regionLines(2)([]byte("bench-region-1\tm-bench-region-2\nbench-region-2\tm-bench-region-2\n"), 0); err == nil {
		t.Error("a region printed with another region's image was accepted")
	}
	if err := regionLines(1)([]byte("m-bench-region-1\n"), 0); err != nil {
		t.Error(err)
	}
	if err := regionLines(1)([]byte("m-bench-region-1\n"), 1); err == nil {
		t.Error("exit 1 was accepted")
	}
	if err := outputHas("a", "b")([]byte("xaxbx"), 0); err != nil {
		t.Error(err)
	}
	if err := outputHas("a", "c")([]byte("xaxbx"), 0); err == nil {
		t.Error("missing fragment accepted")
	}
	if err := aliyunCheck("m-1")([]byte(`{"Image":{"ImageId":"m-1"}}`), 0); err != nil {
		t.Error(err)
	}
	if err := aliyunCheck("m-1")([]byte(`{"Image":{"ImageId":"m-2"}}`), 0); err == nil {
		t.Error("wrong image accepted")
	}

	var st stepTimes
	st.add([]byte("[bench/bench]   ✅  Success - Main resolve [225.5ms]\n" +
		"[bench/bench]   ✅  Success - Main bash \"$ALICLOUD_IMAGE_FAMILY_ACTION_PATH/action/launcher.sh\" [1.5s]\n" +
		"[bench/bench]   ✅  Success - Main use [12ms]\n"))
	if len(st.step) != 1 || st.step[0] != 225.5 || len(st.inner) != 1 || st.inner[0] != 1500 {
		t.Errorf("step times %+v", st)
	}

	p := filepath.Join(t.TempDir(), "r")
	if err := os.WriteFile(p, []byte("1500000 15155 3 700000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := readRusage(p); err != nil || s.wall != 1500*time.Microsecond || s.rssKiB != 15155 || s.exit != 3 || s.cpu != 700*time.Microsecond {
		t.Errorf("readRusage = %+v, %v", s, err)
	}
	if err := os.WriteFile(p, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readRusage(p); err == nil {
		t.Error("garbage accepted")
	}
}

// fixedReport is a report with fixed measurements: the CLI 50 ms vs sdkmin
// 40 ms, Packer and act skipped, fan-out 300/600 ms vs 200 ms, promote
// 520 ms vs 400 ms.
func fixedReport() *reportData {
	r := &reportData{date: "2026-12-02", goVersion: "go1.26.8", goarch: "amd64", loadStart: "0.50 0.40 0.30",
		loadEnd: "1.00 0.90 0.80", elapsed: 125 * time.Second, netns: true,
		runs:    runs{cli: 2, packer: 40, act: 20, actSource: 5, fanout: 2, hostile: 2},
		machine: machine{cores: 2, cpu: "Test CPU", kernel: "Linux 6.1", memTotal: "8.0 GiB", memAvail: "6.0 GiB"},
		cli: &cliResult{cli: ser("cli", []float64{45, 55}, 15360, 14336), sdkmin: ser("sdkmin", []float64{40, 40}, 12288, 12288),
			aliyunNote: "not installed"},
		packerSkip: "packer v1.15.1 not found",
		actSkip:    "act v0.2.89 not found",
		fanout: &fanoutResult{one: ser("1", []float64{200, 200}), all: ser("30", []float64{300, 300}, 20480, 21504),
			c8: ser("c8", []float64{600, 600})},
		promote: &promoteResult{one: ser("1", []float64{400, 400}), all: ser("30", []float64{520, 520}, 20480, 19456)},
		hostile: &hostileResult{maxResponseKiB: 1024, rows: []hostileRow{
			{name: "well-formed answer (baseline)", cli: ser("cli", []float64{50, 50}, 14336, 14336)},
			{name: "endless chunked 200 body", cli: ser("cli", []float64{100, 100}, 16384, 17408)},
		}},
	}
	r.hostile.rows[1].cli.samples[0].exit = 1
	r.hostile.rows[1].cli.samples[1].exit = 1
	s := ser("sdkmin", []float64{50, 50}, 14336, 14336)
	r.hostile.rows[0].sdkmin = &s
	r.sizes.cli, r.sizes.plugin, r.sizes.sdkmin = 9<<20, 36<<20, 6<<20
	return r
}

func TestRender(t *testing.T) {
	out := render(fixedReport())
	for _, want := range []string{
		"**Machine:** 2 cores (Test CPU), 8.0 GiB memory (6.0 GiB available at the end),\ngo1.26.8, Linux 6.1.\n",
		"**Runs per command:** CLI 2, packer 40, act 20 pairs and 5 from source, fan-out 2, hostile 2 per row and program.",
		"Run time: 2 min 5 s.",
		"the measurements ran in a loopback-only network namespace.",
		"| CLI vs smallest SDK program, wall time (mean) | 1.25x | 50.0 ms vs 40.0 ms (medians 50.0 vs 40.0) |",
		"| CLI vs smallest SDK program, peak memory | 1.25x | 15.0 MiB vs 12.0 MiB |",
		"| CLI vs aliyun CLI | skipped | not installed |",
		"| CLI peak memory, endless 200 body vs a normal lookup | 1.21x | 17.0 MiB vs 14.0 MiB; the largest of every hostile row 17.0 MiB |",
		"| `packer build` with the data source vs a literal image id | skipped | packer v1.15.1 not found |",
		"| act job with the action step vs a one-line step | skipped | act v0.2.89 not found |",
		"| 30 regions vs 1 region, 100 ms latency, default settings (every region at once) | 1.50x | 300.0 ms vs 200.0 ms",
		"| 30 regions vs 1 region, 100 ms latency, `--concurrency 8` (the former default) | 3.00x | 600.0 ms vs 200.0 ms",
		"| wall time (mean of 2) | 1.25x | 50.0 ms ± 7.1 | 40.0 ms ± 0.0 |",
		"| binary size | 1.50x | 9.0 MiB | 6.0 MiB |\n",
		"## The data source inside `packer build`\n\nSkipped: packer v1.15.1 not found.\n",
		"## The action step under act\n\nSkipped: act v0.2.89 not found.\n",
		"| well-formed answer (baseline) | 14.0 MiB | 1.00x | 14.0 MiB | 0 | 50 ms | 14.0 MiB (exit 0) |",
		"| endless chunked 200 body | 17.0 MiB | 1.21x | 16.5 MiB | 1 | 100 ms | not run: it would read until the server stops |",
		"Peak memory of the 30-region resolve at the default settings (max RSS of 2): 21.0 MiB.",
		"## Promote across regions\n",
		"| 30 regions, default settings | 1.30x | 520.0 ms ± 0.0 | 520.0 ms |",
		"Target (30 regions within 1.5x one region, means): met. Peak memory of the 30-region promote (max RSS of 2): 20.0 MiB.",
		"| `packer-plugin-alicloud-image-family`, `packer` | `packer build` | skipped | packer v1.15.1 not found |",
		"| `packer-plugin-alicloud-image-family` | 36.0 MiB | 6.00x |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(out, "aliyun CLI, wall time") || strings.Contains(out, "NaN") {
		t.Error("the report shows numbers it does not have")
	}
	if t.Failed() {
		t.Logf("report:\n%s", out)
	}
}

func TestRenderPackerAndAct(t *testing.T) {
	r := fixedReport()
	r.packer = &packerResult{version: "Packer v1.15.1",
		datasource: ser("ds", []float64{800, 900}), literal: ser("lit", []float64{400, 500}),
		rssDatasource: ser("ds", []float64{1, 1}, 61440, 60416), rssLiteral: ser("lit", []float64{1, 1}, 60416, 60416),
		pluginKiB: 27136, pluginStarts: 2}
	r.act = &actResult{version: "act version 0.2.89",
		action: ser("a", []float64{700, 740}, 40960, 39936), trivial: ser("t", []float64{600, 600}),
		source: ser("s", []float64{2000, 2200}), stepAction: []float64{120, 130}, stepTrivial: []float64{10, 15},
		stepSource: []float64{1600}, innerAction: []float64{100}, innerSource: []float64{1580}, actionKiB: 15155}
	out := render(r)
	for _, want := range []string{
		"go1.26.8, Linux 6.1, Packer v1.15.1, act version 0.2.89.\n",
		"| `packer build` with the data source vs a literal image id (mean) | 1.89x | 0.850 s vs 0.450 s (+0.400 s; medians +0.400 s) |",
		"| packer build wall time (mean of 2) | 1.89x | 0.850 s ± 0.071 | 0.450 s ± 0.071 | +0.400 s |",
		"| peak memory of packer (max RSS of 2 builds; the larger of Packer and its largest child) | 1.02x | 60.0 MiB | 59.0 MiB | |",
		"The plugin process itself peaked at 26.5 MiB (max over its 2 starts in 2 builds",
		"Target (under 0.3 s more): MISSED.",
		"| act job with the action step vs a one-line step (medians of 2 alternating pairs) | 1.20x | 720.0 ms vs 600.0 ms (paired difference +120 ms ± 20.0 s.e.) |",
		"| the action step itself vs the one-line step (act's step times) | 10.00x | 125.0 ms vs 12.5 ms (+112 ms) |",
		"act version 0.2.89 in host mode",
		"| act run wall time (median) | 1.20x | 720.0 ms | 600.0 ms | 2100.0 ms |",
		"| inside it: the launcher and the binary (composite's inner step) | | 100.0 ms | | 1580.0 ms |",
		"Peak memory: the action's own process 14.8 MiB",
		"| `act` | the action workflow | 40.0 MiB | the larger of act and its largest child, max of 2 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if r.packer.targetMet() {
		t.Error("0.4 s more met a 0.3 s target")
	}
	if t.Failed() {
		t.Logf("report:\n%s", out)
	}
}

func TestSpliceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	doc := "# B\n\n## Fan-out\n\nf\n\n## Memory against a hostile endpoint\n\nm\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"## Promote across regions\n\nv1\n\n", "## Promote across regions\n\nv2\n\n"} {
		if err := spliceSection(path, "## Promote across regions", "## Memory against a hostile endpoint", section); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if want := "# B\n\n## Fan-out\n\nf\n\n## Promote across regions\n\nv2\n\n## Memory against a hostile endpoint\n\nm\n"; string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestOutcomeLines(t *testing.T) {
	check := outcomeLines("promoted", 2)
	out := []byte("bench-region-1\tpromoted\tm-benchregion1\nbench-region-2\tpromoted\tm-benchregion2\n")
	if err := check(out, 0); err != nil {
		t.Fatal(err)
	}
	if err := check(out, 4); err == nil {
		t.Fatal("exit 4 accepted")
	}
	if err := check([]byte("bench-region-1\talready\tm-benchregion1\nbench-region-2\tpromoted\tm-benchregion2\n"), 0); err == nil {
		t.Fatal("an unchanged region accepted")
	}
}
