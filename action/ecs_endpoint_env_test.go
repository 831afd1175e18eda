package action

import (
	"context"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// viaLoopback is viaEmulator with a transport that dials loopback only: a
// lookup that misses the emulator (the variable not read) fails here instead
// of reaching ecs.<region>.aliyuncs.com.
func viaLoopback(srv *ecstest.Server) Option {
	return WithRequest(func(r *imagefamily.Request) {
		r.Transport = ecstest.LoopbackOnly(srv.Transport())
		r.Retry.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	})
}

// ALIBABA_CLOUD_ECS_ENDPOINT in the step's environment (a workflow's env:)
// sets the ECS endpoint when the endpoint input is empty; the input wins; a
// bad value exits 2 with an annotation naming the variable, and nothing is
// sent, not even a request for a GitHub ID token.
func TestECSEndpointFromEnvironment(t *testing.T) {
	srv := emulator(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	for _, c := range []struct {
		name     string
		endpoint string // the endpoint input
		env      string
	}{
		{"the variable alone, host:port", "", srv.Endpoint()},
		{"the variable alone, URL", "", srv.URL},
		{"the input wins", srv.Endpoint(), "127.0.0.1:1"},
		{"the input wins over a bad value", srv.Endpoint(), "ftp://ecs.example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			s := newStep(t, emuInputs(srv, append(keys, "endpoint", c.endpoint)...))
			s.env[imagefamily.EnvECSEndpoint] = c.env
			s.runMain(viaLoopback(srv))
			if s.code != 0 || s.outputs()["image-id"] != "m-hznew0001" {
				t.Errorf("exit %d, outputs %v\n%s", s.code, s.outputs(), s.stdout)
			}
			if n := srv.Requests("DescribeImageFromFamily"); n != 1 {
				t.Errorf("%d lookups reached the emulator, want 1", n)
			}
		})
	}

	tokens, minted := githubTokenService(t)
	for _, c := range []struct {
		name  string
		env   string
		oidc  bool
		frags []string
	}{
		{"bad scheme", "ftp://ecs.example.com", false, []string{`invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`, "scheme must be https:// or http://"}},
		{"with a path", "https://ecs.example.com/api", false, []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "must not have a path"}},
		{"with credentials", "https://LTAIKEY:pw-secret-123@ecs.example.com", false, []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "user information"}},
		{"bad value with OIDC (no token minted)", "ecs example.com", true, []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "white space"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			var s *step
			if c.oidc {
				s = oidcStep(t, srv, tokens, "endpoint", "")
			} else {
				s = newStep(t, emuInputs(srv, append(keys, "endpoint", "")...))
			}
			s.env[imagefamily.EnvECSEndpoint] = c.env
			s.runMain(viaLoopback(srv))
			s.assertNoSecrets("pw-secret-123")
			checkBadInput(t, s, c.frags)
			if len(*minted) != 0 {
				t.Errorf("%d GitHub ID tokens were minted for a step whose input is invalid", len(*minted))
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; want none", n)
			}
		})
	}
}
