package ecstest

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// The family lifecycle: ModifyImageAttribute (set an image's family, deprecate
// or restore it), DescribeImages (list images by id, family and status) and
// CopyImage (a copy lands Creating in the destination region, without family
// or tags, and becomes Available after a number of DescribeImages polls). A
// change is seen at once by DescribeImageFromFamily, which answers the newest
// Available image of a family in a region.
//
// Error codes follow the ECS error-code pages where they name one:
// MissingParameter, InvalidRegionId.NotFound, InvalidImageId.NotFound,
// InvalidImageFamily.Malformed, DryRunOperation (HTTP 400, the answer of a
// DryRun=true call that would have succeeded). Where the pages are silent the
// emulator's choice is documented here: InvalidStatus.ValueNotSupported for a
// Status other than Deprecated or Available, IncorrectImageStatus (HTTP 403)
// for a change to an image that is not Available or Deprecated (a copy still
// Creating) and for copying a Deprecated image, InvalidParameter for a bad
// PageNumber or PageSize, and Forbidden.RAM (HTTP 403) for a caller whose
// account lists the actions it may call ("actions") and lacks this one.

// DefaultCopyPolls is how many DescribeImages polls naming a copy see it
// Creating before it is Available, unless SetCopyPolls says otherwise.
const DefaultCopyPolls = 1

// imageStatuses are DescribeImages' Status values.
var imageStatuses = map[string]bool{"Creating": true, "Waiting": true, "Available": true,
	"UnAvailable": true, "CreateFailed": true, "Deprecated": true}

// SetCopyPolls sets how many DescribeImages polls that name a copy by its
// ImageId see it Creating; the next one sees it Available. It applies to
// copies made from now on. Negative values count as 0.
func (s *Server) SetCopyPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.copyPolls = max(n, 0)
	s.copyPollsSet = true
}

// CopyImage copies an image as the API's CopyImage does, for tests and the
// demo that want a copy without signing a request: the copy is Creating in
// dstRegion, with no family and no tags. It returns the copy's ImageId, or ""
// when the source is unknown.
func (s *Server) CopyImage(srcRegion, imageID, dstRegion string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.findImage(srcRegion, imageID)
	if src == nil {
		return ""
	}
	s.regions[dstRegion] = true
	return s.addCopy(*src, dstRegion, "")
}

// Image returns an image as the emulator holds it now; ok is false when
// region has no such image.
func (s *Server) Image(region, imageID string) (img ecs.Image, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.findImage(region, imageID); p != nil {
		return *p, true
	}
	return ecs.Image{}, false
}

// Images returns a copy of every image, by region.
func (s *Server) Images() map[string][]ecs.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]ecs.Image{}
	for r, imgs := range s.images {
		out[r] = append([]ecs.Image(nil), imgs...)
	}
	return out
}

// findImage is the image in region, or nil. Called with s.mu held.
func (s *Server) findImage(region, imageID string) *ecs.Image {
	for i := range s.images[region] {
		if s.images[region][i].ImageId == imageID {
			return &s.images[region][i]
		}
	}
	return nil
}

// addCopy adds a Creating copy of src to region. Called with s.mu held.
func (s *Server) addCopy(src ecs.Image, region, name string) string {
	cp := src
	cp.ImageId = "m-" + randomString(20, "abcdefghijklmnopqrstuvwxyz0123456789")
	if name == "" {
		name = "copy-of-" + src.ImageId
	}
	cp.ImageName = name
	cp.ImageFamily = ""
	cp.Tags = ecs.TagsInDescribeImageFromFamily{}
	cp.Status = "Creating"
	cp.Progress = "0%"
	cp.ImageOwnerAlias = "self"
	cp.CreationTime = s.clock().UTC().Format("2006-01-02T15:04:05Z")
	s.images[region] = append(s.images[region], cp)
	polls := DefaultCopyPolls
	if s.copyPollsSet {
		polls = s.copyPolls
	}
	if s.copies == nil {
		s.copies = map[string]int{}
	}
	s.copies[cp.ImageId] = polls
	s.copyIDs[cp.ImageId] = true
	return cp.ImageId
}

