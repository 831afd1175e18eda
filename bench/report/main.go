// Command report is the benchmark report: it builds the programs it
// measures, starts emulators in process (package ecstest, TLS on loopback),
// runs every measured command through bench/rusage (wall time per run, peak
// RSS from the kernel at exit), the commands of one comparison interleaved
// run by run, and writes docs/benchmarks.md: every comparison side by
// side, ratios first with the absolute numbers beside them, and the machine
// described. scripts/bench.sh (`make bench`) runs it in a loopback-only
// network namespace when it can.
//
//	scripts/bench.sh [-o docs/benchmarks.md] [-runs-scale 1]
//
// bench is a module of its own (bench/go.mod), so from the repository's top
// directory the report runs as `go run -C bench ./report -o ../docs/benchmarks.md`;
// scripts/bench.sh builds it and runs it from the top directory, where the
// default -o is right.
//
// Sections: the CLI vs the smallest SDK program (bench/sdkmin) and the
// aliyun CLI when installed; the data source inside `packer build`; the
// action step under act; fan-out over 30 regions; promote across 30 regions
// (-only promote measures that section alone and replaces it in the
// report); a base build with the official alicloud builder (-only
// base-build); memory against hostile
// endpoints; peak memory of each binary; binary sizes. Packer and act come
// from PACKER / ACT, CI_TOOLS_BIN, the tools cache of scripts/tools.sh or
// PATH; a section whose tool is missing is skipped and the report says so.
//
// Runs per command: the flags, or CLI_RUNS (default 100), PACKER_RUNS (40),
// ACT_RUNS (20), ACT_SOURCE_RUNS (5), FANOUT_RUNS (20), HOSTILE_RUNS (10);
// -runs-scale multiplies them all (at least 2 each).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Tool versions the report names; scripts/tools.sh builds these.
const (
	packerVersion = "v1.15.1"
	actVersion    = "v0.2.89"
)

// runs is how many timed runs each section makes per command.
type runs struct {
	cli, packer, act, actSource, fanout, hostile int
}

// bench is what every section shares: the repository, a scratch directory,
// the built binaries and the tools found.
type bench struct {
	root, work          string
	cli, plugin, sdkmin string // the measured binaries
	rusage              string // bench/rusage, which runs each of them
	packer, act         string // tools; "" when absent
	packerMiss, actMiss string // why a tool is absent
	runs                runs
}

