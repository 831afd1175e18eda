package ecstest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// ---- HTTP handling ----

// ServeHTTP handles one RPC call (or hands a control request to the control
// API, unrecorded and without faults): record it, apply latency and faults, route
// by Version/Action, then write the answer (possibly mangled by a fault).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The control API is the emulator's own, never an endpoint it stands
	// in for: a proxy-form request is an API call or refused.
	if isControlPath(r.URL.Path) && !proxyForm(r) {
		s.serveControl(w, r)
		return
	}
	if isMetadataPath(r.URL.Path) && r.URL.Host == "" {
		s.serveMetadata(w, r)
		return
	}
	requestID := newRequestID()
	if refusal := proxyRefusal(r); refusal != nil {
		resp := refusal.response(requestID)
		s.logRequest(r, url.Values{}, resp)
		writeResponse(w, resp)
		return
	}
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
	s.logRequest(r, params, resp)

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
	writeResponse(w, resp)
}

func writeResponse(w http.ResponseWriter, resp *response) {
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
	ecsActions = map[string]bool{"DescribeImageFromFamily": true, "ModifyImageAttribute": true, "DescribeImages": true, "CopyImage": true}
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
		if !ecsActions[action] && !buildAction(action) {
			return notFound.response(requestID)
		}
		c, aerr := s.authenticate(method, p)
		if aerr != nil {
			return aerr.response(requestID)
		}
		if s.denied(c) {
			return newAPIError(403, "InvalidUser.Unauthorized", "The user is not authorized.").response(requestID)
		}
		if !s.allows(c, action) {
			return newAPIError(403, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this API doesn't support RAM.").response(requestID)
		}
		if buildAction(action) {
			return s.serveBuild(action, p, requestID)
		}
		switch action {
		case "ModifyImageAttribute":
			return s.modifyImageAttribute(p, requestID)
		case "DescribeImages":
			return s.describeImages(p, requestID)
		case "CopyImage":
			return s.copyImage(p, requestID)
		}
		return s.describeImageFromFamily(p, requestID)
	case stsVersion:
		if !stsActions[action] {
			return notFound.response(requestID)
		}
		return s.serveSTS(method, action, p, requestID)
	default:
		if ecsActions[action] || stsActions[action] || buildAction(action) {
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
