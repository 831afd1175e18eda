package ecstest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults are scoped by action name; "" matches every action. Counted faults
// (Throttle, FailStatus, the body faults and DropConnection) answer the next
// n matching requests, in the order they were registered; Delay, Hang and
// Latency last until ClearFaults. Faults act before signature checks, like a
// gateway or proxy in front of the service, except the body faults, which
// mangle the answer the service would have given.

type faultKind int

const (
	faultError     faultKind = iota // an error answer (throttling, 5xx)
	faultMalformed                  // the answer with a body that is not JSON
	faultTruncated                  // the answer cut in the middle of the body
	faultEmpty                      // the answer with an empty body
	faultDrop                       // no answer: the connection is closed
)

type fault struct {
	kind      faultKind
	action    string
	remaining int
	skip      int // matching requests let through before the fault acts
	err       *apiError
}

type faultSet struct {
	mu      sync.Mutex
	queue   []*fault
	delays  map[string]time.Duration
	hangs   map[string]bool
	latency time.Duration
}

// take returns what applies to one request and consumes one use of the first
// matching counted fault.
func (fs *faultSet) take(action string) (latency, delay time.Duration, hang bool, f *fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	latency = fs.latency
	delay = fs.delays[action] + fs.delays[""]
	hang = fs.hangs[action] || fs.hangs[""]
	for i, q := range fs.queue {
		if q.action != "" && q.action != action {
			continue
		}
		if q.skip > 0 {
			q.skip--
			continue
		}
		q.remaining--
		if q.remaining <= 0 {
			fs.queue = append(fs.queue[:i:i], fs.queue[i+1:]...)
		}
		c := *q
		return latency, delay, hang, &c
	}
	return latency, delay, hang, nil
}

// skipLast lets the first n matching requests pass the latest counted
// fault added, so that it answers a later call of its action (the read
// back after a write) rather than the next.
func (fs *faultSet) skipLast(n int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.queue) > 0 {
		fs.queue[len(fs.queue)-1].skip = n
	}
}

