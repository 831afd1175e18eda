package imagefamily

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// callTransport sits between the SDK and the real transport. The SDK has no
// context support, so this is where the caller's context reaches the wire:
// every request is bound to the context of the attempt in flight, which makes
// cancellation and deadlines real instead of abandoned goroutines. It also
// records x-acs-retry-after and writes the redacted debug trace.
type callTransport struct {
	base  http.RoundTripper
	debug io.Writer
	scrub *scrubber
	ua    string

	// bound is the transport half of the trust boundary: no redirects,
	// bounded bodies. Every exchange the core makes passes through here.
	bound boundary

	mu         sync.Mutex
	ctx        context.Context
	retryAfter time.Duration
	lastOrigin string
}

// origin is the scheme://host of the last request sent, for naming the
// endpoint whose answer was refused.
func (t *callTransport) origin() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastOrigin
}

func (t *callTransport) bind(ctx context.Context) {
	t.mu.Lock()
	t.ctx, t.retryAfter = ctx, 0
	t.mu.Unlock()
	t.bound.take()
}

func (t *callTransport) lastRetryAfter() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.retryAfter
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	parent := t.ctx
	t.mu.Unlock()
	if parent == nil {
		parent = context.Background()
	}
	// Keep the http.Client's own timeout (req.Context) and add ours.
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(parent, cancel)
	release := func() { stop(); cancel() }

	req = req.Clone(ctx)
	if t.ua != "" {
		req.Header.Set("User-Agent", t.ua)
	}
	t.mu.Lock()
	t.lastOrigin = req.URL.Scheme + "://" + req.URL.Host
	t.mu.Unlock()
	start := time.Now()
	t.trace("> %s %s", req.Method, redactURL(req.URL))
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		release()
		t.trace("< error after %s: %s", time.Since(start).Round(time.Millisecond), t.scrub.clean(err.Error()))
		return nil, err
	}
	t.trace("< %s (%s)", safetext.Excerpt(resp.Status, 80), time.Since(start).Round(time.Millisecond))
	resp, err = t.bound.check(req, resp)
	if err != nil {
		release()
		t.trace("< refused: %s", err.(*AnswerError).Value)
		return nil, err
	}
	if ra := resp.Header.Get("x-acs-retry-after"); ra != "" {
		if ms, perr := strconv.ParseInt(strings.TrimSpace(ra), 10, 64); perr == nil && ms > 0 {
			t.mu.Lock()
			t.retryAfter = time.Duration(ms) * time.Millisecond
			t.mu.Unlock()
		}
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// maxTraceLine bounds a line of the debug trace; a line holds a URL, a
// status or an error, each already bounded, so only a runaway one is cut.
const maxTraceLine = 16 << 10

func (t *callTransport) trace(format string, args ...any) {
	if t.debug == nil {
		return
	}
	// Everything in a trace line can come from outside (a peer's
	// certificate names in a TLS error, an access key id issued by STS):
	// one bounded line per write, as the core quotes any server text.
	fmt.Fprint(t.debug, "[alicloud-image-family] "+safetext.Excerpt(fmt.Sprintf(format, args...), maxTraceLine)+"\n")
}

// releasingBody frees the attempt's context once the SDK has read the body.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// secretParams never appear in a trace, whatever the value.
var secretParams = map[string]bool{
	"signature": true, "securitytoken": true, "accesskeysecret": true, "oidctoken": true,
}

// redactURL prints a request URL readably (decoded parameters in sorted
// order, so traces diff well) with secret parameters replaced and the access
// key id shortened to a recognisable prefix.
func redactURL(u *url.URL) string {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u.Scheme + "://" + u.Host + u.Path)
	for _, k := range keys {
		v := q.Get(k)
		lk := strings.ToLower(k)
		switch {
		case secretParams[lk]:
			v = redacted
		case lk == "accesskeyid":
			v = maskID(v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	return b.String()
}

// maskID keeps enough of an access key id to tell keys apart in a log.
func maskID(id string) string {
	if len(id) <= 8 {
		return "****"
	}
	return id[:6] + "****"
}