func main() {
	out := flag.String("o", "docs/benchmarks.md", "write the report to this `file` (- for stdout)")
	scale := flag.Float64("runs-scale", 1, "multiply every run count by this `factor` (at least 2 runs each)")
	var r runs
	flag.IntVar(&r.cli, "cli-runs", envInt("CLI_RUNS", 100), "runs per command, CLI vs sdkmin (CLI_RUNS)")
	flag.IntVar(&r.packer, "packer-runs", envInt("PACKER_RUNS", 40), "packer builds per template (PACKER_RUNS)")
	flag.IntVar(&r.act, "act-runs", envInt("ACT_RUNS", 20), "act runs per workflow (ACT_RUNS)")
	flag.IntVar(&r.actSource, "act-source-runs", envInt("ACT_SOURCE_RUNS", 5), "act runs building the action from source (ACT_SOURCE_RUNS)")
	flag.IntVar(&r.fanout, "fanout-runs", envInt("FANOUT_RUNS", 20), "runs per fan-out command (FANOUT_RUNS)")
	flag.IntVar(&r.hostile, "hostile-runs", envInt("HOSTILE_RUNS", 10), "runs per hostile row and program (HOSTILE_RUNS)")
	only := flag.String("only", "", "measure only this `section` (promote, base-build) and replace it in the report at -o, the rest kept as it is")
	flag.Parse()
	if flag.NArg() > 0 || *scale <= 0 || (*only != "" && (*only != "promote" && *only != "base-build" || *out == "-")) {
		flag.Usage()
		os.Exit(2)
	}
	for _, p := range []*int{&r.cli, &r.packer, &r.act, &r.actSource, &r.fanout, &r.hostile} {
		*p = max(2, int(math.Round(float64(*p)**scale)))
	}
	var code int
	var err error
	switch *only {
	case "promote":
		err = reportPromote(*out, r)
	case "base-build":
		err = reportBaseBuild(*out, r)
	default:
		code, err = report(*out, r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

func skipped(skip bool, section, why string) {
	if skip {
		logf("%s: SKIPPED (the report says so): %s", section, why)
	}
}

// report measures everything and writes the report; the exit code is 1 when
// the data source missed its target, as the shell version's was.
func report(out string, r runs) (int, error) {
	started := time.Now()
	loadStart := loadAvg()
	b, cleanup, err := setup(r)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	rep := &reportData{runs: r, loadStart: loadStart, netns: loopbackOnly(),
		date: started.UTC().Format("2006-01-02"), goVersion: runtime.Version(), goarch: runtime.GOARCH}

	logf("CLI vs sdkmin (%d runs each)", r.cli)
	if rep.cli, err = b.measureCLI(); err != nil {
		return 0, err
	}
	logf("packer build (%d runs each)", r.packer)
	if rep.packer, rep.packerSkip, err = b.measurePacker(); err != nil {
		return 0, err
	}
	skipped(rep.packer == nil, "packer build", rep.packerSkip)
	logf("base build (%d runs each)", b.baseBuildRuns())
	if rep.baseBuild, rep.baseBuildSkip, err = b.measureBaseBuild(); err != nil {
		return 0, err
	}
	skipped(rep.baseBuild == nil, "base build", rep.baseBuildSkip)
	logf("fan-out (%d runs each)", r.fanout)
	if rep.fanout, err = b.measureFanout(); err != nil {
		return 0, err
	}
	logf("promote (%d runs each)", r.fanout)
	if rep.promote, err = b.measurePromote(); err != nil {
		return 0, err
	}
	logf("hostile endpoints (%d runs per row and program)", r.hostile)
	if rep.hostile, err = b.measureHostile(); err != nil {
		return 0, err
	}
	logf("answers by their shape (%d runs per row and output)", r.hostile)
	if rep.shapes, err = b.measureShapes(); err != nil {
		return 0, err
	}
	logf("act (%d pairs, %d from source)", r.act, r.actSource)
	if rep.act, rep.actSkip, err = b.measureAct(); err != nil {
		return 0, err
	}
	skipped(rep.act == nil, "act", rep.actSkip)
	for _, s := range []struct {
		path string
		into *int64
	}{{b.cli, &rep.sizes.cli}, {b.plugin, &rep.sizes.plugin}, {b.sdkmin, &rep.sizes.sdkmin}} {
		fi, err := os.Stat(s.path)
		if err != nil {
			return 0, err
		}
		*s.into = fi.Size()
	}
	rep.machine = describeMachine()
	rep.loadEnd = loadAvg()
	rep.elapsed = time.Since(started)
	text := render(rep)
	if out == "-" {
		_, err = os.Stdout.WriteString(text)
	} else {
		err = os.WriteFile(out, []byte(text), 0o644)
	}
	if err != nil {
		return 0, err
	}
	logf("wrote %s in %s", out, rep.elapsed.Round(time.Second))
	if rep.packer != nil && !rep.packer.targetMet() {
		logf("the data source missed its target (see %s)", out)
		return 1, nil
	}
	return 0, nil
}

// reportPromote measures the promote section alone and splices it into the
// report at out (after the fan-out section when it has none yet).
func reportPromote(out string, r runs) error {
	b, cleanup, err := setup(r)
	if err != nil {
		return err
	}
	defer cleanup()
	logf("promote (%d runs each)", r.fanout)
	rep := &reportData{runs: r}
	if rep.promote, err = b.measurePromote(); err != nil {
		return err
	}
	var w strings.Builder
	renderPromote(func(format string, a ...any) { fmt.Fprintf(&w, format+"\n", a...) }, rep)
	if err := spliceSection(out, "## Promote across regions", "## Memory against a hostile endpoint", w.String()); err != nil {
		return err
	}
	logf("replaced the promote section of %s", out)
	return nil
}

// setup builds the measured binaries as releases are built (-trimpath -s -w,
// so sizes are what users download; nothing fetched), and bench/rusage, and
// finds the tools.
func setup(r runs) (*bench, func(), error) {
	root, err := repoRoot()
	if err != nil {
		return nil, nil, err
	}
	work, err := os.MkdirTemp("", "bench-report-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(work) }
	b := &bench{root: root, work: work, runs: r}
	logf("building (load average %s)", loadAvg())
	// The fronts build in the main module; sdkmin and rusage in bench's own.
	for _, p := range []struct {
		into     *string
		dir, pkg string
	}{{&b.cli, ".", "./cmd/alicloud-image-family"}, {&b.plugin, ".", "./cmd/packer-plugin-alicloud-image-family"},
		{&b.sdkmin, "bench", "./sdkmin"}, {&b.rusage, "bench", "./rusage"}} {
		*p.into = filepath.Join(work, "bin", filepath.Base(p.pkg))
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", *p.into, p.pkg)
		cmd.Dir = filepath.Join(b.root, p.dir)
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("go build %s: %v\n%s", p.pkg, err, out)
		}
	}
	b.packer, b.packerMiss = findTool("packer", packerVersion)
	b.act, b.actMiss = findTool("act", actVersion)
	return b, cleanup, nil
}

// findTool looks for name at version: the variable named like the tool
// (PACKER, ACT), CI_TOOLS_BIN, the cache scripts/tools.sh fills
// (TOOLS_CACHE, default ~/.cache/alicloud-image-family/tools), then PATH.
// It returns the path, or "" and why.
func findTool(name, version string) (string, string) {
	var places []string
	if p := os.Getenv(strings.ToUpper(name)); p != "" {
		places = append(places, p)
	}
	if dir := os.Getenv("CI_TOOLS_BIN"); dir != "" {
		places = append(places, filepath.Join(dir, name))
	}
	cache := os.Getenv("TOOLS_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "alicloud-image-family", "tools")
	}
	places = append(places, filepath.Join(cache, name+"-"+version))
	for _, p := range places {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, ""
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	return "", fmt.Sprintf("%s %s not found (not at %s nor on PATH; `bash scripts/tools.sh %s` builds it)",
		name, version, strings.Join(places, ", "), name)
}

// repoRoot is the repository's top directory, found from the module the
// report runs in: the main module, or bench's own inside it.
func repoRoot() (string, error) {
	gomod, err := goEnv("GOMOD")
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run from inside the repository (go env GOMOD: %q, %v)", gomod, err)
	}
	dir := filepath.Dir(gomod)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if _, err := os.Stat(filepath.Join(d, "bench", "go.mod")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no bench/go.mod in %s or its parent: run from inside the repository", dir)
}

func goEnv(key string) (string, error) {
	out, err := exec.Command("go", "env", key).Output()
	return strings.TrimSpace(string(out)), err
}

// baseEnv is what every measured program sees: PATH, a fresh HOME (no
// machine credentials or CLI profiles), loopback never proxied, plus extra.
func (b *bench) baseEnv(home string, extra ...string) []string {
	if err := os.MkdirAll(home, 0o755); err != nil {
		panic(err) // the scratch directory is ours
	}
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"NO_PROXY=127.0.0.1,localhost,::1", "no_proxy=127.0.0.1,localhost,::1"}, extra...)
}

// The demo fixture's keys (ecstest/testdata/demo-fixture.json), and the
// image its web-base family resolves to in cn-hangzhou.
const (
	demoKeyID  = "LTAIDEMOACCESSKEYID0001"
	demoSecret = "demo-secret-NOT-A-REAL-SECRET-0001"
	demoImage  = "m-bp1demowebbase000003"
)

func demoKeys() []string {
	return []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + demoKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + demoSecret}
}

// machine describes where the numbers came from.
type machine struct {
	cores              int
	cpu, kernel        string
	memTotal, memAvail string
}

func describeMachine() machine {
	m := machine{cores: runtime.NumCPU(), cpu: "unknown CPU"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.kernel = utsString(u.Sysname[:]) + " " + utsString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kib, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "MemTotal:":
				m.memTotal = fmt.Sprintf("%.1f GiB", kib/(1<<20))
			case "MemAvailable:":
				m.memAvail = fmt.Sprintf("%.1f GiB", kib/(1<<20))
			}
		}
	}
	return m
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// loopbackOnly reports whether this process sees no interface but loopback
// (scripts/in-netns.sh's namespace).
func loopbackOnly() bool {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// firstLine is the first line of a program's output (a version banner).
func firstLine(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(bytes.TrimSpace(out)), "\n")
	return line
}
