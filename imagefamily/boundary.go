package imagefamily

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// MaxResponseBytes caps every response body the core reads, success or
// error, from ECS, STS, the instance metadata service and (through
// GuardTransport) the GitHub ID-token service. A DescribeImageFromFamily
// answer is 2 to 6 KiB (the API reference's sample is 1.9 KiB; 20 tags and
// 16 disk mappings add about 4 KiB); STS and metadata answers are under 2
// KiB. 1 MiB leaves a wide margin for real answers and keeps memory flat
// whatever a misbehaving endpoint sends. ECS requests ask for no compression
// (the SDK sends Accept-Encoding: identity), so a gzip body is capped as the
// bytes sent; where net/http decodes gzip itself, the cap applies after
// decoding. A compression bomb stays bounded either way.
const MaxResponseBytes = 1 << 20

// MaxErrorResponseBytes caps the body of an answer that is not a 2xx: an
// API error is a few hundred bytes (RequestId, HostId, Code, Message,
// Recommend), and the SDK decodes each into generic JSON values, which cost
// many times their size; 64 KiB keeps that small.
const MaxErrorResponseBytes = 64 << 10

// maxResponseHeaderBytes bounds the response headers of the default
// transport (net/http's own default is 10 MiB).
const maxResponseHeaderBytes = 64 << 10

// AnswerError says why an answer was refused at the trust boundary: a
// redirect, a body over MaxResponseBytes, or an answer that does not agree
// with the request or the API reference. Nothing from a refused answer is
// printed or written, except a short escaped excerpt in this error. Its
// class is ErrAPI (like any unusable answer); errors.As tells it apart.
// Every string in it is already escaped for a terminal and bounded.
type AnswerError struct {
	Op        string // such as `ECS DescribeImageFromFamily for family "web" in region cn-hangzhou`
	Endpoint  string // scheme://host that answered
	Field     string // the offending part: "redirect", "body", "ImageId", "Status", ...
	Value     string // the offending value, escaped and truncated ("" when there is none)
	Rule      string // what the answer should have been
	RequestID string // the answer's RequestId, when it had a well-formed one
}

func (e *AnswerError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Endpoint != "" {
		b.WriteString(": refused the answer from " + e.Endpoint)
	} else {
		b.WriteString(": refused the answer")
	}
	b.WriteString(": " + e.Field)
	if e.Value != "" {
		b.WriteString(" " + e.Value)
	}
	b.WriteString(": " + e.Rule)
	if e.RequestID != "" {
		b.WriteString(" [RequestId " + e.RequestID + "]")
	}
	b.WriteString(". " + e.advice() + " (see " + docsURL + "security.md)")
	return b.String()
}

// advice names the setting that points at the endpoint that answered.
func (e *AnswerError) advice() string {
	const what = "The endpoint may be a proxy, a captive portal or a mirror that is not "
	switch {
	case strings.HasPrefix(e.Op, "ECS DescribeImageFromFamily"):
		return what + "Alibaba Cloud ECS; check --endpoint/custom_endpoint_ecs/endpoint, ALIBABA_CLOUD_ECS_ENDPOINT and proxy settings"
	case strings.HasPrefix(e.Op, "STS"):
		return what + "Alibaba Cloud STS; check the STS endpoint (--sts-endpoint, sts_endpoint, a profile's sts_endpoint or sts_region, ALIBABA_CLOUD_STS_ENDPOINT) and proxy settings"
	case strings.HasPrefix(e.Op, "ECS metadata"):
		return what + "the ECS metadata service; check --metadata-endpoint/ALIBABA_CLOUD_ECS_METADATA_ENDPOINT"
	}
	return "Check the endpoint's address and proxy settings (HTTPS_PROXY/NO_PROXY)"
}

func (e *AnswerError) Is(target error) bool { return target == ErrAPI }

// boundary enforces the transport half of the trust boundary for one call:
// no redirects, bounded headers and bodies. The first violation of an
// attempt is kept so that invoke reports it as it is, whatever the SDK made
// of the read error it caused.
type boundary struct {
	mu        sync.Mutex
	violation *AnswerError
}

func (b *boundary) record(e *AnswerError) *AnswerError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.violation == nil {
		b.violation = e
	}
	return b.violation
}

// take returns and clears the attempt's violation.
func (b *boundary) take() *AnswerError {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.violation
	b.violation = nil
	return v
}

