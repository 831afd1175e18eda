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
// sets the ECS endpoint when the endpoint input is empty; the input wins,
// over a bad value too. A bad value is a row of TestBadInputAction; the
// variable's rules are the core's (imagefamily TestECSEndpointFromEnvironment).
func TestECSEndpointFromEnvironment(t *testing.T) {
	srv := emulator(t)
	keys := []string{"access-key-id", emuKeyID, "access-key-secret", emuSecret}
	for _, c := range []struct {
		name     string
		endpoint string // the endpoint input
		env      string
	}{
		{"the variable alone", "", srv.URL},
		{"the input wins over a bad value", srv.Endpoint(), "ftp://ecs.example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			s := newStep(t, emuInputs(srv, append(keys, "endpoint", c.endpoint)...))
			s.env[imagefamily.EnvECSEndpoint] = c.env
			s.runMain(viaLoopback(srv))
			if s.code != 0 || s.outputs()["image-id"] != "m-hznew0001" || srv.Requests(describeAction) != 1 {
				t.Errorf("exit %d, outputs %v, %d lookups reached the emulator\n%s", s.code, s.outputs(), srv.Requests(describeAction), s.stdout)
			}
		})
	}
}