// ownImage: the caller's own images are those whose ImageOwnerAlias is self
// or empty; shared (others) and public (system) images cannot be changed.
func ownImage(img *ecs.Image) bool {
	return img.ImageOwnerAlias == "" || img.ImageOwnerAlias == "self"
}

func errMissingParameter(name string) *apiError {
	return newAPIError(400, "MissingParameter", "The input parameter \""+name+"\" that is mandatory for processing this request is not supplied.")
}

var (
	errImageNotFound = newAPIError(404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
	errDryRun        = newAPIError(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
	errImageStatus   = newAPIError(403, "IncorrectImageStatus", "The current status of the image does not support this operation.")
)

func dryRun(p url.Values) bool { return strings.EqualFold(p.Get("DryRun"), "true") }

// regionOf checks RegionId: present and known. Called without s.mu.
func (s *Server) regionOf(p url.Values, name string) (string, *apiError) {
	region := p.Get(name)
	if region == "" {
		return "", errMissingParameter(name)
	}
	s.mu.Lock()
	known := s.regions[region]
	s.mu.Unlock()
	if !known {
		return "", newAPIError(404, "InvalidRegionId.NotFound", "The RegionId provided does not exist.")
	}
	return region, nil
}

// validTargetFamily is ModifyImageAttribute's rule for ImageFamily: 2-128
// characters, starting with a letter; letters, digits, '.', ':', '_', '-';
// not starting with acs: or aliyun; no http:// or https://.
func validTargetFamily(f string) bool {
	if len(f) < 2 || len(f) > 128 || strings.HasPrefix(f, "acs:") || strings.HasPrefix(f, "aliyun") ||
		strings.Contains(f, "http://") || strings.Contains(f, "https://") {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		letter := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !('0' <= c && c <= '9') && c != '.' && c != ':' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// modifyImageAttribute sets ImageFamily and/or Status of one of the caller's
// images. Other parameters (ImageName, Description, ...) are accepted and
// ignored.
func (s *Server) modifyImageAttribute(p url.Values, requestID string) *response {
	region, aerr := s.regionOf(p, "RegionId")
	if aerr != nil {
		return aerr.response(requestID)
	}
	id := p.Get("ImageId")
	if id == "" {
		return errMissingParameter("ImageId").response(requestID)
	}
	family, setFamily := p.Get("ImageFamily"), p.Has("ImageFamily") && p.Get("ImageFamily") != ""
	if setFamily && !validTargetFamily(family) {
		return newAPIError(400, "InvalidImageFamily.Malformed", "The specified parameter ImageFamily is not valid.").response(requestID)
	}
	status := p.Get("Status")
	if status != "" && status != "Deprecated" && status != "Available" {
		return newAPIError(400, "InvalidStatus.ValueNotSupported", "The specified Status is not supported; use Deprecated or Available.").response(requestID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.findImage(region, id)
	if img == nil || !ownImage(img) {
		return errImageNotFound.response(requestID)
	}
	if (setFamily || status != "") && img.Status != "Available" && img.Status != "Deprecated" {
		return errImageStatus.response(requestID)
	}
	if dryRun(p) {
		return errDryRun.response(requestID)
	}
	if setFamily {
		img.ImageFamily = family
	}
	if status != "" {
		img.Status = status
	}
	return jsonResponse(200, map[string]any{"RequestId": requestID})
}

// describeImages lists images of a region: filters ImageId (comma list),
// ImageFamily, Status (comma list; default Available, as the API's),
// ImageName, ImageOwnerAlias (self, others, system, marketplace; default
// all); newest first; pages of
// PageSize (1-100, default 10). A poll that names a Creating copy by its id
// moves it on (SetCopyPolls).
func (s *Server) describeImages(p url.Values, requestID string) *response {
	region, aerr := s.regionOf(p, "RegionId")
	if aerr != nil {
		return aerr.response(requestID)
	}
	page, size := 1, 10
	for _, v := range []struct {
		name     string
		dst      *int
		max      int
		fallback int
	}{{"PageNumber", &page, 1 << 30, 1}, {"PageSize", &size, 100, 10}} {
		raw := p.Get(v.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > v.max {
			return newAPIError(400, "InvalidParameter", "The specified parameter "+v.name+" is not valid.").response(requestID)
		}
		*v.dst = n
	}
	statuses := map[string]bool{"Available": true}
	if raw := p.Get("Status"); raw != "" {
		statuses = map[string]bool{}
		for _, st := range strings.Split(raw, ",") {
			st = strings.TrimSpace(st)
			if !imageStatuses[st] {
				return newAPIError(400, "InvalidStatus.ValueNotSupported", "The specified Status is not supported.").response(requestID)
			}
			statuses[st] = true
		}
	}
	ids := map[string]bool{}
	if raw := p.Get("ImageId"); raw != "" {
		for _, id := range strings.Split(raw, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids[id] = true
			}
		}
	}
	family, alias, name := p.Get("ImageFamily"), p.Get("ImageOwnerAlias"), p.Get("ImageName")
	if dryRun(p) {
		return errDryRun.response(requestID)
	}

	s.mu.Lock()
	for id := range ids {
		left, creating := s.copies[id]
		if !creating {
			continue
		}
		if left > 0 {
			s.copies[id] = left - 1
			continue
		}
		delete(s.copies, id)
		if img := s.findImage(region, id); img != nil && img.Status == "Creating" {
			img.Status, img.Progress = "Available", "100%"
			if s.copyIDs[id] && s.failCopies == region {
				img.Status, img.Progress = "CreateFailed", "0%"
			}
		}
	}
	var out []ecs.Image
	for _, img := range s.images[region] {
		switch {
		case len(ids) > 0 && !ids[img.ImageId],
			family != "" && img.ImageFamily != family,
			name != "" && img.ImageName != name,
			!statuses[img.Status],
			alias == "self" && !ownImage(&img),
			alias != "" && alias != "self" && img.ImageOwnerAlias != alias:
			continue
		}
		if _, creating := s.copies[img.ImageId]; creating && img.Status == "Creating" {
			img.Progress = "50%"
		}
		out = append(out, normalizeImage(img))
	}
	s.mu.Unlock()

	sort.SliceStable(out, func(i, j int) bool {
		ti, _ := time.Parse(time.RFC3339, out[i].CreationTime)
		tj, _ := time.Parse(time.RFC3339, out[j].CreationTime)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return out[i].ImageId > out[j].ImageId
	})
	total := len(out)
	start := min((page-1)*size, total)
	pageOut := out[start:min(start+size, total)]
	if pageOut == nil {
		pageOut = []ecs.Image{}
	}
	return jsonResponse(200, map[string]any{
		"RequestId": requestID, "RegionId": region, "TotalCount": total,
		"PageNumber": page, "PageSize": size, "Images": map[string]any{"Image": pageOut},
	})
}

// copyImage copies one of the caller's Available images to another region:
// the copy is Creating, has no family and no tags (CopyImage has no
// ImageFamily parameter), and is named DestinationImageName or an
// automatic name.
func (s *Server) copyImage(p url.Values, requestID string) *response {
	region, aerr := s.regionOf(p, "RegionId")
	if aerr != nil {
		return aerr.response(requestID)
	}
	id := p.Get("ImageId")
	if id == "" {
		return errMissingParameter("ImageId").response(requestID)
	}
	dst, aerr := s.regionOf(p, "DestinationRegionId")
	if aerr != nil {
		return aerr.response(requestID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.findImage(region, id)
	if src == nil || !ownImage(src) {
		return errImageNotFound.response(requestID)
	}
	if src.Status != "Available" {
		return errImageStatus.response(requestID)
	}
	if dryRun(p) {
		return errDryRun.response(requestID)
	}
	copyID := s.addCopy(*src, dst, p.Get("DestinationImageName"))
	return jsonResponse(200, map[string]any{"RequestId": requestID, "ImageId": copyID})
}

// allows reports whether the caller's RAM permissions include the ECS
// action: an account or role that lists "actions" may call only those.
func (s *Server) allows(c *caller, action string) bool {
	var actions []string
	if c.account != nil {
		actions = c.account.Actions
	} else {
		s.mu.Lock()
		if r := s.findRole(c.session.roleARN); r != nil {
			actions = r.Actions
		}
		s.mu.Unlock()
	}
	if len(actions) == 0 {
		return true
	}
	for _, a := range actions {
		if a == action || a == "ecs:"+action || a == "ecs:*" {
			return true
		}
	}
	return false
}
