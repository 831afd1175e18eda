package imagefamily

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Every exported field of Image is in the table exactly once, except the
// two that are not fields of the image; the Kind agrees with the Go type;
// the API member exists in the image's JSON form.
func TestFieldsCoverEveryImageField(t *testing.T) {
	notFields := map[string]bool{"RequestID": true, "Raw": true}
	byGo := map[string]Field{}
	for _, f := range Fields() {
		if _, dup := byGo[f.GoName]; dup {
			t.Errorf("Image.%s is in the table twice", f.GoName)
		}
		byGo[f.GoName] = f
	}
	typ := reflect.TypeOf(Image{})
	for i := 0; i < typ.NumField(); i++ {
		sf := typ.Field(i)
		if !sf.IsExported() || notFields[sf.Name] {
			if _, ok := byGo[sf.Name]; ok {
				t.Errorf("Image.%s is not a field of the image, but the table has it", sf.Name)
			}
			continue
		}
		f, ok := byGo[sf.Name]
		if !ok {
			t.Errorf("Image.%s is not in the table (imagefamily.Fields)", sf.Name)
			continue
		}
		delete(byGo, sf.Name)
		var want FieldKind
		switch sf.Type.Kind() {
		case reflect.String:
			want = KindString
		case reflect.Int, reflect.Int64:
			want = KindInt
		case reflect.Bool:
			want = KindBool
		case reflect.Map:
			want = KindTags
		case reflect.Slice:
			want = KindDiskMappings
		}
		if f.Kind != want {
			t.Errorf("%s: kind %v, but Image.%s is a %v", f.Name, f.Kind, sf.Name, sf.Type)
		}
	}
	for goName := range byGo {
		t.Errorf("the table names Image.%s, which does not exist", goName)
	}

	// The API members: every one is in the JSON of an image whose fields
	// are all set.
	b, err := json.Marshal(fullImage())
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]json.RawMessage
	json.Unmarshal(b, &members)
	for _, f := range Fields() {
		outer, inner, nested := strings.Cut(f.API, ".")
		raw, ok := members[outer]
		if ok && nested {
			var sub map[string]json.RawMessage
			json.Unmarshal(raw, &sub)
			_, ok = sub[inner]
		}
		if !ok {
			t.Errorf("%s: API member %s is not in the image's JSON %s", f.Name, f.API, b)
		}
	}
}

