package actione2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBinary stands in for the release binary in the launcher tests: it
// proves which file ran and with which arguments.
var fakeBinary = []byte("#!/bin/sh\necho \"fake release binary ran: $*\"\n")

type launch struct {
	t   *testing.T
	env map[string]string
	out string
	err error
	dur time.Duration
}

// newLaunch prepares a launcher run as action.yml starts it on a Linux x64
// runner, with a fresh tool cache and temp directory.
func newLaunch(t *testing.T, ref, releasesURL string) *launch {
	dir := t.TempDir()
	l := &launch{t: t, env: map[string]string{
		"PATH":                               os.Getenv("PATH"),
		"HOME":                               dir,
		"RUNNER_OS":                          "Linux",
		"RUNNER_ARCH":                        runnerArch(),
		"RUNNER_TOOL_CACHE":                  filepath.Join(dir, "toolcache"),
		"RUNNER_TEMP":                        filepath.Join(dir, "temp"),
		"ALICLOUD_IMAGE_FAMILY_ACTION_PATH":  repoRoot(t),
		"ALICLOUD_IMAGE_FAMILY_ACTION_REF":   ref,
		"ALICLOUD_IMAGE_FAMILY_RELEASES_URL": releasesURL,
		"ALICLOUD_IMAGE_FAMILY_ACTION_REPOSITORY": "imagefamily/packer-plugin-alicloud-image-family",
	}}
	for _, d := range []string{"toolcache", "temp"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	return l
}

func (l *launch) run() *launch {
	l.t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot(l.t), "action", "launcher.sh"))
	for k, v := range l.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	start := time.Now()
	b, err := cmd.CombinedOutput()
	l.dur = time.Since(start)
	l.out, l.err = string(b), err
	return l
}

func (l *launch) wantSuccess() {
	l.t.Helper()
	if l.err != nil {
		l.t.Fatalf("launcher failed: %v\n%s", l.err, l.out)
	}
	if !strings.Contains(l.out, "fake release binary ran: action") {
		l.t.Fatalf("the release binary did not run with `action`:\n%s", l.out)
	}
}

func (l *launch) wantFailure(msg string) {
	l.t.Helper()
	if l.err == nil {
		l.t.Fatalf("launcher succeeded, want failure %q:\n%s", msg, l.out)
	}
	if !strings.Contains(l.out, "::error title=alicloud-image-family action::") || !strings.Contains(l.out, msg) {
		l.t.Errorf("no annotation saying %q:\n%s", msg, l.out)
	}
	if strings.Contains(l.out, "fake release binary ran") {
		l.t.Errorf("the binary ran despite the failure:\n%s", l.out)
	}
}

func TestLauncherDownloadsVerifiesAndCaches(t *testing.T) {
	rel := newRelease(t, "9.8.7", fakeBinary, hostPlatform(), "windows/amd64", "darwin/arm64")
	l := newLaunch(t, "v9.8.7", rel.srv.URL).run()
	l.wantSuccess()
	if !strings.Contains(l.out, "Verified "+rel.assetName(hostPlatform())) {
		t.Errorf("no verification line:\n%s", l.out)
	}
	arch := "x64"
	if runnerArch() == "ARM64" {
		arch = "arm64"
	}
	cached := filepath.Join(l.env["RUNNER_TOOL_CACHE"], "alicloud-image-family", "9.8.7", arch)
	if _, err := os.Stat(cached + ".complete"); err != nil {
		t.Errorf("no tool cache marker: %v", err)
	}
	t.Logf("download path: %v", l.dur)

	// Second job on the same runner: from the tool cache, no download.
	before := rel.hitCount(".tar.gz")
	l2 := newLaunch(t, "v9.8.7", rel.srv.URL)
	l2.env["RUNNER_TOOL_CACHE"] = l.env["RUNNER_TOOL_CACHE"]
	l2.run().wantSuccess()
	if !strings.Contains(l2.out, "from the tool cache") || rel.hitCount(".tar.gz") != before {
		t.Errorf("the cache was not used:\n%s", l2.out)
	}
	t.Logf("tool cache path: %v", l2.dur)
}

