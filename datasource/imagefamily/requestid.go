package imagefamily

import (
	"net/http"
	"sync"

	core "github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// requestIDRecorder remembers the RequestId of the last
// DescribeImageFromFamily answer (the x-acs-request-id header ECS sends with
// every response), so that a guard failure can name the request that
// returned the image. core.Image does not carry it.
type requestIDRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	id   string
}

// recordRequestIDs puts a recorder in front of req's transport. A nil
// transport means what the core would use by default: a clone of
// http.DefaultTransport (proxy settings and SSL_CERT_FILE honoured).
func recordRequestIDs(req *core.Request) *requestIDRecorder {
	rec := &requestIDRecorder{base: req.Transport}
	if rec.base == nil {
		rec.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	req.Transport = rec
	return rec
}

func (r *requestIDRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil && req.URL.Query().Get("Action") == "DescribeImageFromFamily" {
		if id := resp.Header.Get("x-acs-request-id"); id != "" {
			r.mu.Lock()
			r.id = id
			r.mu.Unlock()
		}
	}
	return resp, err
}

func (r *requestIDRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}
