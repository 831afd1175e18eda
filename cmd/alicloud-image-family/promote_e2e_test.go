package main

// Release promotion through the real binary against the emulator process:
// guards (exit 5), drift (--expect, --expect-file: exit 4), waiting (--wait,
// --newer-than), visible retries and the default fan-out.
// Bad values of every new flag are rows of cli_badinput_test.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

const (
	// The demo fixture's web-base images in cn-hangzhou: the newest
	// available one (wantNewest, created newestCreated) and the one before.
	newestCreated = "2024-03-14T02:00:00Z"
	previousID    = "m-bp1demowebbase000002"
	// An arm64 web-base image the tests add to cn-shanghai.
	shanghaiArmID = "m-uf6demowebbasearm0001"
)

// image is an Available image as the emulator serves it.
func image(id, family, created, arch string) ecs.Image {
	return ecs.Image{ImageId: id, ImageName: family + "-" + id[len(id)-4:], ImageFamily: family, ImageVersion: "1",
		Status: "Available", CreationTime: created, Progress: "100", Architecture: arch, OSType: "linux",
		Platform: "Aliyun", Size: 40, ImageOwnerAlias: "self"}
}

// lines splits stderr into lines, each checked to be one of the CLI's own.
func lines(t *testing.T, stderr string) []string {
	t.Helper()
	if stderr == "" {
		return nil
	}
	out := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for _, l := range out {
		if !strings.HasPrefix(l, "alicloud-image-family") {
			t.Errorf("a stderr line is not the CLI's own: %q", l)
		}
	}
	return out
}

