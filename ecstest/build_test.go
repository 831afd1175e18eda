package ecstest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// buildCall sends one signed ECS call with the real SDK and returns the
// answer's fields, or the SDK's error.
func buildCall(t *testing.T, c *ecs.Client, s *Server, action string, params map[string]string) (map[string]any, error) {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain, req.Version, req.ApiName = "POST", scheme(s), s.Endpoint(), "2014-05-26", action
	req.QueryParams["RegionId"] = "cn-hangzhou"
	for k, v := range params {
		req.QueryParams[k] = v
	}
	resp, err := c.ProcessCommonRequest(req)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		t.Fatalf("%s answered %q: %v", action, resp.GetHttpContentString(), err)
	}
	return out, nil
}

func mustCall(t *testing.T, c *ecs.Client, s *Server, action string, params map[string]string) map[string]any {
	t.Helper()
	out, err := buildCall(t, c, s, action, params)
	if err != nil {
		t.Fatalf("%s %v: %v", action, params, err)
	}
	return out
}

func TestBuildBadRequests(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")
	for _, tc := range []struct {
		action string
		params map[string]string
		status int
		code   string
	}{
		{"RunInstances", nil, 404, "InvalidAction.NotFound"},
		{"CreateInstance", map[string]string{"ImageId": "m-bp1demowebbase000003"}, 400, "MissingParameter"},
		{"CreateInstance", map[string]string{"InstanceType": "ecs.nope.large", "ImageId": "m-bp1demowebbase000003", "SecurityGroupId": "sg-x"}, 400, "InvalidInstanceType.ValueNotSupported"},
		{"CreateInstance", map[string]string{"InstanceType": "ecs.g6.large", "ImageId": "m-nope", "SecurityGroupId": "sg-x"}, 404, "InvalidImageId.NotFound"},
		{"CreateInstance", map[string]string{"InstanceType": "ecs.g6.large", "ImageId": "m-bp1demowebbase000003", "SecurityGroupId": "sg-x"}, 404, "InvalidSecurityGroupId.NotFound"},
		{"StartInstance", nil, 400, "MissingParameter"},
		{"StartInstance", map[string]string{"InstanceId": "i-nope"}, 404, "InvalidInstanceId.NotFound"},
		{"DescribeZones", map[string]string{"RegionId": "xx-nowhere-1"}, 404, "InvalidRegionId.NotFound"},
		{"CreateVSwitch", map[string]string{"VpcId": "vpc-nope", "ZoneId": "cn-hangzhou-a", "CidrBlock": "172.16.0.0/24"}, 404, "InvalidVpcId.NotFound"},
		{"CreateVSwitch", map[string]string{"VpcId": "vpc-nope", "ZoneId": "cn-hangzhou-a"}, 400, "MissingParameter"},
		{"DeleteVpc", map[string]string{"VpcId": "vpc-nope"}, 404, "InvalidVpcId.NotFound"},
		{"DeleteSecurityGroup", map[string]string{"SecurityGroupId": "sg-nope"}, 404, "InvalidSecurityGroupId.NotFound"},
		{"AttachKeyPair", map[string]string{"KeyPairName": "nope", "InstanceIds": `["i-nope"]`}, 404, "InvalidKeyPairName.NotFound"},
		{"CreateImage", map[string]string{"InstanceId": "i-nope"}, 404, "InvalidInstanceId.NotFound"},
		{"CreateImage", nil, 400, "MissingParameter"},
		{"DeleteImage", map[string]string{"ImageId": "m-nope"}, 404, "InvalidImageId.NotFound"},
		{"DeleteImage", map[string]string{"ImageId": "aliyun_3_x64_20G_alibase_20240819.vhd"}, 404, "InvalidImageId.NotFound"},
		{"CancelCopyImage", map[string]string{"ImageId": "m-bp1demowebbase000003"}, 403, "IncorrectImageStatus"},
		{"ModifyImageSharePermission", nil, 400, "MissingParameter"},
		{"DeleteSnapshot", map[string]string{"SnapshotId": "s-nope"}, 404, "InvalidSnapshotId.NotFound"},
		{"AddTags", map[string]string{"ResourceId": "m-bp1demowebbase000003", "Tag.1.Key": "k"}, 400, "MissingParameter"},
	} {
		_, err := buildCall(t, c, s, tc.action, tc.params)
		t.Run(tc.action+"_"+tc.code, func(t *testing.T) { wantServerError(t, err, tc.status, tc.code) })
	}
}

