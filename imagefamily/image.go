package imagefamily

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

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

// fromSDK maps the SDK's response image into ours, field by field as the
// table (fields.go) pairs the API's members with Image's fields.
func fromSDK(in *ecs.Image) Image {
	var out Image
	src, dst := reflect.ValueOf(in).Elem(), reflect.ValueOf(&out).Elem()
	paths := imagePaths()
	for i, f := range fields {
		from, to := src.FieldByIndex(paths[i].wire), dst.Field(paths[i].typed)
		switch {
		case f.Kind == KindTags || f.Kind == KindDiskMappings:
			// Below: the API nests them one level deeper.
		case from.Kind() == reflect.String && to.Kind() == reflect.Bool:
			// The API writes IsSelfShared as the string "true" or "false".
			to.SetBool(from.String() == "true")
		case to.Kind() == reflect.String:
			to.SetString(from.String())
		case to.Kind() == reflect.Bool:
			to.SetBool(from.Bool())
		default:
			to.SetInt(from.Int())
		}
	}
	out.Tags = map[string]string{}
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
	out.DiskDeviceMappings = []DiskDeviceMapping{}
	for i := range in.DiskDeviceMappings.DiskDeviceMapping {
		var m DiskDeviceMapping
		src, dst := reflect.ValueOf(&in.DiskDeviceMappings.DiskDeviceMapping[i]).Elem(), reflect.ValueOf(&m).Elem()
		for _, p := range diskPaths() {
			dst.Field(p.typed).SetString(src.FieldByIndex(p.wire).String())
		}
		out.DiskDeviceMappings = append(out.DiskDeviceMappings, m)
	}
	return out
}

// fieldPath is where a field of a table lives: its index path in the
// SDK's struct (the wire) and its index in ours (the typed view).
type fieldPath struct {
	wire  []int
	typed int
}

// imagePaths and diskPaths are the tables' fieldPaths, in the tables'
// order, found on first use (no start-up cost; no name lookups per answer).
var (
	imagePaths = sync.OnceValue(func() []fieldPath {
		paths := make([]fieldPath, len(fields))
		for i, f := range fields {
			paths[i] = findPath(reflect.TypeFor[ecs.Image](), f.API, reflect.TypeFor[Image](), f.GoName)
		}
		return paths
	})
	diskPaths = sync.OnceValue(func() []fieldPath {
		paths := make([]fieldPath, len(diskMappingFields))
		for i, f := range diskMappingFields {
			paths[i] = findPath(reflect.TypeFor[ecs.DiskDeviceMapping](), f.API, reflect.TypeFor[DiskDeviceMapping](), f.GoName)
		}
		return paths
	})
)

// findPath finds a member at an API path such as ImageId or
// Features.NvmeSupport in the SDK's struct (the SDK names its fields as the
// API names its members), and goName in ours.
func findPath(wire reflect.Type, api string, typed reflect.Type, goName string) fieldPath {
	var p fieldPath
	for name := range strings.SplitSeq(api, ".") {
		sf, ok := wire.FieldByName(name)
		if !ok {
			panic("imagefamily: the SDK's " + wire.Name() + " has no member " + api)
		}
		p.wire, wire = append(p.wire, sf.Index...), sf.Type
	}
	sf, ok := typed.FieldByName(goName)
	if !ok {
		panic("imagefamily: " + typed.Name() + " has no field " + goName)
	}
	p.typed = sf.Index[0]
	return p
}

// MarshalJSON writes the image as the API sent it (Raw). An Image built in
// code, without Raw, is written from the field table: the API's member
// names and nesting in the table's order, each member of the JSON type the
// API gives it (IsSelfShared is a string there), a nested member
// (Features.…) only when set, as the API leaves out what it does not know;
// tags are sorted by key so the output is stable.
func (img Image) MarshalJSON() ([]byte, error) {
	if len(img.Raw) > 0 {
		return img.Raw, nil
	}
	var b bytes.Buffer
	wire, paths := reflect.TypeFor[ecs.Image](), imagePaths()
	b.WriteByte('{')
	written := map[string]bool{}
	for i, f := range fields {
		outer, _, nested := strings.Cut(f.API, ".")
		if written[outer] {
			continue
		}
		written[outer] = true
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		writeJSONString(&b, outer)
		b.WriteByte(':')
		switch {
		case nested:
			b.WriteByte('{')
			n := 0
			for _, g := range fields {
				o, inner, _ := strings.Cut(g.API, ".")
				if o != outer || inner == "" || g.Text(img) == "" {
					continue
				}
				if n++; n > 1 {
					b.WriteByte(',')
				}
				writeJSONString(&b, inner)
				b.WriteByte(':')
				writeJSONString(&b, g.Text(img))
			}
			b.WriteByte('}')
		case f.Kind == KindTags:
			b.WriteString(`{"Tag":[`)
			for i, k := range slices.Sorted(maps.Keys(img.Tags)) {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(`{"TagKey":`)
				writeJSONString(&b, k)
				b.WriteString(`,"TagValue":`)
				writeJSONString(&b, img.Tags[k])
				b.WriteByte('}')
			}
			b.WriteString(`]}`)
		case f.Kind == KindDiskMappings:
			b.WriteString(`{"DiskDeviceMapping":[`)
			for i, d := range img.DiskDeviceMappings {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('{')
				for j, g := range diskMappingFields {
					if j > 0 {
						b.WriteByte(',')
					}
					writeJSONString(&b, g.API)
					b.WriteByte(':')
					writeJSONString(&b, g.Value(d))
				}
				b.WriteByte('}')
			}
			b.WriteString(`]}`)
		case f.Kind == KindString || wire.FieldByIndex(paths[i].wire).Type.Kind() == reflect.String:
			writeJSONString(&b, f.Text(img))
		default:
			b.WriteString(f.Text(img))
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string, HTML-escaped as json.Marshal
// writes strings.
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always encodes
	b.Write(q)
}

// UnmarshalJSON reads the API shape, so an image printed by one front can be
// read back by another (and by tests).
func (img *Image) UnmarshalJSON(b []byte) error {
	var in ecs.Image
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*img = fromSDK(&in)
	img.Raw = append(json.RawMessage(nil), b...)
	return nil
}