func (fs *faultSet) add(f *fault) {
	if f.remaining <= 0 {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.queue = append(fs.queue, f)
}

// ThrottleOption changes how Throttle answers.
type ThrottleOption func(*apiError)

// TooManyRequests makes Throttle answer HTTP 429 with code "Throttling"
// (the API-level flow control) instead of HTTP 400 "Throttling.User".
func TooManyRequests() ThrottleOption {
	return func(e *apiError) {
		e.status = http.StatusTooManyRequests
		e.code = "Throttling"
		e.message = "Request was denied due to request throttling."
	}
}

// RetryAfter adds the x-acs-retry-after header (milliseconds) to the
// throttling answers.
func RetryAfter(d time.Duration) ThrottleOption {
	return func(e *apiError) {
		if e.header == nil {
			e.header = http.Header{}
		}
		e.header.Set("x-acs-retry-after", strconv.FormatInt(d.Milliseconds(), 10))
	}
}

// Throttle answers the next n requests for action with the real
// flow-control error: HTTP 400 Throttling.User by default.
func (s *Server) Throttle(action string, n int, opts ...ThrottleOption) {
	e := newAPIError(http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
	for _, o := range opts {
		o(e)
	}
	s.faults.add(&fault{kind: faultError, action: action, remaining: n, err: e})
}

// FailStatus answers the next n requests for action with an error of the
// given HTTP status and code. An empty code is derived from the status
// (500 InternalError, 503 ServiceUnavailable, ...).
func (s *Server) FailStatus(action string, n, status int, code string) {
	if code == "" {
		switch status {
		case http.StatusInternalServerError:
			code = "InternalError"
		case http.StatusServiceUnavailable:
			code = "ServiceUnavailable"
		case http.StatusBadGateway:
			code = "BadGateway"
		case http.StatusGatewayTimeout:
			code = "GatewayTimeout"
		default:
			code = "UnknownError"
		}
	}
	msg := "The request has failed due to an injected fault."
	switch code {
	case "InternalError":
		msg = "The request processing has failed due to some unknown error, exception or failure."
	case "ServiceUnavailable":
		msg = "The request has failed due to a temporary failure of the server."
	}
	s.faults.add(&fault{kind: faultError, action: action, remaining: n, err: newAPIError(status, code, msg)})
}

// MalformedBody makes the next n answers for action carry a body that is not
// JSON (status unchanged).
func (s *Server) MalformedBody(action string, n int) {
	s.faults.add(&fault{kind: faultMalformed, action: action, remaining: n})
}

// TruncatedBody makes the next n answers for action stop half-way through
// the body, then close the connection.
func (s *Server) TruncatedBody(action string, n int) {
	s.faults.add(&fault{kind: faultTruncated, action: action, remaining: n})
}

// EmptyBody makes the next n answers for action have an empty body (status
// unchanged).
func (s *Server) EmptyBody(action string, n int) {
	s.faults.add(&fault{kind: faultEmpty, action: action, remaining: n})
}

// DropConnection closes the connection of the next n requests for action
// without answering.
func (s *Server) DropConnection(action string, n int) {
	s.faults.add(&fault{kind: faultDrop, action: action, remaining: n})
}

// Delay makes every request for action wait d before being handled (d <= 0
// removes it). The wait ends early if the client goes away.
func (s *Server) Delay(action string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.delays == nil {
		s.faults.delays = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(s.faults.delays, action)
		return
	}
	s.faults.delays[action] = d
}

// Hang makes every request for action wait, unanswered, until the client
// goes away or the server is closed.
func (s *Server) Hang(action string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.hangs == nil {
		s.faults.hangs = map[string]bool{}
	}
	s.faults.hangs[action] = true
}

// Latency adds d to every request (d <= 0 removes it).
func (s *Server) Latency(d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = max(d, 0)
}

// ClearFaults removes every fault, delay, hang and the latency.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.queue = nil
	s.faults.delays = nil
	s.faults.hangs = nil
	s.faults.latency = 0
}

// FaultSpec is one fault to inject (Server.Inject, or the control API's
// faults request); see the package documentation for what each kind does and
// which fields it takes.
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

// Inject applies faults, in order, the way the control API's faults
// request does for an emulator process, so in-process tests and process
// tests can share one list of FaultSpecs (srv.Inject(specs...)).
func (s *Server) Inject(faults ...FaultSpec) {
	for _, f := range faults {
		s.inject(f, f.RetryAfter > 0)
	}
}

// inject is Inject; withRetryAfter sends x-acs-retry-after even when it is 0
// (the control API's "retry_after": "0s").
func (s *Server) inject(f FaultSpec, withRetryAfter bool) {
	n := f.N
	if n == 0 {
		n = 1
	}
	var opts []ThrottleOption
	if withRetryAfter {
		opts = append(opts, RetryAfter(f.RetryAfter))
	}
	switch f.Kind {
	case FaultThrottle:
		s.Throttle(f.Action, n, opts...)
	case FaultThrottle429:
		s.Throttle(f.Action, n, append(opts, TooManyRequests())...)
	case FaultStatus:
		s.FailStatus(f.Action, n, f.Status, f.Code)
	case FaultDelay:
		s.Delay(f.Action, f.Delay)
	case FaultHang:
		s.Hang(f.Action)
	case FaultMalformed:
		s.MalformedBody(f.Action, n)
	case FaultTruncated:
		s.TruncatedBody(f.Action, n)
	case FaultEmpty:
		s.EmptyBody(f.Action, n)
	case FaultDrop:
		s.DropConnection(f.Action, n)
	case FaultLatency:
		s.Latency(f.Delay)
	default:
		panic("ecstest: Inject: unknown fault kind " + string(f.Kind))
	}
	if f.Skip > 0 && f.Kind.counted() {
		s.faults.skipLast(f.Skip)
	}
}
