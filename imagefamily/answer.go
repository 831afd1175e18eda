package imagefamily

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The answer half of the trust boundary: before anything from a
// DescribeImageFromFamily answer is printed or written, it must agree with
// the request and with the API reference. A check that fails is an
// *AnswerError naming the field, the rule and the value (escaped, bounded).

// imageIDPattern: custom images are "m-" and lower-case letters and digits
// (m-bp1g7004ksh0oeuc0001); public ones look like
// aliyun_3_x64_20G_alibase_20240819.vhd. Both fit letters, digits, '.', '_'
// and '-', starting with a letter or digit, at most 128 characters: nothing
// that a shell, a terminal, a workflow command or an HCL string treats
// specially.
var imageIDPattern = bounded(`^[A-Za-z0-9][A-Za-z0-9._-]+$`, 2, 128)

// requestIDPattern: RequestIds are UUIDs in upper case; be lenient on the
// shape, strict on the alphabet, since it is printed in every message.
var requestIDPattern = bounded(`^[A-Za-z0-9._-]+$`, 1, 128)

const (
	// maxImageSizeGiB bounds Image.Size and DiskDeviceMapping.Size: ECS disks
	// are at most 32 TiB (an image's system disk at most 2 TiB).
	maxImageSizeGiB = 32768
	// maxLabelBytes bounds the short descriptive strings (name, version,
	// OS name...); the API allows 128 characters, which is up to 512 bytes
	// of UTF-8.
	maxLabelBytes = 512
	// maxTextBytes bounds free text (description, tag values).
	maxTextBytes = 4096
	excerptBytes = 80
	// maxTags and maxDiskMappings bound the lists an image carries.
	maxTags         = 128
	maxDiskMappings = 128
)

// firstImageYear: ECS opened in 2009; an image created before is not real.
const firstImageYear = 2009

// clockSkew is how far in the future a CreationTime may be (clock skew
// between this machine and the API).
const clockSkew = 48 * time.Hour

// answerEnvelope is the top level of an ECS answer, decoded without trusting
// any member's type.
type answerEnvelope struct {
	RequestID json.RawMessage `json:"RequestId"`
	Code      json.RawMessage `json:"Code"`
	Message   json.RawMessage `json:"Message"`
	Image     json.RawMessage `json:"Image"`
}

// readEnvelope reads the top level of an ECS answer, whatever the action:
// a JSON object, within the shape budgets (shape.go), with a well-formed
// RequestId. A top-level Code makes it an error answer (*APIError; the bool
// says whether it is worth retrying) whatever the HTTP status.
func readEnvelope(c answerCheck, body []byte) (answerEnvelope, string, bool, error) {
	var env answerEnvelope
	if len(bytes.TrimSpace(body)) == 0 {
		return env, "", false, c.refuseUnquoted("body", "HTTP 2xx with an empty body; every real answer is a JSON object with a RequestId", "")
	}
	if g := (depthGuard{max: MaxJSONDepth}); !g.feed(body) {
		return env, "", false, c.refuseUnquoted("body", deepRule, "")
	}
	if !json.Valid(body) {
		return env, "", false, c.refuse("body", string(body), "it is not valid JSON; an API answer is a JSON object", "")
	}
	if p := checkShape(body); p != nil {
		where := strings.TrimPrefix(p.path, ".")
		if where == "" {
			where = "the answer"
		}
		rule := "in " + safetext.Excerpt(where, 80) + " " + p.rule
		if p.name == "" {
			return env, "", false, c.refuseUnquoted("body", rule, "")
		}
		return env, "", false, c.refuse("member name", p.name, rule, "")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return env, "", false, c.refuse("body", string(body), "it must be a JSON object, as every API answer is", "")
	}
	requestID, _ := jsonString(env.RequestID)
	if requestID != "" && !requestIDPattern.MatchString(requestID) {
		return env, "", false, c.refuse("RequestId", requestID, "it must be letters, digits, '.', '_' or '-', at most 128", "")
	}
	if code, present := jsonScalar(env.Code); present && code != "" {
		// An error document in a 200 (some gateways do this): the code
		// decides, as it would for a 4xx or 5xx.
		msg, _ := jsonString(env.Message)
		retry, e := apiError(c.op, 200, code, requestID, msg, c.scrub)
		return env, requestID, retry, e
	}
	if requestID == "" {
		return env, "", false, c.refuse("body", string(body), "HTTP 2xx without a RequestId: every real answer has one", "")
	}
	return env, requestID, false, nil
}

// answerCheck is what checkImageAnswer needs to know about the call.
type answerCheck struct {
	op       operation
	endpoint string // scheme://host
	family   string // as requested
	now      time.Time
	scrub    *scrubber
	// anyStatus and anyFamily relax the image rules for DescribeImages
	// answers (lifecycle_call.go): an image in any of the API's statuses,
	// and, for a lookup by id, in any family.
	anyStatus, anyFamily bool
}

