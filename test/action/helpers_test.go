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
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

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
		name, data := r.assetName(p), archive(t, p, payload)
		r.files[name] = data
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
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

// set replaces a file of the release (after the checksums were computed).
func (r *release) set(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[name] = data
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

// archive is the release archive for platform: a zip for Windows, else a
// tar.gz, with the executable beside another file.
func archive(t *testing.T, platform string, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if strings.HasPrefix(platform, "windows/") {
		zw := zip.NewWriter(&buf)
		for name, data := range map[string][]byte{"LICENSE": []byte("license"), "alicloud-image-family.exe": payload} {
			h := &zip.FileHeader{Name: name, Method: zip.Deflate}
			h.SetMode(0o755)
			w, _ := zw.CreateHeader(h)
			w.Write(data)
		}
		err = zw.Close()
	} else {
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for name, data := range map[string][]byte{"README.md": []byte("readme"), "alicloud-image-family": payload} {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
			tw.Write(data)
		}
		err = errors.Join(tw.Close(), gz.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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

// gate serves a workflow's gate steps on loopback, at the port the
// returned act --env entry (GATE_PORT) names: each request runs at with its
// path, and is answered "ok" when at knew the path.
func (w *world) gate(at func(path string) bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !at(strings.TrimPrefix(r.URL.Path, "/")) {
			http.NotFound(rw, r)
			return
		}
		fmt.Fprintln(rw, "ok")
	}))
	w.t.Cleanup(srv.Close)
	return "GATE_PORT=" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
}

// familyImage is an Available image of the fixture's family web-base that a
// test publishes during a run.
func familyImage(id, version, created string) ecs.Image {
	return ecs.Image{ImageId: id, ImageName: "web-base-v" + version, ImageFamily: "web-base", ImageVersion: version,
		Status: "Available", CreationTime: created, Size: 50, Architecture: "x86_64", OSType: "linux", Platform: "Aliyun",
		OSName: "Alibaba Cloud Linux 3.2104 LTS 64 bit", IsSelfShared: "false"}
}
