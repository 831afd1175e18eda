package family

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/packeraccess"
)

// Configure decodes and checks the block, reporting every refused attribute
// at once: the access part and the lookup part read their attributes
// (Prepare), then the core checks the whole request in one call. It never
// touches the network and needs no credentials, so `packer validate` works
// anywhere. A panic is returned as an error, as in Execute.
func (d *Datasource) Configure(raws ...any) (err error) {
	d.config, d.prepared = Config{}, prepared{}
	defer func() {
		if r := recover(); r != nil {
			err = d.internalError(r)
		}
	}()
	// Interpolate is off: data sources exist only in HCL2 templates, where
	// Go-template interpolation of strings ({{ ... }}) has no business
	// rewriting a secret that happens to contain braces.
	if err := config.Decode(&d.config, &config.DecodeOpts{
		PluginType:  "packer.datasource.alicloud-image-family",
		Interpolate: false,
	}, raws...); err != nil {
		return err
	}
	if testHookConfigure != nil {
		testHookConfigure(&d.config)
	}
	errs := append(d.config.Config.Prepare(&d.req), d.config.Prepare(&d.prepared)...)
	return packeraccess.Diagnostics(attributes, append(errs, imagefamily.Problems(imagefamily.Validate(d.check()))...)...)
}

// testHookConfigure, when set, runs in Configure once the block is decoded.
// It is nil in production; tests set it to make Configure panic.
var testHookConfigure func(*Config)

// prepared is what Configure makes of the block.
type prepared struct {
	// req is the core request; Execute sends it.
	req imagefamily.Request
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
	// waitUnknown: wait_timeout is set but not known yet, or refused.
	waitUnknown bool
}

// Prepare reads the lookup attributes into p: the regions (region, then
// regions, else the environment or the aliyun CLI profile), the family,
// the guards, the durations and expected_image_id. It refuses what is the
// attributes' own syntax; the rules of the settings are the core's
// (Configure checks the request in one call). A placeholder is recorded
// in p.unknown and left out.
func (c *Config) Prepare(p *prepared) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	known := func(attr, v string) bool {
		if v == unknownPlaceholder {
			p.markUnknown(attr)
			return false
		}
		return v != ""
	}
	errs = append(errs, c.prepareRegions(p, known)...)
	req := &p.req
	req.Family, req.Front, req.NewerThan = c.ImageFamily, imagefamily.FrontPacker, c.NewerThan
	req.Guards = imagefamily.Guards{Architecture: c.Architecture, OSType: c.OSType}
	if known("timeout", c.Timeout) {
		t, err := imagefamily.ParseDuration("timeout", c.Timeout, imagefamily.MinTimeout, imagefamily.MaxTimeout)
		add(err)
		req.Timeout = t
	}
	if known("max_age", c.MaxAge) {
		age, err := imagefamily.ParseMaxAge("max age", c.MaxAge)
		add(err)
		req.Guards.MaxAge = age
	}
	if known("wait_timeout", c.WaitTimeout) {
		w, err := imagefamily.ParseDuration("wait", c.WaitTimeout, 0, imagefamily.MaxWait)
		add(err)
		p.waitUnknown = err != nil
		req.Wait = w
	} else {
		p.waitUnknown = c.WaitTimeout != ""
	}
	for _, o := range c.Owners {
		// One Packer has not computed yet is checked when the build has it.
		if known("owners", o) || o == "" {
			req.Guards.Owners = append(req.Guards.Owners, o)
		}
	}
	known("architecture", c.Architecture)
	known("os_type", c.OSType)
	known("newer_than", c.NewerThan)
	known("image_family", c.ImageFamily)
	if known("expected_image_id", c.ExpectedImageID) {
		add(checkExpected(c.ExpectedImageID))
		if len(p.regions) > 1 {
			add(fmt.Errorf("expected_image_id %s: it is for a single region, and %d regions are looked up (%s): drop regions, or check the image ids per region with image_ids",
				safetext.Quote(c.ExpectedImageID, 160), len(p.regions), strings.Join(p.regions, ", ")))
		}
	}
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// prepareRegions reads region and regions, each region once. The
// environment and the aliyun CLI profile supply a region only when neither
// attribute is set; a profile that the block names and that is not there
// is the core's to report (Validate reads it), not a missing region.
func (c *Config) prepareRegions(p *prepared, known func(attr, v string) bool) []error {
	regionsGiven := c.Regions != nil
	region := c.Region
	if region == "" && !regionsGiven {
		region = imagefamily.EnvRegion(nil)
	}
	profileKnown := c.Profile != unknownPlaceholder && c.SharedCredentialsFile != unknownPlaceholder
	if region == "" && !regionsGiven && profileKnown {
		// Like the aliyun CLI: the selected profile's region_id. The output
		// attribute `region` says which region was used.
		r, from, err := imagefamily.ProfileRegion(imagefamily.Credentials{Profile: c.Profile, ProfileFile: c.SharedCredentialsFile})
		switch {
		case err != nil && from == "" && (c.Profile != "" || c.SharedCredentialsFile != ""):
			return nil // the profile the block names: the core reports it
		case err != nil:
			// A region_id that is not a region names the attribute region;
			// a profile the environment names but the file lacks, the
			// variable.
			return []error{err}
		case r != "":
			logf("[INFO] alicloud-image-family: region %s from %s", r, from)
			region = r
		}
	}
	var errs []error
	if known("region", region) {
		if err := imagefamily.ValidateRegion(region); err != nil {
			errs = append(errs, err)
		} else {
			p.addRegion(region)
		}
	}
	for _, r := range c.Regions {
		switch {
		case r == "":
			errs = append(errs, &imagefamily.ValidationError{Field: "regions", Value: "", Rule: `an element is empty: give region ids such as "cn-hangzhou"`})
		case !known("regions", r):
		case imagefamily.ValidateRegion(r) != nil:
			errs = append(errs, regionsAttrError(imagefamily.ValidateRegion(r)))
		default:
			p.addRegion(r)
		}
	}
	p.emptyRegions = regionsGiven && len(c.Regions) == 0 && region == ""
	if region == "" && !regionsGiven {
		errs = append(errs, errors.New("region is required: set region or regions, the ALICLOUD_REGION or ALIBABA_CLOUD_REGION_ID environment variable, or region_id in the aliyun CLI profile"))
	}
	if len(p.regions) > 0 {
		p.req.Region = p.regions[0]
	}
	return errs
}