// refuse refuses field, quoting the value the server sent.
func (c answerCheck) refuse(field, value, rule, requestID string) *AnswerError {
	e := c.refuseUnquoted(field, rule, requestID)
	e.Value = safetext.Quote(c.scrub.clean(value), excerptBytes)
	return e
}

// refuseUnquoted refuses field with no value to quote (an empty body, one
// nested too deep, a member of the wrong JSON type).
func (c answerCheck) refuseUnquoted(field, rule, requestID string) *AnswerError {
	return &AnswerError{Op: c.op.String(), Endpoint: c.endpoint, Field: field,
		Rule: safetext.Excerpt(c.scrub.clean(rule), 300), RequestID: requestID}
}

// checkImageAnswer reads the raw body of an HTTP 2xx DescribeImageFromFamily
// answer. It returns the image, a *NotFoundError (the API's empty Image), an
// *APIError (a body with a top-level Code is an error answer whatever the
// HTTP status; the bool says whether it is worth retrying), or an
// *AnswerError.
func checkImageAnswer(c answerCheck, body []byte) (Image, bool, error) {
	env, requestID, retry, err := readEnvelope(c, body)
	if err != nil {
		return Image{}, retry, err
	}
	raw := bytes.TrimSpace(env.Image)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return Image{}, false, &NotFoundError{Region: c.op.Region, Family: c.family, RequestID: requestID}
	}
	if raw[0] != '{' {
		return Image{}, false, c.refuse("Image", string(raw), "it must be a JSON object", requestID)
	}
	var in ecs.Image
	if err := json.Unmarshal(raw, &in); err != nil {
		field, rule := "Image", "it does not match the API reference: "+safetext.Excerpt(err.Error(), 160)
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			field = "Image." + te.Field
			rule = "it must be a JSON " + te.Type.String() + ", not a JSON " + safetext.Excerpt(te.Value, 40)
		}
		return Image{}, false, c.refuseUnquoted(field, rule, requestID)
	}
	if in.ImageId == "" {
		// The API's "no available image": an empty Image object.
		return Image{}, false, &NotFoundError{Region: c.op.Region, Family: c.family, RequestID: requestID}
	}
	if err := c.checkImage(&in, requestID); err != nil {
		return Image{}, false, err
	}
	img := fromSDK(&in)
	img.RequestID = requestID
	img.Raw = append(json.RawMessage(nil), raw...)
	return img, false, nil
}

func (c answerCheck) checkImage(in *ecs.Image, requestID string) error {
	refuse := func(field, value, rule string) error { return c.refuse(field, value, rule, requestID) }
	if !imageIDPattern.MatchString(in.ImageId) {
		return refuse("ImageId", in.ImageId, "an image id is 2 to 128 letters, digits, '.', '_' or '-' (custom images look like m-bp1g7004ksh0oeuc0001)")
	}
	if in.ImageFamily != "" && !c.anyFamily && !familyAgrees(c.family, in.ImageFamily) {
		return refuse("ImageFamily", in.ImageFamily, fmt.Sprintf("the answer is for another family than the one asked for (%q)", c.family))
	}
	if owner, _, _ := SharedFamilyParts(c.family); owner != "" && !c.anyFamily && in.ImageOwnerId != 0 && !sameAccount(owner, in.ImageOwnerId) {
		// A family named by its owner (acs:<uid>:<family>) answered with
		// another account's image: whatever the server meant, it is not the
		// image that was asked for.
		return refuse("ImageOwnerId", strconv.FormatInt(in.ImageOwnerId, 10), fmt.Sprintf("the family names its owner, account %s, and the answer's image belongs to another account", owner))
	}
	if in.Status != "" && in.Status != "Available" && !c.anyStatus {
		return refuse("Status", in.Status, "DescribeImageFromFamily returns only Available images")
	}
	if in.Size < 0 || in.Size > maxImageSizeGiB {
		return refuse("Size", strconv.Itoa(in.Size), fmt.Sprintf("an image size is 0 to %d GiB", maxImageSizeGiB))
	}
	if in.CreationTime != "" {
		t, ok := parseAPITime(in.CreationTime)
		switch {
		case !ok:
			return refuse("CreationTime", in.CreationTime, "it must be a UTC time such as 2024-08-19T06:37:48Z")
		case t.Year() < firstImageYear || t.After(c.now.Add(clockSkew)):
			return refuse("CreationTime", in.CreationTime, fmt.Sprintf("it must lie between %d and now", firstImageYear))
		}
	}
	// The image's text fields, by the rule the table gives each.
	sdk := reflect.ValueOf(in).Elem()
	for i, p := range imagePaths() {
		if f := fields[i]; f.answer != ruleOwn {
			value := sdk.FieldByIndex(p.wire).String()
			if err := checkAnswerRule(f.answer, value); err != "" {
				return refuse(f.API, value, err)
			}
		}
	}
	// Every tag and disk is an output of its own on every front: a count
	// far above the API's (20 tags, 17 disks) would make outputs many times
	// the answer.
	if n := len(in.Tags.Tag); n > maxTags {
		return refuse("Tags.Tag", strconv.Itoa(n)+" tags", fmt.Sprintf("an image has at most %d tags here (ECS allows 20)", maxTags))
	}
	if n := len(in.DiskDeviceMappings.DiskDeviceMapping); n > maxDiskMappings {
		return refuse("DiskDeviceMappings.DiskDeviceMapping", strconv.Itoa(n)+" disks", fmt.Sprintf("an image has at most %d disks here (ECS allows 17)", maxDiskMappings))
	}
	for i, t := range in.Tags.Tag {
		for _, kv := range []struct{ name, value string }{{"TagKey", t.TagKey}, {"Key", t.Key}} {
			if err := checkLabel(kv.value); err != "" {
				return refuse(fmt.Sprintf("Tags.Tag[%d].%s", i, kv.name), kv.value, err)
			}
		}
		for _, kv := range []struct{ name, value string }{{"TagValue", t.TagValue}, {"Value", t.Value}} {
			if err := checkText(kv.value); err != "" {
				return refuse(fmt.Sprintf("Tags.Tag[%d].%s", i, kv.name), kv.value, err)
			}
		}
	}
	for i, d := range in.DiskDeviceMappings.DiskDeviceMapping {
		if d.Size != "" {
			n, err := strconv.Atoi(d.Size)
			if err != nil || n < 0 || n > maxImageSizeGiB {
				return refuse(fmt.Sprintf("DiskDeviceMappings.DiskDeviceMapping[%d].Size", i), d.Size, fmt.Sprintf("a disk size is a whole number of GiB, 0 to %d", maxImageSizeGiB))
			}
		}
		disk := reflect.ValueOf(&in.DiskDeviceMappings.DiskDeviceMapping[i]).Elem()
		for j, p := range diskPaths() {
			f, value := diskMappingFields[j], disk.FieldByIndex(p.wire).String()
			if err := checkAnswerRule(f.answer, value); err != "" {
				return refuse(fmt.Sprintf("DiskDeviceMappings.DiskDeviceMapping[%d].%s", i, f.API), value, err)
			}
		}
	}
	return nil
}

