//go:build release

package releasetest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Names a release must use. They are written out here rather than read from
// .goreleaser.yml on purpose: these are the names users' tools ask for.
const (
	projectName = "packer-plugin-alicloud-image-family"
	// pluginSource is what users write in required_plugins; Packer derives
	// the repository (imagefamily/packer-plugin-alicloud-image-family) and
	// every file name from it.
	pluginSource = "github.com/imagefamily/alicloud-image-family"
	pluginName   = "alicloud-image-family"
	cliName      = "alicloud-image-family"
)

// The platforms a release ships, and the representative subset the release
// check builds by default (RELEASE_CHECK_FULL=1 builds them all).
var (
	pluginPlatformsFull = []string{
		"darwin/amd64", "darwin/arm64",
		"freebsd/386", "freebsd/amd64", "freebsd/arm", "freebsd/arm64",
		"linux/386", "linux/amd64", "linux/arm", "linux/arm64",
		"windows/386", "windows/amd64", "windows/arm64",
	}
	cliPlatformsFull = []string{
		"darwin/amd64", "darwin/arm64",
		"linux/amd64", "linux/arm64",
		"windows/amd64", "windows/arm64",
	}
	platformsSubset = []string{"linux/amd64", "windows/amd64"}
)

func fullMatrix() bool { return os.Getenv("RELEASE_CHECK_FULL") == "1" }

func wantPluginPlatforms() []string {
	if fullMatrix() {
		return pluginPlatformsFull
	}
	return platformsSubset
}

func wantCLIPlatforms() []string {
	if fullMatrix() {
		return cliPlatformsFull
	}
	return platformsSubset
}

// repoRoot is the repository, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// snapshot is GoReleaser's output directory and what the tests learn from it.
type snapshot struct {
	dir        string
	version    string // GoReleaser's version, without "v"
	apiVersion string // from the host plugin's describe
	describe   pluginDescription
	pluginBin  string // the host plugin, unpacked from its zip as Packer would
	cliBin     string // the host CLI, unpacked from its archive
	tmp        string
}

type pluginDescription struct {
	Version        string   `json:"version"`
	SDKVersion     string   `json:"sdk_version"`
	APIVersion     string   `json:"api_version"`
	Builders       []string `json:"builders"`
	PostProcessors []string `json:"post_processors"`
	Datasources    []string `json:"datasources"`
	Provisioners   []string `json:"provisioners"`
}

var (
	snapOnce sync.Once
	snap     *snapshot
	snapErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if snap != nil && snap.tmp != "" {
		os.RemoveAll(snap.tmp)
	}
	os.Exit(code)
}

func hostPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }

func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// loadSnapshot reads dist once per test process: the version from
// metadata.json, the host plugin and CLI unpacked from their archives (the
// bytes users download), and the plugin's own describe.
func loadSnapshot(t *testing.T) *snapshot {
	t.Helper()
	snapOnce.Do(func() { snap, snapErr = readSnapshot() })
	if snapErr != nil {
		t.Fatal(snapErr)
	}
	return snap
}

func readSnapshot() (*snapshot, error) {
	dir := os.Getenv("RELEASE_DIST")
	if dir == "" {
		dir = "../../dist"
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var meta struct {
		ProjectName string `json:"project_name"`
		Version     string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		return nil, fmt.Errorf("no GoReleaser snapshot (run scripts/release-check.sh): %w", err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("metadata.json: %w", err)
	}
	if meta.ProjectName != projectName {
		return nil, fmt.Errorf("project_name is %q, want %q (Packer finds the release by it)", meta.ProjectName, projectName)
	}
	if meta.Version == "" || strings.HasPrefix(meta.Version, "v") {
		return nil, fmt.Errorf("metadata.json version %q: want a version without v", meta.Version)
	}
	s := &snapshot{dir: dir, version: meta.Version}
	if s.tmp, err = os.MkdirTemp("", "release-test-"); err != nil {
		return nil, err
	}

	// The host plugin: the API version is part of its zip's name, which is
	// what we are checking, so find the zip by pattern and then hold the
	// name against describe.
	goos, goarch, _ := strings.Cut(hostPlatform(), "/")
	zips, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("%s_v%s_x*_%s_%s.zip", projectName, s.version, goos, goarch)))
	if len(zips) != 1 {
		return nil, fmt.Errorf("want one plugin zip for %s in %s, found %v", hostPlatform(), dir, zips)
	}
	files, err := readZip(zips[0])
	if err != nil {
		return nil, err
	}
	binName := strings.TrimSuffix(filepath.Base(zips[0]), ".zip") + exeSuffix(goos)
	data, ok := files[binName]
	if !ok {
		return nil, fmt.Errorf("%s has no %s", filepath.Base(zips[0]), binName)
	}
	s.pluginBin = filepath.Join(s.tmp, "plugin", binName)
	if err := writeExecutable(s.pluginBin, data); err != nil {
		return nil, err
	}
	out, err := exec.Command(s.pluginBin, "describe").Output()
	if err != nil {
		return nil, fmt.Errorf("%s describe: %w", binName, err)
	}
	if err := json.Unmarshal(out, &s.describe); err != nil {
		return nil, fmt.Errorf("describe output %q: %w", out, err)
	}
	s.apiVersion = s.describe.APIVersion

	cliArchive := filepath.Join(dir, fmt.Sprintf("%s_%s_%s_%s.tar.gz", cliName, s.version, goos, goarch))
	if goos == "windows" {
		cliArchive = strings.TrimSuffix(cliArchive, ".tar.gz") + ".zip"
	}
	if files, err = readArchive(cliArchive); err != nil {
		return nil, err
	}
	if data, ok = files[cliName+exeSuffix(goos)]; !ok {
		return nil, fmt.Errorf("%s has no %s at its root", filepath.Base(cliArchive), cliName)
	}
	s.cliBin = filepath.Join(s.tmp, "cli", cliName+exeSuffix(goos))
	if err := writeExecutable(s.cliBin, data); err != nil {
		return nil, err
	}
	return s, nil
}

