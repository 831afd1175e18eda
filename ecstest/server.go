// Package ecstest is a loopback Alibaba Cloud ECS + STS emulator for tests,
// like net/http/httptest: it answers DescribeImageFromFamily, AssumeRole and
// AssumeRoleWithOIDC the way the real RPC endpoints do, verifies RPC v1
// signatures and STS tokens, and injects faults (throttling, 5xx, delays,
// broken bodies, dropped connections) so clients can be tested against what a
// real endpoint accepts and how it fails.
//
// # Control API
//
// A test that runs the emulator as a separate process (Main, wired as
// "alicloud-image-family emulator") drives it over HTTP instead of calling
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
//	GET  /_emulator/requests         -> {"all": N, "by_action": {"DescribeImageFromFamily": N}}
//	POST /_emulator/reset-counts     ResetCounts
//	POST /_emulator/faults           {"kind": K, "action": A, "n": 2, "status": 503, "code": C,
//	                                  "delay": "2s", "retry_after": "1500ms"}
//	POST /_emulator/clear-faults     ClearFaults
//	POST /_emulator/images           {"region": R, "image": {API Image object}, "after_calls": N} -> AddImage (409 if the ImageId
//	                                  exists); with after_calls > 0, AddImageAfter (appears after N more answers)
//	POST /_emulator/image-status     {"region": R, "image_id": ID, "status": S} -> SetImageStatus (404 if unknown)
//	POST /_emulator/expire-sessions  ExpireSessions
//
// Fault kinds (FaultKind): throttle (Throttle), throttle429 (Throttle with
// TooManyRequests), status (FailStatus; status 400-599, code optional),
// malformed, truncated, empty, drop (the body faults and DropConnection), all
// counted by "n" (default 1); delay (Delay, needs "delay"; "0s" removes it),
// hang (Hang) and latency (Latency, every action, needs "delay"), which last
// until clear-faults. "action" "" or absent means every action; fields that do
// not apply to the kind are refused. Durations are Go duration strings.
//
// Control is a Go client for it: WaitReady waits for the ready file Main
// writes, NewControl(info.URL, info.CertFile) builds a client that trusts the
// emulator's certificate, and Server.Control does the same in process.
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
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
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

	listener net.Listener
	http     *http.Server
	cert     *x509.Certificate
	certPEM  []byte
	closing  chan struct{}
	closeMu  sync.Once
	wg       sync.WaitGroup

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
	clock          func() time.Time
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
	if err := checkLoopback(addr); err != nil {
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
	}
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

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ecstest: listen on %s: %w", addr, err)
	}
	scheme := "http"
	if o.TLS {
		tlsCert, err := s.makeCert()
		if err != nil {
			ln.Close()
			return nil, err
		}
		// HTTP/1.1 only: the fault injector hijacks connections, which HTTP/2
		// cannot do, and the real RPC endpoints answer HTTP/1.1 as well.
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{tlsCert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
		})
		scheme = "https"
	}
	s.listener = ln
	s.URL = scheme + "://" + ln.Addr().String()
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// Handshake failures are expected (tests of untrusted certificates,
		// clients going away) and would only clutter the test output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// checkLoopback refuses anything but a loopback IP or "localhost": the
// emulator accepts fixture credentials and must never be reachable from
// another machine.
func checkLoopback(addr string) error {
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
		_ = s.http.Close()
		s.wg.Wait()
	})
}

// Endpoint is host:port, the form the SDK takes as a Domain.
func (s *Server) Endpoint() string { return s.listener.Addr().String() }

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

// Client returns an http.Client using Transport().
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.Transport()} }

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

// AddImage adds an image to a region (making the region known).
func (s *Server) AddImage(region string, img ecs.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[region] = true
	s.images[region] = append(s.images[region], img)
}

// AddImageAfter adds img to region once the emulator has answered calls
// more DescribeImageFromFamily requests: a family that gains an image while
// a pipeline waits for it (or whose newest image changes under it).
func (s *Server) AddImageAfter(region string, img ecs.Image, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[region] = true
	s.pending = append(s.pending, pendingImage{region: region, image: img, after: calls})
}

