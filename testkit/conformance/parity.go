package conformance

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
)

// Answers for parity tests: Image objects as the API may send them, which
// every front's JSON output must reproduce member for member.

// APISampleImage is the Image of the API reference's sample answer
// (DescribeImageFromFamily), with the masked tails ("****") of the ids
// filled in: a masked id is not a real id, and the trust boundary refuses it.
const APISampleImage = `{
    "CreationTime": "2018-01-10T01:01:10Z",
    "Status": "Available",
    "ImageFamily": "web-base",
    "Progress": "100",
    "IsCopied": false,
    "IsSupportIoOptimized": true,
    "ImageOwnerAlias": "self",
    "IsSupportCloudinit": true,
    "ImageVersion": "2",
    "Usage": "none",
    "IsSelfShared": "true",
    "Description": "testDescription",
    "Size": 80,
    "Platform": "Aliyun",
    "ImageName": "testImageName",
    "OSName": "Alibaba Cloud Linux 2.1903",
    "ImageId": "m-bp1g7004ksh0oeuc0001",
    "OSType": "linux",
    "IsSubscribed": false,
    "ProductCode": "jxsc000001",
    "Architecture": "x86_64",
    "DiskDeviceMappings": {
      "DiskDeviceMapping": [
        {
          "Type": "custom",
          "ImportOSSBucket": "testEcsImport",
          "SnapshotId": "s-bp17ot2q7x72ggtw0001",
          "ImportOSSObject": "imageImport",
          "Size": "80",
          "Device": "/dev/xvdb",
          "Format": "qcow2"
        }
      ]
    },
    "Tags": {
      "Tag": [
        {
          "TagValue": "TestValue",
          "TagKey": "TestKey"
        }
      ]
    }
  }`

// parityImages are Image objects as an API may send them: the reference's
// sample, members missing, members the SDK does not know, nulls, numbers
// written in several ways, tags carrying both spellings.
var parityImages = map[string]string{
	"API reference sample": APISampleImage,
	"only the id":          `{"ImageId":"m-bp1g7004ksh0oeuc0002"}`,
	"missing members":      `{"ImageId":"m-bp1g7004ksh0oeuc0003","ImageFamily":"web-base","Status":"Available","CreationTime":"2024-01-10T02:00:00Z"}`,
	"unknown members kept": `{"ImageId":"m-bp1g7004ksh0oeuc0004","BrandNewMember":{"Nested":[1,2.50,{"deep":true}]},"FutureFlag":"yes","LicenseType":"Auto"}`,
	"null members":         `{"ImageId":"m-bp1g7004ksh0oeuc0005","OSNameEn":null,"Tags":null,"DiskDeviceMappings":null,"Description":null}`,
	"numbers as written":   `{"ImageId":"m-bp1g7004ksh0oeuc0006","Size":40,"ImageOwnerId":1234567890123456789,"LoadingStatus":1.50e1}`,
	"both tag spellings":   `{"ImageId":"m-bp1g7004ksh0oeuc0007","Tags":{"Tag":[{"TagKey":"a","TagValue":"1","Key":"a","Value":"1"},{"Key":"only-new","Value":"2"}]}}`,
	"features and nested":  `{"ImageId":"m-bp1g7004ksh0oeuc0008","Features":{"NvmeSupport":"supported","ImdsSupport":"v2","Unknown":"x"},"DetectionOptions":{"Status":"Finished","Items":{"Item":[{"Name":"x","RiskLevel":"High"}]}}}`,
	"empty containers":     `{"ImageId":"m-bp1g7004ksh0oeuc0009","Tags":{},"DiskDeviceMappings":{"DiskDeviceMapping":[]},"Features":{}}`,
}

// ParityImages returns the parity Image objects by name.
func ParityImages() map[string]string { return maps.Clone(parityImages) }

// ServeImage is a row whose endpoint answers every request with image (an
// Image object's JSON) as the Image of a well-formed answer.
func ServeImage(image string) HostileRow {
	return HostileRow{Name: "serve image", Outcome: HostileFound, Requests: 1,
		Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"RequestId":"473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E","Image":` + image + `}`))
		}}
}

// SameJSON reports whether got is the JSON value want: the same members,
// values and JSON types, numbers compared as written. Output escapes and
// white space may differ. An error means got is not JSON.
func SameJSON(got, want []byte) (bool, error) {
	g, err := decodeExact(got)
	if err != nil {
		return false, err
	}
	w, err := decodeExact(want)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(g, w), nil
}

func decodeExact(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
