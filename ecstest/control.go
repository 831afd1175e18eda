package ecstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// The control API lets a test drive an emulator that runs in another process
// (see Main) the way in-process tests call Server methods. It lives under
// ControlPrefix on the API listener: real RPC calls always use the path "/"
// with query or form parameters, so the two never clash.

// ControlPrefix is the path prefix of the control API.
const ControlPrefix = "/_emulator/"

// FaultKind names a fault for the control API; each maps onto one Server
// fault method.
type FaultKind string

const (
	FaultThrottle    FaultKind = "throttle"    // Throttle: HTTP 400 Throttling.User
	FaultThrottle429 FaultKind = "throttle429" // Throttle with TooManyRequests: HTTP 429 Throttling
	FaultStatus      FaultKind = "status"      // FailStatus(status, code)
	FaultDelay       FaultKind = "delay"       // Delay (lasts until cleared; "0s" removes it)
	FaultHang        FaultKind = "hang"        // Hang (lasts until cleared)
	FaultMalformed   FaultKind = "malformed"   // MalformedBody
	FaultTruncated   FaultKind = "truncated"   // TruncatedBody
	FaultEmpty       FaultKind = "empty"       // EmptyBody
	FaultDrop        FaultKind = "drop"        // DropConnection
	FaultLatency     FaultKind = "latency"     // Latency, for every action ("0s" removes it)
)

var faultKinds = []FaultKind{FaultThrottle, FaultThrottle429, FaultStatus, FaultDelay, FaultHang,
	FaultMalformed, FaultTruncated, FaultEmpty, FaultDrop, FaultLatency}

// counted reports whether the kind answers the next n requests (as opposed
// to lasting until ClearFaults).
func (k FaultKind) counted() bool {
	switch k {
	case FaultDelay, FaultHang, FaultLatency:
		return false
	}
	return true
}

// faultRequest is the body of POST /_emulator/faults. Durations are Go
// duration strings ("2s", "1500ms") so that a shell script can write them.
type faultRequest struct {
	Kind       FaultKind `json:"kind"`
	Action     string    `json:"action,omitempty"`
	N          *int      `json:"n,omitempty"` // absent means 1
	Skip       int       `json:"skip,omitempty"`
	Status     int       `json:"status,omitempty"`
	Code       string    `json:"code,omitempty"`
	Delay      *string   `json:"delay,omitempty"`
	RetryAfter string    `json:"retry_after,omitempty"`
}

type imageRequest struct {
	Region string     `json:"region"`
	Image  *ecs.Image `json:"image"`
	// AfterCalls, when positive, publishes the image only after that many
	// more DescribeImageFromFamily answers (AddImageAfter).
	AfterCalls int `json:"after_calls,omitempty"`
}

type imageStatusRequest struct {
	Region  string `json:"region"`
	ImageID string `json:"image_id"`
	Status  string `json:"status"`
}

// RequestCounts is the answer of GET /_emulator/requests: how many API
// requests arrived (rejected ones included, control requests never), in all
// and by Action, and the log of writes (ModifyImageAttribute requests).
type RequestCounts struct {
	All      int            `json:"all"`
	ByAction map[string]int `json:"by_action"`
	Writes   []ImageWrite   `json:"writes"`
}

// controlStatus is an error answer of the control API: {"error": message}.
type controlStatus struct {
	status int
	msg    string
}

func controlErr(status int, format string, a ...any) *controlStatus {
	return &controlStatus{status: status, msg: fmt.Sprintf(format, a...)}
}

// controlOK is the answer of a successful change.
var controlOK = map[string]bool{"ok": true}

// isControlPath reports whether a request is for the control API rather than
// the emulated cloud.
func isControlPath(p string) bool {
	return p == strings.TrimSuffix(ControlPrefix, "/") || strings.HasPrefix(p, ControlPrefix)
}

