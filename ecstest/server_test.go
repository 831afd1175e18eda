package ecstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

var requestIDPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestSDKGetsNewestAvailableImage(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			s := newDemo(t, tls)
			resp, err := describe(ecsClient(t, s, demoKey, demoSecret, ""), s, "cn-hangzhou", "web-base")
			if err != nil {
				t.Fatal(err)
			}
			// 000004 is newer but Creating; 000003 is the newest Available.
			img := resp.Image
			if img.ImageId != "m-bp1demowebbase000003" || img.Status != "Available" || img.ImageFamily != "web-base" {
				t.Fatalf("got %+v", img)
			}
			if img.Size != 40 || len(img.DiskDeviceMappings.DiskDeviceMapping) != 1 ||
				img.DiskDeviceMappings.DiskDeviceMapping[0].Size != "40" || len(img.Tags.Tag) != 1 ||
				img.Tags.Tag[0].TagKey != "build" || img.Tags.Tag[0].Value != "3" {
				t.Fatalf("image fields lost: %+v", img)
			}
			if !requestIDPattern.MatchString(resp.RequestId) {
				t.Fatalf("RequestId %q is not an upper-case UUID", resp.RequestId)
			}
			if n := s.Requests("DescribeImageFromFamily"); n != 1 {
				t.Fatalf("Requests = %d", n)
			}
			last := s.LastRequest("DescribeImageFromFamily")
			if last.Method != http.MethodPost || last.Params.Get("Signature") == "" ||
				last.Params.Get("ImageFamily") != "web-base" || last.Params.Get("AccessKeyId") != demoKey ||
				!strings.Contains(last.Header.Get("User-Agent"), "AlibabaCloud") {
				t.Fatalf("recorded request: %+v", last)
			}
		})
	}
}

func TestSDKNotFoundIsEmptyImage(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")
	for _, tc := range []struct{ region, family string }{
		{"cn-hangzhou", "no-such-family"},
		{"cn-beijing", "web-base"},    // known region, no images
		{"cn-hangzhou", "Web-base"},   // families match exactly
		{"cn-hangzhou", "app-server"}, // the family lives in another region (cn-shanghai only)
	} {
		resp, err := describe(c, s, tc.region, tc.family)
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if resp.GetHttpStatus() != 200 || resp.Image.ImageId != "" {
			t.Fatalf("%v: want HTTP 200 and an empty Image, got %d %+v", tc, resp.GetHttpStatus(), resp.Image)
		}
		if !strings.Contains(resp.GetHttpContentString(), `"Image":{}`) {
			t.Fatalf("%v: body %s", tc, resp.GetHttpContentString())
		}
	}
	resp, err := describe(c, s, "cn-shanghai", "app-server")
	if err != nil || resp.Image.ImageId != "m-uf6demoappserver00001" {
		t.Fatalf("app-server: %v %+v", err, resp)
	}
}