func writeExecutable(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o755)
}

// readZip returns the regular files of a zip by name.
func readZip(path string) (map[string][]byte, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		files[f.Name] = b
	}
	return files, nil
}

// readArchive returns the regular files of a .zip or .tar.gz by name.
func readArchive(path string) (map[string][]byte, error) {
	if strings.HasSuffix(path, ".zip") {
		return readZip(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Mode&0o111 == 0 && strings.HasPrefix(h.Name, cliName) && !strings.HasSuffix(h.Name, ".exe") {
			return nil, fmt.Errorf("%s: %s is not executable (mode %o)", path, h.Name, h.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, h.Name, err)
		}
		files[h.Name] = b
	}
}

var sumLine = regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)

// readSums parses a checksum file in sha256sum format (what both Packer and
// the launcher read) and checks every listed file against its bytes in dist.
func readSums(t *testing.T, dir, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("checksum file: %v", err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		m := sumLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("%s: line %q is not `<sha256 hex>  <file>`", name, sc.Text())
		}
		if _, dup := sums[m[2]]; dup {
			t.Fatalf("%s lists %s twice", name, m[2])
		}
		sums[m[2]] = m[1]
		data, err := os.ReadFile(filepath.Join(dir, m[2]))
		if err != nil {
			t.Fatalf("%s lists %s, which is not in the release: %v", name, m[2], err)
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != m[1] {
			t.Errorf("%s: checksum of %s is %x, the file says %s", name, m[2], got, m[1])
		}
	}
	if len(sums) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return sums
}

// assetsLike lists dist's top-level files whose names start with prefix.
func assetsLike(t *testing.T, dir, prefix string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// checkExecutable checks that data is an executable for goos/goarch, so a
// zip named linux_arm64 cannot hold the amd64 build.
func checkExecutable(t *testing.T, name string, data []byte, platform string) {
	t.Helper()
	goos, goarch, _ := strings.Cut(platform, "/")
	r := bytes.NewReader(data)
	switch goos {
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Errorf("%s: not a Windows executable: %v", name, err)
			return
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64, "386": pe.IMAGE_FILE_MACHINE_I386}[goarch]
		if f.Machine != want {
			t.Errorf("%s: PE machine %#x, want %#x (%s)", name, f.Machine, want, goarch)
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Errorf("%s: not a macOS executable: %v", name, err)
			return
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want {
			t.Errorf("%s: Mach-O CPU %v, want %v", name, f.Cpu, want)
		}
	default:
		f, err := elf.NewFile(r)
		if err != nil {
			t.Errorf("%s: not an ELF executable: %v", name, err)
			return
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM}[goarch]
		if f.Machine != want {
			t.Errorf("%s: ELF machine %v, want %v", name, f.Machine, want)
		}
		wantABI := map[string]elf.OSABI{"linux": elf.ELFOSABI_NONE, "freebsd": elf.ELFOSABI_FREEBSD}[goos]
		if f.OSABI != wantABI {
			t.Errorf("%s: ELF OS ABI %v, want %v (%s)", name, f.OSABI, wantABI, goos)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}