// checkAnswerRule checks s by rule; ruleOwn asks nothing here.
func checkAnswerRule(rule answerRule, s string) string {
	switch rule {
	case ruleLabel:
		return checkLabel(s)
	case ruleText:
		return checkText(s)
	}
	return ""
}

// checkText: free text (a description, a tag value) may hold line breaks,
// but it must be valid UTF-8 and bounded.
func checkText(s string) string {
	if len(s) > maxTextBytes || !utf8.ValidString(s) {
		return fmt.Sprintf("it must be valid UTF-8 of at most %d bytes", maxTextBytes)
	}
	return ""
}

// checkLabel: a short descriptive string must be valid UTF-8, bounded, and
// free of control characters (the API's naming rules allow none), so it can
// be printed on one line anywhere.
func checkLabel(s string) string {
	switch {
	case len(s) > maxLabelBytes:
		return fmt.Sprintf("it must be at most %d bytes", maxLabelBytes)
	case !safetext.IsClean(s):
		return "it must be printable text without control characters or line breaks"
	}
	return ""
}

// familyAgrees: the answer's family must be the one asked for. A shared or
// public family asked for as acs:<owner>:<family> may be answered with
// either that name or its <family> part.
func familyAgrees(asked, answered string) bool {
	if asked == answered {
		return true
	}
	if strings.HasPrefix(asked, "acs:") {
		if i := strings.LastIndexByte(asked, ':'); i >= 0 && asked[i+1:] == answered {
			return true
		}
	}
	return false
}

// sameAccount: the account id a family names (digits, perhaps with
// leading zeros) is id.
func sameAccount(named string, id int64) bool {
	n, err := strconv.ParseInt(named, 10, 64)
	return err == nil && n == id
}

// parseAPITime accepts the forms ECS uses for CreationTime.
func parseAPITime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05Z", "2006-01-02T15:04Z", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// jsonString returns a JSON string member's value; present is false for an
// absent member, null or another type.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonScalar returns a member as text whatever its JSON type (some services
// send numeric codes); present is false for absent or null.
func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", false
	}
	if s, ok := jsonString(raw); ok {
		return s, true
	}
	return string(raw), true
}

// maxMembers bounds the members of one JSON object in an answer.
const maxMembers = 512

// imageMemberNames are the API's member names of an Image, from the SDK's
// response type.
func imageMemberNames() []string {
	t := reflect.TypeOf(ecs.Image{})
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag != "" {
			names = append(names, tag)
		}
	}
	return names
}
