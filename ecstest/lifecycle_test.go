package ecstest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

func modify(c *ecs.Client, s *Server, region, id, family, status string, dry bool) error {
	r := ecs.CreateModifyImageAttributeRequest()
	r.Scheme = scheme(s)
	r.RegionId, r.ImageId, r.ImageFamily, r.Status = region, id, family, status
	if dry {
		// This SDK version has no DryRun field on the request; the
		// parameter is sent as the API documents it.
		r.QueryParams["DryRun"] = "true"
	}
	_, err := c.ModifyImageAttribute(r)
	return err
}

func describeImages(t *testing.T, c *ecs.Client, s *Server, region string, set func(*ecs.DescribeImagesRequest)) *ecs.DescribeImagesResponse {
	t.Helper()
	r := ecs.CreateDescribeImagesRequest()
	r.Scheme = scheme(s)
	r.RegionId = region
	if set != nil {
		set(r)
	}
	resp, err := c.DescribeImages(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func newest(t *testing.T, c *ecs.Client, s *Server, region, family string) string {
	t.Helper()
	resp, err := describe(c, s, region, family)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Image.ImageId
}

const allStatuses = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"

// A copy lands Creating without family or tags, resolves nowhere, becomes
// Available after the configured polls, and resolves once its family is set.
func TestCopyPromoteRollback(t *testing.T) {
	s := newDemo(t, true)
	s.SetCopyPolls(2)
	c := ecsClient(t, s, demoKey, demoSecret, "")

	r := ecs.CreateCopyImageRequest()
	r.Scheme = scheme(s)
	r.RegionId, r.ImageId, r.DestinationRegionId = "cn-hangzhou", "m-bp1demowebbase000003", "cn-beijing"
	cp, err := c.CopyImage(r)
	if err != nil {
		t.Fatal(err)
	}
	copyID := cp.ImageId
	if !strings.HasPrefix(copyID, "m-") || cp.RequestId == "" {
		t.Fatalf("copy answer %+v", cp)
	}
	img, ok := s.Image("cn-beijing", copyID)
	if !ok || img.Status != "Creating" || img.ImageFamily != "" || len(img.Tags.Tag) != 0 {
		t.Fatalf("copy %+v", img)
	}
	if got := newest(t, c, s, "cn-beijing", "web-base"); got != "" {
		t.Fatalf("a copy resolved: %s", got)
	}
	// Setting the family of an image still Creating is refused.
	wantServerError(t, modify(c, s, "cn-beijing", copyID, "web-base", "", false), 403, "IncorrectImageStatus")

	for poll, want := range []string{"Creating", "Creating", "Available", "Available"} {
		resp := describeImages(t, c, s, "cn-beijing", func(r *ecs.DescribeImagesRequest) { r.ImageId = copyID; r.Status = allStatuses })
		if resp.TotalCount != 1 || len(resp.Images.Image) != 1 || resp.Images.Image[0].Status != want {
			t.Fatalf("poll %d: want %s, got %+v", poll+1, want, resp.Images)
		}
	}

	// A dry run changes nothing and answers DryRunOperation.
	wantServerError(t, modify(c, s, "cn-beijing", copyID, "web-base", "", true), 400, "DryRunOperation")
	if img, _ := s.Image("cn-beijing", copyID); img.ImageFamily != "" {
		t.Fatalf("dry run changed the family: %+v", img)
	}
	if err := modify(c, s, "cn-beijing", copyID, "web-base", "", false); err != nil {
		t.Fatal(err)
	}
	// The log of writes holds every ModifyImageAttribute as it arrived,
	// refused ones included.
	writes := s.Writes()
	if n := len(writes); n != 3 || writes[1].DryRun != "true" || writes[2].DryRun != "" ||
		writes[2] != (ImageWrite{RegionID: "cn-beijing", ImageID: copyID, ImageFamily: "web-base"}) {
		t.Fatalf("writes %+v", writes)
	}
	if got := newest(t, c, s, "cn-beijing", "web-base"); got != copyID {
		t.Fatalf("after promote: %s", got)
	}

	// Rollback: deprecate the newest, the family resolves to the previous one.
	if err := modify(c, s, "cn-hangzhou", "m-bp1demowebbase000003", "", "Deprecated", false); err != nil {
		t.Fatal(err)
	}
	if got := newest(t, c, s, "cn-hangzhou", "web-base"); got != "m-bp1demowebbase000002" {
		t.Fatalf("after rollback: %s", got)
	}
	if err := modify(c, s, "cn-hangzhou", "m-bp1demowebbase000003", "", "Available", false); err != nil {
		t.Fatal(err)
	}
	if got := newest(t, c, s, "cn-hangzhou", "web-base"); got != "m-bp1demowebbase000003" {
		t.Fatalf("after undo: %s", got)
	}
	// A Deprecated image cannot be copied.
	if err := modify(c, s, "cn-hangzhou", "m-bp1demowebbase000002", "", "Deprecated", false); err != nil {
		t.Fatal(err)
	}
	r.ImageId = "m-bp1demowebbase000002"
	_, err = c.CopyImage(r)
	wantServerError(t, err, 403, "IncorrectImageStatus")
	if n := s.Requests("ModifyImageAttribute"); n != 6 {
		t.Fatalf("ModifyImageAttribute requests: %d", n)
	}
	if n := s.Requests("CopyImage"); n != 2 {
		t.Fatalf("CopyImage requests: %d", n)
	}
	if got := s.LastRequest("ModifyImageAttribute").Params.Get("Status"); got != "Deprecated" {
		t.Fatalf("last request Status %q", got)
	}
}

func TestModifyImageAttributeRejections(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")
	const id = "m-bp1demowebbase000003"
	cases := []struct {
		name                  string
		region, id, fam, stat string
		status                int
		code                  string
	}{
		{"missing image id", "cn-hangzhou", "", "web-base", "", 400, "MissingParameter"},
		{"unknown image", "cn-hangzhou", "m-nosuchimage00000001", "web-base", "", 404, "InvalidImageId.NotFound"},
		{"image of another region", "cn-shanghai", id, "web-base", "", 404, "InvalidImageId.NotFound"},
		{"unknown region", "xx-nowhere-1", id, "web-base", "", 404, "InvalidRegionId.NotFound"},
		{"shared image", "cn-hangzhou", "m-bp1sharedgolden00001", "web-base", "", 404, "InvalidImageId.NotFound"},
		{"public image", "cn-hangzhou", "aliyun_3_x64_20G_alibase_20240819.vhd", "web-base", "", 404, "InvalidImageId.NotFound"},
		{"family acs:", "cn-hangzhou", id, "acs:web", "", 400, "InvalidImageFamily.Malformed"},
		{"family aliyun", "cn-hangzhou", id, "aliyun-web", "", 400, "InvalidImageFamily.Malformed"},
		{"family starts with a digit", "cn-hangzhou", id, "1web", "", 400, "InvalidImageFamily.Malformed"},
		{"family too short", "cn-hangzhou", id, "w", "", 400, "InvalidImageFamily.Malformed"},
		{"family too long", "cn-hangzhou", id, "w" + strings.Repeat("x", 128), "", 400, "InvalidImageFamily.Malformed"},
		{"family with a URL", "cn-hangzhou", id, "web-https://x", "", 400, "InvalidImageFamily.Malformed"},
		{"family with a slash", "cn-hangzhou", id, "web/base", "", 400, "InvalidImageFamily.Malformed"},
		{"bad status", "cn-hangzhou", id, "", "Creating", 400, "InvalidStatus.ValueNotSupported"},
		{"creating image", "cn-hangzhou", "m-bp1demowebbase000004", "", "Available", 403, "IncorrectImageStatus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantServerError(t, modify(c, s, tc.region, tc.id, tc.fam, tc.stat, false), tc.status, tc.code)
		})
	}
	// '.' is allowed by ModifyImageAttribute's rule.
	if err := modify(c, s, "cn-hangzhou", id, "web.base:v2_x-1", "", false); err != nil {
		t.Fatal(err)
	}
	if img, _ := s.Image("cn-hangzhou", id); img.ImageFamily != "web.base:v2_x-1" {
		t.Fatalf("family %q", img.ImageFamily)
	}
}

func TestLifecycleRAMActions(t *testing.T) {
	f := demoFixture(t)
	f.Accounts = append(f.Accounts, Account{AccessKeyID: "LTAIREADONLY00000001", AccessKeySecret: "read-only-secret-0001",
		Actions: []string{"ecs:DescribeImageFromFamily", "ecs:DescribeImages"}})
	s, err := Start(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := ecsClient(t, s, "LTAIREADONLY00000001", "read-only-secret-0001", "")
	if got := newest(t, c, s, "cn-hangzhou", "web-base"); got != "m-bp1demowebbase000003" {
		t.Fatal(got)
	}
	describeImages(t, c, s, "cn-hangzhou", nil)
	wantServerError(t, modify(c, s, "cn-hangzhou", "m-bp1demowebbase000003", "", "Deprecated", false), 403, "Forbidden.RAM")
	// Denied accounts stay denied everywhere.
	d := ecsClient(t, s, deniedKey, deniedSec, "")
	wantServerError(t, modify(d, s, "cn-hangzhou", "m-bp1demowebbase000003", "", "Deprecated", false), 403, "InvalidUser.Unauthorized")
}

func TestDescribeImagesFilters(t *testing.T) {
	s := newDemo(t, false)
	c := ecsClient(t, s, demoKey, demoSecret, "")
	ids := func(r *ecs.DescribeImagesResponse) string {
		var out []string
		for _, img := range r.Images.Image {
			out = append(out, img.ImageId)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name  string
		set   func(*ecs.DescribeImagesRequest)
		want  string
		total int
	}{
		{"family, Available by default", func(r *ecs.DescribeImagesRequest) { r.ImageFamily = "web-base" },
			"m-bp1demowebbase000003,m-bp1demowebbase000002", 2},
		{"family, every status", func(r *ecs.DescribeImagesRequest) { r.ImageFamily = "web-base"; r.Status = allStatuses },
			"m-bp1demowebbase000004,m-bp1demowebbase000003,m-bp1demowebbase000002,m-bp1demowebbase000001", 4},
		{"ids", func(r *ecs.DescribeImagesRequest) {
			r.ImageId = "m-bp1demowebbase000002,m-bp1demowebbase000001"
			r.Status = "Available,UnAvailable"
		}, "m-bp1demowebbase000002,m-bp1demowebbase000001", 2},
		{"page 2 of 1", func(r *ecs.DescribeImagesRequest) {
			r.ImageFamily = "web-base"
			r.PageSize = "1"
			r.PageNumber = "2"
		}, "m-bp1demowebbase000002", 2},
		{"past the last page", func(r *ecs.DescribeImagesRequest) { r.ImageFamily = "web-base"; r.PageNumber = "9" }, "", 2},
		{"own images", func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "self" }, "m-bp1demowebbase000003,m-bp1demowebbase000002", 2},
		{"shared images", func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "others" }, "m-bp1sharedgolden00001", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := describeImages(t, c, s, "cn-hangzhou", tc.set)
			if got := ids(resp); got != tc.want || resp.TotalCount != tc.total || resp.RequestId == "" {
				t.Fatalf("got %q total %d, want %q total %d", got, resp.TotalCount, tc.want, tc.total)
			}
		})
	}
	for _, bad := range []func(*ecs.DescribeImagesRequest){
		func(r *ecs.DescribeImagesRequest) { r.PageSize = "101" },
		func(r *ecs.DescribeImagesRequest) { r.PageNumber = "0" },
	} {
		r := ecs.CreateDescribeImagesRequest()
		r.Scheme = scheme(s)
		r.RegionId = "cn-hangzhou"
		bad(r)
		_, err := c.DescribeImages(r)
		wantServerError(t, err, 400, "InvalidParameter")
	}
	r := ecs.CreateDescribeImagesRequest()
	r.Scheme = scheme(s)
	r.RegionId, r.Status = "cn-hangzhou", "Gone"
	_, err := c.DescribeImages(r)
	wantServerError(t, err, 400, "InvalidStatus.ValueNotSupported")
	// The SDK always sends the client's region; without one the API says so.
	a := raw(t, s, http.MethodPost, signed(http.MethodPost, demoKey, demoSecret, map[string]string{"Action": "DescribeImages", "RegionId": "\x00"}), nil)
	if e := decodeError(t, a); a.Status != 400 || e.Code != "MissingParameter" || !strings.Contains(e.Message, "RegionId") {
		t.Fatalf("no region: %d %+v", a.Status, e)
	}
}