// matching returns the lines that match re.
func matching(ls []string, re *regexp.Regexp) []string {
	var out []string
	for _, l := range ls {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

var (
	retryLine    = regexp.MustCompile(`^alicloud-image-family: retrying .+: attempt \d+ of \d+ failed \(.+\); next attempt in \S+$`)
	progressLine = regexp.MustCompile(`^alicloud-image-family: waiting in [a-z0-9-]+: poll \d+ saw .+; next poll in \S+( \(the last, at the deadline\))?$`)
	changeLine   = regexp.MustCompile(`^alicloud-image-family: [a-z0-9-]+: m-\S+ -> \S+ \(created [^)]*\)$`)
)

// Guards (exit 5) and drift (--expect: exit 4) through the binary: one run
// per outcome and output, and several regions, where the exit code is the
// worst. The guards' and drift's rules are the core's (TestGuardsOnResolve,
// TestOwnersGuard, TestExpectedAndChanges); precedence is
// TestExitCodePrecedence's.
func TestE2EGuardsAndExpect(t *testing.T) {
	e := startEmulator(t)
	if err := e.Control.AddImage("cn-shanghai", image(shanghaiArmID, "web-base", "2024-03-15T00:00:00Z", "arm64")); err != nil {
		t.Fatal(err)
	}
	changed := "alicloud-image-family: cn-hangzhou: " + previousID + " -> " + wantNewest + " (created " + newestCreated + ")"
	cases := []struct {
		name    string
		args    []string
		code    int
		out     string   // "json": the new image as JSON
		changes []string // the exact change lines, in order
		frags   []string
	}{
		{"every guard passes", []string{"--architecture", "X86_64", "--os-type", "linux", "--max-age", "100000d", "--owners", "system,self"}, exitOK, wantNewest + "\n", nil, nil},
		{"architecture refused", []string{"--architecture", "arm64"}, exitGuard, "", nil,
			[]string{"fails the architecture guard", `expected "arm64"`, `found "x86_64"`, wantNewest, "web-base-v3", "created " + newestCreated, `image family "web-base" in region cn-hangzhou`}},
		// The passing region is printed, the refused one reported.
		{"one region of two refused", []string{"--region", "cn-hangzhou,cn-shanghai", "--architecture", "x86_64"}, exitGuard,
			"cn-hangzhou\t" + wantNewest + "\n", nil, []string{"alicloud-image-family: cn-shanghai: ", shanghaiArmID, `expected "x86_64"`, `found "arm64"`}},
		{"unchanged", []string{"--expect", "cn-hangzhou=" + wantNewest}, exitOK, wantNewest + "\n", nil, nil},
		{"changed", []string{"--expect", "cn-hangzhou=" + previousID}, exitChanged, wantNewest + "\n", []string{changed}, nil},
		{"changed, JSON output still printed", []string{"--expect", "cn-hangzhou=" + previousID, "--output", "json"}, exitChanged, "json", []string{changed}, nil},
		{"two regions, both changed", []string{"--region", "cn-hangzhou,cn-shanghai", "--expect", "cn-shanghai=m-uf6demowebbasearm0000;cn-hangzhou=" + previousID},
			exitChanged, "cn-hangzhou\t" + wantNewest + "\ncn-shanghai\t" + shanghaiArmID + "\n",
			[]string{changed, "alicloud-image-family: cn-shanghai: m-uf6demowebbasearm0000 -> " + shanghaiArmID + " (created 2024-03-15T00:00:00Z)"}, nil},
		// 1 outranks 5, 3 and 4.
		{"changed, refused, not found and failed", []string{"--region", "cn-hangzhou,cn-shanghai,cn-beijing,xx-nowhere-1", "--architecture", "x86_64",
			"--expect", "cn-hangzhou=" + previousID}, exitFailure, "cn-hangzhou\t" + wantNewest + "\n", []string{changed},
			[]string{"xx-nowhere-1", "InvalidRegionId.NotFound", "cn-beijing: no available image", "architecture guard"}},
		// A shared family, as a release pipeline would use it.
		{"shared family with a guard and an expectation", []string{"--image-family", "acs:210987654321:golden-base", "--architecture", "x86_64",
			"--expect", "cn-hangzhou=m-bp1sharedgolden00001"}, exitOK, "m-bp1sharedgolden00001\n", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, e, demoEnv, resolveArgs(e, append([]string{"--image-family", "web-base"}, c.args...)...)...)
			var img map[string]any
			if r.code != c.code || (c.out != "json" && r.stdout != c.out) ||
				(c.out == "json" && (json.Unmarshal([]byte(r.stdout), &img) != nil || img["ImageId"] != wantNewest)) {
				t.Errorf("exit %d, stdout %q; want %d, %q", r.code, r.stdout, c.code, c.out)
			}
			if c.code == exitOK && r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			if got := matching(lines(t, r.stderr), changeLine); strings.Join(got, "\n") != strings.Join(c.changes, "\n") {
				t.Errorf("change lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.changes, "\n"))
			}
			for _, f := range c.frags {
				if !strings.Contains(r.stderr, f) {
					t.Errorf("stderr lacks %q", f)
				}
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", r.stderr)
			}
		})
	}
}

// actionImageIDs runs the binary's GitHub Action runtime against the
// emulator and returns its image-ids output, exactly as written to
// GITHUB_OUTPUT.
func actionImageIDs(t *testing.T, e *emulatorProcess, regions string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "github-output")
	// Not runCLI: the action prints ::add-mask:: with the secret, as it must.
	cmd := command(t, cliBinary(t), e, map[string]string{"GITHUB_OUTPUT": out, "INPUT_REGION": regions, "INPUT_IMAGE_FAMILY": "web-base",
		"INPUT_ENDPOINT": e.Endpoint, "INPUT_ACCESS_KEY_ID": demoAccessKeyID, "INPUT_ACCESS_KEY_SECRET": demoSecret}, "action")
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("action: %v\n%s", err, log)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return readOutputs(t, string(b))["image-ids"]
}

