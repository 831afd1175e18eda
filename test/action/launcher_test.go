package actione2e

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// fakeBinary stands in for the release binary in the launcher tests: it
// proves which file ran and with which arguments.
var fakeBinary = []byte("#!/bin/sh\necho \"fake release binary ran: $*\"\n")

type launch struct {
	t   *testing.T
	env map[string]string
	out string
}

// newLaunch prepares a launcher run as action.yml starts it on a Linux x64
// runner, with a fresh tool cache and temp directory.
func newLaunch(t *testing.T, ref, releasesURL string) *launch {
	dir := t.TempDir()
	l := &launch{t: t, env: map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": dir, "RUNNER_OS": "Linux", "RUNNER_ARCH": runnerArch(),
		"RUNNER_TOOL_CACHE": filepath.Join(dir, "toolcache"), "RUNNER_TEMP": filepath.Join(dir, "temp"),
		"ALICLOUD_IMAGE_FAMILY_ACTION_PATH": e2etest.RepoRoot(t), "ALICLOUD_IMAGE_FAMILY_ACTION_REF": ref,
		"ALICLOUD_IMAGE_FAMILY_RELEASES_URL":      releasesURL,
		"ALICLOUD_IMAGE_FAMILY_ACTION_REPOSITORY": "imagefamily/packer-plugin-alicloud-image-family",
	}}
	for _, d := range []string{"toolcache", "temp"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	return l
}

// run runs the launcher and checks its end: with fail "", the release
// binary ran with `action`; else the launcher failed with an annotation
// holding fail, and no binary ran.
func (l *launch) run(fail string) {
	l.t.Helper()
	cmd := exec.Command("bash", filepath.Join(e2etest.RepoRoot(l.t), "action", "launcher.sh"))
	for k, v := range l.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	l.out = string(b)
	ran := strings.Contains(l.out, "fake release binary ran")
	switch {
	case fail == "" && (err != nil || !strings.Contains(l.out, "fake release binary ran: action")):
		l.t.Fatalf("the release binary did not run with `action`: %v\n%s", err, l.out)
	case fail != "" && (err == nil || ran || !strings.Contains(l.out, "::error title=alicloud-image-family action::") || !strings.Contains(l.out, fail)):
		l.t.Errorf("want a failure with an annotation saying %q, no binary run; got %v:\n%s", fail, err, l.out)
	}
}

