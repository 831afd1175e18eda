package family

import (
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/fieldtest"
)

// TestEveryFieldIsAnAttribute: every field of the core's table is an output
// attribute named Field.Name, of the field's type, holding Field.Value of
// the image (an endpoint answering with an image whose every field is set,
// through Execute); the only other attribute is region.
func TestEveryFieldIsAnAttribute(t *testing.T) {
	clearEnv(t)
	want := fieldtest.Image()
	h := conformance.StartHostile(conformance.ServeImage(fieldtest.ImageJSON))
	defer h.Close()
	d := mustConfigure(t, fmt.Sprintf(`
image_family        = %q
region              = "cn-hangzhou"
access_key          = "LTAIFIELDTEST0001"
secret_key          = "field-test-secret-0001"
custom_endpoint_ecs = %q
`, fieldtest.Family, h.URL()))
	d.prepare = func(r *imagefamily.Request) { r.Transport = h.Transport() }
	v, err := d.Execute()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}

	var attrs []string
	for name := range v.Type().AttributeTypes() {
		attrs = append(attrs, name)
	}
	var wantAttrs []string
	for _, f := range imagefamily.Fields() {
		wantAttrs = append(wantAttrs, f.Name)
	}
	wantAttrs = append(wantAttrs, "region", "image_ids")
	sort.Strings(attrs)
	sort.Strings(wantAttrs)
	if !reflect.DeepEqual(attrs, wantAttrs) {
		t.Errorf("attributes %v\nwant the table's, region and image_ids: %v", attrs, wantAttrs)
	}
	if got := v.GetAttr("region").AsString(); got != "cn-hangzhou" {
		t.Errorf("region = %q", got)
	}

	for _, f := range imagefamily.Fields() {
		a := v.GetAttr(f.Name)
		if a.IsNull() || !a.IsKnown() {
			t.Errorf("%s is %#v", f.Name, a)
			continue
		}
		switch val := f.Value(want).(type) {
		case string:
			if a.Type() != cty.String || a.AsString() != val {
				t.Errorf("%s = %#v, want the string %q", f.Name, a, val)
			}
		case int, int64:
			n := reflect.ValueOf(val).Int()
			if a.Type() != cty.Number || a.AsBigFloat().Cmp(new(big.Float).SetInt64(n)) != 0 {
				t.Errorf("%s = %#v, want the number %d", f.Name, a, n)
			}
		case bool:
			if a.Type() != cty.Bool || a.True() != val {
				t.Errorf("%s = %#v, want %v", f.Name, a, val)
			}
		case map[string]string:
			got := map[string]string{}
			for k, e := range a.AsValueMap() {
				got[k] = e.AsString()
			}
			if !a.Type().IsMapType() || !reflect.DeepEqual(got, val) {
				t.Errorf("%s = %v, want %v", f.Name, got, val)
			}
		case []imagefamily.DiskDeviceMapping:
			elems := a.AsValueSlice()
			if !a.Type().IsListType() || len(elems) != len(val) {
				t.Errorf("%s = %#v, want %d disks", f.Name, a, len(val))
				continue
			}
			for i, m := range val {
				e := elems[i]
				if n := len(e.Type().AttributeTypes()); n != len(imagefamily.DiskMappingFields()) {
					t.Errorf("%s[%d] has %d attributes, the table %d", f.Name, i, n, len(imagefamily.DiskMappingFields()))
				}
				for _, mf := range imagefamily.DiskMappingFields() {
					if got := e.GetAttr(mf.Name).AsString(); got != mf.Value(m) {
						t.Errorf("%s[%d].%s = %q, want %q", f.Name, i, mf.Name, got, mf.Value(m))
					}
				}
			}
		default:
			t.Errorf("%s: a value of type %T", f.Name, val)
		}
	}
}

// TestOutputStructFollowsTheTable: the generated DatasourceOutput has one
// field per table field, named after it, of the Image field's type, with
// the table's name as its mapstructure tag; toOutput copies each.
func TestOutputStructFollowsTheTable(t *testing.T) {
	img := fieldtest.Image()
	out := reflect.ValueOf(toOutput(img, "cn-hangzhou", nil))
	typ := out.Type()
	fields := imagefamily.Fields()
	if typ.NumField() != len(fields)+2 {
		t.Fatalf("DatasourceOutput has %d fields, the table %d (+ region, image_ids)", typ.NumField(), len(fields))
	}
	for i, f := range fields {
		sf := typ.Field(i)
		if sf.Name != f.GoName || sf.Tag.Get("mapstructure") != f.Name {
			t.Errorf("field %d is %s %q, want %s %q", i, sf.Name, sf.Tag.Get("mapstructure"), f.GoName, f.Name)
		}
		if f.Kind == imagefamily.KindDiskMappings {
			continue // the data source's own element type, checked above
		}
		if got := out.Field(i).Interface(); !reflect.DeepEqual(got, f.Value(img)) {
			t.Errorf("%s = %#v, want %#v", f.Name, got, f.Value(img))
		}
	}
	mt := reflect.TypeOf(DiskDeviceMapping{})
	for i, mf := range imagefamily.DiskMappingFields() {
		if sf := mt.Field(i); sf.Name != mf.GoName || sf.Tag.Get("mapstructure") != mf.Name {
			t.Errorf("disk field %d is %s %q, want %s %q", i, sf.Name, sf.Tag.Get("mapstructure"), mf.GoName, mf.Name)
		}
	}
}