// check is the request the core checks offline: values Packer has not
// computed yet, and the region when it is missing or refused (reported
// above), replaced by stand-ins the core accepts, so that what is known is
// still checked during `packer validate`. Its environment is the
// template's, not the machine's (templateEnv): the lookup checks the
// machine's when it runs.
func (d *Datasource) check() imagefamily.Request {
	check := d.req
	packeraccess.StandIns(&check, d.markUnknown)
	check.Credentials.Getenv = templateEnv
	standIn := func(v *string, s string) {
		if *v == unknownPlaceholder {
			*v = s
		}
	}
	standIn(&check.Family, "stand-in")
	standIn(&check.NewerThan, "")
	standIn(&check.Guards.Architecture, "")
	standIn(&check.Guards.OSType, "")
	if check.Region == "" {
		check.Region = "cn-hangzhou"
	}
	if d.waitUnknown && check.NewerThan != "" {
		// A wait that is unknown (or refused above) must not also make
		// newer_than look like it has no wait.
		check.Wait = time.Minute
	}
	return check
}

// addRegion appends a region unless it is listed already.
func (p *prepared) addRegion(r string) {
	if !slices.Contains(p.regions, r) {
		p.regions = append(p.regions, r)
	}
}

// checkExpected checks that expected_image_id is one image id, with the
// core's rule (ValidateImageID), before anything is sent.
func checkExpected(id string) error {
	if strings.ContainsAny(id, ",; \t\r\n=") {
		return fmt.Errorf("expected_image_id %s: give one image id, such as m-bp1g7004ksh0oeuc0001", safetext.Quote(id, 160))
	}
	var ve *imagefamily.ValidationError
	if errors.As(imagefamily.ValidateImageID("expected_image_id", id), &ve) {
		return fmt.Errorf("expected_image_id %s: %s", safetext.Quote(id, 160), ve.Rule)
	}
	return nil
}

// markUnknown records an attribute whose value is a placeholder.
func (p *prepared) markUnknown(attr string) {
	if !slices.Contains(p.unknown, attr) {
		p.unknown = append(p.unknown, attr)
	}
}

// templateEnv is the environment of the offline check: nothing but
// ALIBABACLOUD_IGNORE_PROFILE, so that `packer validate` reads an aliyun
// CLI profile only when the block names one, and checks the ECS endpoint
// only when the block sets it.
func templateEnv(name string) string {
	if name == "ALIBABACLOUD_IGNORE_PROFILE" {
		return "true"
	}
	return ""
}
