// Package e2etest gives the end-to-end tests one way to get the real
// programs they drive: the tools scripts/tools.sh builds (Packer, act,
// GoReleaser) and this repository's CLI; and the fronts' parity tests one
// way to compare JSON with the emulator's (SameJSON). It is test support,
// imported only by _test.go files.
package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// RepoRoot is the repository's top directory, found from this file's place
// in it, so it is right whatever package's directory a test runs in.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("e2etest: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Tool returns the path of name (packer, act, goreleaser) at version, looked
// up in this order: the variable named like the tool in upper case (PACKER,
// ACT), the bin directory scripts/test.sh exports as CI_TOOLS_BIN when its
// link points at that version, the tools cache (TOOLS_CACHE, default
// ~/.cache/alicloud-image-family/tools), and finally scripts/tools.sh NAME,
// which builds it the first time (minutes). When the tool cannot be had the
// test fails under CI, where it is required, and is skipped elsewhere.
func Tool(t testing.TB, name, version string) string {
	t.Helper()
	if p := os.Getenv(strings.ToUpper(name)); p != "" {
		return p
	}
	want := name + "-" + version
	if dir := os.Getenv("CI_TOOLS_BIN"); dir != "" {
		if p, err := filepath.EvalSymlinks(filepath.Join(dir, name)); err == nil && filepath.Base(p) == want {
			return p
		}
	}
	cache := os.Getenv("TOOLS_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "alicloud-image-family", "tools")
	}
	if p := filepath.Join(cache, want); isExecutable(p) {
		return p
	}
	t.Logf("%s %s is not cached; building it with scripts/tools.sh %s (first time only)", name, version, name)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(RepoRoot(t), "scripts", "tools.sh"), name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if p := filepath.Join(lines[len(lines)-1], name); isExecutable(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s %s is not available (scripts/tools.sh %s: %v)\n%s", name, version, name, err, stderr.String())
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "\nunder CI the real " + name + " is required")
	}
	t.Skip(msg + "\nrun scripts/tools.sh " + name + " to enable these tests (under CI this is a failure)")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// CLIPackage is the CLI's package path relative to the repository.
const CLIPackage = "./cmd/alicloud-image-family"

// cliBuild is one build of the binary, made once per test process.
type cliBuild struct {
	once sync.Once
	path string
	err  error
}

var (
	cliBuildsMu sync.Mutex
	cliBuilds   = map[string]*cliBuild{} // by build tags
)

// CLI builds the alicloud-image-family binary (the CLI, the action runtime
// and the emulator process) once per test process and returns its path.
func CLI(t testing.TB) string {
	t.Helper()
	return CLIWithTags(t, "")
}

// CLIWithTags is CLI built with the build tags (a comma-separated list,
// "" for none), such as a test-only hook's: once per test process per
// list.
func CLIWithTags(t testing.TB, tags string) string {
	t.Helper()
	cliBuildsMu.Lock()
	b := cliBuilds[tags]
	if b == nil {
		b = &cliBuild{}
		cliBuilds[tags] = b
	}
	cliBuildsMu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "aif-e2e-bin-")
		if err != nil {
			b.err = err
			return
		}
		out := filepath.Join(dir, "alicloud-image-family")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", out, CLIPackage)
		cmd.Dir = RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if output, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build -tags %q %s: %v\n%s", tags, CLIPackage, err, output)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Emulator starts an in-process TLS emulator with the fixture file and
// writes its certificate where a child process can trust it through
// SSL_CERT_FILE. It is closed when the test ends.
func Emulator(t testing.TB, fixture string) (srv *ecstest.Server, certFile string) {
	t.Helper()
	f, err := ecstest.LoadFixture(fixture)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = ecstest.Start(f, ecstest.Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	certFile, err = srv.WriteCertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return srv, certFile
}

// SameJSON is conformance.SameJSON, failing the test when got is not JSON.
func SameJSON(t testing.TB, got, want []byte) bool {
	t.Helper()
	same, err := conformance.SameJSON(got, want)
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	return same
}

// ReadFile is the file's content; a file that cannot be read fails the
// test.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
