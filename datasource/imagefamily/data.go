//go:generate go run ../../internal/fieldgen
//go:generate ../../scripts/struct-markdown.sh
//go:generate ../../scripts/struct-markdown.sh output.go
//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput,DiskDeviceMapping
//go:generate ../../scripts/render-docs.sh

// Package imagefamily is the Packer data source `alicloud-image-family`: it
// resolves an Alibaba Cloud image family to its newest available image.
//
// It is a thin adapter. Configure maps HCL attributes onto the core's
// Request (guards, wait, retries included) and runs the core's offline
// checks; Execute calls the core's ResolveRegions for every region at once
// and maps the Images onto the data source's outputs. What is its own is
// Packer's: attribute names in diagnostics, how region and regions combine,
// ignore_missing_regions, expected_image_id, and where progress lines go (the
// plugin log: Packer gives a data source no UI).
package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/zclconf/go-cty/cty"

	core "github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
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
	// guard).
	IgnoreMissingRegions bool `mapstructure:"ignore_missing_regions" required:"false"`

	// Access key id. Can also be set with `ALICLOUD_ACCESS_KEY` or
	// `ALIBABA_CLOUD_ACCESS_KEY_ID`.
	AccessKey string `mapstructure:"access_key" required:"false"`
	// Access key secret. Can also be set with `ALICLOUD_SECRET_KEY` or
	// `ALIBABA_CLOUD_ACCESS_KEY_SECRET`. Never printed, not even with
	// `PACKER_LOG=1`.
	SecretKey string `mapstructure:"secret_key" required:"false"`
	// STS security token that goes with a temporary access key. Can also be
	// set with `SECURITY_TOKEN`, `ALICLOUD_SECURITY_TOKEN` or
	// `ALIBABA_CLOUD_SECURITY_TOKEN`. Never printed.
	SecurityToken string `mapstructure:"security_token" required:"false"`
	// Name of an aliyun CLI profile to take credentials from. Can also be set
	// with `ALICLOUD_PROFILE` or `ALIBABA_CLOUD_PROFILE`.
	Profile string `mapstructure:"profile" required:"false"`
	// Path of the aliyun CLI configuration file that holds `profile`.
	// Defaults to `~/.aliyun/config.json`.
	SharedCredentialsFile string `mapstructure:"shared_credentials_file" required:"false"`
	// Name of the RAM role attached to the ECS instance Packer runs on; its
	// temporary credentials are fetched from the instance metadata service.
	// The metadata service is contacted only when this is set.
	RAMRoleName string `mapstructure:"ram_role_name" required:"false"`
	// ARN of a RAM role to assume (STS AssumeRole) with whatever credentials
	// the other settings produced, such as
	// `acs:ram::123456789012:role/packer`.
	RAMRoleARN string `mapstructure:"ram_role_arn" required:"false"`
	// Session name used when assuming `ram_role_arn`. Shows up in
	// ActionTrail. Defaults to a name that identifies this plugin.
	RAMSessionName string `mapstructure:"ram_session_name" required:"false"`
	// ECS endpoint to use instead of `ecs.<region>.aliyuncs.com`: a host, a
	// `host:port` or a URL. HTTPS is used unless the URL starts with
	// `http://`.
	CustomEndpointECS string `mapstructure:"custom_endpoint_ecs" required:"false"`
	// STS endpoint to use instead of `sts.aliyuncs.com`, in the same forms as
	// `custom_endpoint_ecs`. Used for `ram_role_arn` and OIDC.
	STSEndpoint string `mapstructure:"sts_endpoint" required:"false"`
	// Upper bound on the whole lookup, credential exchange and retries
	// included: a duration such as `30s` or `2m`, or a whole number of
	// seconds. It must be between `100ms` and `1h`; anything else is
	// refused by `packer validate`. Defaults to `60s`.
	Timeout string `mapstructure:"timeout" required:"false"`
	// How many times a throttled, timed out or failed (HTTP 5xx) request is
	// retried, with exponential backoff. The number of requests sent is at
	// most `max_retries + 1`; `0` disables retries. Defaults to `4`.
	MaxRetries *int `mapstructure:"max_retries" required:"false"`

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

	// The image id the build expects, such as the id the last release was
	// built on: when the family's newest image is another one (the family
	// moved), the build fails, naming both ids (`cn-hangzhou:
	// m-old -> m-new (created ...)`). Single region only: with several
	// regions it is refused by `packer validate`.
	ExpectedImageID string `mapstructure:"expected_image_id" required:"false"`
	// Wait up to this long for an image instead of failing at once: while the
	// family has no available image (or, with `newer_than`, while its newest
	// is still that image) it is looked up again, with a pause growing from
	// 2s to 1m. A duration such as `20m` or a whole number of seconds, from
	// `0` (no waiting, the default) to `6h`. Each poll is bounded by
	// `timeout`. Progress lines go to the plugin log (`PACKER_LOG=1`); at the
	// deadline the build fails saying how long it waited, how many polls it
	// made and what it saw last.
	WaitTimeout string `mapstructure:"wait_timeout" required:"false"`
	// An image id to wait past: with `wait_timeout`, the lookup waits until
	// the family's newest available image is another one (the image a
	// pipeline step is building). Only with `wait_timeout`.
	NewerThan string `mapstructure:"newer_than" required:"false"`
}