// --expect-file takes the action's image-ids output: one job's output,
// saved (as `echo '${{ steps.x.outputs.image-ids }}' > file` does, with a
// line break) or written exactly, is the next run's expectation.
func TestE2EExpectFile(t *testing.T) {
	e := startEmulator(t)
	if err := e.Control.AddImage("cn-shanghai", image(shanghaiArmID, "web-base", "2024-03-15T00:00:00Z", "arm64")); err != nil {
		t.Fatal(err)
	}
	ids := actionImageIDs(t, e, "cn-hangzhou,cn-shanghai")
	if want := `{"cn-hangzhou":"` + wantNewest + `","cn-shanghai":"` + shanghaiArmID + `"}`; ids != want {
		t.Fatalf("the action's image-ids are %s, want %s", ids, want)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	asEchoed := write("echoed.json", ids+"\n")
	exact := write("exact.json", ids)
	for _, file := range []string{asEchoed, exact} {
		r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--region", "cn-hangzhou,cn-shanghai", "--expect-file", file)...)
		if r.code != exitOK || r.stdout != "cn-hangzhou\t"+wantNewest+"\ncn-shanghai\t"+shanghaiArmID+"\n" || r.stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", filepath.Base(file), r.code, r.stdout, r.stderr)
		}
	}

	// A newer image appears in cn-shanghai: exit 4, the change on stderr,
	// the new ids on stdout.
	newer := "m-uf6demowebbasearm0002"
	if err := e.Control.AddImage("cn-shanghai", image(newer, "web-base", "2024-04-01T00:00:00Z", "arm64")); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--region", "cn-hangzhou,cn-shanghai", "--expect-file", asEchoed)...)
	want := "alicloud-image-family: cn-shanghai: " + shanghaiArmID + " -> " + newer + " (created 2024-04-01T00:00:00Z)\n"
	if r.code != exitChanged || r.stdout != "cn-hangzhou\t"+wantNewest+"\ncn-shanghai\t"+newer+"\n" || r.stderr != want {
		t.Errorf("changed: exit %d, stdout %q, stderr %q; want exit 4 and stderr %q", r.code, r.stdout, r.stderr, want)
	}
}

// The deadline passes with no newer image: exit 3, saying how long it
// waited, how many polls and what it last saw; every poll but the last
// printed a progress line. (A family with no image at all is the core's
// TestWaitScheduleReachesTheDeadline.)
func TestE2EWaitDeadline(t *testing.T) {
	e := startEmulator(t)
	seen := wantNewest + " (created " + newestCreated + ")"
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--wait", "3", "--newer-than", wantNewest)...)
	counts, err := e.Control.Requests()
	if err != nil {
		t.Fatal(err)
	}
	polls := counts.ByAction[describeAction]
	ls := lines(t, r.stderr)
	progress := matching(ls, progressLine)
	if r.code != exitNotFound || r.stdout != "" || len(ls) != len(progress)+1 || len(progress) != polls-1 || polls < 1 {
		t.Fatalf("exit %d, stdout %q, %d polls, stderr:\n%s", r.code, r.stdout, polls, r.stderr)
	}
	for _, p := range progress {
		if !strings.Contains(p, " saw "+seen+"; next poll in ") {
			t.Errorf("progress line %q does not say it saw %s", p, seen)
		}
	}
	// A 3s wait lasts 3s: polls at 0s, 2s and, the last, at the deadline
	// (not at 2s after 2 polls).
	if polls != 3 || r.elapsed < 3*time.Second || !strings.HasSuffix(progress[len(progress)-1], "(the last, at the deadline)") {
		t.Errorf("%d polls in %s, want 3 in 3s, the last announced", polls, r.elapsed)
	}
	last := ls[len(ls)-1]
	for _, f := range []string{"no available image newer than " + wantNewest + ` in family "web-base" in region cn-hangzhou after waiting`,
		"may still be Creating", fmt.Sprintf("after waiting 3s (%d polls; last seen: %s)", polls, seen)} {
		if !strings.Contains(last, f) {
			t.Errorf("the last line lacks %q: %s", f, last)
		}
	}
}