// TestBuildStatuses walks an instance and an image through their statuses
// with one poll each, calling at the wrong moment on the way.
func TestBuildStatuses(t *testing.T) {
	s := newDemo(t, false)
	s.SetBuildPolls(1)
	s.SetCopyPolls(0)
	s.FailCopiesTo("cn-beijing")
	c := ecsClient(t, s, demoKey, demoSecret, "")
	vpc := mustCall(t, c, s, "CreateVpc", nil)["VpcId"].(string)
	if _, err := buildCall(t, c, s, "CreateVSwitch", map[string]string{"VpcId": vpc, "ZoneId": "cn-hangzhou-a", "CidrBlock": "172.16.0.0/24"}); err != nil {
		wantServerError(t, err, 400, "IncorrectVpcStatus")
	} else {
		t.Fatal("CreateVSwitch in a Pending VPC succeeded")
	}
	for _, want := range []string{"Pending", "Available"} {
		vpcs := mustCall(t, c, s, "DescribeVpcs", map[string]string{"VpcId": vpc})["Vpcs"].(map[string]any)["Vpc"].([]any)
		if got := vpcs[0].(map[string]any)["Status"]; got != want {
			t.Fatalf("VPC status %v, want %s", got, want)
		}
	}
	sw := mustCall(t, c, s, "CreateVSwitch", map[string]string{"VpcId": vpc, "ZoneId": "cn-hangzhou-a", "CidrBlock": "172.16.0.0/24"})["VSwitchId"].(string)
	sg := mustCall(t, c, s, "CreateSecurityGroup", map[string]string{"VpcId": vpc})["SecurityGroupId"].(string)
	in := mustCall(t, c, s, "CreateInstance", map[string]string{"InstanceType": "ecs.g6.large", "ImageFamily": "web-base",
		"SecurityGroupId": sg, "VSwitchId": sw})["InstanceId"].(string)
	instanceStatus := func() string {
		out := mustCall(t, c, s, "DescribeInstances", map[string]string{"InstanceIds": `["` + in + `"]`})
		return out["Instances"].(map[string]any)["Instance"].([]any)[0].(map[string]any)["Status"].(string)
	}
	_, err := buildCall(t, c, s, "StartInstance", map[string]string{"InstanceId": in})
	wantServerError(t, err, 403, "IncorrectInstanceStatus")
	_, err = buildCall(t, c, s, "CreateImage", map[string]string{"InstanceId": in})
	wantServerError(t, err, 403, "IncorrectInstanceStatus")
	if got := instanceStatus() + "," + instanceStatus(); got != "Pending,Stopped" {
		t.Fatalf("instance statuses %s", got)
	}
	_, err = buildCall(t, c, s, "DeleteSecurityGroup", map[string]string{"SecurityGroupId": sg})
	wantServerError(t, err, 403, "DependencyViolation")

	img := mustCall(t, c, s, "CreateImage", map[string]string{"InstanceId": in, "ImageFamily": "web-next", "ImageName": "web-next-1"})["ImageId"].(string)
	_, err = buildCall(t, c, s, "CreateImage", map[string]string{"InstanceId": in, "ImageName": "web-next-1"})
	wantServerError(t, err, 400, "InvalidImageName.Duplicated")
	if r, _ := describe(c, s, "cn-hangzhou", "web-next"); r.Image.ImageId != "" {
		t.Fatalf("a Creating image is the family's newest: %s", r.Image.ImageId)
	}
	for _, want := range []string{"Creating", "Available"} {
		r := describeImages(t, c, s, "cn-hangzhou", func(q *ecs.DescribeImagesRequest) { q.ImageId, q.Status = img, "Creating,Available" })
		if len(r.Images.Image) != 1 || r.Images.Image[0].Status != want {
			t.Fatalf("image %+v, want %s", r.Images.Image, want)
		}
	}
	if r, _ := describe(c, s, "cn-hangzhou", "web-next"); r.Image.ImageId != img {
		t.Fatalf("the family's newest is %q, want the created %s", r.Image.ImageId, img)
	}
	snapshot := mustImage(t, s, "cn-hangzhou", img).DiskDeviceMappings.DiskDeviceMapping[0].SnapshotId
	_, err = buildCall(t, c, s, "DeleteSnapshot", map[string]string{"SnapshotId": snapshot})
	wantServerError(t, err, 403, "SnapshotCreatedImage")

	copyID := mustCall(t, c, s, "CopyImage", map[string]string{"ImageId": img, "DestinationRegionId": "cn-beijing"})["ImageId"].(string)
	mustCall(t, c, s, "ModifyImageSharePermission", map[string]string{"ImageId": copyID, "RegionId": "cn-beijing"})
	r := describeImages(t, c, s, "cn-beijing", func(q *ecs.DescribeImagesRequest) { q.ImageId, q.Status = copyID, "CreateFailed" })
	if len(r.Images.Image) != 1 || r.Images.Image[0].ImageFamily != "" {
		t.Fatalf("the copy to the failing region: %+v, want CreateFailed without family", r.Images.Image)
	}
	_, err = buildCall(t, c, s, "CancelCopyImage", map[string]string{"ImageId": copyID, "RegionId": "cn-beijing"})
	wantServerError(t, err, 403, "IncorrectImageStatus")
	mustCall(t, c, s, "DeleteImage", map[string]string{"ImageId": copyID, "RegionId": "cn-beijing"})
	mustCall(t, c, s, "DeleteImage", map[string]string{"ImageId": img})
	mustCall(t, c, s, "DeleteSnapshot", map[string]string{"SnapshotId": snapshot})
}

