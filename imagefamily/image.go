package imagefamily

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// Image is one custom image as DescribeImageFromFamily describes it. Every
// field of the API response is here; tags are a map and disk device mappings a
// list so that fronts can hand them on without knowing the wire shapes.
//
// Its JSON form (MarshalJSON) uses the API's own field names and nesting
// (Tags.Tag[], DiskDeviceMappings.DiskDeviceMapping[]) so that jq filters
// written against `aliyun ecs DescribeImageFromFamily` output's .Image keep
// working against ours.
type Image struct {
	ImageID                 string
	ImageName               string
	ImageFamily             string
	ImageVersion            string
	CreationTime            string
	Status                  string
	Progress                string
	Architecture            string
	OSType                  string
	OSName                  string
	OSNameEn                string
	Platform                string
	BootMode                string
	Size                    int // GiB
	Description             string
	ImageOwnerAlias         string
	ImageOwnerID            int64
	ResourceGroupID         string
	SupplierName            string
	ProductCode             string
	Usage                   string
	IsCopied                bool
	IsSelfShared            bool
	IsSubscribed            bool
	IsSupportCloudinit      bool
	IsSupportIoOptimized    bool
	IsPublic                bool
	LoginAsNonRootSupported bool
	NvmeSupport             string
	ImdsSupport             string
	Tags                    map[string]string   // never nil
	DiskDeviceMappings      []DiskDeviceMapping // never nil

	// RequestID is the id of the DescribeImageFromFamily answer that
	// returned the image, for messages and support cases. It is not part of
	// the image, so MarshalJSON leaves it out.
	RequestID string

	// Raw is the answer's Image object exactly as the API sent it: every
	// member, absent ones absent, unknown ones kept, numbers as written.
	// MarshalJSON writes it (compacted) when set, so JSON outputs show what
	// `aliyun ecs DescribeImageFromFamily` shows under .Image; the fields
	// above are the typed view the fronts read.
	Raw json.RawMessage
}

// DiskDeviceMapping is one disk (snapshot) of an image.
type DiskDeviceMapping struct {
	Device          string
	Size            string // GiB, a string in the API
	SnapshotID      string
	Type            string
	Format          string
	ImportOSSBucket string
	ImportOSSObject string
}

// fromSDK maps the SDK's response image into ours.
func fromSDK(in ecs.Image) Image {
	out := Image{
		ImageID:                 in.ImageId,
		ImageName:               in.ImageName,
		ImageFamily:             in.ImageFamily,
		ImageVersion:            in.ImageVersion,
		CreationTime:            in.CreationTime,
		Status:                  in.Status,
		Progress:                in.Progress,
		Architecture:            in.Architecture,
		OSType:                  in.OSType,
		OSName:                  in.OSName,
		OSNameEn:                in.OSNameEn,
		Platform:                in.Platform,
		BootMode:                in.BootMode,
		Size:                    in.Size,
		Description:             in.Description,
		ImageOwnerAlias:         in.ImageOwnerAlias,
		ImageOwnerID:            in.ImageOwnerId,
		ResourceGroupID:         in.ResourceGroupId,
		SupplierName:            in.SupplierName,
		ProductCode:             in.ProductCode,
		Usage:                   in.Usage,
		IsCopied:                in.IsCopied,
		IsSelfShared:            in.IsSelfShared == "true",
		IsSubscribed:            in.IsSubscribed,
		IsSupportCloudinit:      in.IsSupportCloudinit,
		IsSupportIoOptimized:    in.IsSupportIoOptimized,
		IsPublic:                in.IsPublic,
		LoginAsNonRootSupported: in.LoginAsNonRootSupported,
		NvmeSupport:             in.Features.NvmeSupport,
		ImdsSupport:             in.Features.ImdsSupport,
		Tags:                    map[string]string{},
		DiskDeviceMappings:      []DiskDeviceMapping{},
	}
	for _, t := range in.Tags.Tag {
		// The API fills TagKey/TagValue; some responses carry Key/Value instead.
		k, v := t.TagKey, t.TagValue
		if k == "" {
			k, v = t.Key, t.Value
		}
		if k != "" {
			out.Tags[k] = v
		}
	}
	for _, d := range in.DiskDeviceMappings.DiskDeviceMapping {
		out.DiskDeviceMappings = append(out.DiskDeviceMappings, DiskDeviceMapping{
			Device:          d.Device,
			Size:            d.Size,
			SnapshotID:      d.SnapshotId,
			Type:            d.Type,
			Format:          d.Format,
			ImportOSSBucket: d.ImportOSSBucket,
			ImportOSSObject: d.ImportOSSObject,
		})
	}
	return out
}

