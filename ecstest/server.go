// Package ecstest is a loopback Alibaba Cloud ECS + STS emulator for tests,
// like net/http/httptest: it answers DescribeImageFromFamily, the family
// lifecycle (ModifyImageAttribute, DescribeImages, CopyImage: lifecycle.go),
// AssumeRole and AssumeRoleWithOIDC the way the real RPC endpoints do, verifies RPC v1
// signatures and STS tokens, and injects faults (throttling, 5xx, delays,
// broken bodies, dropped connections) so clients can be tested against what a
// real endpoint accepts and how it fails.
//
// # Control API
//
// A test that runs the emulator as a separate process (emulatorproc.Main,
// wired as "alicloud-image-family emulator") drives it over HTTP instead of calling
// Server methods. The control API is served on the same listener under
// ControlPrefix ("/_emulator/"); real RPC calls always use the path "/", so
// the two never clash. It is on in process mode and off unless
// Options.Control is set for library users, answers loopback clients only,
// refuses browser (Origin) requests, and its requests are never counted as
// API requests nor subject to faults. Bodies and answers are JSON; a change
// answers {"ok":true}, an error {"error":"..."} with 400 (bad JSON, unknown
// field or fault kind, missing field), 404 (unknown endpoint or image, or the
// API is off), 405 or 409.
//
//	GET  /_emulator/requests         -> {"all": N, "by_action": {"DescribeImageFromFamily": N},
//	                                  "writes": [{"region_id": R, "image_id": ID, "image_family": F, "status": S, "dry_run": "true"}]}
//	POST /_emulator/reset-counts     ResetCounts
//	POST /_emulator/faults           {"kind": K, "action": A, "n": 2, "status": 503, "code": C,
//	                                  "delay": "2s", "retry_after": "1500ms", "skip": 1}
//	POST /_emulator/clear-faults     ClearFaults
//	POST /_emulator/images           {"region": R, "image": {API Image object}, "after_calls": N} -> AddImage (409 if the ImageId
//	                                  exists); with after_calls > 0, AddImageAfter (appears after N more answers)
//	POST /_emulator/image-status     {"region": R, "image_id": ID, "status": S} -> SetImageStatus (404 if unknown)
//	POST /_emulator/expire-sessions  ExpireSessions
//
// Fault kinds (FaultKind): throttle (Throttle), throttle429 (Throttle with
// TooManyRequests), status (FailStatus; status 400-599, code optional),
// malformed, truncated, empty, drop (the body faults and DropConnection), all
// counted by "n" (default 1), after letting "skip" matching requests through
// (default 0); delay (Delay, needs "delay"; "0s" removes it),
// hang (Hang) and latency (Latency, every action, needs "delay"), which last
// until clear-faults. "action" "" or absent means every action; fields that do
// not apply to the kind are refused. Durations are Go duration strings.
//
// The process entry (Main, the ready file) and a Go client of the control
// API live in the package ecstest/emulatorproc.
package ecstest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/internal/builderapi"
)

const (
	ecsVersion = "2014-05-26"
	stsVersion = "2015-04-01"
	// hostID is what the real ECS endpoint puts in HostId; clients may log it.
	hostID = "ecs.aliyuncs.com"
	// maxBody bounds what one request may upload; real RPC calls are tiny.
	maxBody = 1 << 20
	// allKey is the counter of every request; no Action can contain NUL.
	allKey = "\x00all"
)

