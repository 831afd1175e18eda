package family

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	"github.com/zclconf/go-cty/cty"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Execute resolves the family in every region. Every network call happens
// here.
//
// A panic is returned as an error (an *imagefamily.InternalError, "internal
// error: ...; this is a bug, please report it"), never passed on: in a
// plugin it would kill the process mid-RPC and Packer would show a crash
// instead of a diagnostic. The core returns a panic in a region's goroutine
// as that region's error.
func (d *Datasource) Execute() (v cty.Value, err error) {
	null := cty.NullVal(cty.EmptyObject)
	defer func() {
		if r := recover(); r != nil {
			v, err = null, d.internalError(r)
		}
	}()
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
	// reaches the terminal otherwise.)
	req.Retry.OnRetry = func(n imagefamily.RetryNotice) {
		logf("[INFO] alicloud-image-family: %s", n)
	}
	req.OnProgress = func(p imagefamily.WaitProgress) {
		logf("[INFO] alicloud-image-family: family %s: %s", safetext.Quote(req.Family, 160), p)
	}
	req.Guards.Now = d.now
	if d.prepare != nil {
		d.prepare(&req)
	}
	regions := d.regions
	logf("[INFO] alicloud-image-family: resolving family %s in %s",
		safetext.Quote(req.Family, 160), regionList(regions))

	results, err := imagefamily.ResolveRegions(context.Background(), req, regions, 0)
	if err != nil {
		// Configure ran the same checks: this is not expected to happen.
		return null, safeError(fmt.Errorf("resolving image family %s in %s: %w", safetext.Quote(req.Family, 160), regionList(regions), attributes.Refusal(err)))
	}

	ids := map[string]string{}
	var failed, missing []error
	var credErr error
	var missingRegions []string
	for i := range results {
		r := &results[i]
		switch {
		case r.Err == nil:
			// The core checked the answer; logf escapes the line anyway,
			// as it does every line the data source logs.
			logf("[INFO] alicloud-image-family: family %s in region %s resolved to %s (created %s)",
				safetext.Quote(req.Family, 160), r.Region,
				safetext.Excerpt(r.Image.ImageID, 160), safetext.Excerpt(r.Image.CreationTime, 64))
			ids[r.Region] = r.Image.ImageID
		case errors.Is(r.Err, imagefamily.ErrNotFound):
			missing = append(missing, describe(r.Err, req.Family, r.Region))
			missingRegions = append(missingRegions, r.Region)
		case errors.As(r.Err, new(*imagefamily.CredentialsError)):
			// Credentials are obtained once for every region: one failure,
			// reported once.
			if credErr == nil {
				credErr = r.Err
			}
		default:
			failed = append(failed, describe(guardDiagnostic(r.Err), req.Family, r.Region))
		}
	}
	// The single-image attributes describe the first region, in the order
	// of region then regions, that has an image: the rule of every front
	// (imagefamily.FirstFound).
	first, found := imagefamily.FirstFound(results)
	if credErr != nil {
		// With the guidance in the data source's attributes, over lines.
		credErr = attributes.NoCredentials(credErr)
		e := describe(credErr, req.Family, regions[0])
		if len(regions) > 1 {
			e = fmt.Errorf("resolving image family %q in %s: %w", req.Family, regionList(regions), credErr)
		}
		failed = append([]error{e}, failed...)
	}
	if len(missing) > 0 && d.config.IgnoreMissingRegions && found {
		logf("[INFO] alicloud-image-family: ignore_missing_regions: no available image of family %s in %s; left out of image_ids",
			safetext.Quote(req.Family, 160), regionList(missingRegions))
		missing = nil
	}
	// Other failures first: they are never ignored.
	if errs := append(failed, missing...); len(errs) > 0 {
		return null, safeError(regionsError(errs, len(regions), !found && d.config.IgnoreMissingRegions && len(failed) == 0))
	}
	if want := d.config.ExpectedImageID; want != "" {
		if changes := imagefamily.Changes(map[string]string{first.Region: want}, results); len(changes) > 0 {
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

type logWriter struct{}

// Write hands a line of the core's trace to the standard logger. Going
// through logf (log.Print) rather than writing to log.Writer() directly serialises
// the trace with every other log line (the logger's lock) and gives it the
// same prefix: the core may still write a line from an SDK call it gave up
// on at the deadline, after Resolve has returned, concurrently with the
// data source's own lines. (The type has no doc comment of its own so that
// struct-markdown makes no docs partial of it.)
func (logWriter) Write(p []byte) (int, error) {
	logf("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// logEnabled mirrors Packer's own rule for PACKER_LOG: set and not "0".
func logEnabled() bool {
	v := os.Getenv("PACKER_LOG")
	return v != "" && v != "0"
}

// internalError is the diagnostic of a panic recovered in Configure or
// Execute: the panic value without any secret of the block or the
// environment, escaped and bounded (imagefamily.NewInternalError).
func (d *Datasource) internalError(r any) error {
	c := d.req.Credentials
	return safeError(fmt.Errorf("alicloud-image-family: %w", imagefamily.NewInternalError("", r, c,
		d.config.SecretKey, d.config.SecurityToken)))
}