func TestSDKRejections(t *testing.T) {
	s := newDemo(t, false)
	good := ecsClient(t, s, demoKey, demoSecret, "")

	se := wantServerError(t, func() error {
		_, err := describe(ecsClient(t, s, demoKey, "wrong-secret", ""), s, "cn-hangzhou", "web-base")
		return err
	}(), 400, "SignatureDoesNotMatch")
	// The SDK compares the echoed string to sign with its own; equal strings
	// mean "wrong secret", which is what happened.
	if !strings.HasPrefix(se.Message(), "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&") ||
		se.Recommend() != "InvalidAccessKeySecret: Please check you AccessKeySecret" {
		t.Fatalf("message %q recommend %q", se.Message(), se.Recommend())
	}
	if strings.Contains(se.Message(), demoSecret) {
		t.Fatal("secret leaked into the error")
	}

	_, err := describe(ecsClient(t, s, "LTAIUNKNOWNKEY000000", demoSecret, ""), s, "cn-hangzhou", "web-base")
	if se := wantServerError(t, err, 404, "InvalidAccessKeyId.NotFound"); se.Message() != "Specified access key is not found." {
		t.Fatal(se.Message())
	}

	_, err = describe(ecsClient(t, s, deniedKey, deniedSec, ""), s, "cn-hangzhou", "web-base")
	if se := wantServerError(t, err, 403, "InvalidUser.Unauthorized"); se.Message() != "The user is not authorized." {
		t.Fatal(se.Message())
	}

	_, err = describe(good, s, "xx-nowhere-1", "web-base")
	se = wantServerError(t, err, 404, "InvalidRegionId.NotFound")
	if se.Message() != "The RegionId provided does not exist." || se.HostId() != "ecs.aliyuncs.com" ||
		se.Recommend() != "https://api.aliyun.com/troubleshoot?q=InvalidRegionId.NotFound" || !requestIDPattern.MatchString(se.RequestId()) {
		t.Fatalf("%q %q %q %q", se.Message(), se.HostId(), se.Recommend(), se.RequestId())
	}

	_, err = describe(good, s, "cn-hangzhou", "")
	wantServerError(t, err, 400, "MissingImageFamily")

	for _, bad := range []string{"a", "1web", "aliyun-base", "acs:w", "acs:ram::1:role/x", "acs:x:web", "web base", "web/base", "web.base", strings.Repeat("a", 129), "wéb"} {
		_, err = describe(good, s, "cn-hangzhou", bad)
		wantServerError(t, err, 400, "InvalidImageFamily.Malformed")
	}
	for _, ok := range []string{"ab", "Web:base_1-2", strings.Repeat("a", 128)} {
		if _, err = describe(good, s, "cn-hangzhou", ok); err != nil {
			t.Fatalf("%q: %v", ok, err)
		}
	}
	// Rejected requests are counted too.
	if got, want := s.Requests("DescribeImageFromFamily"), 19; got != want {
		t.Fatalf("Requests = %d, want %d", got, want)
	}
}

func TestMutators(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")
	if !s.SetImageStatus("cn-hangzhou", "m-bp1demowebbase000004", "Available") {
		t.Fatal("image not found")
	}
	if s.SetImageStatus("cn-hangzhou", "m-none", "Available") {
		t.Fatal("found a missing image")
	}
	resp, err := describe(c, s, "cn-hangzhou", "web-base")
	if err != nil || resp.Image.ImageId != "m-bp1demowebbase000004" {
		t.Fatalf("%v %+v", err, resp.Image)
	}

	s.AddImage("eu-central-1", ecs.Image{ImageId: "m-new", ImageFamily: "fresh", Status: "Available", CreationTime: "2025-01-01T00:00:00Z"})
	resp, err = describe(c, s, "eu-central-1", "fresh")
	if err != nil || resp.Image.ImageId != "m-new" {
		t.Fatalf("%v %+v", err, resp.Image)
	}
	// Lists are [] on the wire, never null.
	if body := resp.GetHttpContentString(); !strings.Contains(body, `"Tag":[]`) || strings.Contains(body, "null") {
		t.Fatalf("body %s", body)
	}

	s.AddAccount(Account{AccessKeyID: "LTAINEWKEY00000000001", AccessKeySecret: "new-secret"})
	if _, err := describe(ecsClient(t, s, "LTAINEWKEY00000000001", "new-secret", ""), s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	s.AddAccount(Account{AccessKeyID: "LTAINEWKEY00000000001", AccessKeySecret: "new-secret", Inactive: true})
	_, err = describe(ecsClient(t, s, "LTAINEWKEY00000000001", "new-secret", ""), s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 400, "InvalidAccessKeyId.Inactive")
}

// TestConcurrentUse runs SDK calls (one client per goroutine, as the SDK
// requires) while mutators and fault setters run, for the race detector.
func TestConcurrentUse(t *testing.T) {
	s := newDemo(t, false)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := ecsClient(t, s, demoKey, demoSecret, "")
			for j := 0; j < 5; j++ {
				if _, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil {
					t.Error(err)
					return
				}
				s.AddImage("cn-shanghai", ecs.Image{ImageId: fmt.Sprintf("m-%d-%d", i, j), ImageFamily: "x1", Status: "Available"})
				s.SetImageStatus("cn-hangzhou", "m-bp1demowebbase000001", "UnAvailable")
				s.Delay("Other", time.Millisecond)
				_ = s.Requests("")
				_ = s.LastRequest("")
			}
		}(i)
	}
	wg.Wait()
	if n := s.Requests(""); n != 30 {
		t.Fatalf("Requests = %d", n)
	}
	s.ResetCounts()
	if s.Requests("") != 0 || s.LastRequest("").Method != "" {
		t.Fatal("ResetCounts did not reset")
	}
}

