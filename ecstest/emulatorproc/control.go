package emulatorproc

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

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// Control is a client of an emulator's control API, for tests that run the
// emulator as a separate process. Methods are safe for concurrent use.
type Control struct {
	// BaseURL is the emulator's URL (ReadyInfo.URL or ecstest.Server.URL), without
	// the control prefix.
	BaseURL string
	// Client makes the calls. nil means a client without proxy and with a
	// 10s timeout, which only works for plain HTTP: for TLS use NewControl,
	// or ecstest.Server.Client in process, which trust the emulator's
	// certificate.
	Client *http.Client
}

// ControlError is a control API answer other than 200.
type ControlError struct {
	Endpoint   string // e.g. "/_emulator/image-status"
	StatusCode int
	Message    string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("emulatorproc: control %s: HTTP %d: %s", e.Endpoint, e.StatusCode, e.Message)
}

// NewControl returns a client for the emulator at baseURL (ReadyInfo.URL),
// trusting the PEM certificate in certFile (ReadyInfo.CertFile), which an
// https URL needs.
func NewControl(baseURL, certFile string) (*Control, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("emulatorproc: NewControl: %q is not an http(s) URL", baseURL)
	}
	var tlsConf *tls.Config
	if certFile != "" {
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			return nil, fmt.Errorf("emulatorproc: NewControl: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("emulatorproc: NewControl: no PEM certificate in %s", certFile)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	} else if strings.HasPrefix(baseURL, "https://") {
		return nil, errors.New("emulatorproc: NewControl: an https emulator needs its certificate file (ReadyInfo.CertFile)")
	}
	return &Control{BaseURL: baseURL, Client: controlHTTPClient(tlsConf)}, nil
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
				return ReadyInfo{}, fmt.Errorf("emulatorproc: ready file %s: %w", path, err)
			}
			return info, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return ReadyInfo{}, fmt.Errorf("emulatorproc: ready file: %w", err)
		}
		select {
		case <-ctx.Done():
			return ReadyInfo{}, fmt.Errorf("emulatorproc: waiting for ready file %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// Requests returns the API request counts.
func (c *Control) Requests() (ecstest.RequestCounts, error) {
	var rc ecstest.RequestCounts
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
func (c *Control) Fault(f ecstest.FaultSpec) error {
	fr := map[string]any{"kind": f.Kind}
	for k, v := range map[string]any{"action": f.Action, "status": f.Status, "code": f.Code, "skip": f.Skip, "n": f.N} {
		if v != "" && v != 0 {
			fr[k] = v
		}
	}
	// Delay and latency always carry their duration, so that 0 removes them.
	if f.Kind == ecstest.FaultDelay || f.Kind == ecstest.FaultLatency || f.Delay != 0 {
		fr["delay"] = f.Delay.String()
	}
	if f.RetryAfter != 0 {
		fr["retry_after"] = f.RetryAfter.String()
	}
	return c.call(http.MethodPost, "faults", fr, nil)
}

// AddImage adds an image to a region; an image with the same ImageId in
// that region is a 409 ControlError.
func (c *Control) AddImage(region string, img ecs.Image) error {
	return c.call(http.MethodPost, "images", map[string]any{"region": region, "image": img}, nil)
}

// AddImageAfter is ecstest.Server.AddImageAfter over the control API.
func (c *Control) AddImageAfter(region string, img ecs.Image, calls int) error {
	return c.call(http.MethodPost, "images", map[string]any{"region": region, "image": img, "after_calls": calls}, nil)
}

// SetImageStatus changes an image's Status; an unknown image is a 404
// ControlError.
func (c *Control) SetImageStatus(region, imageID, status string) error {
	return c.call(http.MethodPost, "image-status", map[string]any{"region": region, "image_id": imageID, "status": status}, nil)
}

func (c *Control) call(method, name string, in, out any) error {
	endpoint := ecstest.ControlPrefix + name
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("emulatorproc: control %s: %w", endpoint, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.BaseURL, "/")+endpoint, body)
	if err != nil {
		return fmt.Errorf("emulatorproc: control %s: %w", endpoint, err)
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
		return fmt.Errorf("emulatorproc: control %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("emulatorproc: control %s: %w", endpoint, err)
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
			return fmt.Errorf("emulatorproc: control %s: answer %q: %w", endpoint, b, err)
		}
	}
	return nil
}

// maxAnswer bounds what a control answer is read to: the state of every
// image a test fixture holds fits.
const maxAnswer = 1 << 20

// CopyImage is ecstest.Server.CopyImage over the control API: it returns
// the copy's ImageId.
func (c *Control) CopyImage(region, imageID, destinationRegion string) (string, error) {
	var out ecstest.CopyResult
	err := c.call(http.MethodPost, "copy-image", map[string]string{"region": region, "image_id": imageID, "destination_region": destinationRegion}, &out)
	return out.ImageID, err
}

// State returns every image the emulator holds now, by region.
func (c *Control) State() (ecstest.State, error) {
	var out ecstest.State
	err := c.call(http.MethodGet, "state", nil, &out)
	return out, err
}

// SetCopyPolls is ecstest.Server.SetCopyPolls over the control API.
func (c *Control) SetCopyPolls(n int) error {
	return c.call(http.MethodPost, "copy-polls", map[string]int{"n": n}, nil)
}
