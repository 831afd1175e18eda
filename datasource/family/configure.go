package family

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/packeraccess"
)

// Environment variables for the region, in the order they are read: the
// official alicloud builder's name first, then the Alibaba Cloud SDK's.
var regionEnv = []string{"ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID"}

// Configure decodes and checks the block. It never touches the network and
// needs no credentials, so `packer validate` works anywhere. A panic is
// returned as an error, as in Execute.
func (d *Datasource) Configure(raws ...any) (err error) {
	d.config = Config{}
	d.unknown = nil
	d.regions = nil
	d.emptyRegions = false
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
	c := &d.config
	if testHookConfigure != nil {
		testHookConfigure(c)
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
	// The aliyun CLI profile the block names (profile,
	// shared_credentials_file) is read before the region is looked for,
	// since the region may come from it: a profile or file that is not
	// there is reported naming the attribute, not as a missing region
	// (imagefamily.ValidateProfile). A profile the environment selects is
	// the machine's, not the template's: the core checks it when Execute
	// looks up, and ProfileRegion when it is read for the region.
	profileKnown := c.Profile != unknownPlaceholder && c.SharedCredentialsFile != unknownPlaceholder
	var profileErr error
	if profileKnown && (c.Profile != "" || c.SharedCredentialsFile != "") {
		profileErr = imagefamily.ValidateProfile(imagefamily.Credentials{
			AccessKeyID: c.AccessKey, AccessKeySecret: c.SecretKey, ECSRoleName: c.RAMRoleName,
			Profile: c.Profile, ProfileFile: c.SharedCredentialsFile})
		if profileErr != nil {
			add(attrError(profileErr))
		}
	}
	var profileRegionErr error
	if c.Region == "" && !regionsGiven && profileKnown && profileErr == nil {
		// Like the aliyun CLI: the selected profile's region_id. The output
		// attribute `region` says which region was used.
		region, from, err := imagefamily.ProfileRegion(imagefamily.Credentials{Profile: c.Profile, ProfileFile: c.SharedCredentialsFile})
		if err != nil {
			profileRegionErr = err
		} else if region != "" {
			logf("[INFO] alicloud-image-family: region %s from %s", region, from)
			c.Region = region
		}
	}
	if known("region", c.Region) {
		if err := imagefamily.ValidateRegion(c.Region); err != nil {
			add(attrError(err))
		} else {
			d.addRegion(c.Region)
		}
	}
	for _, r := range c.Regions {
		if !known("regions", r) {
			if r == "" {
				add(&imagefamily.ValidationError{Field: "regions", Value: "", Rule: `an element is empty: give region ids such as "cn-hangzhou"`})
			}
			continue
		}
		if err := imagefamily.ValidateRegion(r); err != nil {
			add(regionsAttrError(err))
			continue
		}
		d.addRegion(r)
	}
	d.emptyRegions = regionsGiven && len(c.Regions) == 0 && c.Region == ""

	if c.ImageFamily == "" {
		add(attrError(imagefamily.ValidateFamily(c.ImageFamily)))
	}
	if profileRegionErr != nil {
		// A region_id that is not a region names the attribute region; a
		// profile the environment names but the file lacks, the variable.
		add(attrError(profileRegionErr))
	} else if profileErr == nil && c.Region == "" && !regionsGiven {
		add(errors.New("region is required: set region or regions, the ALICLOUD_REGION or ALIBABA_CLOUD_REGION_ID environment variable, or region_id in the aliyun CLI profile"))
	}

	req := imagefamily.Request{
		Family:      c.ImageFamily,
		Credentials: c.Credentials(),
		Endpoint:    c.CustomEndpointECS,
		Front:       imagefamily.FrontPacker,
		Guards: imagefamily.Guards{
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
		t, err := imagefamily.ParseDuration("timeout", c.Timeout, imagefamily.MinTimeout, imagefamily.MaxTimeout)
		if err != nil {
			add(attrError(err))
		} else {
			req.Timeout = t
		}
	}
	if n, err := c.Attempts(); err != nil {
		add(err)
	} else {
		req.Retry.MaxAttempts = n
	}
	if known("max_age", c.MaxAge) {
		age, err := imagefamily.ParseMaxAge("max age", c.MaxAge)
		if err != nil {
			add(attrError(err))
		} else {
			req.Guards.MaxAge = age
		}
	}
	waitKnown := known("wait_timeout", c.WaitTimeout)
	if waitKnown {
		w, err := imagefamily.ParseDuration("wait", c.WaitTimeout, 0, imagefamily.MaxWait)
		if err != nil {
			add(attrError(err))
			waitKnown = false
		} else {
			req.Wait = w
		}
	}
	// Each guard on its own, so that every bad one is reported.
	for _, g := range []struct {
		attr, value string
		guards      imagefamily.Guards
	}{
		{"architecture", c.Architecture, imagefamily.Guards{Architecture: c.Architecture}},
		{"os_type", c.OSType, imagefamily.Guards{OSType: c.OSType}},
	} {
		if known(g.attr, g.value) {
			if err := imagefamily.ValidateSettings(imagefamily.Request{Guards: g.guards}); err != nil {
				add(attrError(err))
			}
		}
	}
	for _, o := range c.Owners {
		// Each owner on its own, so that every bad one is reported; one
		// Packer has not computed yet is checked when the build has it.
		if o == unknownPlaceholder {
			d.markUnknown("owners")
			continue
		}
		if err := imagefamily.ValidateSettings(imagefamily.Request{Guards: imagefamily.Guards{Owners: []string{o}}}); err != nil {
			add(attrError(err))
			continue
		}
		req.Guards.Owners = append(req.Guards.Owners, o)
	}
	known("newer_than", c.NewerThan)

	if known("expected_image_id", c.ExpectedImageID) {
		if err := checkExpected(c.ExpectedImageID); err != nil {
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
		if err := imagefamily.ValidateFamily(c.ImageFamily); err != nil {
			add(attrError(err))
		}
	}
	check := standIns(req, d.markUnknown)
	check.Guards = imagefamily.Guards{} // checked above
	if c.WaitTimeout != "" && !waitKnown && check.NewerThan != "" {
		// A wait that is unknown (or refused above) must not also make
		// newer_than look like it has no wait.
		check.Wait = time.Minute
	}
	if err := imagefamily.ValidateSettings(check); err != nil {
		add(attrError(err))
	}

	d.req = req
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// testHookConfigure, when set, runs in Configure once the block is decoded.
// It is nil in production; tests set it to make Configure panic.
var testHookConfigure func(*Config)

// addRegion appends a region unless it is listed already.
func (d *Datasource) addRegion(r string) {
	if !slices.Contains(d.regions, r) {
		d.regions = append(d.regions, r)
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
func (d *Datasource) markUnknown(attr string) {
	if !slices.Contains(d.unknown, attr) {
		d.unknown = append(d.unknown, attr)
	}
}

// standIns returns a copy of req with every placeholder replaced by a value
// the core accepts, reporting each attribute it replaced.
func standIns(req imagefamily.Request, mark func(attr string)) imagefamily.Request {
	packeraccess.StandIns(&req, mark)
	if req.NewerThan == unknownPlaceholder {
		mark("newer_than")
		req.NewerThan = ""
	}
	return req
}