// serveControl answers a control request. It runs before recording and
// faults, so control calls are never counted and a Hang on every action
// cannot lock the test out of clearing it.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	body, cerr := s.control(r)
	status := http.StatusOK
	if cerr != nil {
		status, body = cerr.status, map[string]string{"error": cerr.msg}
		if cerr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", allowedMethod(r.URL.Path))
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"ecstest: cannot encode the answer"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// controlEndpoints maps the name after ControlPrefix to its method.
var controlEndpoints = map[string]string{
	"requests":        http.MethodGet,
	"reset-counts":    http.MethodPost,
	"faults":          http.MethodPost,
	"clear-faults":    http.MethodPost,
	"images":          http.MethodPost,
	"image-status":    http.MethodPost,
	"expire-sessions": http.MethodPost,
}

func allowedMethod(path string) string {
	return controlEndpoints[strings.TrimPrefix(path, ControlPrefix)]
}

func (s *Server) control(r *http.Request) (any, *controlStatus) {
	if !s.controlOn {
		return nil, controlErr(http.StatusNotFound,
			"ecstest: the control API is disabled on this server (enable it with Options{Control: true}; the emulator process enables it unless --control=false)")
	}
	// The listener is loopback-only already; checking the peer as well keeps
	// the control API local even if that ever changes.
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, controlErr(http.StatusForbidden, "ecstest: the control API answers loopback clients only")
	}
	// Browsers send Origin on cross-site requests; a web page must not be
	// able to inject faults or images into a running test.
	if r.Header.Get("Origin") != "" {
		return nil, controlErr(http.StatusForbidden, "ecstest: the control API refuses browser (Origin) requests")
	}
	name := strings.TrimPrefix(r.URL.Path, ControlPrefix)
	method, known := controlEndpoints[name]
	if !known {
		names := make([]string, 0, len(controlEndpoints))
		for n := range controlEndpoints {
			names = append(names, ControlPrefix+n)
		}
		sort.Strings(names)
		return nil, controlErr(http.StatusNotFound, "ecstest: unknown control endpoint %q; known: %s", r.URL.Path, strings.Join(names, ", "))
	}
	if r.Method != method {
		return nil, controlErr(http.StatusMethodNotAllowed, "ecstest: %s wants %s, not %s", r.URL.Path, method, r.Method)
	}

	if out, err, handled := s.lifecycleControl(name, r); handled {
		return out, err
	}
	switch name {
	case "requests":
		return s.requestCounts(), nil
	case "reset-counts":
		if err := decodeControl(r, &struct{}{}, true); err != nil {
			return nil, err
		}
		s.ResetCounts()
	case "clear-faults":
		if err := decodeControl(r, &struct{}{}, true); err != nil {
			return nil, err
		}
		s.ClearFaults()
	case "expire-sessions":
		if err := decodeControl(r, &struct{}{}, true); err != nil {
			return nil, err
		}
		s.ExpireSessions()
	case "faults":
		var fr faultRequest
		if err := decodeControl(r, &fr, false); err != nil {
			return nil, err
		}
		if err := s.applyFault(fr); err != nil {
			return nil, err
		}
	case "images":
		var ir imageRequest
		if err := decodeControl(r, &ir, false); err != nil {
			return nil, err
		}
		switch {
		case ir.Region == "":
			return nil, controlErr(http.StatusBadRequest, "ecstest: images: \"region\" is required")
		case ir.Image == nil:
			return nil, controlErr(http.StatusBadRequest, "ecstest: images: \"image\" (an API Image object) is required")
		case ir.Image.ImageId == "":
			return nil, controlErr(http.StatusBadRequest, "ecstest: images: image.ImageId is required")
		}
		if ir.AfterCalls < 0 {
			return nil, controlErr(http.StatusBadRequest, "ecstest: images: \"after_calls\" must not be negative")
		}
		if ir.AfterCalls > 0 {
			s.AddImageAfter(ir.Region, *ir.Image, ir.AfterCalls)
			break
		}
		if !s.addImageOnce(ir.Region, *ir.Image) {
			// A second copy would make image-status ambiguous.
			return nil, controlErr(http.StatusConflict, "ecstest: images: region %s already has image %s (change it with %simage-status)",
				ir.Region, ir.Image.ImageId, ControlPrefix)
		}
	case "image-status":
		var sr imageStatusRequest
		if err := decodeControl(r, &sr, false); err != nil {
			return nil, err
		}
		if sr.Region == "" || sr.ImageID == "" || sr.Status == "" {
			return nil, controlErr(http.StatusBadRequest, "ecstest: image-status: \"region\", \"image_id\" and \"status\" are required")
		}
		if !s.SetImageStatus(sr.Region, sr.ImageID, sr.Status) {
			return nil, controlErr(http.StatusNotFound, "ecstest: image-status: no image %s in region %s", sr.ImageID, sr.Region)
		}
	}
	return controlOK, nil
}