// Server is a running emulator. Exported fields and methods are safe for
// concurrent use.
type Server struct {
	// URL is scheme://127.0.0.1:port, without a trailing slash.
	URL string

	// ts serves the emulator: httptest gives it the listener, TLS,
	// connection tracking and Close, as users of httptest expect.
	ts      *httptest.Server
	cert    *x509.Certificate
	certPEM []byte
	closing chan struct{}
	closeMu sync.Once

	mu       sync.Mutex
	accounts map[string]Account
	roles    []Role
	regions  map[string]bool
	images   map[string][]ecs.Image
	pending  []pendingImage      // images that appear after some answers (AddImageAfter)
	sessions map[string]*session // by STS AccessKeyId
	tokens   map[string]*session // by SecurityToken
	// metadataTokens are the hardened-mode tokens the metadata service issued.
	metadataTokens map[string]bool
	lifetime       time.Duration // overrides DurationSeconds when > 0
	nonces         map[string]time.Time
	noncePruned    time.Time
	faults         faultSet
	controlOn      bool
	counts         map[string]int
	last           map[string]RecordedRequest
	writes         []ImageWrite
	clock          func() time.Time
	// copies are the CopyImage copies still Creating, with the
	// DescribeImages polls naming them still to answer Creating
	// (lifecycle.go).
	copies       map[string]int
	copyPolls    int
	copyPollsSet bool
	// copyIDs are the images CopyImage made; failCopies is the region
	// whose copies end CreateFailed (build.go).
	copyIDs    map[string]bool
	failCopies string
	// The Packer build's state (build.go): the VPCs, instances and the
	// like in build; the polls a created image answers Creating; the
	// snapshots (region/id) images were made with; share lists by image.
	build      *builderapi.Store
	imagePolls int
	snapshots  map[string]bool
	shares     map[string][]string
	// log gets one line per API request (Options.Log).
	log io.Writer
}

// Options configure Start.
type Options struct {
	// Addr to listen on; only loopback addresses are allowed. Default
	// "127.0.0.1:0".
	Addr string
	// TLS serves HTTPS with a certificate generated at start for 127.0.0.1,
	// ::1 and localhost.
	TLS bool
	// Control serves the control API under ControlPrefix (see the package
	// documentation). Off by default: in-process tests call Server methods
	// directly, and a stray control call must not be able to change what a
	// test of "exactly one request" sees. Main turns it on.
	Control bool
	// Log, when set, gets one line per API request: the action, its
	// region and resource parameters, and the answer's status, code and
	// new resource id (never a secret: no signature, key or token).
	Log io.Writer
}

// NewServer starts a plain-HTTP emulator on 127.0.0.1 with a random port. It
// panics if it cannot listen, like httptest.NewServer.
func NewServer(f *Fixture) *Server {
	s, err := Start(f, Options{})
	if err != nil {
		panic(err)
	}
	return s
}

// NewTLSServer starts an HTTPS emulator with a fresh self-signed certificate.
func NewTLSServer(f *Fixture) *Server {
	s, err := Start(f, Options{TLS: true})
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts an emulator with explicit options.
func Start(f *Fixture, o Options) (*Server, error) {
	if f == nil {
		f = &Fixture{}
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	s := &Server{
		closing:        make(chan struct{}),
		accounts:       map[string]Account{},
		regions:        map[string]bool{},
		images:         map[string][]ecs.Image{},
		sessions:       map[string]*session{},
		tokens:         map[string]*session{},
		metadataTokens: map[string]bool{},
		nonces:         map[string]time.Time{},
		counts:         map[string]int{},
		last:           map[string]RecordedRequest{},
		clock:          time.Now,
		controlOn:      o.Control,
		copyIDs:        map[string]bool{},
		log:            o.Log,
	}
	s.build = builderapi.New(buildImages{s}, s.now)
	f = f.clone()
	for _, a := range f.Accounts {
		s.accounts[a.AccessKeyID] = a
	}
	s.roles = f.Roles
	for _, r := range f.Regions {
		s.regions[r] = true
	}
	for r, imgs := range f.Images {
		s.regions[r] = true
		s.images[r] = imgs
	}

	ts := httptest.NewUnstartedServer(s)
	if o.Addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			ts.Close()
			return nil, fmt.Errorf("ecstest: listen on %s: %w", addr, err)
		}
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Config.ReadHeaderTimeout = 10 * time.Second
	// HTTP/1.1 only: the fault injector hijacks connections, which HTTP/2
	// cannot do, and the real RPC endpoints answer HTTP/1.1 as well.
	ts.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	// Handshake failures are expected (tests of untrusted certificates,
	// clients going away) and would only clutter the test output.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	if o.TLS {
		// Our own certificate rather than httptest's: it also names
		// localhost, and is a CA, so it can be the only entry of
		// SSL_CERT_FILE for a child process.
		tlsCert, err := s.makeCert()
		if err != nil {
			ts.Close()
			return nil, err
		}
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{tlsCert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
		ts.StartTLS()
	} else {
		ts.Start()
	}
	s.ts = ts
	s.URL = ts.URL
	return s, nil
}

// CheckLoopback refuses anything but a loopback IP or "localhost": the
// emulator accepts fixture credentials and must never be reachable from
// another machine.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("ecstest: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("ecstest: address %q is not a loopback address (use 127.0.0.1:PORT)", addr)
	}
	return nil
}