func TestDiskMappingFieldsCoverEveryField(t *testing.T) {
	typ := reflect.TypeOf(DiskDeviceMapping{})
	mf := DiskMappingFields()
	if len(mf) != typ.NumField() {
		t.Fatalf("%d disk mapping fields, DiskDeviceMapping has %d", len(mf), typ.NumField())
	}
	seen := map[string]bool{}
	for _, f := range mf {
		if _, ok := typ.FieldByName(f.GoName); !ok || seen[f.GoName] {
			t.Errorf("%s: GoName %s missing or repeated", f.Name, f.GoName)
		}
		seen[f.GoName] = true
		if f.Name == "" || f.API == "" || f.Description == "" {
			t.Errorf("incomplete disk mapping field %+v", f)
		}
	}
	// The order is the API's and MarshalJSON's: the Text of the disk
	// mappings and the image's JSON list the members alike.
	img := fullImage()
	b, _ := json.Marshal(img)
	var api struct {
		DiskDeviceMappings struct{ DiskDeviceMapping json.RawMessage }
	}
	json.Unmarshal(b, &api)
	f, _ := FieldByName("disk_device_mappings")
	if got := f.Text(img); got != string(api.DiskDeviceMappings.DiskDeviceMapping) {
		t.Errorf("disk mappings text %s\nthe image's JSON has %s", got, api.DiskDeviceMappings.DiskDeviceMapping)
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

func TestFieldNames(t *testing.T) {
	names := map[string]bool{}
	actionNames := map[string]bool{}
	for _, f := range Fields() {
		if !snakeCase.MatchString(f.Name) {
			t.Errorf("%q is not snake_case", f.Name)
		}
		if names[f.Name] || actionNames[f.ActionName()] {
			t.Errorf("%q is not unique", f.Name)
		}
		names[f.Name], actionNames[f.ActionName()] = true, true
		if want := strings.ReplaceAll(f.Name, "_", "-"); f.ActionName() != want || strings.Contains(f.ActionName(), "_") {
			t.Errorf("ActionName(%s) = %s, want %s", f.Name, f.ActionName(), want)
		}
		if f.API == "" || f.Description == "" || f.Example == "" {
			t.Errorf("%s: API, Description and Example are required: %+v", f.Name, f)
		}
		if strings.ContainsAny(f.Description, "\n\t|") {
			t.Errorf("%s: the description must be one paragraph without | (it goes into tables)", f.Name)
		}
		if got, ok := FieldByName(f.Name); !ok || got.Name != f.Name {
			t.Errorf("FieldByName(%s) = %+v, %v", f.Name, got, ok)
		}
	}
	for _, tc := range []struct{ name, action string }{
		{"image_id", "image-id"}, {"os_name_en", "os-name-en"}, {"size", "size"}, {"is_support_io_optimized", "is-support-io-optimized"},
	} {
		if f, ok := FieldByName(tc.name); !ok || f.ActionName() != tc.action {
			t.Errorf("ActionName(%s) = %q, want %q", tc.name, f.ActionName(), tc.action)
		}
	}
	if _, ok := FieldByName("region"); ok {
		t.Error("region is not a field of the image")
	}
	// Fields returns a copy.
	fs := Fields()
	fs[0].Name = "changed"
	if Fields()[0].Name != "image_id" {
		t.Error("Fields() shares its backing array")
	}
}

// fullImage has every field set to a value other than its zero value.
func fullImage() Image {
	img := Image{
		ImageID: "m-bp1g7004ksh0oeuc0001", ImageName: "web-base-v2", ImageFamily: "web-base", ImageVersion: "2",
		CreationTime: "2024-03-05T08:30:00Z", Status: "Available", Progress: "100%", Architecture: "x86_64",
		OSType: "linux", OSName: "Ubuntu 22.04 64位", OSNameEn: "Ubuntu 22.04 64 bit", Platform: "Ubuntu",
		BootMode: "UEFI", Size: 40, Description: "line one\nline\ttwo <&>", ImageOwnerAlias: "self",
		ImageOwnerID: 1234567890123456789, ResourceGroupID: "rg-1", SupplierName: "Supplier",
		ProductCode: "jxsc000001", Usage: "instance", IsCopied: true, IsSelfShared: true, IsSubscribed: true,
		IsSupportCloudinit: true, IsSupportIoOptimized: true, IsPublic: true, LoginAsNonRootSupported: true,
		NvmeSupport: "supported", ImdsSupport: "v2",
		Tags: map[string]string{"team": "web", "build": "42", "a<b": "x&y"},
		DiskDeviceMappings: []DiskDeviceMapping{
			{Device: "/dev/xvda", Size: "40", SnapshotID: "s-sys", Type: "system"},
			{Device: "/dev/xvdb", Size: "100", SnapshotID: "s-data", Type: "data", Format: "qcow2", ImportOSSBucket: "bkt", ImportOSSObject: "obj"},
		},
	}
	// Check that nothing was left at its zero value.
	v := reflect.ValueOf(img)
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		if name != "RequestID" && name != "Raw" && v.Field(i).IsZero() {
			panic("fullImage: " + name + " is not set")
		}
	}
	return img
}

func TestFieldValueAndText(t *testing.T) {
	img := fullImage()
	want := map[string]struct {
		value any
		text  string
	}{
		"image_id":                    {"m-bp1g7004ksh0oeuc0001", "m-bp1g7004ksh0oeuc0001"},
		"size":                        {40, "40"},
		"image_owner_id":              {int64(1234567890123456789), "1234567890123456789"},
		"is_copied":                   {true, "true"},
		"login_as_non_root_supported": {true, "true"},
		"description":                 {"line one\nline\ttwo <&>", "line one\nline\ttwo <&>"},
		"nvme_support":                {"supported", "supported"},
		"tags": {map[string]string{"team": "web", "build": "42", "a<b": "x&y"},
			`{"a<b":"x&y","build":"42","team":"web"}`},
		"disk_device_mappings": {img.DiskDeviceMappings,
			`[{"Device":"/dev/xvda","Size":"40","SnapshotId":"s-sys","Type":"system","Format":"","ImportOSSBucket":"","ImportOSSObject":""},` +
				`{"Device":"/dev/xvdb","Size":"100","SnapshotId":"s-data","Type":"data","Format":"qcow2","ImportOSSBucket":"bkt","ImportOSSObject":"obj"}]`},
	}
	for _, f := range Fields() {
		got := f.Value(img)
		if w, ok := want[f.Name]; ok {
			if !reflect.DeepEqual(got, w.value) {
				t.Errorf("%s: Value = %#v, want %#v", f.Name, got, w.value)
			}
			if text := f.Text(img); text != w.text {
				t.Errorf("%s: Text = %q, want %q", f.Name, text, w.text)
			}
		}
		// Value is the Image's field, as typed there.
		if sf := reflect.ValueOf(img).FieldByName(f.GoName); !reflect.DeepEqual(got, sf.Interface()) {
			t.Errorf("%s: Value = %#v, Image.%s = %#v", f.Name, got, f.GoName, sf.Interface())
		}
		// Text of the JSON kinds is valid JSON that decodes to the value.
		switch f.Kind {
		case KindTags:
			var m map[string]string
			if err := json.Unmarshal([]byte(f.Text(img)), &m); err != nil || !reflect.DeepEqual(m, img.Tags) {
				t.Errorf("tags text %s does not decode to the tags: %v", f.Text(img), err)
			}
		case KindDiskMappings:
			var l []map[string]string
			if err := json.Unmarshal([]byte(f.Text(img)), &l); err != nil || len(l) != 2 || l[1]["SnapshotId"] != "s-data" {
				t.Errorf("disk mappings text %s: %v", f.Text(img), err)
			}
		}
	}

	// The zero image: empty collections, never null, and copies.
	var zero Image
	for name, text := range map[string]string{"tags": "{}", "disk_device_mappings": "[]", "size": "0", "is_public": "false", "image_id": ""} {
		f, _ := FieldByName(name)
		if got := f.Text(zero); got != text {
			t.Errorf("%s of the zero image: %q, want %q", name, got, text)
		}
	}
	tags, _ := FieldByName("tags")
	if m := tags.Value(zero).(map[string]string); m == nil {
		t.Error("tags of the zero image is a nil map")
	}
	tags.Value(img).(map[string]string)["team"] = "changed"
	if img.Tags["team"] != "web" {
		t.Error("Value returned the image's own map")
	}
	disks, _ := FieldByName("disk_device_mappings")
	if s := disks.Value(zero).([]DiskDeviceMapping); s == nil {
		t.Error("disk mappings of the zero image is a nil slice")
	}
}

func TestFieldKinds(t *testing.T) {
	for k, s := range map[FieldKind]string{KindString: "string", KindInt: "int", KindBool: "bool", KindTags: "tags", KindDiskMappings: "disk mappings", 0: "FieldKind(0)"} {
		if k.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), s)
		}
	}
	for _, k := range []FieldKind{KindString, KindInt, KindBool} {
		if !k.Scalar() {
			t.Errorf("%v is scalar", k)
		}
	}
	if KindTags.Scalar() || KindDiskMappings.Scalar() {
		t.Error("tags and disk mappings are not scalar")
	}
}