// decodeControl reads one JSON object, refusing unknown fields (a typo must
// not silently inject a different fault) and trailing data. allowEmpty lets
// body-less POSTs through.
func decodeControl(r *http.Request, v any, allowEmpty bool) *controlStatus {
	name := strings.TrimPrefix(r.URL.Path, ControlPrefix)
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return controlErr(http.StatusBadRequest, "ecstest: %s: cannot read the body: %v", name, err)
	}
	if len(b) > maxBody {
		return controlErr(http.StatusRequestEntityTooLarge, "ecstest: %s: body larger than %d bytes", name, maxBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if allowEmpty {
			return nil
		}
		return controlErr(http.StatusBadRequest, "ecstest: %s: a JSON object body is required", name)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return controlErr(http.StatusBadRequest, "ecstest: %s: bad JSON: %v", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return controlErr(http.StatusBadRequest, "ecstest: %s: bad JSON: data after the object", name)
	}
	return nil
}

// applyFault validates a fault request and calls the matching Server method.
// Fields that do not apply to the kind are refused rather than ignored, so a
// mistaken request fails instead of injecting something else.
func (s *Server) applyFault(fr faultRequest) *controlStatus {
	bad := func(format string, a ...any) *controlStatus {
		return controlErr(http.StatusBadRequest, "ecstest: faults: "+format, a...)
	}
	known := false
	for _, k := range faultKinds {
		known = known || k == fr.Kind
	}
	if !known {
		names := make([]string, len(faultKinds))
		for i, k := range faultKinds {
			names[i] = string(k)
		}
		return bad("unknown kind %q; known kinds: %s", fr.Kind, strings.Join(names, ", "))
	}

	n := 1
	if fr.N != nil {
		if !fr.Kind.counted() {
			return bad("kind %q lasts until clear-faults and takes no \"n\"", fr.Kind)
		}
		if *fr.N < 1 {
			return bad("\"n\" must be at least 1, got %d", *fr.N)
		}
		n = *fr.N
	}
	if fr.Skip != 0 && (!fr.Kind.counted() || fr.Skip < 0) {
		return bad("\"skip\" must be positive and applies to counted kinds only")
	}
	if fr.Kind != FaultStatus && (fr.Status != 0 || fr.Code != "") {
		return bad("\"status\" and \"code\" apply to kind \"status\" only")
	}
	var retryAfter time.Duration
	if fr.RetryAfter != "" {
		if fr.Kind != FaultThrottle && fr.Kind != FaultThrottle429 {
			return bad("\"retry_after\" applies to kinds \"throttle\" and \"throttle429\" only")
		}
		d, err := time.ParseDuration(fr.RetryAfter)
		if err != nil || d < 0 {
			return bad("\"retry_after\" %q is not a non-negative Go duration such as \"1500ms\"", fr.RetryAfter)
		}
		retryAfter = d
	}
	var delay time.Duration
	switch {
	case fr.Kind == FaultDelay || fr.Kind == FaultLatency:
		if fr.Delay == nil {
			return bad("kind %q needs \"delay\" (a Go duration such as \"2s\"; \"0s\" removes it)", fr.Kind)
		}
		d, err := time.ParseDuration(*fr.Delay)
		if err != nil || d < 0 {
			return bad("\"delay\" %q is not a non-negative Go duration such as \"2s\"", *fr.Delay)
		}
		delay = d
	case fr.Delay != nil:
		return bad("\"delay\" applies to kinds \"delay\" and \"latency\" only")
	}

	if fr.Kind == FaultStatus && (fr.Status < 400 || fr.Status > 599) {
		return bad("kind \"status\" needs \"status\" between 400 and 599, got %d", fr.Status)
	}
	if fr.Kind == FaultLatency && fr.Action != "" {
		return bad("kind \"latency\" applies to every action; use kind \"delay\" for one action")
	}
	s.inject(FaultSpec{Kind: fr.Kind, Action: fr.Action, N: n, Skip: fr.Skip, Status: fr.Status, Code: fr.Code, Delay: delay, RetryAfter: retryAfter}, fr.RetryAfter != "")
	return nil
}

// requestCounts snapshots the API request counters.
func (s *Server) requestCounts() RequestCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	rc := RequestCounts{All: s.counts[allKey], ByAction: map[string]int{}, Writes: append([]ImageWrite{}, s.writes...)}
	for k, v := range s.counts {
		if k != allKey {
			rc.ByAction[k] = v
		}
	}
	return rc
}

// addImageOnce adds an image unless the region already has one with that
// ImageId; it reports whether it added it.
func (s *Server) addImageOnce(region string, img ecs.Image) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.images[region] {
		if have.ImageId == img.ImageId {
			return false
		}
	}
	s.regions[region] = true
	s.images[region] = append(s.images[region], img)
	return true
}