// Datasource implements packersdk.Datasource.
type Datasource struct {
	config Config

	// req is the core request Configure built; Execute sends it.
	req core.Request
	// regions are the regions to look in, in order, without duplicates:
	// region first, then regions. Placeholders are left out (and recorded
	// in unknown).
	regions []string
	// emptyRegions: `regions` was given as an empty list and no `region`.
	// During `packer validate` a list that is not known yet arrives as an
	// empty list, so Configure accepts it; Execute refuses it.
	emptyRegions bool
	// unknown lists the attributes that held placeholders for values Packer
	// had not computed yet (packer validate); Execute refuses to run with any.
	unknown []string

	// now is the clock for max_age; nil means time.Now. Tests set it.
	now func() time.Time
	// prepare, when set, adjusts the request before Resolve. Tests use it to
	// plug in the emulator's transport.
	prepare func(*core.Request)
}

var _ packersdk.Datasource = (*Datasource)(nil)

// unknownPlaceholder is what Packer puts in a string attribute whose value is
// not known yet: during `packer validate` every data source output is
// unknown, so `image_family = data.x.y.name` arrives as this string (numbers
// arrive as 0, booleans as false and a whole list as an empty list). See
// hcl2shim.WriteUnknownPlaceholderValues.
const unknownPlaceholder = "<unknown>"

// Environment variables for the region, in the order they are read: the
// official alicloud builder's name first, then the Alibaba Cloud SDK's.
var regionEnv = []string{"ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID"}

// maxRetriesLimit follows the core's cap of 20 attempts, which keeps a typo
// such as 1000 from turning an outage into an hour of retries.
const maxRetriesLimit = 19

func (d *Datasource) ConfigSpec() hcldec.ObjectSpec {
	return d.config.FlatMapstructure().HCL2Spec()
}

func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}

