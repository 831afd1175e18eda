package family

import (
	"fmt"
	"slices"

	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/packeraccess"
)

// attributes are the post-processor's names for the core's settings: a
// refusal reads "invalid <attribute> "<value>": <rule>", as on every front.
var attributes = packeraccess.Attributes(map[string]string{
	"image family": "image_family",
	"image ids":    "image_ids",
	"timeout":      "timeout",
	"wait":         "wait_timeout",
})

// Stand-ins for settings not known yet (or not given: the images may come
// from the artifact), so that the core's check of the rest of the request
// runs.
const (
	standInFamily = "stand-in"
	standInRegion = "cn-hangzhou"
	standInImage  = "m-standin000000000001"
)

// Configure decodes and checks the block, reporting every refused attribute
// at once: the access part and the promotion part read their attributes
// (Prepare), then the core checks the whole request in one call. It never
// touches the network and needs no credentials, so `packer validate` works
// anywhere.
func (p *PostProcessor) Configure(raws ...any) (err error) {
	p.config, p.req, p.unknown = Config{}, imagefamily.PromoteRequest{}, nil
	defer func() {
		if r := recover(); r != nil {
			err = p.internalError(r)
		}
	}()
	// Interpolate is off, as for the data source: in HCL2 templates,
	// Go-template interpolation ({{ ... }}) has no business rewriting a
	// secret that happens to contain braces.
	if err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:  "packer.post-processor.alicloud-image-family",
		Interpolate: false,
	}, raws...); err != nil {
		return err
	}
	errs := append(p.config.Config.Prepare(&p.req.Request), p.config.Prepare(&p.req)...)
	return packeraccess.Diagnostics(attributes, append(errs, imagefamily.Problems(imagefamily.ValidatePromote(p.check()))...)...)
}

// Prepare reads the promotion attributes into req: the family, the
// durations and dry_run. The images are the core's to check with the rest
// (PostProcess takes them from image_ids or the artifact).
func (c *Config) Prepare(req *imagefamily.PromoteRequest) []error {
	req.Family, req.Front, req.DryRun = c.ImageFamily, imagefamily.FrontPacker, c.DryRun
	var errs []error
	if c.Timeout != "" && c.Timeout != packeraccess.UnknownPlaceholder {
		t, err := imagefamily.ParseDuration("timeout", c.Timeout, imagefamily.MinTimeout, imagefamily.MaxTimeout)
		errs, req.Timeout = append(errs, err), t
	}
	if c.WaitTimeout != "" && c.WaitTimeout != packeraccess.UnknownPlaceholder {
		w, err := imagefamily.ParseDuration("wait", c.WaitTimeout, 0, imagefamily.MaxWait)
		errs, req.Wait = append(errs, err), w
	}
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// check is the request the core checks offline: the images of image_ids
// that are known (stand-ins when there are none), and stand-ins for every
// setting Packer has not computed yet; the durations were read above.
func (p *PostProcessor) check() imagefamily.PromoteRequest {
	c := &p.config
	check := p.req
	packeraccess.StandIns(&check.Request, p.markUnknown)
	check.Timeout, check.Wait, check.Retry.MaxAttempts = 0, 0, 0
	for _, attr := range []struct{ name, value string }{{"timeout", c.Timeout}, {"wait_timeout", c.WaitTimeout}} {
		if attr.value == packeraccess.UnknownPlaceholder {
			p.markUnknown(attr.name)
		}
	}
	if check.Family == packeraccess.UnknownPlaceholder {
		p.markUnknown("image_family")
		check.Family = standInFamily
	}
	check.Images = map[string]string{}
	for r, id := range c.ImageIDs {
		if r == packeraccess.UnknownPlaceholder || id == packeraccess.UnknownPlaceholder {
			p.markUnknown("image_ids")
			continue
		}
		check.Images[r] = id
	}
	if len(check.Images) == 0 {
		check.Images[standInRegion] = standInImage
	}
	return check
}

// markUnknown records an attribute whose value is a placeholder.
func (p *PostProcessor) markUnknown(attr string) {
	if !slices.Contains(p.unknown, attr) {
		p.unknown = append(p.unknown, attr)
	}
}

// internalError is the error of a panic recovered in Configure or
// PostProcess: the panic value without any secret, escaped and bounded.
func (p *PostProcessor) internalError(r any) error {
	return fmt.Errorf("alicloud-image-family: %w", imagefamily.NewInternalError("", r, p.req.Credentials,
		p.config.SecretKey, p.config.SecurityToken))
}
