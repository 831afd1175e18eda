package ecstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Proxy-form requests. A client that honours HTTP_PROXY (the official
// alicloud builder's SDK does, for the plain-HTTP calls it makes to
// ecs-<region>.aliyuncs.com and ecs.<region>.aliyuncs.com) sends the
// absolute URI in the request line: "POST http://ecs.cn-beijing.aliyuncs.com/?...".
// The emulator serves such a request itself, as if it were that endpoint,
// taking the region from RegionId like every other call. It never forwards
// anything: a request for any host but *.aliyuncs.com, and every CONNECT
// (an https proxy tunnel), is answered with an error and no connection is
// made.

// proxyRefusal is the answer to a proxy-form request the emulator does not
// serve, or nil.
func proxyRefusal(r *http.Request) *apiError {
	if r.Method == http.MethodConnect {
		return newAPIError(405, "ecstest.ProxyRefused", "The emulator is not a proxy: CONNECT tunnels (HTTPS_PROXY) are refused; use plain-HTTP endpoints with HTTP_PROXY.")
	}
	if !proxyForm(r) {
		return nil
	}
	host := r.URL.Hostname()
	if r.URL.Scheme != "http" || !strings.HasSuffix(strings.ToLower(host), ".aliyuncs.com") {
		return newAPIError(403, "ecstest.ProxyRefused", "The emulator serves *.aliyuncs.com over plain HTTP only and never forwards a request.")
	}
	return nil
}

// proxyForm reports whether r came as a proxy request (an absolute URI in
// the request line). Only the request line tells: a request handed to
// ServeHTTP in-process (an http.Client request, RequestURI empty) carries
// its host in URL too and is served as an origin-form one.
func proxyForm(r *http.Request) bool {
	return r.URL.Host != "" && r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "/")
}

// logParam reports whether a parameter is shown in the request log: the
// region, resource ids and names, status and family; never credentials or
// signature fields.
func logParam(k string) bool {
	switch k {
	case "AccessKeyId", "SignatureNonce", "Signature", "SecurityToken", "ClientToken", "Password", "UserData", "PrivateKeyBody":
		return false
	}
	for _, suffix := range []string{"Id", "Ids", "Name", "Names", "Status", "Family", "Type"} {
		if strings.HasSuffix(k, suffix) && !strings.HasPrefix(k, "Signature") {
			return true
		}
	}
	return false
}

// logRequest writes one line for an API request to Options.Log:
//
//	ecstest: POST ecs.cn-hangzhou.aliyuncs.com CreateImage ImageFamily="web" InstanceId="i-..." RegionId="cn-hangzhou" -> 200 ImageId="m-..."
//	ecstest: POST 127.0.0.1:8080 StartInstance InstanceId="i-..." RegionId="cn-hangzhou" -> 403 IncorrectInstanceStatus
//
// Values are quoted (%q), so no client or server text can forge a line.
func (s *Server) logRequest(r *http.Request, params url.Values, resp *response) {
	if s.log == nil {
		return
	}
	var b strings.Builder
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil && h != "127.0.0.1" && h != "localhost" && h != "::1" {
		host = h
	}
	fmt.Fprintf(&b, "ecstest: %s %q %q", r.Method, host, params.Get("Action"))
	keys := make([]string, 0, len(params))
	for k := range params {
		if logParam(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, params.Get(k))
	}
	fmt.Fprintf(&b, " -> %d", resp.status)
	var answer map[string]any
	if json.Unmarshal(resp.body, &answer) == nil {
		if code, ok := answer["Code"].(string); ok && resp.status >= 300 {
			fmt.Fprintf(&b, " %q", code)
		}
		ids := make([]string, 0, 2)
		for k, v := range answer {
			if str, ok := v.(string); ok && k != "RequestId" && k != "HostId" && k != "RegionId" && strings.HasSuffix(k, "Id") {
				ids = append(ids, fmt.Sprintf("%s=%q", k, str))
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			b.WriteString(" " + id)
		}
	}
	b.WriteByte('\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = io.WriteString(s.log, b.String())
}
