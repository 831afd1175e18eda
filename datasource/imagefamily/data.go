//go:generate go run ../../internal/fieldgen
//go:generate ../../scripts/struct-markdown.sh
//go:generate ../../scripts/struct-markdown.sh output.go
//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput,DiskDeviceMapping
//go:generate ../../scripts/render-docs.sh

// Package imagefamily is the Packer data source `alicloud-image-family`: it
// resolves an Alibaba Cloud image family to its newest available image.
//
// It is a thin adapter. Configure maps HCL attributes onto the core's
// Request and runs the core's offline checks; Execute calls the core's
// Resolve and maps the Image onto the data source's outputs. The only logic
// of its own is what only Packer users get: the architecture, os_type and
// max_age guards.
package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
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
	// the newest image of the family whose status is `Available`. 2 to 128
	// characters: letters, digits, `:`, `_` and `-`, starting with a letter,
	// not starting with `aliyun`, `acs:`, `http://` or `https://`.
	ImageFamily string `mapstructure:"image_family" required:"true"`

	// The region to look in, such as `cn-hangzhou`. Image families are
	// regional. Defaults to the `ALICLOUD_REGION` environment variable, then
	// `ALIBABA_CLOUD_REGION_ID`, then the `region_id` of the aliyun CLI
	// profile in use (as the aliyun CLI does); one of them must be set.
	Region string `mapstructure:"region" required:"false"`

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
}

// Datasource implements packersdk.Datasource.
type Datasource struct {
	config Config

	// req is the core request Configure built; Execute sends it.
	req core.Request
	// unknown lists the attributes that held placeholders for values Packer
	// had not computed yet (packer validate); Execute refuses to run with any.
	unknown []string
	// Parsed guards.
	maxAge time.Duration

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
// arrive as 0 and booleans as false). See hcl2shim.WriteUnknownPlaceholderValues.
const unknownPlaceholder = "<unknown>"

// Environment variables for the region, in the order they are read: the
// official alicloud builder's name first, then the Alibaba Cloud SDK's.
var regionEnv = []string{"ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID"}

// Accepted guard values, as the API spells them.
var (
	architectures = []string{"x86_64", "arm64", "i386"}
	osTypes       = []string{"linux", "windows"}
)

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
	d.maxAge = 0
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

	if c.Region == "" {
		for _, name := range regionEnv {
			if v := os.Getenv(name); v != "" {
				c.Region = v
				break
			}
		}
	}
	var profileRegionErr error
	if c.Region == "" && c.Profile != unknownPlaceholder && c.SharedCredentialsFile != unknownPlaceholder {
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

	var errs *packersdk.MultiError
	add := func(err error) { errs = packersdk.MultiErrorAppend(errs, err) }
	known := func(attr, v string) bool {
		if v == unknownPlaceholder {
			d.markUnknown(attr)
			return false
		}
		return v != ""
	}

	if c.ImageFamily == "" {
		add(errors.New("image_family is required: give the name of the image family to resolve, such as \"web-base\""))
	}
	if profileRegionErr != nil {
		add(fmt.Errorf("region: %w", profileRegionErr))
	} else if c.Region == "" {
		add(errors.New("region is required: set region, the ALICLOUD_REGION or ALIBABA_CLOUD_REGION_ID environment variable, or region_id in the aliyun CLI profile"))
	}

	req := core.Request{
		Region: c.Region,
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
	if known("architecture", c.Architecture) && !oneOf(c.Architecture, architectures) {
		add(fmt.Errorf("architecture %q is not one the API reports: use one of %s", c.Architecture, strings.Join(architectures, ", ")))
	}
	if known("os_type", c.OSType) && !oneOf(c.OSType, osTypes) {
		add(fmt.Errorf("os_type %q is not one the API reports: use one of %s", c.OSType, strings.Join(osTypes, ", ")))
	}
	if known("max_age", c.MaxAge) {
		age, err := parseAge(c.MaxAge)
		if err != nil {
			add(fmt.Errorf("max_age %q: %v", c.MaxAge, err))
		} else {
			d.maxAge = age
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
	if known("region", c.Region) {
		if err := core.ValidateRegion(c.Region); err != nil {
			add(attrError(err))
		}
	}
	if err := core.ValidateSettings(standIns(req, d.markUnknown)); err != nil {
		add(attrError(err))
	}

	d.req = req
	if errs != nil && len(errs.Errors) > 0 {
		return errs
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
	for _, a := range d.unknown {
		if a == attr {
			return
		}
	}
	d.unknown = append(d.unknown, attr)
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
	return req
}

// Execute resolves the family. Every network call happens here.
func (d *Datasource) Execute() (cty.Value, error) {
	null := cty.NullVal(cty.EmptyObject)
	if len(d.unknown) > 0 {
		sort.Strings(d.unknown)
		return null, fmt.Errorf("cannot resolve image family: %s not known yet (it depends on a value Packer has not computed)", strings.Join(d.unknown, ", "))
	}
	req := d.req
	if logEnabled() {
		// The core redacts every secret from this trace; with PACKER_LOG
		// set, Packer copies the plugin's log into its own.
		req.Debug = logWriter{}
	}
	if d.prepare != nil {
		d.prepare(&req)
	}
	log.Printf("[INFO] alicloud-image-family: resolving family %s in region %s",
		safetext.Quote(req.Family, 160), safetext.Terminal(req.Region))

	img, err := core.Resolve(context.Background(), req)
	if err != nil {
		return null, safeError(describe(err, req.Family, req.Region))
	}
	if err := d.checkGuards(img, img.RequestID); err != nil {
		return null, safeError(err)
	}
	// The core checked the answer; the log line escapes what came from the
	// server anyway, as every line the data source prints does.
	log.Printf("[INFO] alicloud-image-family: family %s in region %s resolved to %s (created %s)",
		safetext.Quote(req.Family, 160), safetext.Terminal(req.Region),
		safetext.Excerpt(img.ImageID, 160), safetext.Excerpt(img.CreationTime, 64))
	// The outputs are machine values: they stay exact, never escaped.
	return hcl2helper.HCL2ValueFromConfig(toOutput(img, req.Region, nil), d.OutputSpec()), nil
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
