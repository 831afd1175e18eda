package ecstest

import (
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/internal/builderapi"
)

// A Packer build with the official alicloud-ecs builder (packer-plugin-alicloud
// v1.1.2): the image actions live here, on the same images the family lookup
// and the lifecycle read, so a later lookup finds the build's image in its
// family; the VPC, VSwitch, security group, key pair and instance actions are
// builderapi's. The flow, in the builder's order:
//
//	DescribeRegions, DescribeImages (image name free, source image), CreateKeyPair,
//	CreateVpc/DescribeVpcs, DescribeZones, CreateVSwitch/DescribeVSwitches,
//	CreateSecurityGroup, AuthorizeSecurityGroup(Egress), CreateInstance,
//	DescribeInstances (until Stopped), AttachKeyPair, StartInstance (until
//	Running), StopInstance (until Stopped), CreateImage, DescribeImages
//	(until Available), AddTags (image and its snapshot), CopyImage per copy
//	region, ModifyImageSharePermission per region; then the cleanup:
//	DetachKeyPair, DeleteInstance, DeleteSecurityGroup, DeleteVSwitch,
//	DeleteVpc, DeleteKeyPairs (and on a failed build DeleteImage,
//	DeleteSnapshot, CancelCopyImage).
//
// A created image is Creating, then Available after SetBuildPolls polls
// (DescribeImages naming it); a copy follows SetCopyPolls, and a copy to a
// region given to FailCopiesTo ends CreateFailed instead of Available.
//
// Error codes, from the ECS API reference: MissingParameter,
// InvalidImageId.NotFound, InvalidInstanceId.NotFound, IncorrectInstanceStatus
// (403: CreateImage from an instance neither Stopped nor Running),
// IncorrectImageStatus (403: deleting a copy still Creating, cancelling a copy
// that is not), InvalidImageName.Duplicated, InvalidSnapshotId.NotFound,
// SnapshotCreatedImage (403: deleting a snapshot an image uses),
// InvalidResourceType.NotSupported, InvalidImageFamily.Malformed.

// buildImageActions are the image, snapshot, tag and region actions of the
// build served here.
var buildImageActions = map[string]func(*Server, string, url.Values, string) *response{
	"CreateImage":                (*Server).createImage,
	"DeleteImage":                (*Server).deleteImage,
	"CancelCopyImage":            (*Server).cancelCopyImage,
	"ModifyImageSharePermission": (*Server).modifyImageSharePermission,
	"AddTags":                    (*Server).addTags,
	"DeleteSnapshot":             (*Server).deleteSnapshot,
}

// buildAction reports whether action is part of the build's flow.
func buildAction(action string) bool {
	_, ok := buildImageActions[action]
	return ok || action == "DescribeRegions" || builderapi.Handles(action)
}

// serveBuild answers a build action for an authenticated caller.
func (s *Server) serveBuild(action string, p url.Values, requestID string) *response {
	if action == "DescribeRegions" {
		return s.describeRegions(requestID)
	}
	region, aerr := s.regionOf(p, "RegionId")
	if aerr != nil {
		return aerr.response(requestID)
	}
	if f, ok := buildImageActions[action]; ok {
		return f(s, region, p, requestID)
	}
	r, _ := s.build.Serve(action, region, p)
	if r.Code != "" {
		return newAPIError(r.Status, r.Code, r.Message).response(requestID)
	}
	r.Body["RequestId"] = requestID
	return jsonResponse(r.Status, r.Body)
}

// SetBuildPolls sets how many Describe polls naming a resource of a build
// (an instance, VPC, VSwitch, or an image made by CreateImage) see its
// intermediate status before the final one; 0, the default, is at once.
func (s *Server) SetBuildPolls(n int) {
	s.build.SetPolls(n)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.imagePolls = max(n, 0)
}

// FailCopiesTo makes copies into region end CreateFailed, rather than
// Available, once their polls are over ("" stops failing any region).
func (s *Server) FailCopiesTo(region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCopies = region
}

// BuildResources counts the build's resources that exist now (vpcs,
// vswitches, security_groups, key_pairs, instances), so a test can check
// that a build deleted what it created.
func (s *Server) BuildResources() map[string]int { return s.build.Counts() }

// buildImages gives builderapi read access to the images.
type buildImages struct{ s *Server }

func (b buildImages) SourceImage(region, id string) bool {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	img := b.s.findImage(region, id)
	return img != nil && img.Status == "Available"
}

func (b buildImages) FamilyImage(region, family string) string {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if img := newestInFamily(b.s.images[region], family); img != nil {
		return img.ImageId
	}
	return ""
}