// Configure decodes and checks the block. It never touches the network and
// needs no credentials, so `packer validate` works anywhere.
func (d *Datasource) Configure(raws ...any) error {
	d.config = Config{}
	d.unknown = nil
	d.regions = nil
	d.emptyRegions = false
	// Interpolate is off: data sources exist only in HCL2 templates, where
	// Go-template interpolation of strings ({{ ... }}) has no business
	// rewriting a secret that happens to contain braces.
	if err := config.Decode(&d.config, &config.DecodeOpts{
		PluginType:  "packer.datasource.alicloud-image-family",
		Interpolate: false,
	}, raws...); err != nil {
		return err
	}
	c := &d.config

	var errs *packersdk.MultiError
	add := func(err error) { errs = packersdk.MultiErrorAppend(errs, err) }
	known := func(attr, v string) bool {
		if v == unknownPlaceholder {
			d.markUnknown(attr)
			return false
		}
		return v != ""
	}

	// The regions: region first, then regions, each once. The environment
	// and the profile supply a region only when neither attribute is set.
	regionsGiven := c.Regions != nil
	if c.Region == "" && !regionsGiven {
		for _, name := range regionEnv {
			if v := os.Getenv(name); v != "" {
				c.Region = v
				break
			}
		}
	}
	var profileRegionErr error
	if c.Region == "" && !regionsGiven && c.Profile != unknownPlaceholder && c.SharedCredentialsFile != unknownPlaceholder {
		// Like the aliyun CLI: the selected profile's region_id. The output
		// attribute `region` says which region was used.
		region, from, err := core.ProfileRegion(core.Credentials{Profile: c.Profile, ProfileFile: c.SharedCredentialsFile})
		if err != nil {
			profileRegionErr = err
		} else if region != "" {
			log.Printf("[INFO] alicloud-image-family: region %s from %s", region, safetext.Terminal(from))
			c.Region = region
		}
	}
	if known("region", c.Region) {
		if err := core.ValidateRegion(c.Region); err != nil {
			add(attrError(err))
		} else {
			d.addRegion(c.Region)
		}
	}
	for _, r := range c.Regions {
		if !known("regions", r) {
			if r == "" {
				add(errors.New(`regions: an element is empty: give region ids such as "cn-hangzhou"`))
			}
			continue
		}
		if err := core.ValidateRegion(r); err != nil {
			add(fmt.Errorf("regions: %w", err))
			continue
		}
		d.addRegion(r)
	}
	d.emptyRegions = regionsGiven && len(c.Regions) == 0 && c.Region == ""

	if c.ImageFamily == "" {
		add(errors.New("image_family is required: give the name of the image family to resolve, such as \"web-base\""))
	}
	if profileRegionErr != nil {
		add(fmt.Errorf("region: %w", profileRegionErr))
	} else if c.Region == "" && !regionsGiven {
		add(errors.New("region is required: set region or regions, the ALICLOUD_REGION or ALIBABA_CLOUD_REGION_ID environment variable, or region_id in the aliyun CLI profile"))
	}

	req := core.Request{
		Family: c.ImageFamily,
		Credentials: core.Credentials{
			AccessKeyID:     c.AccessKey,
			AccessKeySecret: c.SecretKey,
			SecurityToken:   c.SecurityToken,
			Profile:         c.Profile,
			ProfileFile:     c.SharedCredentialsFile,
			ECSRoleName:     c.RAMRoleName,
			AssumeRoleARN:   c.RAMRoleARN,
			RoleSessionName: c.RAMSessionName,
			STSEndpoint:     c.STSEndpoint,
		},
		Endpoint: c.CustomEndpointECS,
		Front:    core.FrontPacker,
		Guards: core.Guards{
			Architecture: c.Architecture,
			OSType:       c.OSType,
		},
		NewerThan: c.NewerThan,
	}
	if len(d.regions) > 0 {
		req.Region = d.regions[0]
	}

	if known("timeout", c.Timeout) {
		// The core's parser: a Go duration or a bare number of seconds,
		// within MinTimeout..MaxTimeout, refusing values that overflow
		// (18446744074 seconds) instead of wrapping them into nonsense.
		t, err := core.ParseDuration("timeout", c.Timeout, core.MinTimeout, core.MaxTimeout)
		if err != nil {
			add(attrError(err))
		} else {
			req.Timeout = t
		}
	}
	if c.MaxRetries != nil {
		n := *c.MaxRetries
		if n < 0 || n > maxRetriesLimit {
			add(fmt.Errorf("max_retries %d is out of range: give 0 (no retries) to %d", n, maxRetriesLimit))
		} else {
			// The core counts attempts, the attribute counts retries.
			req.Retry.MaxAttempts = n + 1
		}
	}
	if known("max_age", c.MaxAge) {
		age, err := core.ParseMaxAge("max_age", c.MaxAge)
		if err != nil {
			add(err)
		} else {
			req.Guards.MaxAge = age
		}
	}
	waitKnown := known("wait_timeout", c.WaitTimeout)
	if waitKnown {
		w, err := core.ParseDuration("wait_timeout", c.WaitTimeout, 0, core.MaxWait)
		if err != nil {
			add(err)
			waitKnown = false
		} else {
			req.Wait = w
		}
	}
	// Each guard on its own, so that every bad one is reported.
	for _, g := range []struct {
		attr, value string
		guards      core.Guards
	}{
		{"architecture", c.Architecture, core.Guards{Architecture: c.Architecture}},
		{"os_type", c.OSType, core.Guards{OSType: c.OSType}},
	} {
		if known(g.attr, g.value) {
			if err := core.ValidateSettings(core.Request{Guards: g.guards}); err != nil {
				add(attrError(err))
			}
		}
	}
	known("newer_than", c.NewerThan)

	if known("expected_image_id", c.ExpectedImageID) {
		if err := checkExpected(c.ExpectedImageID, req.Region); err != nil {
			add(err)
		}
		if len(d.regions) > 1 {
			add(fmt.Errorf("expected_image_id %s: it is for a single region, and %d regions are looked up (%s): drop regions, or check the image ids per region with image_ids",
				safetext.Quote(c.ExpectedImageID, 160), len(d.regions), strings.Join(d.regions, ", ")))
		}
	}

	// The core's offline checks. Values Packer has not computed yet are
	// skipped (family, region) or replaced by stand-ins the core accepts
	// (everything else), so that what is known is still checked during
	// `packer validate`.
	if known("image_family", c.ImageFamily) {
		if err := core.ValidateFamily(c.ImageFamily); err != nil {
			add(attrError(err))
		}
	}
	check := standIns(req, d.markUnknown)
	check.Guards = core.Guards{} // checked above
	if c.WaitTimeout != "" && !waitKnown && check.NewerThan != "" {
		// A wait that is unknown (or refused above) must not also make
		// newer_than look like it has no wait.
		check.Wait = time.Minute
	}
	if err := core.ValidateSettings(check); err != nil {
		add(attrError(err))
	}

	d.req = req
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// addRegion appends a region unless it is listed already.
func (d *Datasource) addRegion(r string) {
	if !slices.Contains(d.regions, r) {
		d.regions = append(d.regions, r)
	}
}

// checkExpected checks that expected_image_id is one image id, with the
// core's rules (ParseExpected), before anything is sent.
func checkExpected(id, region string) error {
	if strings.ContainsAny(id, ",; \t\r\n=") {
		return fmt.Errorf("expected_image_id %s: give one image id, such as m-bp1g7004ksh0oeuc0001", safetext.Quote(id, 160))
	}
	if core.ValidateRegion(region) != nil {
		region = "cn-hangzhou" // a stand-in: the region has its own diagnostic
	}
	if _, err := core.ParseExpected("expected_image_id", region+"="+id); err != nil {
		var ve *core.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("expected_image_id %s: it is not an image id (such as m-bp1g7004ksh0oeuc0001)", safetext.Quote(id, 160))
		}
		return err
	}
	return nil
}

