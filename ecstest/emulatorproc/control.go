package ecstest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// Control is a client of an emulator's control API, for tests that run the
// emulator as a separate process. Methods are safe for concurrent use.
type Control struct {
	// BaseURL is the emulator's URL (ReadyInfo.URL or Server.URL), without
	// the control prefix.
	BaseURL string
	// Client makes the calls. nil means a client without proxy and with a
	// 10s timeout, which only works for plain HTTP: for TLS use NewControl or
	// Server.Control, which trust the emulator's certificate.
	Client *http.Client
}

// FaultSpec is one fault to inject through Control.Fault; see the package
// documentation for what each kind does and which fields it takes.
type FaultSpec struct {
	Kind FaultKind
	// Action scopes the fault; "" means every action.
	Action string
	// N is how many requests a counted fault answers; 0 means 1.
	N int
	// Skip lets that many matching requests through before a counted
	// fault answers (the family's read back after a rollback's first
	// lookup, say).
	Skip int
	// Status and Code are for FaultStatus (Code "" is derived from Status).
	Status int
	Code   string
	// Delay is the duration of FaultDelay and FaultLatency (0 removes it).
	Delay time.Duration
	// RetryAfter adds x-acs-retry-after to FaultThrottle and FaultThrottle429.
	RetryAfter time.Duration
}

// ControlError is a control API answer other than 200.
type ControlError struct {
	Endpoint   string // e.g. "/_emulator/image-status"
	StatusCode int
	Message    string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("ecstest control %s: HTTP %d: %s", e.Endpoint, e.StatusCode, e.Message)
}

// NewControl returns a client for the emulator at baseURL (ReadyInfo.URL),
// trusting the PEM certificate in certFile (ReadyInfo.CertFile), which an
// https URL needs.
func NewControl(baseURL, certFile string) (*Control, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("ecstest: NewControl: %q is not an http(s) URL", baseURL)
	}
	var tlsConf *tls.Config
	if certFile != "" {
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			return nil, fmt.Errorf("ecstest: NewControl: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("ecstest: NewControl: no PEM certificate in %s", certFile)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	} else if strings.HasPrefix(baseURL, "https://") {
		return nil, errors.New("ecstest: NewControl: an https emulator needs its certificate file (ReadyInfo.CertFile)")
	}
	return &Control{BaseURL: baseURL, Client: controlHTTPClient(tlsConf)}, nil
}

// Control returns a control client for this server (which must have been
// started with Options.Control to answer it).
func (s *Server) Control() *Control {
	t := s.Transport()
	return &Control{BaseURL: s.URL, Client: &http.Client{Transport: t, Timeout: 10 * time.Second}}
}

// controlHTTPClient never uses a proxy: the emulator is on loopback, and an
// HTTP(S)_PROXY without a NO_PROXY for it would send control calls away.
func controlHTTPClient(tlsConf *tls.Config) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:           nil,
			DialContext:     (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSClientConfig: tlsConf,
			IdleConnTimeout: 30 * time.Second,
		},
	}
}

// defaultControlClient is shared so that Controls without a Client reuse
// connections instead of leaking a transport per call.
var defaultControlClient = controlHTTPClient(nil)

// WaitReady waits until Main has written the ready file at path and returns
// its contents. Main writes it atomically, after the certificate, so the
// answer is complete and cert_file usable.
func WaitReady(ctx context.Context, path string) (ReadyInfo, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var info ReadyInfo
			if err := json.Unmarshal(b, &info); err != nil {
				return ReadyInfo{}, fmt.Errorf("ecstest: ready file %s: %w", path, err)
			}
			return info, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return ReadyInfo{}, fmt.Errorf("ecstest: ready file: %w", err)
		}
		select {
		case <-ctx.Done():
			return ReadyInfo{}, fmt.Errorf("ecstest: waiting for ready file %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// Requests returns the API request counts.
func (c *Control) Requests() (RequestCounts, error) {
	var rc RequestCounts
	err := c.call(http.MethodGet, "requests", nil, &rc)
	return rc, err
}

// ResetCounts forgets the request counts.
func (c *Control) ResetCounts() error { return c.call(http.MethodPost, "reset-counts", nil, nil) }

// ClearFaults removes every fault, delay, hang and the latency.
func (c *Control) ClearFaults() error { return c.call(http.MethodPost, "clear-faults", nil, nil) }

// ExpireSessions makes every STS credential issued so far expired.
func (c *Control) ExpireSessions() error {
	return c.call(http.MethodPost, "expire-sessions", nil, nil)
}

// Fault injects one fault.
func (c *Control) Fault(f FaultSpec) error {
	fr := faultRequest{Kind: f.Kind, Action: f.Action, Status: f.Status, Code: f.Code, Skip: f.Skip}
	if f.N != 0 {
		n := f.N
		fr.N = &n
	}
	// Delay and latency always carry their duration, so that 0 removes them.
	if f.Kind == FaultDelay || f.Kind == FaultLatency || f.Delay != 0 {
		d := f.Delay.String()
		fr.Delay = &d
	}
	if f.RetryAfter != 0 {
		fr.RetryAfter = f.RetryAfter.String()
	}
	return c.call(http.MethodPost, "faults", fr, nil)
}

// AddImage adds an image to a region; an image with the same ImageId in
// that region is a 409 ControlError.
func (c *Control) AddImage(region string, img ecs.Image) error {
	return c.call(http.MethodPost, "images", imageRequest{Region: region, Image: &img}, nil)
}

// AddImageAfter is Server.AddImageAfter over the control API.
func (c *Control) AddImageAfter(region string, img ecs.Image, calls int) error {
	return c.call(http.MethodPost, "images", imageRequest{Region: region, Image: &img, AfterCalls: calls}, nil)
}

// SetImageStatus changes an image's Status; an unknown image is a 404
// ControlError.
func (c *Control) SetImageStatus(region, imageID, status string) error {
	return c.call(http.MethodPost, "image-status", imageStatusRequest{Region: region, ImageID: imageID, Status: status}, nil)
}

func (c *Control) call(method, name string, in, out any) error {
	endpoint := ControlPrefix + name
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("ecstest control %s: %w", endpoint, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.BaseURL, "/")+endpoint, body)
	if err != nil {
		return fmt.Errorf("ecstest control %s: %w", endpoint, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.Client
	if hc == nil {
		hc = defaultControlClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("ecstest control %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("ecstest control %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &ControlError{Endpoint: endpoint, StatusCode: resp.StatusCode, Message: msg}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("ecstest control %s: answer %q: %w", endpoint, b, err)
		}
	}
	return nil
}
