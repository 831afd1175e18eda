//go:build release

package releasetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// cliAssetName is the archive action/launcher.sh downloads for a platform.
func cliAssetName(version, platform string) string {
	goos, goarch, _ := strings.Cut(platform, "/")
	ext := "tar.gz"
	if goos == "windows" {
		ext = "zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s.%s", cliName, version, goos, goarch, ext)
}

func TestCLIReleaseMatchesLauncher(t *testing.T) {
	s := loadSnapshot(t)
	sumsName := fmt.Sprintf("%s_%s_SHA256SUMS", cliName, s.version)
	sums := readSums(t, s.dir, sumsName)

	want := map[string]string{}
	for _, p := range wantCLIPlatforms() {
		want[cliAssetName(s.version, p)] = p
	}
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		if _, ok := want[name]; !ok {
			t.Errorf("%s lists %s, which is not a CLI archive", sumsName, name)
		}
	}
	for _, name := range assetsLike(t, s.dir, cliName+"_") {
		// The checksum file's detached signature is there when signing ran.
		if _, ok := want[name]; !ok && name != sumsName && name != sumsName+".sig" {
			t.Errorf("unexpected CLI asset %s", name)
		}
	}
	for name, platform := range want {
		if _, ok := sums[name]; !ok {
			t.Errorf("%s does not list %s: the launcher refuses an unlisted archive", sumsName, name)
		}
		files, err := readArchive(filepath.Join(s.dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		goos, _, _ := strings.Cut(platform, "/")
		bin := cliName + exeSuffix(goos)
		data, ok := files[bin]
		if !ok {
			t.Errorf("%s: no %s at the root (has %v)", name, bin, slices.Sorted(maps.Keys(files)))
			continue
		}
		checkExecutable(t, name+"/"+bin, data, platform)
	}
}

// TestCLIVersionIsStamped: the release stamps its version into the one
// version package, with an empty prerelease.
func TestCLIVersionIsStamped(t *testing.T) {
	s := loadSnapshot(t)
	out, err := exec.Command(s.cliBin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), cliName+" "+s.version; got != want {
		t.Errorf("version prints %q, want %q", got, want)
	}
}

// TestLauncherInstallsReleasedCLI runs the action the way a workflow pinned
// to this release would: the real launcher downloads the snapshot's own
// checksum file and archive from a loopback copy of the release, verifies
// and caches the binary, and runs `action`, which looks the image up in the
// emulator.
func TestLauncherInstallsReleasedCLI(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Fatal("run the release check on Linux or macOS")
	}
	s := loadSnapshot(t)
	emu := startEmulator(t, s)

	var mu sync.Mutex
	hits := map[string]int{}
	prefix := "/v" + s.version + "/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		name := strings.TrimPrefix(r.URL.Path, prefix)
		if !strings.HasPrefix(r.URL.Path, prefix) || strings.ContainsAny(name, `/\`) {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(s.dir, name))
	}))
	defer srv.Close()

	tmp := t.TempDir()
	output := filepath.Join(tmp, "github_output")
	toolCache := filepath.Join(tmp, "toolcache")
	for _, d := range []string{toolCache, filepath.Join(tmp, "runner-temp"), filepath.Join(tmp, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(output, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	arch := "X64"
	if runtime.GOARCH == "arm64" {
		arch = "ARM64"
	}
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "action", "launcher.sh"))
	cmd.Env = append(baseEnv(tmp, emu),
		"RUNNER_OS="+map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS],
		"RUNNER_ARCH="+arch,
		"RUNNER_TEMP="+filepath.Join(tmp, "runner-temp"),
		"RUNNER_TOOL_CACHE="+toolCache,
		"GITHUB_OUTPUT="+output,
		"ALICLOUD_IMAGE_FAMILY_ACTION_PATH="+repoRoot(t),
		"ALICLOUD_IMAGE_FAMILY_ACTION_REF=v"+s.version,
		"ALICLOUD_IMAGE_FAMILY_ACTION_REPOSITORY=imagefamily/"+projectName,
		"ALICLOUD_IMAGE_FAMILY_RELEASES_URL="+srv.URL,
		"INPUT_REGION=cn-hangzhou",
		"INPUT_IMAGE_FAMILY=web-base",
		"INPUT_ACCESS_KEY_ID="+demoAccessKeyID,
		"INPUT_ACCESS_KEY_SECRET="+demoAccessKeySecret,
		"INPUT_ENDPOINT="+emu.URL,
		"INPUT_TIMEOUT=60s",
	)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("launcher: %v\n%s", err, log.String())
	}
	assertNoSecret(t, "launcher output", log.String())

	asset := cliAssetName(s.version, hostPlatform())
	if !strings.Contains(log.String(), "Verified "+asset) {
		t.Errorf("the launcher did not verify %s:\n%s", asset, log.String())
	}
	mu.Lock()
	if hits[prefix+asset] != 1 || hits[prefix+cliName+"_"+s.version+"_SHA256SUMS"] != 1 || len(hits) != 2 {
		t.Errorf("release downloads %v, want the checksum file and %s once each", hits, asset)
	}
	mu.Unlock()

	out, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	if got := outputValue(string(out), "image-id"); got != wantImageID {
		t.Errorf("GITHUB_OUTPUT image-id = %q, want %q\n%s\nlauncher log:\n%s", got, wantImageID, out, log.String())
	}

	// The cached binary is the one from the release archive, byte for byte.
	cached, err := os.ReadFile(filepath.Join(toolCache, cliName, s.version, map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH], cliName))
	if err != nil {
		t.Fatalf("tool cache: %v", err)
	}
	shipped, err := os.ReadFile(s.cliBin)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(cached) != sha256.Sum256(shipped) {
		t.Error("the tool cache holds a different binary from the release archive's")
	}
}

// outputValue reads name from a GITHUB_OUTPUT file, in either of its forms
// (name=value, or name<<DELIMITER ... DELIMITER).
func outputValue(content, name string) string {
	lines := strings.Split(content, "\n")
	for i, line := range lines {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return v
		}
		if delim, ok := strings.CutPrefix(line, name+"<<"); ok {
			var vals []string
			for _, l := range lines[i+1:] {
				if l == delim {
					return strings.Join(vals, "\n")
				}
				vals = append(vals, l)
			}
		}
	}
	return ""
}