// attributes maps the core's user-facing field names to this data source's
// attribute names, so that a validation error points at the line to fix.
var attributes = map[string]string{
	"image family":      "image_family",
	"region":            "region",
	"endpoint":          "custom_endpoint_ecs",
	"STS endpoint":      "sts_endpoint",
	"timeout":           "timeout",
	"access key id":     "access_key",
	"access key secret": "secret_key",
	"security token":    "security_token",
	"role ARN":          "ram_role_arn",
	"role session name": "ram_session_name",
	"ECS RAM role name": "ram_role_name",
	"architecture":      "architecture",
	"os type":           "os_type",
	"max age":           "max_age",
	"wait":              "wait_timeout",
	"newer than":        "newer_than",
}

// attrError prefixes a core validation error with the attribute it is about.
func attrError(err error) error {
	var ve *core.ValidationError
	if errors.As(err, &ve) {
		if attr, ok := attributes[ve.Field]; ok {
			return fmt.Errorf("%s: %w", attr, err)
		}
	}
	return err
}

// markUnknown records an attribute whose value is a placeholder.
func (d *Datasource) markUnknown(attr string) {
	if !slices.Contains(d.unknown, attr) {
		d.unknown = append(d.unknown, attr)
	}
}

// standIns returns a copy of req with every placeholder replaced by a value
// the core accepts, reporting each attribute it replaced.
func standIns(req core.Request, mark func(attr string)) core.Request {
	sub := func(attr string, v *string, standIn string) {
		if *v == unknownPlaceholder {
			mark(attr)
			*v = standIn
		}
	}
	sub("custom_endpoint_ecs", &req.Endpoint, "ecs.cn-hangzhou.aliyuncs.com")
	cr := &req.Credentials
	sub("sts_endpoint", &cr.STSEndpoint, "sts.aliyuncs.com")
	sub("ram_role_arn", &cr.AssumeRoleARN, "acs:ram::1000000000000000:role/unknown")
	sub("ram_session_name", &cr.RoleSessionName, "unknown")
	sub("ram_role_name", &cr.ECSRoleName, "unknown")
	sub("access_key", &cr.AccessKeyID, "unknown")
	sub("secret_key", &cr.AccessKeySecret, "unknown")
	sub("security_token", &cr.SecurityToken, "unknown")
	sub("profile", &cr.Profile, "unknown")
	sub("shared_credentials_file", &cr.ProfileFile, "unknown")
	sub("newer_than", &req.NewerThan, "")
	return req
}

