//go:build release

package releasetest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitHub lets a real `packer init` download this snapshot as if it were
// the GitHub release, without leaving loopback: Packer is pointed at a
// loopback HTTPS proxy (HTTPS_PROXY), which answers CONNECT to github.com,
// api.github.com and releases.hashicorp.com itself, with certificates from a
// test CA that Packer trusts through SSL_CERT_FILE. Any other host is refused
// and recorded.
type fakeGitHub struct {
	t        *testing.T
	version  string
	dist     string
	repo     string // imagefamily/packer-plugin-alicloud-image-family
	proxyURL string
	caPEM    []byte

	mu       sync.Mutex
	requests []string // "host/path" of every request served
	refused  []string // CONNECT targets refused
}

// fakeHosts are the hosts `packer init` contacts for a github.com source:
// HashiCorp's release site first (it answers 404 for third-party plugins),
// then GitHub's API for the tags and github.com for the release assets.
var fakeHosts = []string{"github.com", "api.github.com", "releases.hashicorp.com"}

func newFakeGitHub(t *testing.T, s *snapshot) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, version: s.version, dist: s.dir, repo: "imagefamily/" + projectName}

	ca, caKey, caPEM := newCA(t)
	f.caPEM = caPEM
	leaf := newLeaf(t, ca, caKey, fakeHosts)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}

	// The TLS connections the proxy terminates are served by one HTTP
	// server through an in-memory listener.
	inner := &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
	innerSrv := &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go innerSrv.Serve(inner)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || err != nil || port != "443" || !slices.Contains(fakeHosts, host) {
			f.mu.Lock()
			f.refused = append(f.refused, r.Method+" "+r.Host)
			f.mu.Unlock()
			http.Error(w, "this test proxy only fakes "+strings.Join(fakeHosts, ", "), http.StatusForbidden)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			conn.Close()
			return
		}
		inner.push(tls.Server(&bufferedConn{Conn: conn, r: buf.Reader}, tlsConf))
	})}
	go proxy.Serve(ln)
	f.proxyURL = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		proxy.Close()
		inner.Close()
		innerSrv.Close()
	})
	return f
}

// serve answers as GitHub and HashiCorp's release site would for this one
// release.
func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	f.mu.Lock()
	f.requests = append(f.requests, host+r.URL.Path)
	f.mu.Unlock()

	switch host {
	case "api.github.com":
		if r.URL.Path == "/repos/"+f.repo+"/git/matching-refs/tags" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode([]map[string]string{{"ref": "refs/tags/v" + f.version}})
			return
		}
	case "github.com":
		prefix := "/" + f.repo + "/releases/download/v" + f.version + "/"
		if name, ok := strings.CutPrefix(r.URL.Path, prefix); ok && name != "" && !strings.ContainsAny(name, `/\`) {
			if _, err := os.Stat(filepath.Join(f.dist, name)); err == nil {
				http.ServeFile(w, r, filepath.Join(f.dist, name))
				return
			}
		}
	}
	http.NotFound(w, r)
}

func (f *fakeGitHub) served() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeGitHub) refusedConnects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refused...)
}

// bufferedConn keeps bytes the proxy's reader already buffered after CONNECT.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed by the proxy.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errors.New("listener closed")
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "release-check test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