func TestLauncherChecksumMismatchFails(t *testing.T) {
	rel := newRelease(t, "9.8.7", fakeBinary, hostPlatform())
	rel.corrupt(hostPlatform())
	l := newLaunch(t, "v9.8.7", rel.srv.URL).run()
	l.wantFailure("checksum mismatch for " + rel.assetName(hostPlatform()))
	entries, _ := os.ReadDir(filepath.Join(l.env["RUNNER_TOOL_CACHE"], "alicloud-image-family"))
	if len(entries) != 0 {
		t.Error("a rejected binary was cached")
	}
}

func TestLauncherMissingChecksumLineFails(t *testing.T) {
	rel := newRelease(t, "9.8.7", fakeBinary, hostPlatform())
	sums := "alicloud-image-family_9.8.7_SHA256SUMS"
	rel.mu.Lock()
	rel.files[sums] = []byte(strings.Repeat("0", 64) + "  something-else.tar.gz\n")
	rel.mu.Unlock()
	newLaunch(t, "v9.8.7", rel.srv.URL).run().wantFailure("has no checksum for " + rel.assetName(hostPlatform()))
}

func TestLauncherMissingAssetFails(t *testing.T) {
	rel := newRelease(t, "9.8.7", fakeBinary, "windows/amd64")
	l := newLaunch(t, "v9.8.7", rel.srv.URL)
	l.env["RUNNER_OS"] = "macOS"
	l.run().wantFailure("could not download")
	newLaunch(t, "v1.0.0", rel.srv.URL).run().wantFailure("is v1.0.0 a release of imagefamily/packer-plugin-alicloud-image-family?")
}

// Windows runners get the zip and the .exe; the zip is unpacked with unzip
// (Git Bash has it). The payload is a script, so it runs here under its
// .exe name.
func TestLauncherWindowsZip(t *testing.T) {
	rel := newRelease(t, "9.8.7", fakeBinary, "windows/"+strings.Split(hostPlatform(), "/")[1])
	l := newLaunch(t, "v9.8.7", rel.srv.URL)
	l.env["RUNNER_OS"] = "Windows"
	// Git Bash's cygpath turns native paths into POSIX ones; a stand-in
	// records that the launcher asks it.
	fake := t.TempDir()
	mark := filepath.Join(fake, "called")
	os.WriteFile(filepath.Join(fake, "cygpath"), []byte("#!/bin/sh\necho \"$2\" >> "+mark+"\nprintf '%s\\n' \"$2\"\n"), 0o755)
	l.env["PATH"] = fake + ":" + l.env["PATH"]
	l.run().wantSuccess()
	if b, _ := os.ReadFile(mark); strings.Count(string(b), "\n") != 3 {
		t.Errorf("cygpath not used for the action path, temp and tool cache: %q", b)
	}
	if !strings.Contains(l.out, ".zip") || rel.hitCount(".zip") != 1 {
		t.Errorf("zip not used:\n%s", l.out)
	}
	matches, _ := filepath.Glob(filepath.Join(l.env["RUNNER_TOOL_CACHE"], "alicloud-image-family", "9.8.7", "*", "alicloud-image-family.exe"))
	if len(matches) != 1 {
		t.Errorf("no .exe in the tool cache")
	}
}

// macOS runners have shasum but no sha256sum: run with a PATH holding only
// the tools the launcher needs, sha256sum left out.
func TestLauncherMacOSWithShasum(t *testing.T) {
	if _, err := exec.LookPath("shasum"); err != nil {
		t.Skip("shasum not installed here; the macOS branch is covered on macOS runners")
	}
	rel := newRelease(t, "9.8.7", fakeBinary, "darwin/"+strings.Split(hostPlatform(), "/")[1])
	bin := t.TempDir()
	for _, tool := range []string{"bash", "sh", "curl", "awk", "tr", "find", "head", "tar", "gzip", "mkdir", "cp", "chmod",
		"touch", "rm", "mktemp", "sed", "uname", "dirname", "shasum", "perl", "cat", "env"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		os.Symlink(p, filepath.Join(bin, tool))
	}
	l := newLaunch(t, "v9.8.7", rel.srv.URL)
	l.env["PATH"] = bin
	l.env["RUNNER_OS"] = "macOS"
	l.run().wantSuccess()
	if !strings.Contains(l.out, "_darwin_") {
		t.Errorf("darwin asset not used:\n%s", l.out)
	}
}