func mustImage(t *testing.T, s *Server, region, id string) ecs.Image {
	t.Helper()
	img, ok := s.Image(region, id)
	if !ok {
		t.Fatalf("no image %s in %s", id, region)
	}
	return img
}

// TestProxyForm: a client with HTTP_PROXY at the emulator reaches every
// region's endpoint there; other hosts and CONNECT are refused without a
// connection, and the log names the host asked for.
func TestProxyForm(t *testing.T) {
	var log strings.Builder
	s, err := Start(demoFixture(t), Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	proxy, _ := url.Parse(s.URL)
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// A fresh nonce for each request: the emulator refuses a replay.
	query := func() string {
		return signed("POST", demoKey, demoSecret, map[string]string{"RegionId": "cn-shanghai", "ImageFamily": "web-base"}).Encode()
	}
	q := signed("POST", demoKey, demoSecret, nil)
	for _, tc := range []struct {
		url    string
		status int
	}{
		{"http://ecs.cn-shanghai.aliyuncs.com/?" + query(), 200},
		{"http://ecs-cn-shanghai.aliyuncs.com/?" + query(), 200},
		{"http://example.com/?" + q.Encode(), 403},
		{"http://100.100.100.200/latest/meta-data/ram/security-credentials/", 403},
	} {
		resp, err := hc.Post(tc.url, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.url, resp.StatusCode, tc.status)
		}
	}
	https, _ := url.Parse("https://ecs.cn-shanghai.aliyuncs.com/")
	if _, err := hc.Get(https.String()); err == nil || !strings.Contains(err.Error(), "Method Not Allowed") {
		t.Errorf("an https request through the emulator: %v, want the CONNECT refused", err)
	}
	s.Close() // every handler is done: the log is complete
	if !strings.Contains(log.String(), `ecstest: POST "ecs.cn-shanghai.aliyuncs.com" "DescribeImageFromFamily"`) ||
		strings.Contains(log.String(), demoSecret) || strings.Contains(log.String(), q.Get("Signature")) {
		t.Errorf("request log:\n%s", log.String())
	}
}
