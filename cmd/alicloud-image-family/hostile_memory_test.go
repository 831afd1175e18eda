package main

// A memory measurement: peak RSS of the real CLI binary while the endpoint
// streams an endless body (and the other oversized rows of the hostile
// table) vs a normal lookup. It is a measurement, not a test: it runs only
// when HOSTILE_RSS_JSON names the file to write, and asserts nothing about
// the numbers. docs/benchmarks.md ("Memory against a hostile endpoint")
// takes its numbers from bench/report, which starts each program through
// bench/rusage: a child started from this test process is charged at least
// this process's own peak RSS.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// hostileMemoryRows are measured in this order; the first is the baseline.
var hostileMemoryRows = []string{
	"well-formed answer (baseline)",
	"endless chunked 200 body",
	"64 MiB HTML error page",
	"gzip bomb (16 MiB in 16 KiB)",
	"Content-Length of 2 GiB",
}

// sdkminRows are the rows also given to bench/sdkmin (the SDK with no trust
// boundary), to show what the bounded reads save. Only rows whose body ends
// by itself: against the endless body the bare SDK reads until the server
// stops (8 GiB or a minute).
var sdkminRows = []string{"well-formed answer (baseline)", "64 MiB HTML error page", "gzip bomb (16 MiB in 16 KiB)", "Content-Length of 2 GiB"}

// HostileMemory is the JSON HOSTILE_RSS_JSON receives.
type HostileMemory struct {
	Runs          int                  `json:"runs"`
	MaxBodyKiB    int                  `json:"max_response_kib"`
	CLI           []HostileMemoryEntry `json:"cli"`
	SDKMin        []HostileMemoryEntry `json:"sdkmin,omitempty"`
	GoVersion     string               `json:"go_version"`
	MeasuredAtUTC string               `json:"measured_at_utc"`
}

// HostileMemoryEntry is one row's peak RSS over Runs runs of one program.
type HostileMemoryEntry struct {
	Row       string  `json:"row"`
	ExitCodes []int   `json:"exit_codes"`
	MaxKiB    int64   `json:"max_rss_kib"`
	MedianKiB int64   `json:"median_rss_kib"`
	MeanMS    float64 `json:"mean_wall_ms"`
}

func TestHostileMemory(t *testing.T) {
	out := os.Getenv("HOSTILE_RSS_JSON")
	if out == "" {
		t.Skip("a measurement (docs/benchmarks.md takes its numbers from bench/report); set HOSTILE_RSS_JSON=FILE to run it")
	}
	runs := 10
	if v, err := strconv.Atoi(os.Getenv("HOSTILE_RSS_RUNS")); err == nil && v > 0 {
		runs = v
	}
	cli := os.Getenv("AIF_BIN")
	if cli == "" {
		cli = cliBinary(t)
	}
	sdkmin := os.Getenv("SDKMIN_BIN") // optional
	rows := map[string]ecstest.HostileRow{}
	for _, r := range ecstest.HostileRows() {
		rows[r.Name] = r
	}
	res := HostileMemory{Runs: runs, MaxBodyKiB: imagefamily.MaxResponseBytes >> 10,
		GoVersion: runtime.Version(), MeasuredAtUTC: time.Now().UTC().Format(time.RFC3339)}
	for _, name := range hostileMemoryRows {
		row, ok := rows[name]
		if !ok {
			t.Fatalf("no hostile row %q", name)
		}
		res.CLI = append(res.CLI, measureRow(t, row, runs, func(h *ecstest.HostileServer) []string {
			return []string{cli, "resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--endpoint", h.Endpoint(),
				"--timeout", ecstest.HostileTimeoutSetting.String(), "--max-attempts", "1"}
		}))
		if sdkmin != "" && slices.Contains(sdkminRows, name) {
			res.SDKMin = append(res.SDKMin, measureRow(t, row, runs, func(h *ecstest.HostileServer) []string {
				return []string{sdkmin, h.Endpoint(), "cn-hangzhou", "web-base"}
			}))
		}
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)
}

// measureRow runs the command runs times, each against a fresh server of
// the row (so one run's endless body cannot slow the next), and keeps each
// process's peak RSS as the kernel reports it at exit (wait4's ru_maxrss,
// what GNU time prints as %M).
func measureRow(t *testing.T, row ecstest.HostileRow, runs int, command func(*ecstest.HostileServer) []string) HostileMemoryEntry {
	t.Helper()
	e := HostileMemoryEntry{Row: row.Name}
	var rss []int64
	var wall time.Duration
	for range runs {
		h := ecstest.StartHostile(row)
		dir := t.TempDir()
		cert, err := h.WriteCertFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		argv := command(h)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SSL_CERT_FILE=" + cert,
			"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
			"ALIBABA_CLOUD_ACCESS_KEY_ID=" + hostileKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + hostileSecret}
		start := time.Now()
		err = cmd.Run()
		wall += time.Since(start)
		h.Close()
		if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
			t.Fatalf("%s: %v", filepath.Base(argv[0]), err)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			t.Skip("no rusage on this platform")
		}
		rss = append(rss, ru.Maxrss) // KiB on Linux
		e.ExitCodes = append(e.ExitCodes, cmd.ProcessState.ExitCode())
	}
	slices.Sort(rss)
	e.MaxKiB = rss[len(rss)-1]
	e.MedianKiB = rss[len(rss)/2]
	e.MeanMS = float64(wall.Microseconds()) / 1000 / float64(runs)
	e.ExitCodes = slices.Compact(slices.Sorted(slices.Values(e.ExitCodes)))
	t.Logf("%-32s max %6.1f MiB, median %6.1f MiB, exits %v", row.Name, float64(e.MaxKiB)/1024, float64(e.MedianKiB)/1024, e.ExitCodes)
	return e
}
