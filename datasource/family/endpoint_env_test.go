package family

import (
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// ALIBABA_CLOUD_ECS_ENDPOINT in Packer's environment sets the ECS endpoint
// when custom_endpoint_ecs is not set; the attribute wins; a bad value fails
// the data source naming the variable, before anything is sent. Like the
// credential variables it is read when the data source runs, not by
// Configure (packer validate).
func TestExecuteECSEndpointFromEnvironment(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	const block = "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nsts_endpoint = \"%s\"\n" + creds
	execute := func(t *testing.T, extra string) (string, error) {
		t.Helper()
		d, err := configure(t, strings.Replace(block, "%s", srv.URL, 1)+extra)
		if err != nil {
			t.Fatalf("Configure: %v", err)
		}
		// Loopback only: a lookup that misses the emulator (the variable
		// not read) fails here instead of reaching the network.
		d.prepare = func(r *imagefamily.Request) { r.Transport = ecstest.LoopbackOnly(srv.Transport()) }
		d.now = func() time.Time { return time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC) }
		v, err := d.Execute()
		if err != nil {
			return "", err
		}
		return v.GetAttr("image_id").AsString(), nil
	}
	for _, c := range []struct{ name, env, attr string }{
		{"the variable alone, host:port", srv.Endpoint(), ""},
		{"the variable alone, URL", srv.URL, ""},
		{"custom_endpoint_ecs wins", "127.0.0.1:1", "custom_endpoint_ecs = \"" + srv.URL + "\"\n"},
		{"custom_endpoint_ecs wins over a bad value", "ftp://ecs.example.com", "custom_endpoint_ecs = \"" + srv.URL + "\"\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			t.Setenv(imagefamily.EnvECSEndpoint, c.env)
			id, err := execute(t, c.attr)
			if err != nil || id != "m-base-mid" {
				t.Fatalf("image_id %q, %v; want m-base-mid", id, err)
			}
			if n := srv.Requests("DescribeImageFromFamily"); n != 1 {
				t.Errorf("%d lookups reached the emulator, want 1", n)
			}
		})
	}
	for _, c := range []struct {
		name, env string
		frags     []string
	}{
		{"bad scheme", "ftp://ecs.example.com", []string{`invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`, "scheme must be https:// or http://"}},
		{"with a path", "https://ecs.example.com/api", []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "must not have a path"}},
		{"with credentials", "https://LTAIKEY:pw-secret-123@ecs.example.com", []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "user information"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			t.Setenv(imagefamily.EnvECSEndpoint, c.env)
			_, err := execute(t, "ram_role_arn = \""+roleARN+"\"\n")
			if !imagefamily.IsInputError(err) {
				t.Fatalf("err = %v, want an input error", err)
			}
			for _, f := range c.frags {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("%q lacks %q", err, f)
				}
			}
			secretscan.Check(t, "diagnostic", err.Error(), "pw-secret-123")
			if n := srv.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests (AssumeRole included); want none", n)
			}
		})
	}
}