// A floating major tag (@v9) points at a release commit whose
// version/version.go names the release; it runs that release's binary.
func TestLauncherFloatingTag(t *testing.T) {
	rel := newRelease(t, "9.8.7", fakeBinary, hostPlatform())
	actionPath := t.TempDir()
	os.MkdirAll(filepath.Join(actionPath, "version"), 0o755)
	os.WriteFile(filepath.Join(actionPath, "version", "version.go"),
		[]byte("package version\n\nvar Version = \"9.8.7\"\n\nvar Prerelease = \"\"\n"), 0o644)
	for _, ref := range []string{"v9", "v9.8"} {
		l := newLaunch(t, ref, rel.srv.URL)
		l.env["ALICLOUD_IMAGE_FAMILY_ACTION_PATH"] = actionPath
		l.run().wantSuccess()
	}
	// A floating tag on a commit that is not a release (Prerelease set)
	// builds from source instead of guessing a version.
	os.WriteFile(filepath.Join(actionPath, "version", "version.go"),
		[]byte("package version\n\nvar Version = \"9.8.7\"\n\nvar Prerelease = \"dev\"\n"), 0o644)
	l := newLaunch(t, "v9", rel.srv.URL)
	l.env["ALICLOUD_IMAGE_FAMILY_ACTION_PATH"] = actionPath
	// No Go on PATH: the build-from-source branch must say what to do.
	l.env["PATH"] = onlyTools(t, "awk", "sed", "dirname", "uname", "cat", "mkdir")
	l.run().wantFailure("Go is not installed on this runner")
}

func mustLook(t *testing.T, tool string) string {
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// onlyTools returns a directory holding just the named tools.
func onlyTools(t *testing.T, tools ...string) string {
	dir := t.TempDir()
	for _, tool := range tools {
		os.Symlink(mustLook(t, tool), filepath.Join(dir, tool))
	}
	return dir
}

// A branch, a commit or `uses: ./` builds from source with the runner's Go.
func TestLauncherBuildsFromSource(t *testing.T) {
	_, pkg := binary(t) // the package that serves `action` today
	for _, ref := range []string{"main", "0123456789abcdef0123456789abcdef01234567", ""} {
		l := newLaunch(t, ref, "http://127.0.0.1:1")
		l.env["ALICLOUD_IMAGE_FAMILY_BUILD_PACKAGE"] = pkg
		for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOROOT"} {
			if v := goEnv(t, k); v != "" {
				l.env[k] = v
			}
		}
		l.env["GOPROXY"] = "off" // everything must come from the module cache
		l.env["GOFLAGS"] = "-mod=mod"
		l.run()
		if l.err == nil {
			t.Fatalf("ref %q: the runtime ran with no inputs and succeeded:\n%s", ref, l.out)
		}
		if !strings.Contains(l.out, "Building alicloud-image-family from source") ||
			!strings.Contains(l.out, "::error title=Image family lookup failed::") {
			t.Errorf("ref %q: did not build from source and run the runtime:\n%s", ref, l.out)
		}
		t.Logf("ref %q: build from source (warm Go cache) took %v", ref, l.dur)
	}
}

func goEnv(t *testing.T, k string) string {
	b, err := exec.Command("go", "env", k).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestLauncherRejectsUnsupportedPlatforms(t *testing.T) {
	l := newLaunch(t, "v9.8.7", "http://127.0.0.1:1")
	l.env["RUNNER_ARCH"] = "X86"
	l.run().wantFailure("unsupported runner architecture X86")
	l = newLaunch(t, "v9.8.7", "http://127.0.0.1:1")
	l.env["RUNNER_OS"] = "Plan9"
	l.run().wantFailure("unsupported runner OS Plan9")
}

func TestLauncherExplicitBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "aif")
	os.WriteFile(bin, fakeBinary, 0o755)
	l := newLaunch(t, "v9.8.7", "http://127.0.0.1:1")
	l.env["ALICLOUD_IMAGE_FAMILY_BIN"] = bin
	l.run().wantSuccess()
}
