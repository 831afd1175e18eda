package imagefamily

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The one table of an image's named fields. Every front names its outputs
// from it: the data source's HCL attributes (Name), the GitHub Action's
// outputs and the CLI's text columns (ActionName); and the docs' output
// tables are generated from it (tools/fieldgen, run by go generate). A
// field added here becomes an attribute, an output, a column and a row of
// every table at the next `go generate ./...`.
//
// What is not a field of the image (the region it was resolved in, the
// action's found/json/image-ids) is each front's own, declared next to the
// generator's templates.

// FieldKind is the shape of a field's value.
type FieldKind int

const (
	// KindString is a string; its text is the string itself.
	KindString FieldKind = iota + 1
	// KindInt is a whole number (an int or an int64 in Image); its text is
	// the number in decimal.
	KindInt
	// KindBool is true or false, and so is its text.
	KindBool
	// KindTags is the image's tags, a map[string]string; its text is a JSON
	// object with the keys sorted, {} when there are none.
	KindTags
	// KindDiskMappings is the image's disks, a []DiskDeviceMapping; its
	// text is a JSON array of objects with the API's member names
	// (DiskMappingFields), [] when there are none.
	KindDiskMappings
)

func (k FieldKind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "int"
	case KindBool:
		return "bool"
	case KindTags:
		return "tags"
	case KindDiskMappings:
		return "disk mappings"
	}
	return "FieldKind(" + strconv.Itoa(int(k)) + ")"
}

// Scalar reports whether values of the kind are one string, number or
// boolean (the kinds the CLI's text output has a column for).
func (k FieldKind) Scalar() bool { return k == KindString || k == KindInt || k == KindBool }

// Field is one named field of an Image.
type Field struct {
	// Name is the snake_case name: the data source's HCL attribute, such as
	// image_id.
	Name string
	// API is the member of the API's Image object it comes from, such as
	// ImageId; a nested member is written with a dot (Features.NvmeSupport).
	API string
	// GoName is the name of the Image struct field that holds it.
	GoName string
	// Kind is the shape of its value.
	Kind FieldKind
	// Description says what it is, in Markdown (code in backticks), one
	// paragraph, in words that hold for every front.
	Description string
	// Example is a sample of its text form, for the docs' tables.
	Example string

	// answer is what the answer check asks of its text at the trust
	// boundary (answer.go).
	answer answerRule
}

// answerRule is what the answer check asks of a field's text before any
// front sees it.
type answerRule int

const (
	// ruleOwn: a rule of its own in checkImage (an id's pattern, a family,
	// a time, a status, a size), or no text to check (a number, a
	// boolean, tags and disks, which have their own loops).
	ruleOwn answerRule = iota
	// ruleLabel: a short label, printable on one line (checkLabel).
	ruleLabel
	// ruleText: free text, line breaks allowed, valid UTF-8 and bounded
	// (checkText).
	ruleText
)

// ActionName is Name with '-' instead of '_' (image_id -> image-id): the
// GitHub Action's output name and the CLI's text column name.
func (f Field) ActionName() string { return strings.ReplaceAll(f.Name, "_", "-") }

// Value is the field's value in img, typed by Kind: a string (KindString),
// an int or int64 as Image declares it (KindInt), a bool (KindBool), a
// map[string]string (KindTags) or a []DiskDeviceMapping (KindDiskMappings).
// Maps and slices are copies, never nil.
func (f Field) Value(img Image) any {
	v := reflect.ValueOf(img).FieldByName(f.GoName)
	if !v.IsValid() {
		panic("imagefamily: field " + f.Name + " names no Image field " + f.GoName)
	}
	switch f.Kind {
	case KindTags:
		m := maps.Clone(v.Interface().(map[string]string))
		if m == nil {
			m = map[string]string{}
		}
		return m
	case KindDiskMappings:
		s := slices.Clone(v.Interface().([]DiskDeviceMapping))
		if s == nil {
			s = []DiskDeviceMapping{}
		}
		return s
	}
	return v.Interface()
}

// Text is the field's value in img as one string: strings as they are,
// numbers in decimal, booleans as true or false, tags as a JSON object with
// sorted keys, disk mappings as a JSON array of objects with the API's
// member names (Device, Size, SnapshotId, ...). JSON text is not
// HTML-escaped: a tag value "a<b" stays "a<b". Text does not escape strings
// for a terminal; a front printing it for humans does.
func (f Field) Text(img Image) string {
	switch v := f.Value(img).(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case map[string]string:
		keys := slices.Sorted(maps.Keys(v))
		var b strings.Builder
		writeObject(&b, len(keys), func(i int) (string, string) { return keys[i], v[keys[i]] })
		return b.String()
	case []DiskDeviceMapping:
		var b strings.Builder
		b.WriteByte('[')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeObject(&b, len(diskMappingFields), func(j int) (string, string) {
				return diskMappingFields[j].API, diskMappingFields[j].Value(m)
			})
		}
		b.WriteByte(']')
		return b.String()
	}
	panic("imagefamily: field " + f.Name + " has a value of an unexpected type")
}

