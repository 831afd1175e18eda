// Package modversion checks what a user gets who builds a released module
// version rather than a checkout or a release archive: the CLI's `version`,
// the plugin's `describe` (what `packer plugins installed` shows) and the
// User-Agent must all report that module version, not "0.1.0-dev".
//
// The test serves this repository's tracked files as version v1.8.7 from a
// file:// module proxy in a temporary directory (every dependency comes from
// the module cache, so nothing leaves the machine) and builds both binaries
// from a consumer module that requires it, the way `go install ...@v1.8.7`
// and `go build` in another module fetch it.
package modversion

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

const fakeVersion = "v1.8.7"

// moduleZip writes the module zip: every tracked (or new, not ignored) file
// under module@version/, as the module proxy protocol lays it out.
func moduleZip(t *testing.T, root, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (the test needs a git checkout)", err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	prefix := version.ModulePath + "@" + fakeVersion + "/"
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		p := filepath.Join(root, name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink (not allowed in module zips)
		}
		w, err := zw.Create(prefix + filepath.ToSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestBuildOfAReleasedModuleVersionReportsIt(t *testing.T) {
	root := e2etest.RepoRoot(t)
	tmp := t.TempDir()
	modDir := filepath.Join(tmp, "proxy", version.ModulePath, "@v")
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		t.Fatal(err)
	}
	moduleZip(t, root, filepath.Join(modDir, fakeVersion+".zip"))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(modDir, fakeVersion+".mod"), gomod, 0o644)
	os.WriteFile(filepath.Join(modDir, fakeVersion+".info"), []byte(`{"Version":"`+fakeVersion+`","Time":"2026-12-01T00:00:00Z"}`), 0o644)
	os.WriteFile(filepath.Join(modDir, "list"), []byte(fakeVersion+"\n"), 0o644)

	consumer := filepath.Join(tmp, "consumer")
	os.MkdirAll(consumer, 0o755)
	// Packer plugins need the go-cty fork (NOTES: packer-sdc fix); a module
	// that builds the plugin from ours must say so too, since replace
	// directives only apply in the main module.
	os.WriteFile(filepath.Join(consumer, "go.mod"), []byte("module example.com/consumer\n\ngo 1.26\n\nrequire "+
		version.ModulePath+" "+fakeVersion+"\n\nreplace github.com/zclconf/go-cty => github.com/nywilken/go-cty v1.13.3\n"), 0o644)
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	os.WriteFile(filepath.Join(consumer, "go.sum"), sum, 0o644)
	os.WriteFile(filepath.Join(consumer, "tools.go"), []byte("//go:build tools\n\npackage tools\n\nimport (\n\t_ \""+
		version.ModulePath+"/cmd/alicloud-image-family\"\n\t_ \""+version.ModulePath+"/cmd/packer-plugin-alicloud-image-family\"\n)\n"), 0o644)

	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(tmp, "proxy")), // ours from here; the rest from the module cache
		"GOFLAGS=-mod=mod", "GONOSUMDB="+version.ModulePath, "GONOSUMCHECK=1", "GOSUMDB=off",
		"GOTOOLCHAIN=local", "GOWORK=off",
		"GOMODCACHE="+goEnv(t, "GOMODCACHE"))
	bin := filepath.Join(tmp, "bin")
	for _, pkg := range []string{"cmd/alicloud-image-family", "cmd/packer-plugin-alicloud-image-family"} {
		cmd := exec.Command("go", "build", "-o", bin+"/", version.ModulePath+"/"+pkg)
		cmd.Dir, cmd.Env = consumer, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s@%s: %v\n%s", pkg, fakeVersion, err, out)
		}
	}

	out, err := exec.Command(filepath.Join(bin, "alicloud-image-family"), "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "alicloud-image-family 1.8.7" {
		t.Fatalf("alicloud-image-family version = %q (%v), want 1.8.7", out, err)
	}
	out, err = exec.Command(filepath.Join(bin, "packer-plugin-alicloud-image-family"), "describe").Output()
	var d struct {
		Version string `json:"version"`
	}
	if err != nil || json.Unmarshal(out, &d) != nil || d.Version != "1.8.7" {
		t.Fatalf("plugin describe = %s (%v), want version 1.8.7", out, err)
	}

	// The User-Agent of a real request says the same.
	uas := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uas <- r.Header.Get("User-Agent")
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"RequestId":"R-1","Image":{"ImageId":"m-bp1g7004ksh0oeuc0001"}}`))
	}))
	defer srv.Close()
	cmd := exec.Command(filepath.Join(bin, "alicloud-image-family"), "resolve", "--region", "cn-hangzhou",
		"--image-family", "web-base", "--endpoint", srv.URL, "--timeout", "10s")
	cmd.Env = []string{"HOME=" + tmp, "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIVERSION0001", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=version-secret-0001",
		"NO_PROXY=127.0.0.1,localhost", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "m-bp1g7004ksh0oeuc0001" {
		t.Fatalf("resolve = %q (%v)\n%s", out, err, stderr.String())
	}
	select {
	case ua := <-uas:
		if !strings.Contains(ua, "packer-plugin-alicloud-image-family/1.8.7 ") {
			t.Fatalf("User-Agent %q does not carry 1.8.7", ua)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the server")
	}
}