type pendingImage struct {
	region string
	image  ecs.Image
	after  int // DescribeImageFromFamily answers still to give before it appears
}

// admitPending counts one DescribeImageFromFamily answer and publishes the
// images whose turn has come. Called with s.mu held.
func (s *Server) admitPending() {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.after <= 0 {
			s.images[p.region] = append(s.images[p.region], p.image)
			continue
		}
		p.after--
		kept = append(kept, p)
	}
	s.pending = kept
}

// SetImageStatus changes the Status of an image; it reports whether the image
// was found.
func (s *Server) SetImageStatus(region, imageID, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.images[region] {
		if s.images[region][i].ImageId == imageID {
			s.images[region][i].Status = status
			return true
		}
	}
	return false
}

// AddRegion makes a region known without images.
func (s *Server) AddRegion(region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[region] = true
}

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

// ---- request recording ----

// RecordedRequest is what arrived, as the server saw it.
type RecordedRequest struct {
	Method string
	Path   string
	Action string
	// Params are the query and form parameters together (query first), as
	// signed: Signature, AccessKeyId, SecurityToken and so on included.
	Params url.Values
	Header http.Header
	Time   time.Time
}

// Requests counts the requests that named action, rejected ones included;
// "" counts every request.
func (s *Server) Requests(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "" {
		return s.counts[allKey]
	}
	return s.counts[action]
}

// LastRequest returns the latest request that named action ("" = any); the
// zero value if there was none.
func (s *Server) LastRequest(action string) RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "" {
		return s.last[allKey]
	}
	return s.last[action]
}

// ResetCounts forgets counts and recorded requests.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.last = map[string]RecordedRequest{}
}

func (s *Server) record(rec RecordedRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[allKey]++
	s.last[allKey] = rec
	if rec.Action != "" {
		s.counts[rec.Action]++
		s.last[rec.Action] = rec
	}
}

// ---- errors and responses ----

// apiError is an error answer in the gateway's JSON shape.
type apiError struct {
	status        int
	code, message string
	header        http.Header
}

func newAPIError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// errMissing is the gateway's answer for an absent required parameter.
func errMissing(name string) *apiError {
	return newAPIError(400, "Missing"+name, name+" is mandatory for this action.")
}

// response is a complete answer, built before writing so that body faults
// can mangle what would have been sent.
type response struct {
	status int
	header http.Header
	body   []byte
}

func jsonResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ecstest: marshal response: " + err.Error())
	}
	return &response{status: status, header: http.Header{}, body: b}
}

func (e *apiError) response(requestID string) *response {
	r := jsonResponse(e.status, struct {
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		Recommend string `json:"Recommend"`
	}{requestID, hostID, e.code, e.message, "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code)})
	for k, v := range e.header {
		r.header[k] = v
	}
	return r
}

// ---- HTTP handling ----

// ServeHTTP handles one RPC call (or hands a control request to the control
// API, unrecorded and without faults): record it, apply latency and faults, route
// by Version/Action, then write the answer (possibly mangled by a fault).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isControlPath(r.URL.Path) {
		s.serveControl(w, r)
		return
	}
	if isMetadataPath(r.URL.Path) {
		s.serveMetadata(w, r)
		return
	}
	requestID := newRequestID()
	params, perr := readParams(r)
	action := params.Get("Action")
	s.record(RecordedRequest{
		Method: r.Method, Path: r.URL.Path, Action: action,
		Params: params, Header: r.Header.Clone(), Time: time.Now(),
	})

	latency, delay, hang, f := s.faults.take(action)
	if !s.sleep(r.Context(), latency+delay) {
		s.abort(w)
		return
	}
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		s.abort(w)
		return
	}

	var resp *response
	switch {
	case f != nil && f.kind == faultDrop:
		s.abort(w)
		return
	case f != nil && f.kind == faultError:
		resp = f.err.response(requestID)
	case perr != nil:
		resp = perr.response(requestID)
	default:
		resp = s.route(r.Method, params, requestID)
	}
	resp.header.Set("Content-Type", "application/json;charset=utf-8")
	resp.header.Set("x-acs-request-id", requestID)

	if f != nil {
		switch f.kind {
		case faultMalformed:
			resp.body = []byte(`{"RequestId":"` + requestID + `","Image":<html><body>bad gateway</body></html>`)
		case faultEmpty:
			resp.body = nil
		case faultTruncated:
			s.writeTruncated(w, resp)
			return
		}
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// readParams merges query and form parameters (query wins, as the SDK never
// sends a name twice). Both are needed: the SDK puts everything in the query,
// the credential providers put some parameters in a form body.
func readParams(r *http.Request) (url.Values, *apiError) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return url.Values{}, newAPIError(400, "InvalidParameter", "The request query string is not well formed.")
	}
	if r.Body == nil {
		return params, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return params, newAPIError(400, "InvalidParameter", "The request body could not be read.")
	}
	if len(body) > maxBody {
		return params, newAPIError(400, "InvalidParameter", "The request body is too large.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "" && ct != "application/x-www-form-urlencoded" {
		return params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params, newAPIError(400, "InvalidParameter", "The request body is not well formed.")
	}
	for k, v := range form {
		if _, dup := params[k]; !dup {
			params[k] = v
		}
	}
	return params, nil
}

