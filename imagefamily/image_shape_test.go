package imagefamily

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// The field table is the one description of the image: the SDK's image
// (the wire), Image (the typed view), the JSON, the answer check and the
// outputs all follow it. A field added in one place only fails here.

// sdkMembersNotFields are the SDK image's members that are not fields of
// ours: the SDK's Image serves other calls too, and these are not in
// DescribeImageFromFamily's answer (the API reference lists none of them).
var sdkMembersNotFields = map[string]bool{
	"DetectionOptions":               true,
	"Features.CpuOnlineUpgrade":      true,
	"Features.CpuOnlineDowngrade":    true,
	"Features.MemoryOnlineUpgrade":   true,
	"Features.MemoryOnlineDowngrade": true,
}

// ownRuleMembers are the text members checkImage checks by rules of their
// own (not by the table's answer rule).
var ownRuleMembers = map[string]bool{"ImageId": true, "ImageFamily": true, "CreationTime": true, "Status": true}

// apiMember is the member of an SDK value at an API path, the zero Value
// when there is none.
func apiMember(v reflect.Value, path string) reflect.Value {
	for name := range strings.SplitSeq(path, ".") {
		if v = v.FieldByName(name); !v.IsValid() {
			return v
		}
	}
	return v
}

// Every member of the SDK's image (nested Features members included) is a
// field of the table, and every field's API member is one of the SDK's, of
// a type that converts to the Image field's.
func TestFieldsCoverEverySDKMember(t *testing.T) {
	inTable := map[string]Field{}
	for _, f := range Fields() {
		inTable[f.API] = f
	}
	sdk := reflect.TypeOf(ecs.Image{})
	for i := range sdk.NumField() {
		sf := sdk.Field(i)
		if sdkMembersNotFields[sf.Name] {
			continue
		}
		if sf.Name == "Features" {
			for j := range sf.Type.NumField() {
				if name := "Features." + sf.Type.Field(j).Name; inTable[name].Name == "" && !sdkMembersNotFields[name] {
					t.Errorf("the SDK's image has %s, which is not in the field table (imagefamily/fields.go)", name)
				}
			}
			continue
		}
		if inTable[sf.Name].Name == "" {
			t.Errorf("the SDK's image has %s, which is not in the field table (imagefamily/fields.go)", sf.Name)
		}
	}
	wire := reflect.ValueOf(ecs.Image{})
	typed := reflect.TypeOf(Image{})
	for _, f := range Fields() {
		member := apiMember(wire, f.API)
		if !member.IsValid() {
			t.Errorf("%s: API member %s is not in the SDK's image", f.Name, f.API)
			continue
		}
		goField, _ := typed.FieldByName(f.GoName)
		if f.Kind.Scalar() && !member.Type().ConvertibleTo(goField.Type) && !(member.Kind() == reflect.String && goField.Type.Kind() == reflect.Bool) {
			t.Errorf("%s: the SDK's %s is a %v, Image.%s a %v", f.Name, f.API, member.Type(), f.GoName, goField.Type)
		}
	}
	disk := reflect.ValueOf(ecs.DiskDeviceMapping{})
	for _, f := range DiskMappingFields() {
		if !apiMember(disk, f.API).IsValid() {
			t.Errorf("disk mapping %s: API member %s is not in the SDK's disk mapping", f.Name, f.API)
		}
	}
}

// Every text field is checked at the trust boundary: by the table's rule,
// or by one of checkImage's own. A string field added without a rule fails.
func TestEveryTextFieldHasAnAnswerRule(t *testing.T) {
	wire := reflect.ValueOf(ecs.Image{})
	for _, f := range Fields() {
		text := apiMember(wire, f.API).Kind() == reflect.String
		switch {
		case text && f.answer == ruleOwn && !ownRuleMembers[f.API]:
			t.Errorf("%s: a text member with no answer rule (give it ruleLabel or ruleText in fields.go)", f.Name)
		case !text && f.answer != ruleOwn:
			t.Errorf("%s: not text, but has answer rule %d", f.Name, f.answer)
		case ownRuleMembers[f.API] && f.answer != ruleOwn:
			t.Errorf("%s: checked by its own rule and by the table's", f.Name)
		}
	}
	for _, f := range DiskMappingFields() {
		if f.answer == ruleOwn && f.API != "Size" {
			t.Errorf("disk mapping %s: no answer rule", f.Name)
		}
	}
}

// Each field with an answer rule is refused, by its API name, when the
// server puts a control character in it.
func TestAnswerRuleRefusesEveryLabel(t *testing.T) {
	c := answerCheck{op: operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web-base"},
		family: "web-base", now: time.Now(), scrub: &scrubber{}}
	for _, f := range Fields() {
		if f.answer != ruleLabel {
			continue
		}
		outer, inner, nested := strings.Cut(f.API, ".")
		member := `"` + outer + `":"bad\u001b[31m"`
		if nested {
			member = `"` + outer + `":{"` + inner + `":"bad\u001b[31m"}`
		}
		body := `{"RequestId":"R1","Image":{"ImageId":"m-good0000000000000001","ImageFamily":"web-base","Status":"Available",` + member + `}}`
		_, _, err := checkImageAnswer(c, []byte(body))
		var refused *AnswerError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), f.API) {
			t.Errorf("%s: err = %v, want %s refused", f.Name, err, f.API)
		}
	}
}

// An Image built in code writes JSON that reads back as the same image,
// through the SDK's image (the same path an answer takes).
func TestTypedJSONRoundTrip(t *testing.T) {
	want := fullImage()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var in ecs.Image
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	if got := fromSDK(&in); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip through %s:\n got %+v\nwant %+v", b, got, want)
	}
	const wantEmpty = `{"ImageId":"","ImageName":"","ImageFamily":"","ImageVersion":"","CreationTime":"","Status":"","Progress":"",` +
		`"Architecture":"","OSType":"","OSName":"","OSNameEn":"","Platform":"","BootMode":"","Size":0,"Description":"",` +
		`"ImageOwnerAlias":"","ImageOwnerId":0,"ResourceGroupId":"","IsCopied":false,"IsSelfShared":"false","IsSubscribed":false,` +
		`"IsSupportCloudinit":false,"IsSupportIoOptimized":false,"IsPublic":false,"LoginAsNonRootSupported":false,"Features":{},` +
		`"Usage":"","ProductCode":"","SupplierName":"","Tags":{"Tag":[]},"DiskDeviceMappings":{"DiskDeviceMapping":[]}}`
	if b, _ := json.Marshal(Image{}); string(b) != wantEmpty {
		t.Errorf("empty image:\n got %s\nwant %s", b, wantEmpty)
	}
}