// The worked example of the ECS signature documentation.
func TestSignatureDocumentExample(t *testing.T) {
	p := url.Values{}
	for k, v := range map[string]string{
		"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
		"SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
		"Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
	} {
		p.Set(k, v)
	}
	want := "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if got := StringToSign("GET", p); got != want {
		t.Fatalf("string to sign\n got %s\nwant %s", got, want)
	}
	if got := sign("GET", p, "testsecret"); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Fatalf("signature %s", got)
	}
	if got := rpcencode.Encode("a b*~é/+"); got != "a%20b%2A~%C3%A9%2F%2B" {
		t.Fatal(got)
	}
}

func TestSignedRequestChecks(t *testing.T) {
	s := newDemo(t, false)
	post := func(p url.Values) rawAnswer { return raw(t, s, http.MethodPost, p, nil) }

	// A correct request, then the same nonce again.
	p := signed("POST", demoKey, demoSecret, nil)
	if a := post(p); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
	if e := decodeError(t, post(p)); e.Code != "SignatureNonceUsed" {
		t.Fatalf("%+v", e)
	}

	// The form-body shape of the SDK's credential providers: signed over the
	// query and the form together.
	q := signed("POST", demoKey, demoSecret, map[string]string{"ImageFamily": "\x00"})
	q.Del("Signature")
	all := url.Values{}
	for k, v := range q {
		all[k] = v
	}
	all.Set("ImageFamily", "web-base")
	q.Set("Signature", sign("POST", all, demoSecret))
	if a := raw(t, s, http.MethodPost, q, url.Values{"ImageFamily": {"web-base"}}); a.Status != 200 || !strings.Contains(string(a.Body), "m-bp1demowebbase000003") {
		t.Fatalf("form body: %d %s", a.Status, a.Body)
	}

	// GET works when signed as GET; a POST signature sent as GET does not,
	// and the message carries the server's string to sign.
	if a := raw(t, s, http.MethodGet, signed("GET", demoKey, demoSecret, nil), nil); a.Status != 200 {
		t.Fatalf("GET: %d %s", a.Status, a.Body)
	}
	e := decodeError(t, raw(t, s, http.MethodGet, signed("POST", demoKey, demoSecret, nil), nil))
	if e.Code != "SignatureDoesNotMatch" || !strings.Contains(e.Message, "server string to sign is:GET&%2F&AccessKeyId%3D"+demoKey) {
		t.Fatalf("%+v", e)
	}

	old := time.Now().Add(-20 * time.Minute).UTC().Format(timestampLayout)
	future := time.Now().Add(20 * time.Minute).UTC().Format(timestampLayout)
	for _, tc := range []struct {
		change       map[string]string
		status       int
		code         string
		method, with string
	}{
		{map[string]string{"Timestamp": old}, 400, "InvalidTimeStamp.Expired", "", ""},
		{map[string]string{"Timestamp": future}, 400, "InvalidTimeStamp.Expired", "", ""},
		{map[string]string{"Timestamp": "2024-01-01 00:00:00"}, 400, "InvalidTimeStamp.Format", "", ""},
		{map[string]string{"SignatureMethod": "HMAC-SHA256"}, 400, "InvalidSignatureMethod", "", ""},
		{map[string]string{"SignatureVersion": "2.0"}, 400, "InvalidSignatureVersion", "", ""},
		{map[string]string{"SignatureNonce": "\x00"}, 400, "MissingSignatureNonce", "", ""},
		{map[string]string{"Timestamp": "\x00"}, 400, "MissingTimestamp", "", ""},
		{map[string]string{"AccessKeyId": "\x00"}, 400, "MissingAccessKeyId", "", ""},
		{map[string]string{"Format": "\x00"}, 400, "MissingFormat", "", ""},
		{map[string]string{"Action": "RunInstances"}, 404, "InvalidAction.NotFound", "", ""},
		{map[string]string{"Version": "2099-01-01"}, 400, "InvalidVersion", "", ""},
		{map[string]string{"Version": "\x00"}, 400, "MissingVersion", "", ""},
		{map[string]string{"Action": "\x00"}, 400, "MissingAction", "", ""},
		{map[string]string{"RegionId": "\x00"}, 400, "MissingRegionId", "", ""},
		{nil, 400, "SignatureDoesNotMatch", "POST", "other-secret"},
	} {
		secret := demoSecret
		if tc.with != "" {
			secret = tc.with
		}
		a := post(signed("POST", demoKey, secret, tc.change))
		e := decodeError(t, a)
		if a.Status != tc.status || e.Code != tc.code {
			t.Errorf("%v: got %d %+v", tc.change, a.Status, e)
			continue
		}
		if e.HostId != "ecs.aliyuncs.com" || e.Recommend != "https://api.aliyun.com/troubleshoot?q="+tc.code || !requestIDPattern.MatchString(e.RequestId) {
			t.Errorf("%v: error body %+v", tc.change, e)
		}
		if a.Header.Get("x-acs-request-id") != e.RequestId || !strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%v: headers %v", tc.change, a.Header)
		}
	}
	// Missing Signature is reported by name, not as a mismatch.
	p = signed("POST", demoKey, demoSecret, nil)
	p.Del("Signature")
	if e := decodeError(t, post(p)); e.Code != "MissingSignature" {
		t.Fatalf("%+v", e)
	}

	// A message without a Code of string type would panic the SDK; make sure
	// every error body is the documented shape (decodeError is strict).
	var generic map[string]any
	_ = json.Unmarshal(raw(t, s, http.MethodPost, url.Values{}, nil).Body, &generic)
	if _, ok := generic["Code"].(string); !ok {
		t.Fatalf("%v", generic)
	}
}

// Shared and public families: acs:<owner>:<family> finds the owner's image
// shared with the caller, acs:<family> a public one; neither finds the
// caller's own images, and a family the owner does not share is empty.
func TestSharedAndPublicFamilies(t *testing.T) {
	s := newDemo(t, true)
	c := ecsClient(t, s, demoKey, demoSecret, "")
	for family, want := range map[string]string{
		"acs:210987654321:golden-base":           "m-bp1sharedgolden00001",
		"acs:alibaba_cloud_linux_3_2104_lts_x64": "aliyun_3_x64_20G_alibase_20240819.vhd",
		"golden-base":                            "",
		"acs:999999999999:golden-base":           "",
		"acs:210987654321:web-base":              "",
		"acs:123456789012:web-base":              "",
	} {
		resp, err := describe(c, s, "cn-hangzhou", family)
		if err != nil || resp.Image.ImageId != want {
			t.Errorf("%s: %q %v, want %q", family, resp.Image.ImageId, err, want)
		}
		if want != "" && resp.Image.ImageOwnerAlias == "self" {
			t.Errorf("%s: answered the caller's own image", family)
		}
	}
}