var (
	ecsActions = map[string]bool{"DescribeImageFromFamily": true}
	stsActions = map[string]bool{"AssumeRole": true, "AssumeRoleWithOIDC": true, "GetCallerIdentity": true}
)

// route picks the product by Version (falling back to the action name, since
// one server plays both endpoints) and checks that the API exists before
// authenticating, as the gateway does.
func (s *Server) route(method string, p url.Values, requestID string) *response {
	action, version := p.Get("Action"), p.Get("Version")
	if action == "" {
		return errMissing("Action").response(requestID)
	}
	if version == "" {
		return errMissing("Version").response(requestID)
	}
	notFound := newAPIError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	switch version {
	case ecsVersion:
		if !ecsActions[action] {
			return notFound.response(requestID)
		}
		c, aerr := s.authenticate(method, p)
		if aerr != nil {
			return aerr.response(requestID)
		}
		if s.denied(c) {
			return newAPIError(403, "InvalidUser.Unauthorized", "The user is not authorized.").response(requestID)
		}
		return s.describeImageFromFamily(p, requestID)
	case stsVersion:
		if !stsActions[action] {
			return notFound.response(requestID)
		}
		return s.serveSTS(method, action, p, requestID)
	default:
		if ecsActions[action] || stsActions[action] {
			return newAPIError(400, "InvalidVersion", "Specified parameter Version is not valid.").response(requestID)
		}
		return notFound.response(requestID)
	}
}

