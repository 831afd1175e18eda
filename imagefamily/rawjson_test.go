package imagefamily

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// apiSampleImage is the Image of the API reference's sample answer
// (DescribeImageFromFamily), with the masked tails ("****") of the ids
// filled in: a masked id is not a real id, and the trust boundary refuses it.
const apiSampleImage = `{
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
	"API reference sample": apiSampleImage,
	"only the id":          `{"ImageId":"m-bp1g7004ksh0oeuc0002"}`,
	"missing members":      `{"ImageId":"m-bp1g7004ksh0oeuc0003","ImageFamily":"web-base","Status":"Available","CreationTime":"2024-01-10T02:00:00Z"}`,
	"unknown members kept": `{"ImageId":"m-bp1g7004ksh0oeuc0004","BrandNewMember":{"Nested":[1,2.50,{"deep":true}]},"FutureFlag":"yes","LicenseType":"Auto"}`,
	"null members":         `{"ImageId":"m-bp1g7004ksh0oeuc0005","OSNameEn":null,"Tags":null,"DiskDeviceMappings":null,"Description":null}`,
	"numbers as written":   `{"ImageId":"m-bp1g7004ksh0oeuc0006","Size":40,"ImageOwnerId":1234567890123456789,"LoadingStatus":1.50e1}`,
	"both tag spellings":   `{"ImageId":"m-bp1g7004ksh0oeuc0007","Tags":{"Tag":[{"TagKey":"a","TagValue":"1","Key":"a","Value":"1"},{"Key":"only-new","Value":"2"}]}}`,
	"features and nested":  `{"ImageId":"m-bp1g7004ksh0oeuc0008","Features":{"NvmeSupport":"supported","ImdsSupport":"v2","Unknown":"x"},"DetectionOptions":{"Status":"Finished","Items":{"Item":[{"Name":"x","RiskLevel":"High"}]}}}`,
	"empty containers":     `{"ImageId":"m-bp1g7004ksh0oeuc0009","Tags":{},"DiskDeviceMappings":{"DiskDeviceMapping":[]},"Features":{}}`,
}

func serveImage(image string) ecstest.HostileRow {
	return ecstest.HostileRow{Name: "parity", Serve: func(w http.ResponseWriter, r *http.Request, _ ecstest.HostileEnv) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"RequestId":"473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E","Image":` + image + `}`))
	}}
}

// decodeExact parses JSON keeping numbers as written, so equality means the
// same members, the same values and the same JSON types.
func decodeExact(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

func TestImageJSONIsTheAPIsImage(t *testing.T) {
	for name, image := range parityImages {
		t.Run(name, func(t *testing.T) {
			h := ecstest.StartHostile(serveImage(image))
			defer h.Close()
			img, err := Resolve(context.Background(), hostileRequest(h))
			if err != nil {
				t.Fatal(err)
			}
			for _, marshal := range []func(any) ([]byte, error){json.Marshal, func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }} {
				out, err := marshal(img)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := decodeExact(t, out), decodeExact(t, []byte(image)); !reflect.DeepEqual(got, want) {
					t.Fatalf("JSON differs from the API's Image\n got: %s\nwant: %s", out, image)
				}
			}
			// Several regions: an object region -> Image, each exact.
			both, _ := json.Marshal(map[string]Image{"cn-hangzhou": img, "cn-shanghai": img})
			var m map[string]json.RawMessage
			if err := json.Unmarshal(both, &m); err != nil || len(m) != 2 {
				t.Fatalf("map: %v %s", err, both)
			}
			if !reflect.DeepEqual(decodeExact(t, m["cn-shanghai"]), decodeExact(t, []byte(image))) {
				t.Fatalf("multi-region JSON differs: %s", m["cn-shanghai"])
			}
			// The typed view still works, and a round trip keeps the bytes.
			if !strings.HasPrefix(img.ImageID, "m-bp1g7004ksh0oeuc") {
				t.Fatalf("typed view: %+v", img)
			}
			var back Image
			if err := json.Unmarshal(mustMarshal(t, img), &back); err != nil || back.ImageID != img.ImageID ||
				!reflect.DeepEqual(decodeExact(t, mustMarshal(t, back)), decodeExact(t, []byte(image))) {
				t.Fatalf("round trip: %v %+v", err, back)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImageTagsKeepBothSpellings(t *testing.T) {
	h := ecstest.StartHostile(serveImage(parityImages["both tag spellings"]))
	defer h.Close()
	img, err := Resolve(context.Background(), hostileRequest(h))
	if err != nil {
		t.Fatal(err)
	}
	if img.Tags["a"] != "1" || img.Tags["only-new"] != "2" {
		t.Fatalf("typed tags %v", img.Tags)
	}
}