// apiImage is the wire shape, with the API's field names.
type apiImage struct {
	ImageId                 string      `json:"ImageId"`
	ImageName               string      `json:"ImageName"`
	ImageFamily             string      `json:"ImageFamily"`
	ImageVersion            string      `json:"ImageVersion"`
	CreationTime            string      `json:"CreationTime"`
	Status                  string      `json:"Status"`
	Progress                string      `json:"Progress"`
	Architecture            string      `json:"Architecture"`
	OSType                  string      `json:"OSType"`
	OSName                  string      `json:"OSName"`
	OSNameEn                string      `json:"OSNameEn"`
	Platform                string      `json:"Platform"`
	BootMode                string      `json:"BootMode"`
	Size                    int         `json:"Size"`
	Description             string      `json:"Description"`
	ImageOwnerAlias         string      `json:"ImageOwnerAlias"`
	ImageOwnerId            int64       `json:"ImageOwnerId"`
	ResourceGroupId         string      `json:"ResourceGroupId"`
	SupplierName            string      `json:"SupplierName"`
	ProductCode             string      `json:"ProductCode"`
	Usage                   string      `json:"Usage"`
	IsCopied                bool        `json:"IsCopied"`
	IsSelfShared            string      `json:"IsSelfShared"`
	IsSubscribed            bool        `json:"IsSubscribed"`
	IsSupportCloudinit      bool        `json:"IsSupportCloudinit"`
	IsSupportIoOptimized    bool        `json:"IsSupportIoOptimized"`
	IsPublic                bool        `json:"IsPublic"`
	LoginAsNonRootSupported bool        `json:"LoginAsNonRootSupported"`
	Features                apiFeatures `json:"Features"`
	Tags                    apiTags     `json:"Tags"`
	DiskDeviceMappings      apiMappings `json:"DiskDeviceMappings"`
}

type apiFeatures struct {
	NvmeSupport string `json:"NvmeSupport,omitempty"`
	ImdsSupport string `json:"ImdsSupport,omitempty"`
}

type apiTags struct {
	Tag []apiTag `json:"Tag"`
}

type apiTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type apiMappings struct {
	DiskDeviceMapping []apiMapping `json:"DiskDeviceMapping"`
}

type apiMapping struct {
	Device          string `json:"Device"`
	Size            string `json:"Size"`
	SnapshotId      string `json:"SnapshotId"`
	Type            string `json:"Type"`
	Format          string `json:"Format"`
	ImportOSSBucket string `json:"ImportOSSBucket"`
	ImportOSSObject string `json:"ImportOSSObject"`
}

// MarshalJSON writes the image as the API sent it (Raw). An Image built in
// code, without Raw, is written with the API's field names; tags are sorted
// by key so the output is stable.
func (img Image) MarshalJSON() ([]byte, error) {
	if len(img.Raw) > 0 {
		return img.Raw, nil
	}
	a := apiImage{
		ImageId: img.ImageID, ImageName: img.ImageName, ImageFamily: img.ImageFamily,
		ImageVersion: img.ImageVersion, CreationTime: img.CreationTime, Status: img.Status,
		Progress: img.Progress, Architecture: img.Architecture, OSType: img.OSType,
		OSName: img.OSName, OSNameEn: img.OSNameEn, Platform: img.Platform,
		BootMode: img.BootMode, Size: img.Size, Description: img.Description,
		ImageOwnerAlias: img.ImageOwnerAlias, ImageOwnerId: img.ImageOwnerID,
		ResourceGroupId: img.ResourceGroupID, SupplierName: img.SupplierName,
		ProductCode: img.ProductCode, Usage: img.Usage, IsCopied: img.IsCopied,
		IsSelfShared: strconv.FormatBool(img.IsSelfShared), IsSubscribed: img.IsSubscribed,
		IsSupportCloudinit: img.IsSupportCloudinit, IsSupportIoOptimized: img.IsSupportIoOptimized,
		IsPublic: img.IsPublic, LoginAsNonRootSupported: img.LoginAsNonRootSupported,
		Features:           apiFeatures{NvmeSupport: img.NvmeSupport, ImdsSupport: img.ImdsSupport},
		Tags:               apiTags{Tag: []apiTag{}},
		DiskDeviceMappings: apiMappings{DiskDeviceMapping: []apiMapping{}},
	}
	for _, k := range slices.Sorted(maps.Keys(img.Tags)) {
		a.Tags.Tag = append(a.Tags.Tag, apiTag{TagKey: k, TagValue: img.Tags[k]})
	}
	for _, d := range img.DiskDeviceMappings {
		a.DiskDeviceMappings.DiskDeviceMapping = append(a.DiskDeviceMappings.DiskDeviceMapping, apiMapping{
			Device: d.Device, Size: d.Size, SnapshotId: d.SnapshotID, Type: d.Type,
			Format: d.Format, ImportOSSBucket: d.ImportOSSBucket, ImportOSSObject: d.ImportOSSObject,
		})
	}
	return json.Marshal(a)
}

// UnmarshalJSON reads the API shape, so an image printed by one front can be
// read back by another (and by tests).
func (img *Image) UnmarshalJSON(b []byte) error {
	var in ecs.Image
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*img = fromSDK(in)
	img.Raw = append(json.RawMessage(nil), b...)
	return nil
}