// What a run says while it works, a line on stderr each: a family that
// gains its first image while the CLI waits (a progress line per poll
// but the last), and every retry, before its wait.
func TestE2EProgressAndRetryLines(t *testing.T) {
	e := startEmulator(t)
	const id = "m-bp1releasecandid0001"
	if err := e.Control.AddImageAfter("cn-hangzhou", image(id, "release-candidate", "2024-05-01T00:00:00Z", "x86_64"), 1); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "release-candidate", "--wait", "10m")...)
	counts, err := e.Control.Requests()
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(t, r.stderr)
	want := "alicloud-image-family: waiting in cn-hangzhou: poll 1 saw no available image; next poll in 2s"
	if r.code != exitOK || r.stdout != id+"\n" || len(ls) != 1 || ls[0] != want || counts.ByAction[describeAction] != 2 {
		t.Fatalf("exit %d, stdout %q, %d requests, stderr:\n%s\nwant one line %q", r.code, r.stdout, counts.ByAction[describeAction], r.stderr, want)
	}

	if err := e.Control.Fault(ecstest.FaultSpec{Kind: ecstest.FaultThrottle, Action: describeAction, N: 2}); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base")...)
	ls = lines(t, r.stderr)
	if r.code != exitOK || r.stdout != wantNewest+"\n" || len(ls) != 2 || len(matching(ls, retryLine)) != 2 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for i, l := range ls {
		for _, f := range []string{`retrying ECS DescribeImageFromFamily for family "web-base" in region cn-hangzhou: `,
			fmt.Sprintf("attempt %d of 5 failed (Throttling.User, HTTP 400, RequestId ", i+1)} {
			if !strings.Contains(l, f) {
				t.Errorf("line %d lacks %q: %s", i+1, f, l)
			}
		}
	}
}

type fanOut struct {
	json    []byte
	regions []string
}

// fanOutFixture is the demo fixture plus n regions, each with one web-base
// image m-<region>.
func fanOutFixture(t *testing.T, n int) fanOut {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(ecstest.DemoFixtureAsWritten, &f); err != nil {
		t.Fatal(err)
	}
	images := f["images"].(map[string]any)
	regions := f["regions"].([]any)
	var out fanOut
	for i := 1; i <= n; i++ {
		r := fmt.Sprintf("fan-region-%d", i)
		out.regions = append(out.regions, r)
		regions = append(regions, r)
		images[r] = []ecs.Image{image("m-"+r, "web-base", "2024-03-14T02:00:00Z", "x86_64")}
	}
	f["regions"] = regions
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	out.json = b
	return out
}

// By default every region is resolved at once (up to
// imagefamily.DefaultConcurrency): with every DescribeImageFromFamily
// hanging unanswered, the emulator receives all 30 requests, which can only
// happen if all 30 are in flight together (a request in a second wave would
// wait for one of the first to end, and none ends). No timing is measured:
// the test waits for the count to reach 30, and the binary is stopped after.
func TestE2EDefaultFanOutIsOneWave(t *testing.T) {
	if imagefamily.DefaultConcurrency < 30 {
		t.Fatalf("DefaultConcurrency is %d; 30 regions would not fit in one wave", imagefamily.DefaultConcurrency)
	}
	f := fanOutFixture(t, 30)
	e := startEmulatorProcess(t, f.json, true)
	if err := e.Control.Fault(ecstest.FaultSpec{Kind: ecstest.FaultHang, Action: describeAction}); err != nil {
		t.Fatal(err)
	}
	cmd := command(t, cliBinary(t), e, demoEnv, "resolve", "--endpoint", e.Endpoint, "--image-family", "web-base",
		"--region", strings.Join(f.regions, ","), "--max-attempts", "1", "--timeout", "1h")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
	}
	// A safety net, not a measurement: a second wave never comes, so
	// without this the test would hang until go test's own timeout.
	giveUp := time.Now().Add(60 * time.Second)
	seen := 0
	for seen < 30 {
		select {
		case err := <-done:
			t.Fatalf("the binary ended (%v) with %d requests seen:\n%s", err, seen, stderr.String())
		default:
		}
		counts, err := e.Control.Requests()
		if err != nil {
			stop()
			t.Fatal(err)
		}
		seen = counts.ByAction[describeAction]
		if time.Now().After(giveUp) {
			stop()
			t.Fatalf("only %d of 30 requests arrived while every request hangs: the regions were not resolved in one wave", seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if seen != 30 || stdout.Len() != 0 {
		t.Fatalf("%d requests, stdout %q", seen, stdout.String())
	}
}
