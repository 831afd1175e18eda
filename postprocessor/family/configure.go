package family

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
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

func attrError(err error) error { return attributes.Refusal(err) }

// Stand-ins for settings checked on their own, so that the core's check of
// the rest of the request (credentials, endpoints) runs even when they are
// refused or not known yet.
const (
	standInFamily = "stand-in"
	standInRegion = "cn-hangzhou"
	standInImage  = "m-standin000000000001"
)

// Configure decodes and checks the block, reporting every refused attribute
// at once. It never touches the network and needs no credentials, so
// `packer validate` works anywhere.
func (p *PostProcessor) Configure(raws ...any) (err error) {
	p.config = Config{}
	p.unknown = nil
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
	c := &p.config
	var errs *packersdk.MultiError
	add := func(err error) { errs = packersdk.MultiErrorAppend(errs, attrError(err)) }
	known := func(attr, v string) bool {
		if v == packeraccess.UnknownPlaceholder {
			p.markUnknown(attr)
			return false
		}
		return true
	}

	req := imagefamily.PromoteRequest{
		Request: imagefamily.Request{
			Family:      c.ImageFamily,
			Credentials: c.Credentials(),
			Endpoint:    c.CustomEndpointECS,
			Front:       imagefamily.FrontPacker,
		},
		DryRun: c.DryRun,
	}
	if known("image_family", c.ImageFamily) {
		if err := imagefamily.ValidateTargetFamily(c.ImageFamily); err != nil {
			add(err)
		}
	}
	// Each pair on its own, so that every bad one is reported, with the
	// core's rules for a region and an image id.
	regions := make([]string, 0, len(c.ImageIDs))
	for r := range c.ImageIDs {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		id := c.ImageIDs[r]
		if !known("image_ids", r) || !known("image_ids", id) {
			continue
		}
		if _, err := checkPair(r, id); err != nil {
			add(err)
		}
	}
	if c.Timeout != "" && known("timeout", c.Timeout) {
		t, err := imagefamily.ParseDuration("timeout", c.Timeout, imagefamily.MinTimeout, imagefamily.MaxTimeout)
		if err != nil {
			add(err)
		} else {
			req.Timeout = t
		}
	}
	if c.WaitTimeout != "" && known("wait_timeout", c.WaitTimeout) {
		w, err := imagefamily.ParseDuration("wait", c.WaitTimeout, 0, imagefamily.MaxWait)
		if err != nil {
			add(err)
		} else {
			req.Wait = w
		}
	}
	if n, err := c.Attempts(); err != nil {
		add(err)
	} else {
		req.Retry.MaxAttempts = n
	}

	// The core's check of the rest (profile, credentials, endpoints),
	// with the settings checked above replaced by stand-ins.
	check := req
	check.Family = standInFamily
	check.Images = map[string]string{standInRegion: standInImage}
	check.Timeout, check.Wait, check.Retry.MaxAttempts = 0, 0, 0
	packeraccess.StandIns(&check.Request, p.markUnknown)
	if err := imagefamily.ValidatePromote(check); err != nil {
		add(err)
	}

	p.req = req
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// checkPair checks one region and image id with the core's rules (the
// same as every front's image ids), whatever characters they hold.
func checkPair(region, id string) (map[string]string, error) {
	b, err := json.Marshal(map[string]string{region: id})
	if err != nil {
		return nil, err
	}
	return imagefamily.ParseExpectedJSON("image ids", b)
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
