//go:generate ../../scripts/struct-markdown.sh
//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config
//go:generate ../../scripts/render-docs.sh

// Package family is the Packer post-processor `alicloud-image-family`: it
// promotes the images of a build into an image family in every region, so
// that the family resolves to them (ECS copies of an image carry no family).
//
// It is a thin adapter over the core's Promote. Configure maps HCL
// attributes onto a PromoteRequest and runs every offline check, reporting
// every refused attribute at once by its HCL name; PostProcess takes the
// images from image_ids or from the alicloud-ecs builder's artifact, calls
// Promote, prints each region's outcome in the Packer UI (server strings
// escaped) and returns an artifact of the same ids whose state carries the
// region map for HCP Packer.
package family

import (
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/packeraccess"
)

// Config is the body of a `post-processor "alicloud-image-family"` block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The image family to put the images in, such as `web-base`: set on
	// every region's image, copies included. ModifyImageAttribute's rule: 2
	// to 128 characters, starting with a letter; letters, digits, `:`, `_`
	// and `-`; not starting with `acs:` or `aliyun`; no `http://` or
	// `https://`. (`.` is accepted by ModifyImageAttribute but not by
	// DescribeImageFromFamily, so such a family could never be resolved: it
	// is refused too.)
	ImageFamily string `mapstructure:"image_family" required:"true"`
	// The images to promote, region to image id, such as
	// `{ "cn-hangzhou" = "m-bp1g7004ksh0oeuc0001" }`. When it is not set,
	// the images are the input artifact's: the alicloud-ecs builder's
	// (every region it built or copied to). When it is set, any builder may
	// come before the post-processor (such as `null`), and these images are
	// promoted instead of the input artifact's (which the build log then
	// names as not promoted).
	ImageIDs map[string]string `mapstructure:"image_ids" required:"false"`
	// Wait up to this long for an image that is still `Creating` (a fresh
	// copy: the builder does not wait for its copies) to become
	// `Available`, polling DescribeImages by id, with one progress line per
	// poll in the build log. A duration such as `45m` or a whole number of
	// seconds, from `0` (no waiting: a copy still `Creating` fails) to
	// `6h`. Defaults to `0`.
	WaitTimeout string `mapstructure:"wait_timeout" required:"false"`
	// Ask the API whether each change would be accepted (`DryRun=true`) and
	// print what would change, changing nothing. The build still fails when
	// a region would fail.
	DryRun bool `mapstructure:"dry_run" required:"false"`
	// Upper bound on each region's promotion, credential exchange and
	// retries included, `wait_timeout` added: a duration such as `30s` or
	// `2m`, or a whole number of seconds, between `100ms` and `1h`. Defaults
	// to `60s`.
	Timeout string `mapstructure:"timeout" required:"false"`

	packeraccess.Config `mapstructure:",squash"`
}

// PostProcessor implements packersdk.PostProcessor.
type PostProcessor struct {
	config Config

	// req is the core request Configure built; PostProcess adds the images.
	req imagefamily.PromoteRequest
	// unknown lists the attributes that held placeholders for values Packer
	// had not computed yet (packer validate); PostProcess refuses to run
	// with any.
	unknown []string

	// prepare, when set, adjusts the request before Promote. Tests use it
	// to plug in the emulator's transport.
	prepare func(*imagefamily.PromoteRequest)
}

var _ packersdk.PostProcessor = (*PostProcessor)(nil)

func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}
