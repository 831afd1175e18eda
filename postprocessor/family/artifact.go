package family

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

const (
	// AlicloudBuilderID is the BuilderId of the official alicloud-ecs
	// builder's artifact.
	AlicloudBuilderID = "alibaba.alicloud"
	// BuilderID is the BuilderId of this post-processor's artifact. It is
	// accepted as input too, so that two of these post-processors can be
	// chained (one family after another).
	BuilderID = "imagefamily.alicloud-image-family"
)

// Artifact is the post-processor's result: the images promoted (or, with
// dry_run, that would be), region to id.
type Artifact struct {
	Images map[string]string
	Family string
	DryRun bool
}

var _ packersdk.Artifact = (*Artifact)(nil)

func (*Artifact) BuilderId() string { return BuilderID }
func (*Artifact) Files() []string   { return nil }

// Id is the alicloud-ecs builder's format: region:id pairs sorted by
// region, joined by commas.
func (a *Artifact) Id() string { return joinImages(a.Images) }

func (a *Artifact) String() string {
	verb := "promoted into"
	if a.DryRun {
		verb = "checked (dry run, nothing changed) for"
	}
	lines := make([]string, 0, len(a.Images))
	for _, r := range sortedRegions(a.Images) {
		lines = append(lines, r+": "+a.Images[r])
	}
	return fmt.Sprintf("Alicloud images %s family %s:\n\n%s", verb, safetext.Quote(a.Family, 160), strings.Join(lines, "\n"))
}

// State: "par.artifact.metadata" is the HCP Packer registry's view, one
// image per region (provider alicloud, the region, the family as a label);
// "atlas.artifact.metadata" is the alicloud-ecs builder's own map
// (region.<region> -> id).
func (a *Artifact) State(name string) any {
	switch name {
	case registryimage.ArtifactStateURI:
		var images []*registryimage.Image
		for _, r := range sortedRegions(a.Images) {
			img, err := registryimage.FromArtifact(a,
				registryimage.WithProvider("alicloud"),
				registryimage.WithID(a.Images[r]),
				registryimage.WithRegion(r),
				registryimage.SetLabels(map[string]any{"image_family": a.Family}))
			if err != nil {
				return nil
			}
			images = append(images, img)
		}
		return images
	case "atlas.artifact.metadata":
		m := map[string]string{}
		for r, id := range a.Images {
			m["region."+r] = id
		}
		return m
	}
	return nil
}

// Destroy deletes nothing: the images belong to the build that made them
// (the builder's artifact, kept), and a family change is not undone by
// deleting images.
func (*Artifact) Destroy() error { return nil }

func sortedRegions(m map[string]string) []string {
	regions := make([]string, 0, len(m))
	for r := range m {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	return regions
}

func joinImages(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, r := range sortedRegions(m) {
		parts = append(parts, r+":"+m[r])
	}
	return strings.Join(parts, ",")
}

// maxArtifactID bounds the input artifact's id: one pair per region.
const maxArtifactID = 64 << 10

// imagesOfArtifact reads the images of the alicloud-ecs builder's artifact
// (or of this post-processor's): its Id() is "region:id,region:id". White
// space around a pair is tolerated; an empty id, a pair without ':', a bad
// region or id, or a region twice is refused, naming the artifact's id.
func imagesOfArtifact(builderID, id string) (map[string]string, error) {
	if builderID != AlicloudBuilderID && builderID != BuilderID {
		return nil, fmt.Errorf("the input artifact comes from builder %s, not the alicloud-ecs builder (%s), so it names no Alibaba Cloud images: set image_ids to the images to promote",
			safetext.Quote(builderID, 160), AlicloudBuilderID)
	}
	bad := func(why string) (map[string]string, error) {
		return nil, fmt.Errorf("the input artifact's id %s is not region:image_id pairs separated by commas (such as cn-hangzhou:m-bp1g7004ksh0oeuc0001,cn-shanghai:m-uf6g7004ksh0oeuc0002): %s",
			safetext.Quote(id, 400), why)
	}
	if len(id) > maxArtifactID {
		return bad(fmt.Sprintf("it is longer than %d KiB", maxArtifactID>>10))
	}
	if strings.TrimSpace(id) == "" {
		return bad("it is empty (the build made no image)")
	}
	out := map[string]string{}
	for _, pair := range strings.Split(id, ",") {
		pair = strings.TrimSpace(pair)
		region, image, ok := strings.Cut(pair, ":")
		if !ok {
			return bad(fmt.Sprintf("%s has no ':'", safetext.Quote(pair, 160)))
		}
		region, image = strings.TrimSpace(region), strings.TrimSpace(image)
		if prev, dup := out[region]; dup {
			return bad(fmt.Sprintf("region %s is listed twice (%s and %s)", safetext.Quote(region, 64), safetext.Excerpt(prev, 128), safetext.Quote(image, 128)))
		}
		if _, err := checkPair(region, image); err != nil {
			var ve *imagefamily.ValidationError
			if errors.As(err, &ve) {
				return bad(fmt.Sprintf("%s: %s", safetext.Quote(ve.Value, 160), ve.Rule))
			}
			return bad(err.Error())
		}
		out[region] = image
	}
	return out, nil
}

// checkPair checks one region and image id of the artifact with the core's
// rules (the same as every front's image ids), whatever characters they
// hold.
func checkPair(region, id string) (map[string]string, error) {
	b, err := json.Marshal(map[string]string{region: id})
	if err != nil {
		return nil, err
	}
	return imagefamily.ParseExpectedJSON("image ids", b)
}
