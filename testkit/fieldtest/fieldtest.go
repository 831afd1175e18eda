// Package fieldtest holds an image whose every named field is set, for the
// tests that show each front (CLI, GitHub Action, Packer data source)
// exposing every field of imagefamily.Fields() with the same meaning.
package fieldtest

import (
	"fmt"
	"reflect"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// Family is the family of the image, the one to ask for.
const Family = "web-base"

// ImageJSON is the image as the API's Image object. No field has its zero
// value, so a front that drops or mixes up a field shows it. The
// description holds a line break, a tab and a workflow command (text the
// CLI must escape, outputs must keep); a tag value holds HTML characters
// (kept as they are in the JSON text).
const ImageJSON = `{
  "ImageId": "m-bp1fieldtest00000001",
  "ImageName": "web-base-v9",
  "ImageFamily": "web-base",
  "ImageVersion": "9",
  "CreationTime": "2024-05-01T08:00:00Z",
  "Status": "Available",
  "Progress": "100%",
  "Architecture": "arm64",
  "OSType": "linux",
  "OSName": "Ubuntu 22.04 64位",
  "OSNameEn": "Ubuntu 22.04 64 bit",
  "Platform": "Ubuntu",
  "BootMode": "UEFI",
  "Size": 40,
  "Description": "line one\n\tline two ::error::not-a-command <b>&",
  "ImageOwnerAlias": "self",
  "ImageOwnerId": 1234567890123456,
  "ResourceGroupId": "rg-acfmzw2jz2z0001",
  "SupplierName": "Example Software",
  "ProductCode": "jxsc000001",
  "Usage": "instance",
  "IsCopied": true,
  "IsSelfShared": "true",
  "IsSubscribed": true,
  "IsSupportCloudinit": true,
  "IsSupportIoOptimized": true,
  "IsPublic": true,
  "LoginAsNonRootSupported": true,
  "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2"},
  "Tags": {"Tag": [
    {"TagKey": "team", "TagValue": "web"},
    {"TagKey": "build", "TagValue": "a<b>&c"}
  ]},
  "DiskDeviceMappings": {"DiskDeviceMapping": [
    {"Device": "/dev/xvda", "Size": "40", "SnapshotId": "s-bp1fieldtest0001", "Type": "system"},
    {"Device": "/dev/xvdb", "Size": "100", "SnapshotId": "s-bp1fieldtest0002", "Type": "data",
     "Format": "qcow2", "ImportOSSBucket": "bucket", "ImportOSSObject": "object.qcow2"}
  ]}
}`

// Image is ImageJSON read as the core reads an answer's image (Raw set). It
// panics if a field of the table is left at its zero value, which would
// make the parity tests blind to it.
func Image() imagefamily.Image {
	var img imagefamily.Image
	if err := img.UnmarshalJSON([]byte(ImageJSON)); err != nil {
		panic(err)
	}
	for _, f := range imagefamily.Fields() {
		if reflect.ValueOf(f.Value(img)).IsZero() {
			panic(fmt.Sprintf("fieldtest: field %s is not set in ImageJSON", f.Name))
		}
	}
	if len(img.Tags) == 0 || len(img.DiskDeviceMappings) < 2 {
		panic("fieldtest: ImageJSON needs tags and two disks")
	}
	return img
}