// check inspects a response before anyone reads it. A non-nil error means the
// response was closed and must not be used.
func (b *boundary) check(req *http.Request, resp *http.Response) (*http.Response, error) {
	origin := req.URL.Scheme + "://" + req.URL.Host
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// The SDK's http.Client would follow it, re-sending the signed query
		// (AccessKeyId, Signature, SecurityToken) to wherever Location points,
		// over plain HTTP if it says so. Returning an error from the
		// transport stops the client before it follows anything.
		resp.Body.Close()
		return nil, b.record(&AnswerError{
			Endpoint: origin, Field: "redirect",
			Value: fmt.Sprintf("HTTP %d to %s", resp.StatusCode, redirectTarget(req.URL, resp.Header.Get("Location"))),
			Rule:  "redirects are never followed: a signed request must not be sent anywhere but the endpoint it was signed for",
		})
	}
	// An error answer is a few hundred bytes, and the SDK parses every one
	// into generic JSON values before we see it: it gets a smaller cap.
	limit, rule := int64(MaxResponseBytes), fmt.Sprintf("answers are read up to %s (MaxResponseBytes); a real answer is a few KiB", capText(MaxResponseBytes))
	if resp.StatusCode/100 != 2 {
		limit, rule = MaxErrorResponseBytes, fmt.Sprintf("error answers are read up to %s (MaxErrorResponseBytes); a real one is under 1 KiB", capText(MaxErrorResponseBytes))
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, b.record(&AnswerError{
			Endpoint: origin, Field: "body", Value: fmt.Sprintf("of %d bytes (Content-Length)", resp.ContentLength), Rule: rule,
		})
	}
	resp.Body = &cappedBody{rc: resp.Body, left: limit, depth: depthGuard{max: MaxJSONDepth},
		onExceed: func() error {
			return b.record(&AnswerError{
				Endpoint: origin, Field: "body", Value: "longer than " + capText(limit), Rule: rule,
			})
		},
		onDeep: func() error {
			return b.record(&AnswerError{Endpoint: origin, Field: "body", Rule: deepRule})
		}}
	return resp, nil
}

func capText(n int64) string { return fmt.Sprintf("%d KiB", n>>10) }

// redirectTarget names where a redirect pointed: scheme and host only (a
// Location may echo the signed query), escaped.
func redirectTarget(base *url.URL, location string) string {
	if location == "" {
		return "(no Location header)"
	}
	u, err := base.Parse(location)
	if err != nil || u.Host == "" {
		return "(unparsable Location " + safetext.Quote(location, 60) + ")"
	}
	return safetext.Excerpt(u.Scheme+"://"+u.Host, 120)
}

// cappedBody reads at most left bytes; one more is an error, and the rest is
// never read (the connection is closed, not drained). A JSON body nested
// deeper than MaxJSONDepth is an error as soon as the depth is reached, so
// that no parser (the SDK's included) builds on it.
type cappedBody struct {
	rc       io.ReadCloser
	left     int64
	depth    depthGuard
	onExceed func() error
	onDeep   func() error
	err      error
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	if int64(n) > c.left {
		c.err = c.onExceed()
		return int(c.left), c.err
	}
	c.left -= int64(n)
	if !c.depth.feed(p[:n]) {
		c.err = c.onDeep()
		return 0, c.err
	}
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// GuardTransport wraps base (nil: a clone of http.DefaultTransport) with the
// core's trust boundary for HTTP exchanges the core does not make itself,
// such as the GitHub Action's ID-token request: a 3xx answer becomes an
// *AnswerError instead of being followed, and bodies are cut at
// MaxResponseBytes with an *AnswerError. Use it with an http.Client whose
// CheckRedirect is NoRedirects, so a redirect is refused even if a
// RoundTripper above it changes.
func GuardTransport(base http.RoundTripper, service string) http.RoundTripper {
	if base == nil {
		base = defaultTransport()
	}
	return &guardTransport{base: base, service: service}
}

// NoRedirects is an http.Client CheckRedirect that refuses every redirect.
func NoRedirects(req *http.Request, via []*http.Request) error {
	return &AnswerError{Op: req.Method + " " + req.URL.Scheme + "://" + req.URL.Host, Field: "redirect",
		Value: "to " + safetext.Excerpt(req.URL.Scheme+"://"+req.URL.Host, 120),
		Rule:  "redirects are never followed"}
}

type guardTransport struct {
	base    http.RoundTripper
	service string
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b := &boundary{}
	resp, err = b.check(req, resp)
	if err != nil {
		ae := err.(*AnswerError)
		ae.Op = g.service
		return nil, ae
	}
	if cb, ok := resp.Body.(*cappedBody); ok {
		exceed, deep := cb.onExceed, cb.onDeep
		cb.onExceed = func() error {
			e := exceed().(*AnswerError)
			e.Op = g.service
			return e
		}
		cb.onDeep = func() error {
			e := deep().(*AnswerError)
			e.Op = g.service
			return e
		}
	}
	return resp, nil
}