// writeObject writes a JSON object of n string members, in order; member
// gives the name and the value of the i-th.
func writeObject(b *strings.Builder, n int, member func(i int) (name, value string)) {
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		name, value := member(i)
		b.WriteString(jsonText(name))
		b.WriteByte(':')
		b.WriteString(jsonText(value))
	}
	b.WriteByte('}')
}

// jsonText is s as a JSON string, not HTML-escaped.
func jsonText(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// Fields returns the table of the image's named fields, in the order the
// fronts list them. Every exported field of Image is in it, except RequestID
// (of the answer, not the image) and Raw (the whole image). The slice is a
// copy; changing it changes nothing else.
func Fields() []Field { return slices.Clone(fields) }

// FieldByName returns the field with the given snake_case Name.
func FieldByName(name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// DiskMappingField is one named field of a DiskDeviceMapping: an attribute
// of each element of the data source's disk_device_mappings, a member of
// each object in the JSON text of the disk mappings.
type DiskMappingField struct {
	// Name is the snake_case name (the HCL attribute), such as snapshot_id.
	Name string
	// API is the API's member name, such as SnapshotId.
	API string
	// GoName is the name of the DiskDeviceMapping struct field.
	GoName string
	// Description says what it is, in Markdown.
	Description string

	// answer is what the answer check asks of its text.
	answer answerRule
}

// Value is the field's value in m; every one is a string.
func (f DiskMappingField) Value(m DiskDeviceMapping) string {
	v := reflect.ValueOf(m).FieldByName(f.GoName)
	if !v.IsValid() {
		panic("imagefamily: disk mapping field " + f.Name + " names no DiskDeviceMapping field " + f.GoName)
	}
	return v.String()
}

// DiskMappingFields returns the table of a disk mapping's named fields, in
// the API's order. Every field of DiskDeviceMapping is in it.
func DiskMappingFields() []DiskMappingField { return slices.Clone(diskMappingFields) }

var fields = []Field{
	{Name: "image_id", API: "ImageId", GoName: "ImageID", Kind: KindString, Example: "m-bp1g7004ksh0oeuc0001",
		Description: "The image id, such as `m-bp1g7004ksh0oeuc****`; what `source_image` of the alicloud-ecs builder wants."},
	{Name: "image_name", API: "ImageName", GoName: "ImageName", Kind: KindString, answer: ruleLabel, Example: "web-base-v2",
		Description: "The image name."},
	{Name: "image_family", API: "ImageFamily", GoName: "ImageFamily", Kind: KindString, Example: "web-base",
		Description: "The image family (as stored on the image)."},
	{Name: "image_version", API: "ImageVersion", GoName: "ImageVersion", Kind: KindString, answer: ruleLabel, Example: "2",
		Description: "The image version, when one was set."},
	{Name: "creation_time", API: "CreationTime", GoName: "CreationTime", Kind: KindString, Example: "2024-03-05T08:30:00Z",
		Description: "When the image was created, in UTC, as the API writes it (such as `2024-05-01T08:00:00Z`)."},
	{Name: "status", API: "Status", GoName: "Status", Kind: KindString, Example: "Available",
		Description: "The image status; always `Available` for a resolved image."},
	{Name: "progress", API: "Progress", GoName: "Progress", Kind: KindString, answer: ruleLabel, Example: "100%",
		Description: "Creation progress, such as `100%`."},
	{Name: "architecture", API: "Architecture", GoName: "Architecture", Kind: KindString, answer: ruleLabel, Example: "x86_64",
		Description: "The architecture: `x86_64`, `arm64` or `i386`."},
	{Name: "os_type", API: "OSType", GoName: "OSType", Kind: KindString, answer: ruleLabel, Example: "linux",
		Description: "The OS type: `linux` or `windows`."},
	{Name: "os_name", API: "OSName", GoName: "OSName", Kind: KindString, answer: ruleLabel, Example: "Alibaba Cloud Linux 3.2104 LTS 64位",
		Description: "The OS name, in Chinese when the API gives one."},
	{Name: "os_name_en", API: "OSNameEn", GoName: "OSNameEn", Kind: KindString, answer: ruleLabel, Example: "Alibaba Cloud Linux 3.2104 LTS 64 bit",
		Description: "The OS name in English."},
	{Name: "platform", API: "Platform", GoName: "Platform", Kind: KindString, answer: ruleLabel, Example: "Aliyun",
		Description: "The distribution, such as `Ubuntu`, `CentOS` or `Windows Server 2022`."},
	{Name: "boot_mode", API: "BootMode", GoName: "BootMode", Kind: KindString, answer: ruleLabel, Example: "UEFI",
		Description: "The boot mode: `BIOS` or `UEFI`."},
	{Name: "size", API: "Size", GoName: "Size", Kind: KindInt, Example: "40",
		Description: "The image size in GiB."},
	{Name: "description", API: "Description", GoName: "Description", Kind: KindString, answer: ruleText, Example: "Base image for web servers",
		Description: "The image description."},
	{Name: "image_owner_alias", API: "ImageOwnerAlias", GoName: "ImageOwnerAlias", Kind: KindString, answer: ruleLabel, Example: "self",
		Description: "Who owns the image: `self`, `others`, `system` or `marketplace`."},
	{Name: "image_owner_id", API: "ImageOwnerId", GoName: "ImageOwnerID", Kind: KindInt, Example: "1234567890123456",
		Description: "The id of the Alibaba Cloud account that owns the image; `0` when the API gives none."},
	{Name: "resource_group_id", API: "ResourceGroupId", GoName: "ResourceGroupID", Kind: KindString, answer: ruleLabel, Example: "rg-acfmzw2jz2z0001",
		Description: "The id of the resource group the image belongs to, if any."},
	{Name: "is_copied", API: "IsCopied", GoName: "IsCopied", Kind: KindBool, Example: "false",
		Description: "Whether the image was copied from another image."},
	{Name: "is_self_shared", API: "IsSelfShared", GoName: "IsSelfShared", Kind: KindBool, answer: ruleLabel, Example: "false",
		Description: "Whether the image has been shared with other accounts."},
	{Name: "is_subscribed", API: "IsSubscribed", GoName: "IsSubscribed", Kind: KindBool, Example: "false",
		Description: "Whether you subscribed to the image's product code (marketplace images)."},
	{Name: "is_support_cloudinit", API: "IsSupportCloudinit", GoName: "IsSupportCloudinit", Kind: KindBool, Example: "true",
		Description: "Whether the image supports cloud-init."},
	{Name: "is_support_io_optimized", API: "IsSupportIoOptimized", GoName: "IsSupportIoOptimized", Kind: KindBool, Example: "true",
		Description: "Whether the image can run on I/O optimized instances."},
	{Name: "is_public", API: "IsPublic", GoName: "IsPublic", Kind: KindBool, Example: "false",
		Description: "Whether the image is a public image."},
	{Name: "login_as_non_root_supported", API: "LoginAsNonRootSupported", GoName: "LoginAsNonRootSupported", Kind: KindBool, Example: "true",
		Description: "Whether instances from the image can be logged in to as a non-root user (`ecs-user`)."},
	{Name: "nvme_support", API: "Features.NvmeSupport", GoName: "NvmeSupport", Kind: KindString, answer: ruleLabel, Example: "supported",
		Description: "Whether the image supports NVMe: `supported` or `unsupported`; empty when the API does not say."},
	{Name: "imds_support", API: "Features.ImdsSupport", GoName: "ImdsSupport", Kind: KindString, answer: ruleLabel, Example: "v2",
		Description: "The instance metadata access modes the image supports: `v1` (normal and security hardening mode) or `v2` (security hardening mode only); empty when the API does not say."},
	{Name: "usage", API: "Usage", GoName: "Usage", Kind: KindString, answer: ruleLabel, Example: "none",
		Description: "Whether the image is used by instances: `instance` or `none`."},
	{Name: "product_code", API: "ProductCode", GoName: "ProductCode", Kind: KindString, answer: ruleLabel, Example: "jxsc000001",
		Description: "The Alibaba Cloud Marketplace product code, if any."},
	{Name: "supplier_name", API: "SupplierName", GoName: "SupplierName", Kind: KindString, answer: ruleLabel, Example: "Example Software Co.",
		Description: "The supplier of a marketplace image, if any."},
	{Name: "tags", API: "Tags", GoName: "Tags", Kind: KindTags, Example: `{"team":"web"}`,
		Description: "The image tags. An empty map, never null, when the image has none."},
	{Name: "disk_device_mappings", API: "DiskDeviceMappings", GoName: "DiskDeviceMappings", Kind: KindDiskMappings,
		Example:     `[{"Device":"/dev/xvda","Size":"40","SnapshotId":"s-bp1…",…}]`,
		Description: "The image's disks, system disk first as the API lists them. An empty list, never null, when the API lists none."},
}

var diskMappingFields = []DiskMappingField{
	{Name: "device", API: "Device", GoName: "Device", answer: ruleLabel, Description: "Device name, such as `/dev/xvda`."},
	{Name: "size", API: "Size", GoName: "Size", Description: "Disk size in GiB, as a string the way the API gives it (HCL converts it to a number where one is expected)."},
	{Name: "snapshot_id", API: "SnapshotId", GoName: "SnapshotID", answer: ruleLabel, Description: "Snapshot id of the disk."},
	{Name: "type", API: "Type", GoName: "Type", answer: ruleLabel, Description: "`system` or `data`."},
	{Name: "format", API: "Format", GoName: "Format", answer: ruleLabel, Description: "Image file format for imported images, such as `qcow2`."},
	{Name: "import_oss_bucket", API: "ImportOSSBucket", GoName: "ImportOSSBucket", answer: ruleLabel, Description: "OSS bucket an imported image came from."},
	{Name: "import_oss_object", API: "ImportOSSObject", GoName: "ImportOSSObject", answer: ruleLabel, Description: "OSS object an imported image came from."},
}