// TestLauncher runs the launcher as action.yml starts it on a Linux x64
// runner at release v9.8.7, each case changing one thing: the release, the
// ref or the runner.
func TestLauncher(t *testing.T) {
	host := hostPlatform()
	asset := "alicloud-image-family_9.8.7_" + strings.ReplaceAll(host, "/", "_") + ".tar.gz"
	arch := strings.Split(host, "/")[1]
	// versionFile is an action directory at a commit whose version/version.go
	// names release 9.8.7, with the prerelease given.
	versionFile := func(t *testing.T, l *launch, pre string) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "version"), 0o755)
		os.WriteFile(filepath.Join(dir, "version", "version.go"),
			[]byte("package version\n\nvar Version = \"9.8.7\"\n\nvar Prerelease = \""+pre+"\"\n"), 0o644)
		l.env["ALICLOUD_IMAGE_FAMILY_ACTION_PATH"] = dir
	}
	noGo := func(t *testing.T, _ *release, l *launch) {
		l.env["PATH"] = onlyTools(t, "awk", "sed", "dirname", "uname", "cat", "mkdir")
	}
	var cygpathCalls string // the stand-in's record of its calls
	const sha = "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		name      string
		ref       string   // "v9.8.7" when empty, "-" for none
		platforms []string // of the release; the host's when empty
		env       map[string]string
		prep      func(t *testing.T, rel *release, l *launch)
		fail      string // the annotation's text; "" for the release binary running
		check     func(t *testing.T, rel *release, l *launch)
	}{
		{name: "downloads, verifies and caches", platforms: []string{host, "windows/amd64", "darwin/arm64"},
			check: func(t *testing.T, rel *release, l *launch) {
				if !strings.Contains(l.out, "Verified "+rel.assetName(host)) {
					t.Errorf("no verification line:\n%s", l.out)
				}
				if _, err := os.Stat(filepath.Join(l.env["RUNNER_TOOL_CACHE"], "alicloud-image-family", "9.8.7", strings.ToLower(runnerArch())+".complete")); err != nil {
					t.Errorf("no tool cache marker: %v", err)
				}
				// The next job on the same runner: from the tool cache, no download.
				before := rel.hitCount(".tar.gz")
				again := newLaunch(t, "v9.8.7", rel.srv.URL)
				again.env["RUNNER_TOOL_CACHE"] = l.env["RUNNER_TOOL_CACHE"]
				again.run("")
				if !strings.Contains(again.out, "from the tool cache") || rel.hitCount(".tar.gz") != before {
					t.Errorf("the cache was not used:\n%s", again.out)
				}
			}},
		{name: "checksum mismatch", prep: func(_ *testing.T, rel *release, _ *launch) { rel.set(asset, append(bytes.Clone(rel.files[asset]), 0)) },
			fail: "checksum mismatch for " + asset,
			check: func(t *testing.T, _ *release, l *launch) {
				if entries, _ := os.ReadDir(filepath.Join(l.env["RUNNER_TOOL_CACHE"], "alicloud-image-family")); len(entries) != 0 {
					t.Error("a rejected binary was cached")
				}
			}},
		{name: "no checksum line for the asset", prep: func(_ *testing.T, rel *release, _ *launch) {
			rel.set("alicloud-image-family_9.8.7_SHA256SUMS", []byte(strings.Repeat("0", 64)+"  something-else.tar.gz\n"))
		}, fail: "has no checksum for " + asset},
		{name: "no asset for the platform", platforms: []string{"windows/amd64"}, env: map[string]string{"RUNNER_OS": "macOS"}, fail: "could not download"},
		{name: "not a release", ref: "v1.0.0", fail: "is v1.0.0 a release of imagefamily/packer-plugin-alicloud-image-family?"},
		{name: "unsupported architecture", env: map[string]string{"RUNNER_ARCH": "X86"}, fail: "unsupported runner architecture X86"},
		{name: "unsupported OS", env: map[string]string{"RUNNER_OS": "Plan9"}, fail: "unsupported runner OS Plan9"},
		// Windows runners get the zip and the .exe, unpacked with unzip (Git
		// Bash has it); the payload is a script, so it runs here under its
		// .exe name. Git Bash's cygpath turns native paths into POSIX ones;
		// a stand-in records that the launcher asks it.
		{name: "Windows zip", platforms: []string{"windows/" + arch}, env: map[string]string{"RUNNER_OS": "Windows"},
			prep: func(t *testing.T, _ *release, l *launch) {
				fake := t.TempDir()
				os.WriteFile(filepath.Join(fake, "cygpath"), []byte("#!/bin/sh\necho \"$2\" >> "+filepath.Join(fake, "called")+"\nprintf '%s\\n' \"$2\"\n"), 0o755)
				l.env["PATH"] = fake + ":" + l.env["PATH"]
				cygpathCalls = filepath.Join(fake, "called")
			},
			check: func(t *testing.T, rel *release, l *launch) {
				if b, _ := os.ReadFile(cygpathCalls); strings.Count(string(b), "\n") != 3 {
					t.Errorf("cygpath not used for the action path, temp and tool cache: %q", b)
				}
				if !strings.Contains(l.out, ".zip") || rel.hitCount(".zip") != 1 {
					t.Errorf("zip not used:\n%s", l.out)
				}
				if m, _ := filepath.Glob(filepath.Join(l.env["RUNNER_TOOL_CACHE"], "alicloud-image-family", "9.8.7", "*", "alicloud-image-family.exe")); len(m) != 1 {
					t.Errorf("no .exe in the tool cache")
				}
			}},
		// macOS runners have shasum but no sha256sum: a PATH holding only
		// the tools the launcher needs, sha256sum left out.
		{name: "macOS with shasum", platforms: []string{"darwin/" + arch}, env: map[string]string{"RUNNER_OS": "macOS"},
			prep: func(t *testing.T, _ *release, l *launch) {
				if _, err := exec.LookPath("shasum"); err != nil {
					t.Skip("shasum not installed here; the macOS branch is covered on macOS runners")
				}
				l.env["PATH"] = onlyTools(t, "bash", "sh", "curl", "awk", "tr", "find", "head", "tar", "gzip", "mkdir", "cp", "chmod",
					"touch", "rm", "mktemp", "sed", "uname", "dirname", "shasum", "perl", "cat", "env")
			},
			check: func(t *testing.T, _ *release, l *launch) {
				if !strings.Contains(l.out, "_darwin_") {
					t.Errorf("darwin asset not used:\n%s", l.out)
				}
			}},
		// A floating major tag (@v9) points at a release commit whose
		// version/version.go names the release; it runs that release's binary.
		{name: "floating tag v9", ref: "v9", prep: func(t *testing.T, _ *release, l *launch) { versionFile(t, l, "") }},
		{name: "floating tag v9.8", ref: "v9.8", prep: func(t *testing.T, _ *release, l *launch) { versionFile(t, l, "") }},
		// A floating tag on a commit that is not a release (Prerelease set),
		// a branch, a commit or `uses: ./` build from source instead, with
		// the runner's Go; with none on PATH the launcher says what to do.
		// (The build itself runs in every act test: uses: ./.)
		{name: "floating tag on a prerelease", ref: "v9", prep: func(t *testing.T, rel *release, l *launch) { versionFile(t, l, "dev"); noGo(t, rel, l) },
			fail: "because ref 'v9' is not a release tag, but Go is not installed on this runner"},
		{name: "branch", ref: "main", prep: noGo, fail: "because ref 'main' is not a release tag, but Go is not installed on this runner"},
		{name: "commit", ref: sha, prep: noGo, fail: "because ref '" + sha + "' is not a release tag, but Go is not installed on this runner"},
		{name: "local path", ref: "-", prep: noGo, fail: "because the action is used from a local path or its ref is unknown, but Go is not installed"},
		{name: "explicit binary", prep: func(t *testing.T, _ *release, l *launch) {
			bin := filepath.Join(t.TempDir(), "aif")
			os.WriteFile(bin, fakeBinary, 0o755)
			l.env["ALICLOUD_IMAGE_FAMILY_BIN"] = bin
			l.env["ALICLOUD_IMAGE_FAMILY_RELEASES_URL"] = "http://127.0.0.1:1"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			platforms, ref := c.platforms, c.ref
			if len(platforms) == 0 {
				platforms = []string{host}
			}
			switch ref {
			case "":
				ref = "v9.8.7"
			case "-":
				ref = ""
			}
			rel := newRelease(t, "9.8.7", fakeBinary, platforms...)
			l := newLaunch(t, ref, rel.srv.URL)
			maps.Copy(l.env, c.env)
			if c.prep != nil {
				c.prep(t, rel, l)
			}
			l.run(c.fail)
			if c.check != nil {
				c.check(t, rel, l)
			}
		})
	}
}

// onlyTools returns a directory holding just the named tools.
func onlyTools(t *testing.T, tools ...string) string {
	dir := t.TempDir()
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		os.Symlink(p, filepath.Join(dir, tool))
	}
	return dir
}
