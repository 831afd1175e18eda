package packere2e

// Bad input through a real `packer build`: each row is a data block that
// breaks one rule. The build stops with a diagnostic on the data block that
// names the attribute and the rule, and the emulator sees no request. The
// rows use `packer build` rather than `packer validate` so that a rule the
// offline checks missed would show up as a request.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

// badInputTemplate renders one data block from attrs (nil values are left
// out) plus raw lines, and a build that would print the image id.
func badInputTemplate(attrs map[string]*string, raw string) string {
	names := make([]string, 0, len(attrs))
	for k, v := range attrs {
		if v != nil {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("data \"alicloud-image-family\" \"bad\" {\n")
	for _, k := range names {
		v := *attrs[k]
		if _, err := strconv.Atoi(v); err != nil {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "  %s = %s\n", k, v)
	}
	b.WriteString(raw)
	b.WriteString(`}

source "null" "bad" {
  communicator = "none"
}

build {
  sources = ["source.null.bad"]
  provisioner "shell-local" {
    inline = ["echo 'OUT image_id=${data.alicloud-image-family.bad.image_id}'"]
  }
}
`)
	return b.String()
}

func str(s string) *string { return &s }

func TestBadInputPacker(t *testing.T) {
	w := newWorld(t)
	long := "a" + strings.Repeat("b", 128)
	cases := []struct {
		name  string
		set   map[string]*string // over the valid base; nil removes an attribute
		raw   string             // extra lines inside the block
		env   []string
		frags []string // attribute, then rule
	}{
		{name: "family of 1 character", set: map[string]*string{"image_family": str("x")}, frags: []string{`invalid image_family "x"`, "2 to 128 characters long (it has 1)"}},
		{name: "family of 129 characters", set: map[string]*string{"image_family": str(long)}, frags: []string{"invalid image_family", "(it has 129)"}},
		{name: "family with a leading underscore", set: map[string]*string{"image_family": str("_base")}, frags: []string{"image_family", "start with a letter"}},
		{name: "family with a leading digit", set: map[string]*string{"image_family": str("2base")}, frags: []string{"image_family", "start with a letter"}},
		{name: "family starting with https://", set: map[string]*string{"image_family": str("https://web")}, frags: []string{"image_family", "not a URL"}},
		{name: "family that is a RAM ARN", set: map[string]*string{"image_family": str("acs:ram::1:role/x")}, frags: []string{"image_family", "RAM ARN"}},
		{name: "family starting with aliyun", set: map[string]*string{"image_family": str("aliyunweb")}, frags: []string{"image_family", `"aliyun"`}},
		{name: "family missing", set: map[string]*string{"image_family": nil}, frags: []string{`invalid image_family ""`, "it is required"}},
		{name: "region upper case", set: map[string]*string{"region": str("CN-HANGZHOU")}, frags: []string{`invalid region "CN-HANGZHOU"`, "lower case"}},
		{name: "region with underscore", set: map[string]*string{"region": str("cn_hangzhou")}, frags: []string{`invalid region "cn_hangzhou"`, "region id"}},
		{name: "region missing", set: map[string]*string{"region": nil}, frags: []string{"region is required", "ALICLOUD_REGION"}},
		{name: "region from the environment", set: map[string]*string{"region": nil}, env: []string{"ALICLOUD_REGION=Cn-Hangzhou"}, frags: []string{`invalid region "Cn-Hangzhou"`, "lower case"}},
		{name: "unknown attribute", raw: "  image_familly = \"web-base\"\n", frags: []string{"Unsupported argument", `"image_familly" is not expected here`}},
		{name: "unknown attribute of the builder", raw: "  skip_region_validation = true\n", frags: []string{"Unsupported argument", `"skip_region_validation"`}},
		{name: "endpoint with a path", set: map[string]*string{"custom_endpoint_ecs": str("https://ecs.example.com/api")}, frags: []string{"invalid custom_endpoint_ecs", "must not have a path"}},
		{name: "endpoint with credentials", set: map[string]*string{"custom_endpoint_ecs": str("https://LTAIKEY:pw-secret-123@ecs.example.com")}, frags: []string{"custom_endpoint_ecs", "user information"}},
		{name: "STS endpoint scheme", set: map[string]*string{"sts_endpoint": str("ftp://sts.example.com")}, frags: []string{`invalid sts_endpoint "ftp://sts.example.com"`, "scheme"}},
		{name: "timeout not a duration", set: map[string]*string{"timeout": str("soon")}, frags: []string{`invalid timeout "soon"`, "such as 90s, 2m or 1h"}},
		{name: "timeout zero", set: map[string]*string{"timeout": str("0s")}, frags: []string{`invalid timeout "0s"`, "between 100ms and 1h0m0s"}},
		{name: "timeout under 100ms", set: map[string]*string{"timeout": str("50ms")}, frags: []string{`invalid timeout "50ms"`, "between 100ms and 1h0m0s"}},
		// Written as a bare number (HCL converts it to the string
		// attribute): seconds, and 2^64 ns, which multiplied out would wrap
		// around instead of being refused.
		{name: "timeout of 18446744074 seconds", set: map[string]*string{"timeout": str("18446744074")}, frags: []string{`invalid timeout "18446744074"`, "between 100ms and 1h0m0s (a bare number counts seconds)"}},
		{name: "timeout over the 1h maximum", set: map[string]*string{"timeout": str("2h")}, frags: []string{`invalid timeout "2h"`, "between 100ms and 1h0m0s"}},
		{name: "max_retries 50", set: map[string]*string{"max_retries": str("50")}, frags: []string{`invalid max_retries "50"`, "0 (no retries) to 19"}},
		{name: "max_retries -1", set: map[string]*string{"max_retries": str("-1")}, frags: []string{`invalid max_retries "-1"`}},
		{name: "key without secret", set: map[string]*string{"secret_key": nil}, frags: []string{`invalid secret_key ""`, "required when an access key id is given"}},
		{name: "two credential sources", set: map[string]*string{"profile": str("ci")}, frags: []string{"credentials", "set only one credential source"}},
		{name: "security token without keys", set: map[string]*string{"access_key": nil, "secret_key": nil, "security_token": str("tok-only-123456")}, frags: []string{"security_token", "needs the access key id and secret"}},
		{name: "role ARN", set: map[string]*string{"ram_role_arn": str("image-reader")}, frags: []string{`invalid ram_role_arn "image-reader"`, "acs:ram::"}},
		{name: "role session name", set: map[string]*string{"ram_role_arn": str(roleARN), "ram_session_name": str("a")}, frags: []string{"ram_session_name", "2 to 64 characters"}},
		{name: "ECS role name given as an ARN", set: map[string]*string{"access_key": nil, "secret_key": nil, "ram_role_name": str("acs:ram::1:role/x")}, frags: []string{"ram_role_name", "not an ARN"}},
		{name: "architecture", set: map[string]*string{"architecture": str("amd64")}, frags: []string{`architecture "amd64"`, "x86_64, arm64, i386"}},
		{name: "os_type", set: map[string]*string{"os_type": str("macos")}, frags: []string{`invalid os_type "macos"`, "linux, windows"}},
		{name: "max_age", set: map[string]*string{"max_age": str("30 days")}, frags: []string{`max_age "30 days"`, "number of days"}},
		// Release promotion: waiting, drift, regions, guards.
		{name: "wait_timeout negative", set: map[string]*string{"wait_timeout": str("-5s")}, frags: []string{`invalid wait_timeout "-5s"`, "between 0s and 6h0m0s"}},
		{name: "wait_timeout over 6h", set: map[string]*string{"wait_timeout": str("7h")}, frags: []string{`invalid wait_timeout "7h"`, "between 0s and 6h0m0s"}},
		{name: "wait_timeout of 18446744074 seconds", set: map[string]*string{"wait_timeout": str("18446744074")}, frags: []string{`invalid wait_timeout "18446744074"`, "a bare number counts seconds"}},
		{name: "wait_timeout overflowing hours", set: map[string]*string{"wait_timeout": str("9999999999h")}, frags: []string{`invalid wait_timeout "9999999999h"`, "between 0s and 6h0m0s"}},
		{name: "wait_timeout not a duration", set: map[string]*string{"wait_timeout": str("until done")}, frags: []string{`invalid wait_timeout "until done"`, "such as 90s"}},
		{name: "newer_than without wait_timeout", set: map[string]*string{"newer_than": str("m-e2e-web-v2")}, frags: []string{`invalid newer_than "m-e2e-web-v2"`, "only has a meaning with wait_timeout"}},
		{name: "newer_than not an image id", set: map[string]*string{"newer_than": str("m e2e"), "wait_timeout": str("1m")}, frags: []string{`invalid newer_than "m e2e"`, "image id"}},
		{name: "expected_image_id with several regions", set: map[string]*string{"region": nil, "expected_image_id": str("m-bp1e2eweb000000002")}, raw: `  regions = ["cn-hangzhou", "cn-shanghai"]` + "\n",
			frags: []string{`expected_image_id "m-bp1e2eweb000000002"`, "single region", "(cn-hangzhou, cn-shanghai)"}},
		{name: "expected_image_id with region and regions", set: map[string]*string{"expected_image_id": str("m-bp1e2eweb000000002")}, raw: `  regions = ["cn-shanghai"]` + "\n",
			frags: []string{"expected_image_id", "single region"}},
		{name: "expected_image_id a family", set: map[string]*string{"expected_image_id": str("web-base")}, frags: []string{`expected_image_id "web-base"`, "it is not an image id"}},
		{name: "expected_image_id of two ids", set: map[string]*string{"expected_image_id": str("m-e2e-web-v1,m-e2e-web-v2")}, frags: []string{"expected_image_id", "one image id"}},
		{name: "regions upper case", set: map[string]*string{"region": nil}, raw: `  regions = ["cn-hangzhou", "CN-SHANGHAI"]` + "\n", frags: []string{`invalid regions "CN-SHANGHAI"`, "lower case"}},
		{name: "regions with underscore", set: map[string]*string{"region": nil}, raw: `  regions = ["cn_hangzhou"]` + "\n", frags: []string{`invalid regions "cn_hangzhou"`}},
		{name: "regions with an empty element", set: map[string]*string{"region": nil}, raw: `  regions = [""]` + "\n", frags: []string{`invalid regions ""`, "an element is empty"}},
		{name: "regions not a list", set: map[string]*string{"region": nil}, raw: `  regions = "cn-hangzhou"` + "\n", frags: []string{"Incorrect attribute value type", "list of string required"}},
		{name: "regions empty", set: map[string]*string{"region": nil}, raw: `  regions = []` + "\n", frags: []string{"regions is empty"}},
		{name: "architecture unknown to the API", set: map[string]*string{"architecture": str("aarch64")}, frags: []string{`invalid architecture "aarch64"`, "x86_64, arm64, i386"}},
		{name: "os_type unknown to the API with regions", set: map[string]*string{"region": nil, "os_type": str("darwin")}, raw: `  regions = ["cn-hangzhou", "cn-shanghai"]` + "\n",
			frags: []string{`invalid os_type "darwin"`}},
		{name: "max_age negative", set: map[string]*string{"max_age": str("-1h")}, frags: []string{`invalid max_age "-1h"`, "positive"}},
		{name: "owners unknown alias", raw: `  owners = ["self", "amazon"]` + "\n", frags: []string{`invalid owners "amazon"`, "self, system, others or marketplace"}},
		{name: "owners empty element", raw: `  owners = [""]` + "\n", frags: []string{`invalid owners ""`}},
		{name: "owners not a list", raw: `  owners = "self"` + "\n", frags: []string{"Incorrect attribute value type", "list of string required"}},
		// Only known when Execute reads the environment, still before
		// anything is sent.
		{name: "environment key without secret", set: map[string]*string{"access_key": nil, "secret_key": nil}, env: []string{"ALICLOUD_ACCESS_KEY=" + keyID},
			frags: []string{"ALICLOUD_SECRET_KEY is empty or unset"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attrs := map[string]*string{
				"region": str("cn-hangzhou"), "image_family": str("web-base"),
				"access_key": str(keyID), "secret_key": str(keySecret),
				"custom_endpoint_ecs": str(w.emu.Endpoint()), "sts_endpoint": str(w.emu.Endpoint()),
			}
			for k, v := range c.set {
				attrs[k] = v
			}
			template := writeTemplate(t, "bad.pkr.hcl", badInputTemplate(attrs, c.raw))
			w.emu.ResetCounts()
			r := w.packer(c.env, "build", "-color=false", template)
			if r.code == 0 || strings.Contains(r.out, "OUT image_id=") {
				t.Errorf("the build did not stop at the data block (exit %d)", r.code)
			}
			for _, s := range append([]string{"Error:", "bad.pkr.hcl line "}, c.frags...) {
				if !strings.Contains(r.out, s) {
					t.Errorf("Packer's output lacks %q", s)
				}
			}
			if n := w.emu.Requests(""); n != 0 {
				t.Errorf("the emulator saw %d requests; want none", n)
			}
			secretscan.New(keySecret, "pw-secret-123", "tok-only-123456").Check(t, "Packer's output", r.out)
			if t.Failed() || testing.Verbose() {
				t.Logf("packer output:\n%s", r.out)
			}
		})
	}
}
