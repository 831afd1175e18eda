package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// command is one measured program run: argv, its whole environment (nothing
// is inherited), its directory, and a check of what it printed.
type command struct {
	name string
	argv []string
	env  []string
	dir  string
	// combined sends stderr to the checked output too.
	combined bool
	// check judges a run's stdout and exit code; nil means "exit 0".
	check func(stdout []byte, exit int) error
	// prepare, when set, runs (untimed, checked) before every run of the
	// command: it puts back the state the command changes.
	prepare *command
}

// sample is one run: wall time, the kernel's peak RSS at exit (wait4's
// ru_maxrss: the larger of the process and its largest waited-for
// descendant, what GNU time prints as %M) and the exit code.
type sample struct {
	wall   time.Duration
	rssKiB int64
	exit   int
	cpu    time.Duration // user plus system time
}

// series is every timed run of one command.
type series struct {
	name    string
	samples []sample
}

// run runs c once through bench/rusage (see there why) and returns the
// sample and stdout; a failed check (or a program that could not start) is
// an error that quotes stderr.
func (b *bench) run(c command) (sample, []byte, error) {
	if c.prepare != nil {
		if _, _, err := b.run(*c.prepare); err != nil {
			return sample{}, nil, err
		}
	}
	result := filepath.Join(b.work, "rusage.out")
	_ = os.Remove(result)
	cmd := exec.Command(b.rusage, append([]string{result}, c.argv...)...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.combined {
		cmd.Stderr = &stdout
	}
	err := cmd.Run()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		return sample{}, nil, fmt.Errorf("%s: %v", c.label(), err)
	}
	s, err := readRusage(result)
	if err != nil {
		return sample{}, nil, fmt.Errorf("%s: %v\nstderr:\n%s", c.label(), err, tail(stderr.String()))
	}
	check := c.check
	if check == nil {
		check = exitZero
	}
	if err := check(stdout.Bytes(), s.exit); err != nil {
		return s, stdout.Bytes(), fmt.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s", c.label(), err, tail(stdout.String()), tail(stderr.String()))
	}
	return s, stdout.Bytes(), nil
}

// readRusage reads what bench/rusage wrote: "WALL_NS MAXRSS_KIB EXIT CPU_NS".
func readRusage(path string) (sample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sample{}, fmt.Errorf("no measurement: %v", err)
	}
	var ns, cpu int64
	var s sample
	if _, err := fmt.Sscan(string(b), &ns, &s.rssKiB, &s.exit, &cpu); err != nil {
		return sample{}, fmt.Errorf("bad measurement %q: %v", b, err)
	}
	s.wall, s.cpu = time.Duration(ns), time.Duration(cpu)
	return s, nil
}

func exitZero(_ []byte, exit int) error {
	if exit != 0 {
		return fmt.Errorf("exit status %d", exit)
	}
	return nil
}

func (c command) label() string {
	if c.name != "" {
		return c.name
	}
	return filepath.Base(c.argv[0])
}

// tail keeps the end of a long output for an error message.
func tail(s string) string {
	const keep = 4000
	if len(s) > keep {
		return "..." + s[len(s)-keep:]
	}
	return s
}

// measure runs each command warmup times untimed, then runs times timed,
// interleaved: round i runs every command once, in an order that rotates
// each round, so a drift in the machine's load falls on all of them alike
// rather than on whichever ran last.
func (b *bench) measure(warmup, runs int, cmds ...command) ([]series, error) {
	for range warmup {
		for _, c := range cmds {
			if _, _, err := b.run(c); err != nil {
				return nil, err
			}
		}
	}
	out := make([]series, len(cmds))
	for i, c := range cmds {
		out[i].name = c.label()
	}
	for r := range runs {
		for k := range cmds {
			i := (k + r) % len(cmds)
			s, _, err := b.run(cmds[i])
			if err != nil {
				return nil, err
			}
			out[i].samples = append(out[i].samples, s)
		}
	}
	return out, nil
}

// stats summarises a sample of numbers.
type stats struct {
	n                     int
	mean, sd, median, max float64
}

func summarize(xs []float64) stats {
	st := stats{n: len(xs)}
	if len(xs) == 0 {
		return st
	}
	sorted := slices.Sorted(slices.Values(xs))
	var sum float64
	for _, x := range xs {
		sum += x
	}
	st.mean = sum / float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - st.mean) * (x - st.mean)
		}
		st.sd = math.Sqrt(ss / float64(len(xs)-1))
	}
	if n := len(sorted); n%2 == 1 {
		st.median = sorted[n/2]
	} else {
		st.median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	st.max = sorted[len(sorted)-1]
	return st
}

// wallMS and rssKiB summarise a series' wall times (ms) and peak RSS (KiB).
func (s series) wallMS() stats {
	return summarize(mapSamples(s.samples, func(x sample) float64 { return float64(x.wall.Microseconds()) / 1000 }))
}

func (s series) rssKiB() stats {
	return summarize(mapSamples(s.samples, func(x sample) float64 { return float64(x.rssKiB) }))
}

// exits are the distinct exit codes, sorted.
func (s series) exits() []int {
	codes := mapSamples(s.samples, func(x sample) int { return x.exit })
	slices.Sort(codes)
	return slices.Compact(codes)
}

func mapSamples[T any](xs []sample, f func(sample) T) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// outputHas is a check: exit 0 and every fragment in stdout.
func outputHas(fragments ...string) func([]byte, int) error {
	return func(out []byte, exit int) error {
		if err := exitZero(out, exit); err != nil {
			return err
		}
		for _, f := range fragments {
			if !strings.Contains(string(out), f) {
				return fmt.Errorf("the output lacks %q", f)
			}
		}
		return nil
	}
}
