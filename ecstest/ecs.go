package ecstest

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// ---- mutators ----

// AddImage adds an image to a region (making the region known).
func (s *Server) AddImage(region string, img ecs.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[region] = true
	s.images[region] = append(s.images[region], img)
}

// AddImageAfter adds img to region once the emulator has answered calls
// more DescribeImageFromFamily requests: a family that gains an image while
// a pipeline waits for it (or whose newest image changes under it).
func (s *Server) AddImageAfter(region string, img ecs.Image, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[region] = true
	s.pending = append(s.pending, pendingImage{region: region, image: img, after: calls})
}

type pendingImage struct {
	region string
	image  ecs.Image
	after  int // DescribeImageFromFamily answers still to give before it appears
}

// admitPending counts one DescribeImageFromFamily answer and publishes the
// images whose turn has come. Called with s.mu held.
func (s *Server) admitPending() {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.after <= 0 {
			s.images[p.region] = append(s.images[p.region], p.image)
			continue
		}
		p.after--
		kept = append(kept, p)
	}
	s.pending = kept
}

// SetImageStatus changes the Status of an image; it reports whether the image
// was found.
func (s *Server) SetImageStatus(region, imageID, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.images[region] {
		if s.images[region][i].ImageId == imageID {
			s.images[region][i].Status = status
			return true
		}
	}
	return false
}

// AddRegion makes a region known without images.
func (s *Server) AddRegion(region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[region] = true
}

// ---- ECS answers ----

// describeImageFromFamily answers the newest Available image of the family.
// "Not found" is HTTP 200 with an empty Image object, as the real API does.
func (s *Server) describeImageFromFamily(p url.Values, requestID string) *response {
	region, family := p.Get("RegionId"), p.Get("ImageFamily")
	if region == "" {
		return errMissing("RegionId").response(requestID)
	}
	s.mu.Lock()
	s.admitPending()
	known := s.regions[region]
	imgs := append([]ecs.Image(nil), s.images[region]...)
	s.mu.Unlock()
	if !known {
		return newAPIError(404, "InvalidRegionId.NotFound", "The RegionId provided does not exist.").response(requestID)
	}
	if family == "" {
		return errMissing("ImageFamily").response(requestID)
	}
	if !validFamily(family) {
		return newAPIError(400, "InvalidImageFamily.Malformed", "The specified parameter ImageFamily is not valid.").response(requestID)
	}
	var image any = struct{}{}
	if best := newestInFamily(imgs, family); best != nil {
		image = normalizeImage(*best)
	}
	return jsonResponse(200, map[string]any{"RequestId": requestID, "Image": image})
}

// newestInFamily is the newest Available image of family among imgs, or
// nil: the image DescribeImageFromFamily answers (and a CreateInstance with
// ImageFamily starts from).
func newestInFamily(imgs []ecs.Image, family string) *ecs.Image {
	var best *ecs.Image
	var bestTime time.Time
	for i := range imgs {
		img := &imgs[i]
		if !familyMatches(family, img) || img.Status != "Available" {
			continue
		}
		t, _ := time.Parse(time.RFC3339, img.CreationTime)
		// Ties go to the larger ImageId so the answer never depends on order.
		if best == nil || t.After(bestTime) || (t.Equal(bestTime) && img.ImageId > best.ImageId) {
			best, bestTime = img, t
		}
	}
	return best
}

// normalizeImage turns nil lists into empty ones: the API sends [] and never
// null.
func normalizeImage(img ecs.Image) ecs.Image {
	if img.Tags.Tag == nil {
		img.Tags.Tag = []ecs.Tag{}
	}
	if img.DiskDeviceMappings.DiskDeviceMapping == nil {
		img.DiskDeviceMappings.DiskDeviceMapping = []ecs.DiskDeviceMapping{}
	}
	if img.DetectionOptions.Items.Item == nil {
		img.DetectionOptions.Items.Item = []ecs.Item{}
	}
	return img
}

// sharedFamilyName is how a caller names a family it does not own:
// acs:<owner account id>:<family> for one shared with it (or published as a
// community image), acs:<family> for a public image family. Compiled on
// first use, so a program that imports the emulator but does not run it (the
// CLI) does not pay its 500 allocations at start.
var sharedFamilyName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^acs:(?:([0-9]{1,20}):)?([A-Za-z0-9][A-Za-z0-9._-]{1,127})$`)
})

// familyMatches: the caller's own families by name (images whose
// ImageOwnerAlias is self or empty); acs:<owner>:<family> matches an image
// of that owner shared with the caller (ImageOwnerAlias "others"; the
// emulator shares every such image with every caller); acs:<family>
// matches a public image (ImageOwnerAlias "system") whose family is
// acs:<family> or <family>.
func familyMatches(asked string, img *ecs.Image) bool {
	m := sharedFamilyName().FindStringSubmatch(asked)
	switch {
	case m == nil:
		return img.ImageFamily == asked && (img.ImageOwnerAlias == "" || img.ImageOwnerAlias == "self")
	case m[1] != "":
		return img.ImageOwnerAlias == "others" && strconv.FormatInt(img.ImageOwnerId, 10) == m[1] && img.ImageFamily == m[2]
	default:
		return img.ImageOwnerAlias == "system" && (img.ImageFamily == asked || img.ImageFamily == m[2])
	}
}

// validFamily applies the API document's rules: 2-128 characters of letters,
// digits, ':', '_' and '-', starting with a letter, not starting with
// http://, https://, acs: or aliyun; or the acs: form of a family the caller
// does not own.
func validFamily(f string) bool {
	if strings.HasPrefix(f, "acs:") {
		return sharedFamilyName().MatchString(f)
	}
	if len(f) < 2 || len(f) > 128 {
		return false
	}
	for _, p := range []string{"http://", "https://", "acs:", "aliyun"} {
		if strings.HasPrefix(f, p) {
			return false
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		letter := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !('0' <= c && c <= '9') && c != ':' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