// denied reports whether a caller lacks ECS permission.
func (s *Server) denied(c *caller) bool {
	if c.account != nil {
		return c.account.Denied
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.findRole(c.session.roleARN)
	return r == nil || r.Denied
}

// describeImageFromFamily answers the newest Available image of the family.
// "Not found" is HTTP 200 with an empty Image object, as the real API does.
func (s *Server) describeImageFromFamily(p url.Values, requestID string) *response {
	region, family := p.Get("RegionId"), p.Get("ImageFamily")
	if region == "" {
		return errMissing("RegionId").response(requestID)
	}
	s.mu.Lock()
	s.admitPending()
	known := s.regions[region]
	imgs := append([]ecs.Image(nil), s.images[region]...)
	s.mu.Unlock()
	if !known {
		return newAPIError(404, "InvalidRegionId.NotFound", "The RegionId provided does not exist.").response(requestID)
	}
	if family == "" {
		return errMissing("ImageFamily").response(requestID)
	}
	if !validFamily(family) {
		return newAPIError(400, "InvalidImageFamily.Malformed", "The specified parameter ImageFamily is not valid.").response(requestID)
	}
	var best *ecs.Image
	var bestTime time.Time
	for i := range imgs {
		img := &imgs[i]
		if !familyMatches(family, img) || img.Status != "Available" {
			continue
		}
		t, _ := time.Parse(time.RFC3339, img.CreationTime)
		// Ties go to the larger ImageId so the answer never depends on order.
		if best == nil || t.After(bestTime) || (t.Equal(bestTime) && img.ImageId > best.ImageId) {
			best, bestTime = img, t
		}
	}
	var image any = struct{}{}
	if best != nil {
		image = normalizeImage(*best)
	}
	return jsonResponse(200, map[string]any{"RequestId": requestID, "Image": image})
}

// normalizeImage turns nil lists into empty ones: the API sends [] and never
// null.
func normalizeImage(img ecs.Image) ecs.Image {
	if img.Tags.Tag == nil {
		img.Tags.Tag = []ecs.Tag{}
	}
	if img.DiskDeviceMappings.DiskDeviceMapping == nil {
		img.DiskDeviceMappings.DiskDeviceMapping = []ecs.DiskDeviceMapping{}
	}
	if img.DetectionOptions.Items.Item == nil {
		img.DetectionOptions.Items.Item = []ecs.Item{}
	}
	return img
}

// sharedFamilyName is how a caller names a family it does not own:
// acs:<owner account id>:<family> for one shared with it (or published as a
// community image), acs:<family> for a public image family.
var sharedFamilyName = regexp.MustCompile(`^acs:(?:([0-9]{1,20}):)?([A-Za-z0-9][A-Za-z0-9._-]{1,127})$`)

// familyMatches: the caller's own families by name (images whose
// ImageOwnerAlias is self or empty); acs:<owner>:<family> matches an image
// of that owner shared with the caller (ImageOwnerAlias "others"; the
// emulator shares every such image with every caller); acs:<family>
// matches a public image (ImageOwnerAlias "system") whose family is
// acs:<family> or <family>.
func familyMatches(asked string, img *ecs.Image) bool {
	m := sharedFamilyName.FindStringSubmatch(asked)
	switch {
	case m == nil:
		return img.ImageFamily == asked && (img.ImageOwnerAlias == "" || img.ImageOwnerAlias == "self")
	case m[1] != "":
		return img.ImageOwnerAlias == "others" && strconv.FormatInt(img.ImageOwnerId, 10) == m[1] && img.ImageFamily == m[2]
	default:
		return img.ImageOwnerAlias == "system" && (img.ImageFamily == asked || img.ImageFamily == m[2])
	}
}

// validFamily applies the API document's rules: 2-128 characters of letters,
// digits, ':', '_' and '-', starting with a letter, not starting with
// http://, https://, acs: or aliyun; or the acs: form of a family the caller
// does not own.
func validFamily(f string) bool {
	if strings.HasPrefix(f, "acs:") {
		return sharedFamilyName.MatchString(f)
	}
	if len(f) < 2 || len(f) > 128 {
		return false
	}
	for _, p := range []string{"http://", "https://", "acs:", "aliyun"} {
		if strings.HasPrefix(f, p) {
			return false
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		letter := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !('0' <= c && c <= '9') && c != ':' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// sleep waits d unless the client goes away or the server closes; it reports
// whether the full time passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// abort closes the connection without an answer.
func (s *Server) abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Cannot hijack (not HTTP/1.x): make net/http drop the stream.
	panic(http.ErrAbortHandler)
}

// writeTruncated sends the status line, headers and a Content-Length for the
// whole body, then half the body, then closes: the client sees an
// unexpected EOF mid-body.
func (s *Server) writeTruncated(w http.ResponseWriter, resp *response) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	keys := make([]string, 0, len(resp.header))
	for k := range resp.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.header[k] {
			fmt.Fprintf(buf, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(buf, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(resp.body))
	_, _ = buf.Write(resp.body[:len(resp.body)/2])
	_ = buf.Flush()
}

// newRequestID returns a random upper-case UUID-shaped id, like the real
// RequestId.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ecstest: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
