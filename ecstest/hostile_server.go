package ecstest

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// A hostile endpoint is an ECS listener whose answers a test writes itself
// (a corporate TLS proxy, a captive portal, a compromised mirror, a huge
// error page), next to a second listener that counts what reaches it: the
// target of the redirects such an endpoint sends, which a client must never
// follow.

// HostileHandler answers every request of a hostile endpoint.
type HostileHandler func(w http.ResponseWriter, r *http.Request, env HostileEnv)

// HostileEnv is what a HostileHandler knows about its surroundings.
type HostileEnv struct {
	// Other is the second listener's base URL (plain HTTP), where redirects
	// point. It must never receive a request.
	Other string
}

// HostileServer is a hostile endpoint: an ECS listener with TLS answered by
// a HostileHandler, and a second, plain-HTTP listener that counts what
// reaches it.
type HostileServer struct {
	ECS   *httptest.Server
	Other *httptest.Server

	ecsRequests   atomic.Int64
	servedBytes   atomic.Int64
	otherRequests atomic.Int64
	stop          chan struct{}
	stopOnce      sync.Once
}

// StartHostile starts a hostile endpoint on loopback; Close stops it. Every
// request's context ends when the client goes away or Close is called, so
// an endless body ends even if the client never reads. Requests counts the
// requests whose Action is countAction ("" counts every request).
func StartHostile(serve HostileHandler, countAction string) *HostileServer {
	h := &HostileServer{stop: make(chan struct{})}
	h.Other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.otherRequests.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	env := HostileEnv{Other: h.Other.URL}
	h.ECS = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if countAction == "" || r.URL.Query().Get("Action") == countAction {
			h.ecsRequests.Add(1)
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-h.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		serve(countingWriter{w, &h.servedBytes}, r.WithContext(ctx), env)
	}))
	h.ECS.StartTLS()
	return h
}

// Endpoint is the ECS listener's host:port (HTTPS).
func (h *HostileServer) Endpoint() string { return strings.TrimPrefix(h.ECS.URL, "https://") }

// URL is the ECS listener's https:// URL.
func (h *HostileServer) URL() string { return h.ECS.URL }

// OtherOrigin is the second listener's scheme://host, as a refused
// redirect's message names it.
func (h *HostileServer) OtherOrigin() string { return h.Other.URL }

// ServedBytes is how many body bytes the ECS listener wrote, over all
// requests (what a client could have read, before its cap).
func (h *HostileServer) ServedBytes() int64 { return h.servedBytes.Load() }

// Requests is how many counted requests reached the ECS listener.
func (h *HostileServer) Requests() int { return int(h.ecsRequests.Load()) }

// OtherRequests is how many requests reached the second listener.
func (h *HostileServer) OtherRequests() int { return int(h.otherRequests.Load()) }

// Transport trusts the ECS listener's certificate.
func (h *HostileServer) Transport() *http.Transport {
	return h.ECS.Client().Transport.(*http.Transport).Clone()
}

// WriteCertFile writes the ECS listener's certificate as PEM into dir, for
// SSL_CERT_FILE of a client process.
func (h *HostileServer) WriteCertFile(dir string) (string, error) {
	p := filepath.Join(dir, "hostile-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.ECS.Certificate().Raw})
	return p, os.WriteFile(p, b, 0o644)
}

// Close stops both listeners.
func (h *HostileServer) Close() {
	h.stopOnce.Do(func() { close(h.stop) })
	h.ECS.CloseClientConnections()
	h.ECS.Close()
	h.Other.Close()
}

// countingWriter counts body bytes and keeps http.Flusher working.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
