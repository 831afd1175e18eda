//go:generate go run ../../tools/fieldgen
//go:generate ../../scripts/struct-markdown.sh
//go:generate ../../scripts/struct-markdown.sh output.go
//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput,DiskDeviceMapping
//go:generate ../../scripts/render-docs.sh

// Package family is the Packer data source `alicloud-image-family`: it
// resolves an Alibaba Cloud image family to its newest available image.
//
// It is a thin adapter. Configure maps HCL attributes onto the core's
// Request (guards, wait, retries included) and runs the core's offline
// checks; Execute calls the core's ResolveRegions for every region at once
// and maps the Images onto the data source's outputs. What is its own is
// Packer's: attribute names in diagnostics, how region and regions combine,
// ignore_missing_regions, expected_image_id, and where progress lines go (the
// plugin log: Packer gives a data source no UI).
package family

import (
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/packeraccess"
)

// Config is the body of a `data "alicloud-image-family"` block.
//
// The access attributes carry the same names as the official alicloud
// builder's, so one set of locals or variables can feed both. Credentials not
// given here are looked up the way the rest of the Alibaba Cloud tooling does
// (environment, OIDC, aliyun CLI profile); see the Authentication section.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The image family to resolve, such as `web-base`. The data source returns
	// the newest image of the family whose status is `Available`. Your own
	// family: 2 to 128 characters, letters, digits, `:`, `_` and `-`,
	// starting with a letter, not starting with `aliyun`, `http://` or
	// `https://`. A family another account shared with you (or published as
	// a community image) is `acs:<owner account id>:<family>`, such as
	// `acs:210987654321:golden-base`; a public image family is
	// `acs:<family>`, such as `acs:alibaba_cloud_linux_3_2104_lts_x64`. Any
	// other name starting with `acs:` (a RAM ARN, say) is refused.
	ImageFamily string `mapstructure:"image_family" required:"true"`

	// The region to look in, such as `cn-hangzhou`. Image families are
	// regional. When neither `region` nor `regions` is set, defaults to the
	// `ALICLOUD_REGION` environment variable, then `ALIBABA_CLOUD_REGION_ID`,
	// then the `region_id` of the aliyun CLI profile in use (as the aliyun
	// CLI does); one of them must be set.
	Region string `mapstructure:"region" required:"false"`
	// Several regions to resolve the family in, all at once (one request per
	// region, concurrently), such as `["cn-hangzhou", "cn-shanghai"]`; the
	// result is the `image_ids` map. With `region` as well, `region` comes
	// first; a region listed twice is looked up once. The single-image
	// attributes (`image_id`, `region`, ...) describe the first region that
	// has an image. A region without an available image fails the build,
	// naming it, unless `ignore_missing_regions` is set; any other failure in
	// any region always fails it.
	Regions []string `mapstructure:"regions" required:"false"`
	// Leave a region without an available image out of `image_ids` instead of
	// failing the build. The build still fails when no region has one, and
	// on any other error (credentials, throttling, an unknown region, a
	// guard). Defaults to `false`.
	IgnoreMissingRegions bool `mapstructure:"ignore_missing_regions" required:"false"`

	packeraccess.Config `mapstructure:",squash"`

	// Upper bound on the whole lookup, credential exchange and retries
	// included: a duration such as `30s` or `2m`, or a whole number of
	// seconds. It must be between `100ms` and `1h`; anything else is
	// refused by `packer validate`. Defaults to `60s`.
	Timeout string `mapstructure:"timeout" required:"false"`

	// Fail the build unless the resolved image has this architecture:
	// `x86_64`, `arm64` or `i386`. Guards against a family that was switched
	// to another architecture under your template.
	Architecture string `mapstructure:"architecture" required:"false"`
	// Fail the build unless the resolved image has this OS type: `linux` or
	// `windows`.
	OSType string `mapstructure:"os_type" required:"false"`
	// Fail the build when the newest image of the family is older than this,
	// such as `720h` or `30d` (a Go duration, or a whole number of days with
	// the `d` suffix). Catches a base-image pipeline that silently stopped
	// publishing.
	MaxAge string `mapstructure:"max_age" required:"false"`
	// Fail the build unless the resolved image is owned by one of these:
	// `self`, `system`, `others`, `marketplace` (the image's
	// `image_owner_alias`) or Alibaba Cloud account ids such as
	// `"1234567890123456"` (its `image_owner_id`). Like the `owners` of
	// Packer's amazon-ami, but optional: empty (the default) accepts any
	// owner. Set it for shared and community families
	// (`acs:<owner account id>:<family>`).
	Owners []string `mapstructure:"owners" required:"false"`

	// The image id the build expects, such as the id the last release was
	// built on: when the family's newest image is another one (the family
	// moved), the build fails, naming both ids (`cn-hangzhou:
	// m-old -> m-new (created ...)`). Single region only: with several
	// regions it is refused by `packer validate`. It must have an image id's
	// shape (`m-` and 8 to 30 lower-case letters or digits, or a public
	// image's name ending in `.vhd`); anything else, such as a family name,
	// is refused by `packer validate`.
	ExpectedImageID string `mapstructure:"expected_image_id" required:"false"`
	// Wait up to this long for an image instead of failing at once: while the
	// family has no available image (or, with `newer_than`, while its newest
	// is still that image) it is looked up again, with a pause growing from
	// 2s to 1m that never runs past the deadline, and a last time at the
	// deadline, so the wait lasts what it says. A duration such as `20m` or a
	// whole number of seconds, from `0` (no waiting, the default) to `6h`.
	// Each poll is bounded by `timeout`. Progress lines go to the plugin log
	// (`PACKER_LOG=1`); when the poll at the deadline finds nothing either,
	// the build fails saying how long it waited, how many polls it made and
	// what it saw last.
	WaitTimeout string `mapstructure:"wait_timeout" required:"false"`
	// An image id to wait past: with `wait_timeout`, the lookup waits until
	// the family's newest available image is another one (the image a
	// pipeline step is building). Only with `wait_timeout`.
	NewerThan string `mapstructure:"newer_than" required:"false"`
}

// Datasource implements packersdk.Datasource.
type Datasource struct {
	config Config

	// prepared is what Configure made of the block: the request, the
	// regions and the attributes not known yet.
	prepared

	// now is the clock for max_age; nil means time.Now. Tests set it.
	now func() time.Time
	// prepare, when set, adjusts the request before Resolve. Tests use it to
	// plug in the emulator's transport.
	prepare func(*imagefamily.Request)
}

var _ packersdk.Datasource = (*Datasource)(nil)

// unknownPlaceholder is what Packer puts in a string attribute whose value is
// not known yet: during `packer validate` every data source output is
// unknown, so `image_family = data.x.y.name` arrives as this string (numbers
// arrive as 0, booleans as false and a whole list as an empty list). See
// hcl2shim.WriteUnknownPlaceholderValues.
const unknownPlaceholder = packeraccess.UnknownPlaceholder

func (d *Datasource) ConfigSpec() hcldec.ObjectSpec {
	return d.config.FlatMapstructure().HCL2Spec()
}

func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}