// Execute resolves the family in every region. Every network call happens
// here.
func (d *Datasource) Execute() (cty.Value, error) {
	null := cty.NullVal(cty.EmptyObject)
	if len(d.unknown) > 0 {
		sort.Strings(d.unknown)
		return null, fmt.Errorf("cannot resolve image family: %s not known yet (it depends on a value Packer has not computed)", strings.Join(d.unknown, ", "))
	}
	if d.emptyRegions || len(d.regions) == 0 {
		return null, errors.New("regions is empty: list at least one region id, such as [\"cn-hangzhou\"], or set region")
	}
	req := d.req
	if logEnabled() {
		// The core redacts every secret from this trace; with PACKER_LOG
		// set, Packer copies the plugin's log into its own.
		req.Debug = logWriter{}
	}
	// Packer gives a data source no UI: retries and wait progress go to the
	// plugin log, which Packer shows with PACKER_LOG=1. (Packer 1.15.1 reads
	// a plugin's stderr only into that same log; nothing a plugin writes
	// reaches the terminal otherwise.) The core escapes what these lines
	// quote from the server.
	req.Retry.OnRetry = func(n core.RetryNotice) {
		log.Printf("[INFO] alicloud-image-family: %s", n)
	}
	req.OnProgress = func(p core.WaitProgress) {
		log.Printf("[INFO] alicloud-image-family: family %s: %s", safetext.Quote(req.Family, 160), p)
	}
	req.Guards.Now = d.now
	if d.prepare != nil {
		d.prepare(&req)
	}
	regions := d.regions
	log.Printf("[INFO] alicloud-image-family: resolving family %s in %s",
		safetext.Quote(req.Family, 160), regionList(regions))

	results, err := core.ResolveRegions(context.Background(), req, regions, 0)
	if err != nil {
		// Configure ran the same checks: this is not expected to happen.
		return null, safeError(fmt.Errorf("resolving image family %s in %s: %w", safetext.Quote(req.Family, 160), regionList(regions), attrError(err)))
	}

	ids := map[string]string{}
	var first *core.Result
	var failed, missing []error
	var credErr error
	var missingRegions []string
	for i := range results {
		r := &results[i]
		switch {
		case r.Err == nil:
			// The core checked the answer; the log line escapes what came
			// from the server anyway, as every line the data source prints
			// does.
			log.Printf("[INFO] alicloud-image-family: family %s in region %s resolved to %s (created %s)",
				safetext.Quote(req.Family, 160), safetext.Terminal(r.Region),
				safetext.Excerpt(r.Image.ImageID, 160), safetext.Excerpt(r.Image.CreationTime, 64))
			ids[r.Region] = r.Image.ImageID
			if first == nil {
				first = r
			}
		case errors.Is(r.Err, core.ErrNotFound):
			missing = append(missing, describe(r.Err, req.Family, r.Region))
			missingRegions = append(missingRegions, r.Region)
		case errors.As(r.Err, new(*core.CredentialsError)):
			// Credentials are obtained once for every region: one failure,
			// reported once.
			if credErr == nil {
				credErr = r.Err
			}
		default:
			failed = append(failed, describe(guardDiagnostic(r.Err), req.Family, r.Region))
		}
	}
	if credErr != nil {
		e := describe(credErr, req.Family, regions[0])
		if len(regions) > 1 {
			e = fmt.Errorf("resolving image family %q in %s: %w", req.Family, regionList(regions), credErr)
		}
		failed = append([]error{e}, failed...)
	}
	if len(missing) > 0 && d.config.IgnoreMissingRegions && first != nil {
		log.Printf("[INFO] alicloud-image-family: ignore_missing_regions: no available image of family %s in %s; left out of image_ids",
			safetext.Quote(req.Family, 160), regionList(missingRegions))
		missing = nil
	}
	// Other failures first: they are never ignored.
	if errs := append(failed, missing...); len(errs) > 0 {
		return null, safeError(regionsError(errs, len(regions), first == nil && d.config.IgnoreMissingRegions && len(failed) == 0))
	}
	if want := d.config.ExpectedImageID; want != "" {
		if changes := core.Changes(map[string]string{first.Region: want}, results); len(changes) > 0 {
			return null, safeError(&DriftError{Family: req.Family, Change: changes[0]})
		}
	}
	// The outputs are machine values: they stay exact, never escaped.
	return hcl2helper.HCL2ValueFromConfig(toOutput(first.Image, first.Region, ids), d.OutputSpec()), nil
}

