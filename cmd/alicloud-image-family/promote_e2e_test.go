package main

// Release promotion through the real binary against the emulator process:
// guards (exit 5), drift (--expect, --expect-file: exit 4), waiting (--wait,
// --newer-than), visible retries, the default fan-out and shared families.
// Bad values of every new flag are rows of cli_badinput_test.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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

func TestE2EGuards(t *testing.T) {
	e := startEmulator(t)
	if err := e.Control.AddImage("cn-shanghai", image(shanghaiArmID, "web-base", "2024-03-15T00:00:00Z", "arm64")); err != nil {
		t.Fatal(err)
	}
	// The image every refusal names: id, name and creation time.
	refused := []string{wantNewest, "web-base-v3", "created " + newestCreated, `image family "web-base" in region cn-hangzhou`}
	cases := []struct {
		name  string
		args  []string
		code  int
		out   string
		frags []string
	}{
		{"every guard passes", []string{"--architecture", "x86_64", "--os-type", "linux", "--max-age", "100000d"}, exitOK, wantNewest + "\n", nil},
		{"guards are case-insensitive", []string{"--architecture", "X86_64", "--os-type", "Linux"}, exitOK, wantNewest + "\n", nil},
		{"max age as a duration", []string{"--max-age", "2400000h"}, exitOK, wantNewest + "\n", nil},
		{"architecture refused", []string{"--architecture", "arm64"}, exitGuard, "",
			append([]string{"fails the architecture guard", `expected "arm64"`, `found "x86_64"`}, refused...)},
		{"os type refused", []string{"--os-type", "windows"}, exitGuard, "",
			append([]string{"fails the os type guard", `expected "windows"`, `found "linux"`}, refused...)},
		{"owners pass", []string{"--owners", "system,self"}, exitOK, wantNewest + "\n", nil},
		{"owners refused", []string{"--owners", "others,210987654321"}, exitGuard, "",
			append([]string{"fails the owners guard", "expected an image owned by one of others, 210987654321", `found ImageOwnerAlias "self", ImageOwnerId none`}, refused...)},
		{"too old", []string{"--max-age", "30d"}, exitGuard, "",
			append([]string{"fails the max age guard", "expected an image at most 30d old", "found one "}, refused...)},
		// Several regions: the passing region is printed, the refused one
		// reported; 5 outranks 0.
		{"one region of two refused", []string{"--region", "cn-hangzhou,cn-shanghai", "--architecture", "x86_64"}, exitGuard,
			"cn-hangzhou\t" + wantNewest + "\n",
			[]string{"alicloud-image-family: cn-shanghai: ", shanghaiArmID, `expected "x86_64"`, `found "arm64"`}},
		// 5 outranks 3: cn-beijing has no web-base.
		{"refused and not found", []string{"--region", "cn-beijing,cn-shanghai", "--architecture", "x86_64"}, exitGuard, "",
			[]string{"cn-beijing: no available image", `found "arm64"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, e, demoEnv, resolveArgs(e, append([]string{"--image-family", "web-base"}, c.args...)...)...)
			if r.code != c.code || r.stdout != c.out {
				t.Errorf("exit %d, stdout %q; want %d, %q", r.code, r.stdout, c.code, c.out)
			}
			if c.code == exitOK && r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			lines(t, r.stderr)
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

func TestE2EExpect(t *testing.T) {
	e := startEmulator(t)
	if err := e.Control.AddImage("cn-shanghai", image(shanghaiArmID, "web-base", "2024-03-15T00:00:00Z", "arm64")); err != nil {
		t.Fatal(err)
	}
	changed := "alicloud-image-family: cn-hangzhou: " + previousID + " -> " + wantNewest + " (created " + newestCreated + ")"
	cases := []struct {
		name    string
		args    []string
		code    int
		out     string
		changes []string // the exact change lines, in order
		frags   []string
	}{
		{"unchanged", []string{"--expect", "cn-hangzhou=" + wantNewest}, exitOK, wantNewest + "\n", nil, nil},
		{"changed", []string{"--expect", "cn-hangzhou=" + previousID}, exitChanged, wantNewest + "\n", []string{changed}, nil},
		{"changed, JSON output still printed", []string{"--expect", "cn-hangzhou=" + previousID, "--output", "json"}, exitChanged, "", []string{changed}, nil},
		{"two regions, one changed", []string{"--region", "cn-hangzhou,cn-shanghai", "--expect", "cn-hangzhou=" + previousID + ",cn-shanghai=" + shanghaiArmID},
			exitChanged, "cn-hangzhou\t" + wantNewest + "\ncn-shanghai\t" + shanghaiArmID + "\n", []string{changed}, nil},
		{"two regions, both changed", []string{"--region", "cn-hangzhou,cn-shanghai", "--expect", "cn-shanghai=m-uf6demowebbasearm0000;cn-hangzhou=" + previousID},
			exitChanged, "cn-hangzhou\t" + wantNewest + "\ncn-shanghai\t" + shanghaiArmID + "\n",
			[]string{changed, "alicloud-image-family: cn-shanghai: m-uf6demowebbasearm0000 -> " + shanghaiArmID + " (created 2024-03-15T00:00:00Z)"}, nil},
		{"a region without an expectation is not compared", []string{"--region", "cn-hangzhou,cn-shanghai", "--expect", "cn-hangzhou=" + wantNewest},
			exitOK, "cn-hangzhou\t" + wantNewest + "\ncn-shanghai\t" + shanghaiArmID + "\n", nil, nil},
		// Precedence: 3 (cn-beijing has no web-base) outranks 4; a region
		// not found is not a change.
		{"changed and not found", []string{"--region", "cn-hangzhou,cn-beijing", "--expect", "cn-hangzhou=" + previousID + ",cn-beijing=m-2zedemowebbase000001"},
			exitNotFound, "cn-hangzhou\t" + wantNewest + "\n", []string{changed}, []string{"cn-beijing: no available image"}},
		// 5 outranks 4.
		{"changed and refused", []string{"--region", "cn-hangzhou,cn-shanghai", "--architecture", "x86_64", "--expect", "cn-hangzhou=" + previousID},
			exitGuard, "cn-hangzhou\t" + wantNewest + "\n", []string{changed}, []string{"cn-shanghai", "architecture guard"}},
		// 1 outranks 5, 3 and 4.
		{"changed, refused, not found and failed", []string{"--region", "cn-hangzhou,cn-shanghai,cn-beijing,xx-nowhere-1", "--architecture", "x86_64",
			"--expect", "cn-hangzhou=" + previousID}, exitFailure, "cn-hangzhou\t" + wantNewest + "\n", []string{changed},
			[]string{"xx-nowhere-1", "InvalidRegionId.NotFound", "cn-beijing: no available image", "architecture guard"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, e, demoEnv, resolveArgs(e, append([]string{"--image-family", "web-base"}, c.args...)...)...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d", r.code, c.code)
			}
			if c.out != "" && r.stdout != c.out {
				t.Errorf("stdout %q, want %q", r.stdout, c.out)
			}
			if c.out == "" {
				var img map[string]any
				if json.Unmarshal([]byte(r.stdout), &img) != nil || img["ImageId"] != wantNewest {
					t.Errorf("stdout %q, want the new image as JSON", r.stdout)
				}
			}
			got := matching(lines(t, r.stderr), changeLine)
			if strings.Join(got, "\n") != strings.Join(c.changes, "\n") {
				t.Errorf("change lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.changes, "\n"))
			}
			if c.code == exitOK && r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
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
	cmd := exec.Command(cliBinary(t), "action")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_PROXY=127.0.0.1,localhost", "SSL_CERT_FILE=" + e.CertFile,
		"GITHUB_OUTPUT=" + out, "INPUT_REGION=" + regions, "INPUT_IMAGE_FAMILY=web-base", "INPUT_ENDPOINT=" + e.Endpoint,
		"INPUT_ACCESS_KEY_ID=" + demoAccessKeyID, "INPUT_ACCESS_KEY_SECRET=" + demoSecret}
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("action: %v\n%s", err, log)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// name<<DELIMITER \n value \n DELIMITER
	m := regexp.MustCompile(`(?m)^image-ids<<(\S+)\n(.*)\n(\S+)$`).FindStringSubmatch(string(b))
	if m == nil || m[1] != m[3] {
		t.Fatalf("no image-ids in GITHUB_OUTPUT:\n%s", b)
	}
	return m[2]
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
	// The file may name fewer regions than are looked up (one region of
	// the object saved by a one-region job).
	one := write("one.json", actionImageIDs(t, e, "cn-hangzhou")+"\n")
	r = runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--region", "cn-hangzhou,cn-shanghai", "--expect-file", one)...)
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("one region of two: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A family that gains its first image while the CLI waits.
func TestE2EWaitForImage(t *testing.T) {
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
}

// --newer-than: the family has an image, the one the last build used; the
// CLI waits for another.
func TestE2EWaitNewerThan(t *testing.T) {
	e := startEmulator(t)
	const id = "m-bp1demowebbase000005"
	if err := e.Control.AddImageAfter("cn-hangzhou", image(id, "web-base", "2024-05-01T00:00:00Z", "x86_64"), 1); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--wait", "600", "--newer-than", wantNewest, "--expect", "cn-hangzhou="+wantNewest)...)
	ls := lines(t, r.stderr)
	want := []string{
		"alicloud-image-family: waiting in cn-hangzhou: poll 1 saw " + wantNewest + " (created " + newestCreated + "); next poll in 2s",
		"alicloud-image-family: cn-hangzhou: " + wantNewest + " -> " + id + " (created 2024-05-01T00:00:00Z)",
	}
	// The wait ends with the new image: printed, and a change from the
	// expected one (exit 4).
	if r.code != exitChanged || r.stdout != id+"\n" || strings.Join(ls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, strings.Join(want, "\n"))
	}
}

// The deadline passes: exit 3, saying how long it waited, how many polls and
// what it last saw; every poll but the last printed a progress line.
func TestE2EWaitDeadline(t *testing.T) {
	e := startEmulator(t)
	cases := []struct {
		name  string
		args  []string
		seen  string
		frags []string
	}{
		{"no image", []string{"--image-family", "never-built", "--wait", "3s"}, "no available image",
			[]string{`no available image in family "never-built" in region cn-hangzhou after waiting`}},
		{"no newer image", []string{"--image-family", "web-base", "--wait", "3", "--newer-than", wantNewest}, wantNewest + " (created " + newestCreated + ")",
			[]string{"no available image newer than " + wantNewest + ` in family "web-base" in region cn-hangzhou after waiting`, "may still be Creating"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.Control.ResetCounts()
			r := runCLI(t, e, demoEnv, resolveArgs(e, c.args...)...)
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
				if !strings.Contains(p, " saw "+c.seen+"; next poll in ") {
					t.Errorf("progress line %q does not say it saw %s", p, c.seen)
				}
			}
			// A 3s wait lasts 3s: polls at 0s, 2s and, the last, at the
			// deadline (not at 2s after 2 polls).
			if polls != 3 || r.elapsed < 3*time.Second || !strings.HasSuffix(progress[len(progress)-1], "(the last, at the deadline)") {
				t.Errorf("%d polls in %s, want 3 in 3s, the last announced", polls, r.elapsed)
			}
			last := ls[len(ls)-1]
			for _, f := range append(c.frags, fmt.Sprintf("after waiting 3s (%d polls; last seen: %s)", polls, c.seen)) {
				if !strings.Contains(last, f) {
					t.Errorf("the last line lacks %q: %s", f, last)
				}
			}
		})
	}
}

// Waiting in several regions at once: each region's progress lines are
// whole lines.
func TestE2EWaitSeveralRegions(t *testing.T) {
	e := startEmulator(t)
	for i, region := range []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"} {
		// The pending counter counts every region's calls: with three
		// regions polling, 3 more answers is the first or second poll.
		if err := e.Control.AddImageAfter(region, image(fmt.Sprintf("m-rc%020d", i+1), "release-candidate", "2024-05-01T00:00:00Z", "x86_64"), 3); err != nil {
			t.Fatal(err)
		}
	}
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "release-candidate", "--region", "cn-hangzhou,cn-shanghai,cn-beijing", "--wait", "1m")...)
	ls := lines(t, r.stderr)
	if r.code != exitOK || len(matching(ls, progressLine)) != len(ls) || len(ls) < 3 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, region := range []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"} {
		if len(matching(ls, regexp.MustCompile(`waiting in `+region+`: poll 1 saw no available image`))) != 1 {
			t.Errorf("no first progress line for %s", region)
		}
	}
}

// Every retry is one line on stderr, before its wait.
func TestE2ERetryLines(t *testing.T) {
	e := startEmulator(t)
	if err := e.Control.Fault(ecstest.FaultSpec{Kind: ecstest.FaultThrottle, Action: describeAction, N: 2}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base")...)
	ls := lines(t, r.stderr)
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

	// Thirty regions throttled at once: thirty whole retry lines.
	f := fanOutFixture(t, 30)
	e = startEmulatorWith(t, f.json)
	if err := e.Control.Fault(ecstest.FaultSpec{Kind: ecstest.FaultThrottle, Action: describeAction, N: 30}); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, e, demoEnv, "resolve", "--endpoint", e.Endpoint, "--image-family", "web-base", "--region", strings.Join(f.regions, ","))
	ls = lines(t, r.stderr)
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 30 || len(ls) != 30 || len(matching(ls, retryLine)) != 30 {
		t.Fatalf("exit %d, %d lines on stdout, stderr:\n%s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
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
	e := startEmulatorWith(t, f.json)
	if err := e.Control.Fault(ecstest.FaultSpec{Kind: ecstest.FaultHang, Action: describeAction}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cliBinary(t), "resolve", "--endpoint", e.Endpoint, "--image-family", "web-base",
		"--region", strings.Join(f.regions, ","), "--max-attempts", "1", "--timeout", "1h")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_PROXY=127.0.0.1,localhost", "SSL_CERT_FILE=" + e.CertFile,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + demoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + demoSecret}
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

// Shared and public families through the binary, and a share that is not
// there (another owner id): exit 3 with the hint about image sharing.
func TestE2ESharedFamilies(t *testing.T) {
	e := startEmulator(t)
	cases := []struct {
		family string
		code   int
		out    string
		frags  []string
	}{
		{"acs:210987654321:golden-base", exitOK, "m-bp1sharedgolden00001\n", nil},
		{"acs:alibaba_cloud_linux_3_2104_lts_x64", exitOK, "aliyun_3_x64_20G_alibase_20240819.vhd\n", nil},
		{"acs:123456789012:golden-base", exitNotFound, "", []string{`"acs:123456789012:golden-base"`,
			"a shared family is seen only when its owner (account 123456789012) has shared an Available image of it with this account in this region"}},
	}
	for _, c := range cases {
		r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", c.family)...)
		if r.code != c.code || r.stdout != c.out {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", c.family, r.code, r.stdout, r.stderr)
		}
		for _, f := range c.frags {
			if !strings.Contains(r.stderr, f) {
				t.Errorf("%s: stderr lacks %q: %s", c.family, f, r.stderr)
			}
		}
	}
	// With a guard and an expectation, as a release pipeline would use it.
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "acs:210987654321:golden-base", "--architecture", "x86_64",
		"--expect", "cn-hangzhou=m-bp1sharedgolden00001")...)
	if r.code != exitOK || r.stdout != "m-bp1sharedgolden00001\n" || r.stderr != "" {
		t.Errorf("shared family with guard and expectation: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
