package ecstest

import (
	"net/http"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// The control API's part of the lifecycle (lifecycle.go):
//
//	GET  /_emulator/state        -> {"images": {"cn-hangzhou": [API Image objects]}, "build_resources": {"instances": 0, ...}}:
//	                              what the emulator holds now
//	POST /_emulator/copy-image   {"region": R, "image_id": ID, "destination_region": D} -> {"image_id": COPY}
//	                              (CopyImage without a signed request; 404 if the source is unknown)
//	POST /_emulator/copy-polls   {"n": N} -> SetCopyPolls(N)

type copyImageRequest struct {
	Region            string `json:"region"`
	ImageID           string `json:"image_id"`
	DestinationRegion string `json:"destination_region"`
}

// CopyResult is the answer of POST /_emulator/copy-image.
type CopyResult struct {
	ImageID string `json:"image_id"`
}

type copyPollsRequest struct {
	N *int `json:"n"`
}

// State is the answer of GET /_emulator/state.
type State struct {
	Images map[string][]ecs.Image `json:"images"`
	// BuildResources counts a Packer build's resources that exist now
	// (Server.BuildResources): zero everywhere after a build cleaned up.
	BuildResources map[string]int `json:"build_resources"`
}

func init() {
	controlEndpoints["state"] = http.MethodGet
	controlEndpoints["copy-image"] = http.MethodPost
	controlEndpoints["copy-polls"] = http.MethodPost
}

// lifecycleControl serves the endpoints above; handled is false for any
// other name.
func (s *Server) lifecycleControl(name string, r *http.Request) (out any, err *controlStatus, handled bool) {
	switch name {
	case "state":
		return State{Images: s.Images(), BuildResources: s.BuildResources()}, nil, true
	case "copy-image":
		var cr copyImageRequest
		if err := decodeControl(r, &cr, false); err != nil {
			return nil, err, true
		}
		if cr.Region == "" || cr.ImageID == "" || cr.DestinationRegion == "" {
			return nil, controlErr(http.StatusBadRequest, "ecstest: copy-image: \"region\", \"image_id\" and \"destination_region\" are required"), true
		}
		id := s.CopyImage(cr.Region, cr.ImageID, cr.DestinationRegion)
		if id == "" {
			return nil, controlErr(http.StatusNotFound, "ecstest: copy-image: no image %s in region %s", cr.ImageID, cr.Region), true
		}
		return CopyResult{ImageID: id}, nil, true
	case "copy-polls":
		var pr copyPollsRequest
		if err := decodeControl(r, &pr, false); err != nil {
			return nil, err, true
		}
		if pr.N == nil || *pr.N < 0 {
			return nil, controlErr(http.StatusBadRequest, "ecstest: copy-polls: \"n\" (0 or more) is required"), true
		}
		s.SetCopyPolls(*pr.N)
		return controlOK, nil, true
	}
	return nil, nil, false
}
