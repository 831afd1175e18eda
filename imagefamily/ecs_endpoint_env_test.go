package imagefamily

import (
	"context"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// ALIBABA_CLOUD_ECS_ENDPOINT sets the ECS endpoint when no setting does; an
// explicit endpoint (and VPC) wins; a bad value is refused like a bad
// --endpoint, naming the variable, before anything is sent (not even the
// AssumeRole that precedes the ECS call).
func TestECSEndpointFromEnvironment(t *testing.T) {
	tlsSrv := emulator(t) // the demo fixture over HTTPS
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		t.Fatal(err)
	}
	httpSrv := ecstest.NewServer(f) // the same over plain HTTP
	t.Cleanup(httpSrv.Close)
	decoy := ecstest.NewServer(f) // must never be asked
	t.Cleanup(decoy.Close)

	for _, row := range []struct {
		name     string
		endpoint string // Request.Endpoint
		vpc      bool
		env      string // ALIBABA_CLOUD_ECS_ENDPOINT
		srv      *ecstest.Server
		frags    []string // empty: found; else an input error with these
	}{
		{name: "environment only, host:port (HTTPS)", env: tlsSrv.Endpoint(), srv: tlsSrv},
		{name: "environment only, https:// URL", env: "https://" + tlsSrv.Endpoint(), srv: tlsSrv},
		{name: "environment only, http:// URL", env: "http://" + httpSrv.Endpoint(), srv: httpSrv},
		{name: "explicit endpoint wins", endpoint: tlsSrv.Endpoint(), env: "http://" + decoy.Endpoint(), srv: tlsSrv},
		{name: "explicit endpoint wins over a bad value", endpoint: tlsSrv.Endpoint(), env: "ftp://ecs.example.com", srv: tlsSrv},
		{name: "bad scheme", env: "ftp://ecs.example.com", srv: tlsSrv,
			frags: []string{`invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`, "scheme must be https:// or http://"}},
		{name: "path", env: "https://ecs.example.com/api", srv: tlsSrv,
			frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "must not have a path"}},
		{name: "white space", env: "ecs example.com", srv: tlsSrv,
			frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "white space"}},
		{name: "port out of range", env: "127.0.0.1:70000", srv: tlsSrv,
			frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "1 to 65535"}},
		{name: "credentials in it", env: "https://LTAIKEY:pw-secret-123@ecs.example.com", srv: tlsSrv,
			frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "user information"}},
	} {
		t.Run(row.name, func(t *testing.T) {
			for _, s := range []*ecstest.Server{tlsSrv, httpSrv, decoy} {
				s.ResetCounts()
			}
			r := request(tlsSrv)
			r.Endpoint, r.VPC = row.endpoint, row.vpc
			if len(row.frags) > 0 {
				// STS is tlsSrv: a bad value must stop the AssumeRole too.
				r.Credentials.AssumeRoleARN = readerRole
			}
			r.Credentials.Getenv = envFunc(map[string]string{EnvECSEndpoint: row.env})
			img, err := Resolve(context.Background(), r)
			if len(row.frags) == 0 {
				if err != nil || img.ImageID != wantNewest {
					t.Fatalf("got %q, %v; want %s", img.ImageID, err, wantNewest)
				}
				if n := row.srv.Requests("DescribeImageFromFamily"); n != 1 {
					t.Errorf("the endpoint named saw %d lookups, want 1", n)
				}
				if n := decoy.Requests(""); n != 0 {
					t.Errorf("the decoy saw %d requests", n)
				}
				return
			}
			if !IsInputError(err) {
				t.Fatalf("err = %v, want an input error", err)
			}
			for _, f := range row.frags {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("%q lacks %q", err, f)
				}
			}
			secretscan.Check(t, "error", err.Error(), "pw-secret-123")
			// Validate (what the CLI and the action call first) says the same,
			// and so does a lookup in several regions.
			if verr := Validate(r); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate: %v", verr)
			}
			if _, rerr := ResolveRegions(context.Background(), r, []string{"cn-hangzhou", "cn-shanghai"}, 0); !IsInputError(rerr) {
				t.Errorf("ResolveRegions: %v", rerr)
			}
			for _, s := range []*ecstest.Server{tlsSrv, httpSrv, decoy} {
				if n := s.Requests(""); n != 0 {
					t.Errorf("%d requests were sent", n)
				}
			}
		})
	}

	// VPC is an explicit choice of endpoint too: the variable is not read
	// (no lookup here: the VPC endpoint is not loopback).
	for _, env := range []string{"127.0.0.1:1", "ftp://bad"} {
		ep, err := ecsEndpoint(Request{VPC: true}, envFunc(map[string]string{EnvECSEndpoint: env}))
		if err != nil || ep != (endpoint{}) {
			t.Errorf("VPC with %s: %v %v, want the SDK's VPC endpoint", env, ep, err)
		}
	}
	// With Getenv unset the process environment is read.
	t.Setenv(EnvECSEndpoint, "ftp://from-the-process")
	if err := Validate(Request{Region: hangzhou, Family: webBase}); !IsInputError(err) || !strings.Contains(err.Error(), EnvECSEndpoint) {
		t.Errorf("process environment: %v", err)
	}
}

// A plain-HTTP endpoint given without http:// (which means HTTPS) fails
// with Go's "server gave HTTP response to HTTPS client" and a hint to write
// http:// out; nothing falls back to plain HTTP, and it is not retried.
func TestPlainHTTPEndpointHint(t *testing.T) {
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		t.Fatal(err)
	}
	srv := ecstest.NewServer(f)
	t.Cleanup(srv.Close)
	want := "The endpoint speaks plain HTTP, not HTTPS: if that is intended (a local emulator or test server), write it as http://" + srv.Endpoint()
	for name, set := range map[string]func(*Request){
		"--endpoint":                 func(r *Request) { r.Endpoint = srv.Endpoint() },
		"ALIBABA_CLOUD_ECS_ENDPOINT": func(r *Request) { r.Credentials.Getenv = envFunc(map[string]string{EnvECSEndpoint: srv.Endpoint()}) },
	} {
		t.Run(name, func(t *testing.T) {
			r := request(srv)
			r.Endpoint = ""
			r.Transport = nil
			set(&r)
			_, err := Resolve(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v\nwant the hint %q", err, want)
			}
			if strings.Contains(err.Error(), "TLS certificate is trusted") || strings.Contains(err.Error(), "attempts") {
				t.Errorf("err = %v: the generic advice, or retried", err)
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("%d requests reached the handler; nothing may fall back to HTTP", n)
			}
		})
	}
}
