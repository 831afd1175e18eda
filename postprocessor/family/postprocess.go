package family

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// maxLine bounds one line the post-processor prints from the core's errors.
const maxLine = 2048

// PostProcess promotes the images and returns an artifact of the same ids.
// Every network call happens here. The input artifact is always kept: the
// images are the builder's, promotion only changes their attributes.
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, in packersdk.Artifact) (a packersdk.Artifact, keep, forceOverride bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, p.internalError(r)
		}
	}()
	keep, forceOverride = true, true
	ui = escapingUI{ui}
	if len(p.unknown) > 0 {
		sort.Strings(p.unknown)
		return nil, keep, forceOverride, fmt.Errorf("alicloud-image-family: %s not known yet (it depends on a value Packer has not computed)", strings.Join(p.unknown, ", "))
	}
	images, err := p.images(ui, in)
	if err != nil {
		return nil, keep, forceOverride, fmt.Errorf("alicloud-image-family: %w", err)
	}
	req := p.req
	req.Images = images
	// The UI is shared by the regions' goroutines.
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		ui.Message(fmt.Sprintf(format, args...))
	}
	req.Retry.OnRetry = func(n imagefamily.RetryNotice) { say("%s", n) }
	req.OnProgress = func(w imagefamily.WaitProgress) { say("%s", w) }
	if p.prepare != nil {
		p.prepare(&req)
	}
	family := safetext.Quote(req.Family, 160)
	verb := "Promoting"
	if req.DryRun {
		verb = "Dry run (nothing is changed): checking the promotion of"
	}
	ui.Say(fmt.Sprintf("%s %s into image family %s: %s", verb, imageCount(len(images)), family, joinImages(images)))

	out, err := imagefamily.Promote(ctx, req)
	if err != nil {
		// Configure ran the same checks: not expected to happen.
		return nil, keep, forceOverride, fmt.Errorf("alicloud-image-family: %w", attributes.Refusal(err))
	}
	var failures []string
	for _, o := range out {
		if o.Err != nil && imagefamily.IsInputError(o.Err) {
			// No credentials: found before anything was sent, the same in
			// every region; said once, with the attributes that give them.
			return nil, keep, forceOverride, fmt.Errorf("alicloud-image-family: %s", strings.Join(imagefamily.MessageLines(attributes.NoCredentials(o.Err)), "\n"))
		}
		line := outcomeLine(o)
		if o.Outcome == imagefamily.Failed || o.Outcome == imagefamily.Superseded {
			ui.Error(line)
			failures = append(failures, fmt.Sprintf("%s %s", o.Region, o.Outcome))
		} else {
			ui.Message(line)
		}
	}
	if len(failures) > 0 {
		return nil, keep, forceOverride, fmt.Errorf("alicloud-image-family: promoting into image family %s failed in %d of %d regions (%s); the lines above say why, and what changed",
			family, len(failures), len(out), strings.Join(failures, ", "))
	}
	return &Artifact{Images: images, Family: req.Family, DryRun: req.DryRun}, keep, forceOverride, nil
}

// images are image_ids when set, else the input artifact's.
func (p *PostProcessor) images(ui packersdk.Ui, in packersdk.Artifact) (map[string]string, error) {
	c := &p.config
	if c.ImageIDs != nil {
		if len(c.ImageIDs) == 0 {
			return nil, errors.New("image_ids is empty: give at least one region and image id, such as { \"cn-hangzhou\" = \"m-bp1g7004ksh0oeuc0001\" }, or leave it out to promote the alicloud-ecs builder's images")
		}
		if in != nil && (in.BuilderId() == AlicloudBuilderID || in.BuilderId() == BuilderID) {
			if id := in.Id(); id != joinImages(c.ImageIDs) {
				ui.Say(fmt.Sprintf("image_ids is set: the input artifact's images (%s) are not promoted", safetext.Excerpt(id, 400)))
			}
		}
		return c.ImageIDs, nil
	}
	if in == nil {
		return nil, errors.New("there is no input artifact: set image_ids to the images to promote")
	}
	return imagesOfArtifact(in.BuilderId(), in.Id())
}

func imageCount(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}

// outcomeLine says exactly what changed (or would change) in a region, and
// why not when nothing did; the line is bounded.
func outcomeLine(o imagefamily.RegionOutcome) string {
	if note := o.Note(); o.Err == nil && note != "" {
		// Promoted, already, dry run: every front's words (RegionOutcome.Note).
		return safetext.Excerpt(note, maxLine)
	}
	msg := fmt.Sprintf("%s: %s %s", o.Region, o.Outcome, safetext.Excerpt(o.ImageID, 128))
	if len(o.Changes) > 0 && o.Outcome != imagefamily.Failed {
		msg += " (changed: " + safetext.Excerpt(strings.Join(o.Changes, ", "), maxLine) + ")"
	}
	if o.Err != nil {
		msg += ": " + strings.Join(imagefamily.MessageLines(o.Err), " ")
	}
	return safetext.Excerpt(msg, maxLine)
}
