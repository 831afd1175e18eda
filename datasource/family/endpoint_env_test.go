package family

import (
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// ALIBABA_CLOUD_ECS_ENDPOINT in Packer's environment sets the ECS endpoint
// when custom_endpoint_ecs is not set; a bad value fails the data source
// naming the variable, before anything is sent (AssumeRole included). Like
// the credential variables it is read when the data source runs, not by
// Configure (packer validate), which accepts the block. The variable's
// forms, its precedence and a value with credentials are imagefamily
// TestECSEndpointFromEnvironment and TestEndpointWithCredentialsIsNotEchoed's.
func TestExecuteECSEndpointFromEnvironment(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	// runBlock's transport is loopback only: a lookup that misses the
	// emulator (the variable not read) fails instead of reaching the network.
	block := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nsts_endpoint = \"" + srv.URL + "\"\nram_role_arn = \"" + roleARN + "\"" + creds

	srv.ResetCounts()
	t.Setenv(imagefamily.EnvECSEndpoint, srv.Endpoint())
	v, _, err := runBlock(t, srv, block)
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-mid" || srv.Requests("DescribeImageFromFamily") != 1 {
		t.Fatalf("image_id %#v, %v, %d lookups; want m-base-mid from the emulator", v, err, srv.Requests("DescribeImageFromFamily"))
	}

	srv.ResetCounts()
	t.Setenv(imagefamily.EnvECSEndpoint, "ftp://ecs.example.com")
	_, _, err = runBlock(t, srv, block)
	if !imagefamily.IsInputError(err) || !strings.Contains(err.Error(), `invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`) ||
		!strings.Contains(err.Error(), "scheme must be https:// or http://") {
		t.Fatalf("err = %v, want an input error naming the variable", err)
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("the emulator saw %d requests; want none", n)
	}
}
