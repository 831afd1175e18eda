// Package actione2e runs the GitHub Action the way a runner does: the
// launcher script against a loopback release server, and whole workflows
// under act v0.2.89 (host mode) against the ECS/STS emulator.
package actione2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// repoRoot is the repository, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// binary is the program the action runs, `alicloud-image-family` (whose
// `action` subcommand is action.Main), built once per test process.
func binary(t *testing.T) (path, pkg string) {
	t.Helper()
	return e2etest.CLI(t), e2etest.CLIPackage
}

// release is a fake GitHub release on loopback: archives per platform and a
// SHA256SUMS file, served as <base>/v<version>/<asset>.
type release struct {
	version string
	files   map[string][]byte
	srv     *httptest.Server
	mu      sync.Mutex
	hits    map[string]int
}

// newRelease packages payload (the executable's bytes) for the given
// platforms, named exactly as docs/action.md and the release config say.
func newRelease(t *testing.T, version string, payload []byte, platforms ...string) *release {
	t.Helper()
	r := &release{version: version, files: map[string][]byte{}, hits: map[string]int{}}
	var sums bytes.Buffer
	for _, p := range platforms {
		goos, _, _ := strings.Cut(p, "/")
		name, data := archive(t, version, p, payload)
		r.files[name] = data
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		_ = goos
	}
	// Unrelated lines (the Packer plugin's assets) share the file in the real
	// release; the launcher must pick its own line.
	fmt.Fprintf(&sums, "%s  packer-plugin-alicloud-image-family_v%s_x5.0_linux_amd64.zip\n", strings.Repeat("ab", 32), version)
	r.files["alicloud-image-family_"+version+"_SHA256SUMS"] = sums.Bytes()
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits[req.URL.Path]++
		data, ok := r.files[strings.TrimPrefix(req.URL.Path, "/v"+version+"/")]
		r.mu.Unlock()
		if !ok || !strings.HasPrefix(req.URL.Path, "/v"+version+"/") {
			http.NotFound(w, req)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *release) assetName(platform string) string {
	goos, goarch, _ := strings.Cut(platform, "/")
	ext := "tar.gz"
	if goos == "windows" {
		ext = "zip"
	}
	return fmt.Sprintf("alicloud-image-family_%s_%s_%s.%s", r.version, goos, goarch, ext)
}

// corrupt replaces an asset's bytes after the checksums were computed.
func (r *release) corrupt(platform string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := r.assetName(platform)
	r.files[name] = append(bytes.Clone(r.files[name]), 0)
}

func (r *release) hitCount(suffix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for p, c := range r.hits {
		if strings.HasSuffix(p, suffix) {
			n += c
		}
	}
	return n
}

func archive(t *testing.T, version, platform string, payload []byte) (string, []byte) {
	t.Helper()
	goos, goarch, _ := strings.Cut(platform, "/")
	var buf bytes.Buffer
	if goos == "windows" {
		zw := zip.NewWriter(&buf)
		for _, f := range []struct {
			name string
			data []byte
		}{{"LICENSE", []byte("license")}, {"alicloud-image-family.exe", payload}} {
			h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
			h.SetMode(0o755)
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(f.data)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("alicloud-image-family_%s_%s_%s.zip", version, goos, goarch), buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
		mode int64
	}{{"README.md", []byte("readme"), 0o644}, {"alicloud-image-family", payload, 0o755}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	gz.Close()
	return fmt.Sprintf("alicloud-image-family_%s_%s_%s.tar.gz", version, goos, goarch), buf.Bytes()
}

// hostPlatform is this machine in GoReleaser's os/arch words.
func hostPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }

// runnerArch is this machine in RUNNER_ARCH words.
func runnerArch() string {
	if runtime.GOARCH == "arm64" {
		return "ARM64"
	}
	return "X64"
}

// trapProxy is a loopback HTTP proxy that accepts and records every
// connection. Tests point HTTP(S)_PROXY at it with NO_PROXY covering
// loopback, so any attempt to reach a non-loopback host is recorded instead
// of leaving the machine.
type trapProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string
}

func newTrapProxy(t *testing.T) *trapProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &trapProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			n, _ := c.Read(buf)
			line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
			p.mu.Lock()
			p.seen = append(p.seen, line)
			p.mu.Unlock()
			c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *trapProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *trapProxy) env() []string {
	u := p.URL()
	loop := "127.0.0.1,localhost,::1"
	return []string{"HTTP_PROXY=" + u, "HTTPS_PROXY=" + u, "http_proxy=" + u, "https_proxy=" + u,
		"ALL_PROXY=" + u, "NO_PROXY=" + loop, "no_proxy=" + loop}
}

func (p *trapProxy) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) > 0 {
		t.Errorf("something tried to reach the network through the proxy: %q", p.seen)
	}
}