// Close stops the server, wakes hanging handlers and closes connections.
func (s *Server) Close() {
	s.closeMu.Do(func() {
		close(s.closing)
		// Every connection, active ones too (a handler holding a hung
		// request is woken by closing), then httptest's Close.
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// Endpoint is host:port, the form the SDK takes as a Domain.
func (s *Server) Endpoint() string { return s.ts.Listener.Addr().String() }

// Certificate is the TLS server's certificate (nil for plain HTTP).
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// CertPEM is the certificate in PEM form (nil for plain HTTP).
func (s *Server) CertPEM() []byte { return bytes.Clone(s.certPEM) }

// WriteCertFile writes the PEM certificate to dir/ecstest-cert.pem and returns
// the path, for SSL_CERT_FILE in child processes (the SDK's credential
// providers talk to STS over https only).
func (s *Server) WriteCertFile(dir string) (string, error) {
	if s.certPEM == nil {
		return "", errors.New("ecstest: WriteCertFile: server is not TLS")
	}
	path := filepath.Join(dir, "ecstest-cert.pem")
	if err := os.WriteFile(path, s.certPEM, 0o644); err != nil {
		return "", fmt.Errorf("ecstest: write certificate: %w", err)
	}
	return path, nil
}

// Transport returns a new transport that trusts the server's certificate and
// never uses a proxy. A new one each call: the SDK mutates the transport it is
// given.
func (s *Server) Transport() *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	if s.cert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(s.cert)
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t
}

// LoopbackOnly makes t refuse to dial anything but a loopback IP address,
// without a DNS lookup, and returns it. A test whose request misses the
// emulator (say, an endpoint setting that is not read, so the SDK's default
// ecs.<region>.aliyuncs.com is used) then fails on the spot instead of
// reaching the network.
func LoopbackOnly(t *http.Transport) *http.Transport {
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("ecstest: refusing to dial %s: tests reach loopback only", addr)
		}
		return dial(ctx, network, addr)
	}
	return t
}

// Client returns httptest's client for the server: it trusts the
// server's certificate, uses no proxy, and its idle connections are closed
// by Close.
func (s *Server) Client() *http.Client { return s.ts.Client() }

func (s *Server) makeCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ecstest: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ecstest: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"ecstest loopback emulator"}, CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		// Self-signed and a CA, so the same certificate can be the only entry
		// of SSL_CERT_FILE or a RootCAs pool.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ecstest: create certificate: %w", err)
	}
	s.cert, err = x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: s.cert}, nil
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock()
}

// SetClock replaces the server's clock (for Timestamp and token expiry
// checks); nil restores time.Now.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	s.clock = now
}

// ---- mutators ----

// AddAccount adds or replaces an AccessKey pair.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.AccessKeyID] = a
}

// AddRole adds or replaces a role (matched by ARN, case-insensitively as RAM
// does).
func (s *Server) AddRole(r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.roles {
		if strings.EqualFold(s.roles[i].ARN, r.ARN) {
			s.roles[i] = r
			return
		}
	}
	s.roles = append(s.roles, r)
}