// regionList is "region R" or "regions R1, R2".
func regionList(regions []string) string {
	if len(regions) == 1 {
		return "region " + regions[0]
	}
	return "regions " + strings.Join(regions, ", ")
}

// regionsError is the diagnostic for the regions that failed: the error
// itself when one did, else one line naming how many failed and each
// error, all of them visible to errors.Is and errors.As. noneFound says that
// ignore_missing_regions was set but no region had an image.
func regionsError(errs []error, total int, noneFound bool) error {
	if len(errs) == 1 && !noneFound {
		return errs[0]
	}
	format := fmt.Sprintf("%d of %d regions failed: ", len(errs), total)
	if noneFound {
		format = fmt.Sprintf("none of the %d regions has an available image (ignore_missing_regions needs at least one): ", total)
	}
	args := make([]any, len(errs))
	for i, e := range errs {
		if i > 0 {
			format += "; "
		}
		format += "%w"
		args[i] = e
	}
	return fmt.Errorf(format, args...)
}

// maxDiagnostic bounds the text of a diagnostic. The core's messages are one
// line of at most 2 KiB; the guard errors are shorter still.
const maxDiagnostic = 4096

// safeError wraps the error Execute returns, which Packer prints as the
// diagnostic on the data block: its text is one bounded line with every
// control character, escape sequence and bidi override written visibly, so
// an endpoint cannot start a line of Packer's output, recolour the terminal
// or retitle the window through it, whatever the layers below let through.
// errors.Is and errors.As still see the error it wraps. (The type has no
// doc comment of its own so that struct-markdown makes no docs partial of
// it.)
func safeError(err error) error {
	if err == nil {
		return nil
	}
	return &printableError{err: err}
}

type printableError struct{ err error }

func (e *printableError) Error() string { return safetext.Excerpt(e.err.Error(), maxDiagnostic) }
func (e *printableError) Unwrap() error { return e.err }

// describe makes sure the diagnostic Packer prints names the family and the
// region. The core's API and not-found errors already do (with the
// RequestId), and so do its refused-answer and timeout errors for the ECS
// call (their operation names both); credential, transport and validation
// errors do not, so they get a prefix. Nothing is added twice.
func describe(err error, family, region string) error {
	var apiErr *core.APIError
	var nf *core.NotFoundError
	switch {
	case errors.As(err, &nf):
		return err
	case errors.As(err, &apiErr) && apiErr.Family == family && apiErr.Region == region:
		return err
	}
	if msg := err.Error(); strings.Contains(msg, fmt.Sprintf("family %q", family)) && strings.Contains(msg, "in region "+region) {
		return err
	}
	return fmt.Errorf("resolving image family %q in region %s: %w", family, region, err)
}

type logWriter struct{}

// Write hands a line of the core's trace to the standard logger. Going
// through log.Print rather than writing to log.Writer() directly serialises
// the trace with every other log line (the logger's lock) and gives it the
// same prefix: the core may still write a line from an SDK call it gave up
// on at the deadline, after Resolve has returned, concurrently with the
// data source's own lines. (The type has no doc comment of its own so that
// struct-markdown makes no docs partial of it.)
func (logWriter) Write(p []byte) (int, error) {
	log.Print(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// logEnabled mirrors Packer's own rule for PACKER_LOG: set and not "0".
func logEnabled() bool {
	v := os.Getenv("PACKER_LOG")
	return v != "" && v != "0"
}