func (s *Server) describeRegions(requestID string) *response {
	s.mu.Lock()
	names := make([]string, 0, len(s.regions))
	for r := range s.regions {
		names = append(names, r)
	}
	s.mu.Unlock()
	sort.Strings(names)
	out := make([]ecs.Region, 0, len(names))
	for _, r := range names {
		out = append(out, ecs.Region{RegionId: r, LocalName: r, RegionEndpoint: "ecs." + r + ".aliyuncs.com", Status: "available"})
	}
	return jsonResponse(200, map[string]any{"RequestId": requestID, "Regions": map[string]any{"Region": out}})
}

// createImage makes a Creating image of an instance's system disk (with a
// new snapshot) in the instance's region, with the family, version, name
// and description asked for. Only InstanceId is served as the source.
func (s *Server) createImage(region string, p url.Values, requestID string) *response {
	id := p.Get("InstanceId")
	if id == "" {
		if p.Get("SnapshotId") != "" {
			return newAPIError(404, "InvalidSnapshotId.NotFound", "The specified snapshot does not exist.").response(requestID)
		}
		return errMissingParameter("InstanceId").response(requestID)
	}
	family := p.Get("ImageFamily")
	if family != "" && !validTargetFamily(family) {
		return newAPIError(400, "InvalidImageFamily.Malformed", "The specified parameter ImageFamily is not valid.").response(requestID)
	}
	status, sourceID, ok := s.build.Instance(region, id)
	if !ok {
		return newAPIError(404, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.").response(requestID)
	}
	if status != "Stopped" && status != "Running" {
		return newAPIError(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.").response(requestID)
	}
	name := p.Get("ImageName")
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		for _, img := range s.images[region] {
			if img.ImageName == name && ownImage(&img) {
				return newAPIError(400, "InvalidImageName.Duplicated", "The specified ImageName already exists.").response(requestID)
			}
		}
	}
	img := ecs.Image{ImageOwnerAlias: "self", Size: 40, OSType: "linux", Architecture: "x86_64", Platform: "Linux"}
	if src := s.findImage(region, sourceID); src != nil {
		img.OSName, img.OSNameEn, img.OSType, img.Platform, img.Architecture, img.Size =
			src.OSName, src.OSNameEn, src.OSType, src.Platform, src.Architecture, src.Size
	}
	img.ImageId = "m-" + randomString(20, "abcdefghijklmnopqrstuvwxyz0123456789")
	if name == "" {
		name = "image-" + img.ImageId
	}
	img.ImageName, img.ImageFamily, img.ImageVersion, img.Description = name, family, p.Get("ImageVersion"), p.Get("Description")
	img.Status, img.Progress = "Creating", "0%"
	img.CreationTime = s.clock().UTC().Format(timestampLayout)
	snapshot := "s-" + randomString(20, "abcdefghijklmnopqrstuvwxyz0123456789")
	img.DiskDeviceMappings.DiskDeviceMapping = []ecs.DiskDeviceMapping{{SnapshotId: snapshot, Size: strconv.Itoa(img.Size), Device: "/dev/xvda", Type: "system", Format: "qcow2"}}
	if s.snapshots == nil {
		s.snapshots = map[string]bool{}
	}
	s.snapshots[region+"/"+snapshot] = true
	s.images[region] = append(s.images[region], img)
	if s.copies == nil {
		s.copies = map[string]int{}
	}
	s.copies[img.ImageId] = s.imagePolls
	return jsonResponse(200, map[string]any{"RequestId": requestID, "ImageId": img.ImageId})
}

// ownImageFor finds one of the caller's images named by ImageId. Called
// with s.mu held.
func (s *Server) ownImageFor(region string, p url.Values) (*ecs.Image, *apiError) {
	id := p.Get("ImageId")
	if id == "" {
		return nil, errMissingParameter("ImageId")
	}
	img := s.findImage(region, id)
	if img == nil || !ownImage(img) {
		return nil, errImageNotFound
	}
	return img, nil
}

// removeImage drops an image from a region. Called with s.mu held.
func (s *Server) removeImage(region, id string) {
	s.images[region] = slices.DeleteFunc(s.images[region], func(img ecs.Image) bool { return img.ImageId == id })
	delete(s.copies, id)
	delete(s.copyIDs, id)
}

// deleteImage deletes one of the caller's images that is not being copied
// in (a Creating copy is cancelled with CancelCopyImage). Its snapshots stay.
func (s *Server) deleteImage(region string, p url.Values, requestID string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, aerr := s.ownImageFor(region, p)
	if aerr != nil {
		return aerr.response(requestID)
	}
	if s.copyIDs[img.ImageId] && img.Status == "Creating" {
		return errImageStatus.response(requestID)
	}
	s.removeImage(region, img.ImageId)
	return jsonResponse(200, map[string]any{"RequestId": requestID})
}

// cancelCopyImage stops a copy still Creating in its destination region; the
// copy is gone.
func (s *Server) cancelCopyImage(region string, p url.Values, requestID string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, aerr := s.ownImageFor(region, p)
	if aerr != nil {
		return aerr.response(requestID)
	}
	if !s.copyIDs[img.ImageId] || img.Status != "Creating" {
		return errImageStatus.response(requestID)
	}
	s.removeImage(region, img.ImageId)
	return jsonResponse(200, map[string]any{"RequestId": requestID})
}

// modifyImageSharePermission adds and removes the accounts an image is
// shared with (AddAccount.N, RemoveAccount.N, at most 10 each). The builder
// calls it for every region, even with no accounts and on copies still
// Creating, which the API accepts.
func (s *Server) modifyImageSharePermission(region string, p url.Values, requestID string) *response {
	var add, remove []string
	for i := 1; i <= 11; i++ {
		if v := p.Get("AddAccount." + strconv.Itoa(i)); v != "" {
			add = append(add, v)
		}
		if v := p.Get("RemoveAccount." + strconv.Itoa(i)); v != "" {
			remove = append(remove, v)
		}
	}
	if len(add) > 10 || len(remove) > 10 {
		return newAPIError(400, "InvalidAccount.TooMany", "At most 10 accounts can be added or removed at a time.").response(requestID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	img, aerr := s.ownImageFor(region, p)
	if aerr != nil {
		return aerr.response(requestID)
	}
	if s.shares == nil {
		s.shares = map[string][]string{}
	}
	accounts := slices.DeleteFunc(s.shares[img.ImageId], func(a string) bool { return slices.Contains(remove, a) })
	for _, a := range add {
		if !slices.Contains(accounts, a) {
			accounts = append(accounts, a)
		}
	}
	s.shares[img.ImageId] = accounts
	img.IsSelfShared = strconv.FormatBool(len(accounts) > 0)
	return jsonResponse(200, map[string]any{"RequestId": requestID})
}

// addTags tags an image or a snapshot (Tag.N.Key, Tag.N.Value, up to 20;
// a key already there gets the new value).
func (s *Server) addTags(region string, p url.Values, requestID string) *response {
	for _, name := range []string{"ResourceType", "ResourceId"} {
		if p.Get(name) == "" {
			return errMissingParameter(name).response(requestID)
		}
	}
	var tags []ecs.Tag
	for i := 1; p.Has("Tag." + strconv.Itoa(i) + ".Key"); i++ {
		k, v := p.Get("Tag."+strconv.Itoa(i)+".Key"), p.Get("Tag."+strconv.Itoa(i)+".Value")
		tags = append(tags, ecs.Tag{TagKey: k, TagValue: v, Key: k, Value: v})
	}
	if len(tags) == 0 {
		return errMissingParameter("Tag.1.Key").response(requestID)
	}
	id := p.Get("ResourceId")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.Get("ResourceType") {
	case "image":
		img := s.findImage(region, id)
		if img == nil || !ownImage(img) {
			return errImageNotFound.response(requestID)
		}
		for _, t := range tags {
			img.Tags.Tag = slices.DeleteFunc(img.Tags.Tag, func(old ecs.Tag) bool { return old.TagKey == t.TagKey })
			img.Tags.Tag = append(img.Tags.Tag, t)
		}
	case "snapshot":
		if !s.snapshots[region+"/"+id] {
			return newAPIError(404, "InvalidSnapshotId.NotFound", "The specified snapshot does not exist.").response(requestID)
		}
	default:
		return newAPIError(400, "InvalidResourceType.NotSupported", "The emulator tags images and snapshots only.").response(requestID)
	}
	return jsonResponse(200, map[string]any{"RequestId": requestID})
}

// deleteSnapshot deletes a snapshot no image uses.
func (s *Server) deleteSnapshot(region string, p url.Values, requestID string) *response {
	id := p.Get("SnapshotId")
	if id == "" {
		return errMissingParameter("SnapshotId").response(requestID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.snapshots[region+"/"+id] {
		return newAPIError(404, "InvalidSnapshotId.NotFound", "The specified snapshot does not exist.").response(requestID)
	}
	for _, img := range s.images[region] {
		for _, d := range img.DiskDeviceMappings.DiskDeviceMapping {
			if d.SnapshotId == id {
				return newAPIError(403, "SnapshotCreatedImage", "The snapshot has been used to create a custom image and cannot be deleted.").response(requestID)
			}
		}
	}
	delete(s.snapshots, region+"/"+id)
	return jsonResponse(200, map[string]any{"RequestId": requestID})
}
