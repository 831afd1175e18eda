package family

import (
	"context"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/zclconf/go-cty/cty"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
)

// decodeBlock turns the body of a data block into what Packer hands to
// Configure: the body decoded with ConfigSpec, then every unknown value
// replaced by a placeholder of its type (hcl2shim.WriteUnknownPlaceholderValues
// in Packer: "<unknown>" for strings, 0 for numbers). The variable `unknown`
// is an unknown string and `unknown_number` an unknown number, standing for
// the outputs of another data source during `packer validate`.
func decodeBlock(t *testing.T, body string) cty.Value {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(body), "test.pkr.hcl")
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"unknown":        cty.UnknownVal(cty.String),
		"unknown_number": cty.UnknownVal(cty.Number),
		"unknown_bool":   cty.UnknownVal(cty.Bool),
		"unknown_list":   cty.UnknownVal(cty.List(cty.String)),
	}}
	var d Datasource
	v, diags := hcldec.Decode(f.Body, d.ConfigSpec(), ctx)
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	attrs := map[string]cty.Value{}
	for k, av := range v.AsValueMap() {
		attrs[k] = placeholders(av)
	}
	return cty.ObjectVal(attrs)
}

// placeholders is hcl2shim.WriteUnknownPlaceholderValues for the types the
// data source's attributes have: an unknown string is "<unknown>", an
// unknown number 0, an unknown bool false, an unknown list an empty list,
// and a known list has each unknown element replaced.
func placeholders(v cty.Value) cty.Value {
	if v.IsNull() {
		return v
	}
	t := v.Type()
	switch {
	case t.IsListType():
		if !v.IsKnown() || v.LengthInt() == 0 {
			return cty.ListValEmpty(t.ElementType())
		}
		var elems []cty.Value
		for _, e := range v.AsValueSlice() {
			elems = append(elems, placeholders(e))
		}
		return cty.ListVal(elems)
	case v.IsKnown():
		return v
	case t == cty.String:
		return cty.StringVal("<unknown>")
	case t == cty.Number:
		return cty.Zero
	case t == cty.Bool:
		return cty.False
	}
	return v
}

func configure(t *testing.T, body string) (*Datasource, error) {
	t.Helper()
	d := &Datasource{}
	return d, d.Configure(decodeBlock(t, body))
}

func mustConfigure(t *testing.T, body string) *Datasource {
	t.Helper()
	d, err := configure(t, body)
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return d
}

// clearEnv keeps the machine's own settings out of the tests.
func clearEnv(t *testing.T) {
	for _, k := range []string{"ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID", "PACKER_LOG",
		"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
		"ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN", "SECURITY_TOKEN", "ALICLOUD_PROFILE", "ALIBABA_CLOUD_PROFILE",
		"ALICLOUD_SHARED_CREDENTIALS_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_ECS_METADATA", "ALICLOUD_ASSUME_ROLE_ARN", "ALIBABA_CLOUD_ECS_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
}

// Each attribute lands in its field of the core's request (or the data
// source's own settings); the values' forms are the core's rules
// (imagefamily TestParseDurationRanges, TestParseMaxAge, TestParseMaxAttempts).
func TestConfigureMapsAttributes(t *testing.T) {
	clearEnv(t)
	profiles := t.TempDir()
	os.MkdirAll(filepath.Join(profiles, ".aliyun"), 0o700)
	os.WriteFile(filepath.Join(profiles, ".aliyun", "config.json"), []byte(`{"current":"hz","profiles":[
 {"name":"hz","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-hangzhou"},
 {"name":"sh","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-shanghai"}]}`), 0o600)
	file := filepath.Join(profiles, ".aliyun", "config.json")
	hz := "region = \"cn-hangzhou\"\n"
	credentials := func(d *Datasource) any {
		c := d.req.Credentials
		return []string{c.AccessKeyID, c.AccessKeySecret, c.SecurityToken, c.AssumeRoleARN, c.RoleSessionName, c.STSEndpoint, c.Profile, c.ProfileFile, c.ECSRoleName}
	}
	attempts := func(d *Datasource) any { return d.req.Retry.MaxAttempts }
	regions := func(d *Datasource) any { return append([]string{d.req.Region}, d.regions...) }
	cases := []struct {
		name, body string
		env        map[string]string
		got        func(*Datasource) any
		want       any
	}{
		{"family, region, front; defaults left to the core", hz, nil,
			func(d *Datasource) any {
				return []any{d.req.Family, d.req.Region, d.req.Front, d.req.Retry.MaxAttempts, d.req.Timeout}
			},
			[]any{"web-base", "cn-hangzhou", imagefamily.FrontPacker, 0, time.Duration(0)}},
		{"access key, token and role", hz + "access_key = \"LTAIKEY\"\nsecret_key = \"s3cret\"\nsecurity_token = \"tok\"\n" +
			"ram_role_arn = \"acs:ram::123456789012:role/reader\"\nram_session_name = \"packer-build\"\nsts_endpoint = \"127.0.0.1:8444\"", nil,
			credentials, []string{"LTAIKEY", "s3cret", "tok", "acs:ram::123456789012:role/reader", "packer-build", "127.0.0.1:8444", "", "", ""}},
		{"profile and its file", hz + "profile = \"hz\"\nshared_credentials_file = \"" + file + "\"", nil,
			credentials, []string{"", "", "", "", "", "", "hz", file, ""}},
		{"ram_role_name", hz + `ram_role_name = "packer-builder"`, nil, credentials, []string{"", "", "", "", "", "", "", "", "packer-builder"}},
		{"endpoint and timeout", hz + "custom_endpoint_ecs = \"https://127.0.0.1:8443\"\ntimeout = \"45s\"", nil,
			func(d *Datasource) any { return []any{d.req.Endpoint, d.req.Timeout} }, []any{"https://127.0.0.1:8443", 45 * time.Second}},
		// max_attempts counts attempts, as the CLI's --max-attempts and the
		// action's max-attempts do; max_retries (deprecated) still works.
		{"max_retries 2", hz + "max_retries = 2", nil, attempts, 3},
		{"max_retries 0 disables retries", hz + "max_retries = 0", nil, attempts, 1},
		{"max_retries 19", hz + "max_retries = 19", nil, attempts, 20},
		{"max_attempts 3", hz + "max_attempts = 3", nil, attempts, 3},
		{"guards", hz + "architecture = \"arm64\"\nos_type = \"linux\"\nmax_age = \"30d\"\nowners = [\"self\", \"1234567890123456\"]", nil,
			func(d *Datasource) any { return d.req.Guards },
			imagefamily.Guards{Architecture: "arm64", OSType: "linux", MaxAge: 30 * 24 * time.Hour, Owners: []string{"self", "1234567890123456"}}},
		{"wait_timeout and newer_than", hz + "wait_timeout = 600\nnewer_than = \"m-bp1demowebbase000003\"", nil,
			func(d *Datasource) any { return []any{d.req.Wait, d.req.NewerThan} }, []any{10 * time.Minute, "m-bp1demowebbase000003"}},
		{"expected_image_id and ignore_missing_regions", hz + "expected_image_id = \"m-bp1demowebbase000003\"\nignore_missing_regions = true", nil,
			func(d *Datasource) any { return []any{d.config.ExpectedImageID, d.config.IgnoreMissingRegions} }, []any{"m-bp1demowebbase000003", true}},
		{"expected_image_id with one region in regions", "regions = [\"cn-shanghai\"]\nexpected_image_id = \"m-bp1demowebbase000003\"", nil,
			func(d *Datasource) any { return d.config.ExpectedImageID }, "m-bp1demowebbase000003"},
		// The request's region is the first of region, then regions, each once.
		{"regions only", `regions = ["cn-shanghai", "cn-hangzhou"]`, nil, regions, []string{"cn-shanghai", "cn-shanghai", "cn-hangzhou"}},
		{"region comes first", "region = \"cn-beijing\"\nregions = [\"cn-shanghai\", \"cn-hangzhou\"]", nil, regions, []string{"cn-beijing", "cn-beijing", "cn-shanghai", "cn-hangzhou"}},
		{"duplicates removed", "region = \"cn-hangzhou\"\nregions = [\"cn-shanghai\", \"cn-hangzhou\", \"cn-shanghai\"]", nil, regions, []string{"cn-hangzhou", "cn-hangzhou", "cn-shanghai"}},
		// The environment, then the aliyun CLI profile's region_id, supply a
		// region only when neither attribute is set.
		{"ALIBABA_CLOUD_REGION_ID", "", map[string]string{"ALIBABA_CLOUD_REGION_ID": "cn-beijing"}, regions, []string{"cn-beijing", "cn-beijing"}},
		{"ALICLOUD_REGION wins", "", map[string]string{"ALIBABA_CLOUD_REGION_ID": "cn-beijing", "ALICLOUD_REGION": "cn-shanghai"}, regions, []string{"cn-shanghai", "cn-shanghai"}},
		{"region wins over the environment", `region = "ap-southeast-1"`, map[string]string{"ALICLOUD_REGION": "cn-shanghai"}, regions, []string{"ap-southeast-1", "ap-southeast-1"}},
		{"regions win over the environment", `regions = ["cn-shanghai"]`, map[string]string{"ALICLOUD_REGION": "ap-southeast-1"}, regions, []string{"cn-shanghai", "cn-shanghai"}},
		{"the current profile's region", "", map[string]string{"HOME": profiles}, regions, []string{"cn-hangzhou", "cn-hangzhou"}},
		{"the named profile's region", `profile = "sh"`, map[string]string{"HOME": profiles}, regions, []string{"cn-shanghai", "cn-shanghai"}},
		{"ALICLOUD_REGION over the profile", `profile = "sh"`, map[string]string{"HOME": profiles, "ALICLOUD_REGION": "ap-southeast-1"}, regions, []string{"ap-southeast-1", "ap-southeast-1"}},
		// During `packer validate` the region may come from a placeholder.
		{"region unknown", "region = unknown", nil, regions, []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := tc.got(mustConfigure(t, "image_family = \"web-base\"\n"+tc.body)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// A refused block is a Configure error (what `packer validate` prints)
// naming the attribute, with nothing sent and no secret in it. One row per
// attribute and per rule that is the data source's own; the rules behind
// the others are the core's (imagefamily TestValidateFamily,
// TestValidateRegion, TestValidateSettings, TestParseDurationRanges,
// TestParseOwners, TestParseEndpoint, TestValidateProfile).
func TestConfigureRejects(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	path := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(path, []byte(`{"current":"ci","profiles":[
 {"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-hangzhou"},
 {"name":"bad","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"Hangzhou!"}]}`), 0o600)
	missing := filepath.Join(t.TempDir(), "none.json")
	hz := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"
	two := "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\n"
	cases := []struct {
		name, body string
		want       []string
	}{
		{"empty block", "", []string{`invalid image_family ""`, "it is required", "region is required", "ALICLOUD_REGION"}},
		{"image_family", "image_family = \"aliyun-base\"\nregion = \"cn-hangzhou\"", []string{"image_family", "aliyun"}},
		{"region", "image_family = \"web-base\"\nregion = \"CN-Hangzhou\"", []string{"region", `"cn-hangzhou"`}},
		{"timeout", hz + `timeout = "soon"`, []string{`invalid timeout "soon"`, "such as 90s"}},
		{"max_retries", hz + `max_retries = -1`, []string{`invalid max_retries "-1"`, "from 0 (no retries) to 19", "max_attempts = max_retries + 1"}},
		{"max_attempts", hz + `max_attempts = 0`, []string{`invalid max_attempts "0"`, "from 1 (no retries) to 20"}},
		{"max_attempts and max_retries", hz + "max_attempts = 3\nmax_retries = 2", []string{`invalid max_retries "2"`, "max_attempts (3)", "keep max_attempts only"}},
		{"architecture", hz + `architecture = "amd64"`, []string{"architecture", `"amd64"`, "x86_64, arm64, i386"}},
		{"os_type", hz + `os_type = "macos"`, []string{"os_type", `"macos"`, "linux, windows"}},
		{"max_age", hz + `max_age = "a month"`, []string{"max_age", `"30d"`}},
		{"owners", hz + `owners = ["self", "anyone"]`, []string{`invalid owners "anyone"`, "self, system, others or marketplace"}},
		{"access_key without secret_key", hz + `access_key = "LTAIKEY"`, []string{"secret_key", "required"}},
		{"secret_key without access_key", hz + `secret_key = "s3cret"`, []string{"access_key", "required"}},
		{"security_token without keys", hz + `security_token = "tok"`, []string{"security_token"}},
		{"ram_role_arn", hz + `ram_role_arn = "reader"`, []string{"ram_role_arn", "acs:ram::"}},
		{"ram_session_name", hz + `ram_session_name = "x"`, []string{"ram_session_name"}},
		{"ram_role_name", hz + `ram_role_name = "acs:ram::1:role/x"`, []string{"ram_role_name", "not an ARN"}},
		{"custom_endpoint_ecs", hz + `custom_endpoint_ecs = "ftp://ecs.example"`, []string{"custom_endpoint_ecs", "scheme"}},
		{"sts_endpoint", hz + `sts_endpoint = "https://sts.example/path"`, []string{"sts_endpoint", "path"}},
		// A profile the block names that is not there is the mistake, not
		// the region that was to come from it.
		{"profile", "image_family = \"web-base\"\nprofile = \"nope\"\nshared_credentials_file = \"" + path + "\"", []string{`invalid profile "nope": there is no such profile in ` + path + "; the file has: ci, bad"}},
		{"shared_credentials_file", "image_family = \"web-base\"\nshared_credentials_file = \"" + missing + "\"",
			[]string{`invalid shared_credentials_file "` + missing + `": the aliyun CLI config file ` + missing + " does not exist"}},
		{"the profile's region_id", "image_family = \"web-base\"\nprofile = \"bad\"\nshared_credentials_file = \"" + path + "\"", []string{"region_id"}},
		{"wait_timeout", hz + `wait_timeout = "an hour"`, []string{`invalid wait_timeout "an hour"`, "such as 90s"}},
		{"newer_than without wait_timeout", hz + `newer_than = "m-base-mid"`, []string{`invalid newer_than "m-base-mid"`, "only has a meaning with wait_timeout (how long to wait for an image newer than it): set wait_timeout too"}},
		{"newer_than with a bad wait_timeout", hz + "newer_than = \"m-base-mid\"\nwait_timeout = \"-1m\"", []string{`invalid wait_timeout "-1m"`}},
		{"expected_image_id with several regions", two + `expected_image_id = "m-bp1basenew00000001"`, []string{`expected_image_id "m-bp1basenew00000001"`, "single region", "2 regions are looked up (cn-hangzhou, cn-shanghai)"}},
		{"expected_image_id of two ids", hz + `expected_image_id = "m-a1,m-b2"`, []string{`expected_image_id "m-a1,m-b2"`, "one image id"}},
		{"expected_image_id not an id", hz + `expected_image_id = "-m-base"`, []string{`expected_image_id "-m-base"`, "not an image id"}},
		{"regions element", "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn_shanghai\"]", []string{`invalid regions "cn_shanghai"`, "region id"}},
		{"regions empty element", "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"\"]", []string{`invalid regions ""`, "an element is empty"}},
		{"region next to regions", "image_family = \"web-base\"\nregion = \"Hangzhou\"\nregions = [\"cn-shanghai\"]", []string{`invalid region "Hangzhou"`}},
		// During `packer validate` what is known is checked next to placeholders.
		{"region next to an unknown family", "image_family = unknown\nregion = \"Hangzhou\"", []string{"region"}},
		{"access_key unknown without secret_key", "image_family = \"web-base\"\nregion = unknown\naccess_key = unknown", []string{"secret_key"}},
		{"max_age next to an unknown region", "image_family = \"web-base\"\nregion = unknown\nmax_age = \"old\"", []string{"max_age"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounts()
			body := tc.body
			if !strings.Contains(body, "custom_endpoint_ecs") {
				body += "\ncustom_endpoint_ecs = \"" + srv.URL + "\""
			}
			if !strings.Contains(body, "sts_endpoint") {
				body += "\nsts_endpoint = \"" + srv.URL + "\""
			}
			_, err := configure(t, body)
			if err == nil {
				t.Fatal("Configure accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "region is required") && tc.name != "empty block" {
				t.Errorf("error %q: the region is not the mistake", err)
			}
			secretscan.Check(t, "Configure error", err.Error(), "s3cret")
			if n := srv.Requests(""); n != 0 {
				t.Errorf("Configure sent %d requests", n)
			}
		})
	}
	// A typo is caught by Packer's own decoding against ConfigSpec; Configure
	// refuses it too when it gets a raw map (JSON-era callers).
	if err := (&Datasource{}).Configure(map[string]any{"image_family": "web-base", "region": "cn-hangzhou", "imagefamily": "x"}); err == nil || !strings.Contains(err.Error(), "imagefamily") {
		t.Errorf("Configure(typo) = %v", err)
	}
}

// Every refused attribute is its own diagnostic, from one Configure: the
// access and lookup parts' own refusals, then the core's, each by its
// attribute.
func TestConfigureReportsEveryProblem(t *testing.T) {
	clearEnv(t)
	_, err := configure(t, `
image_family        = "aliyun-base"
region              = "cn-hangzhou"
max_attempts        = 0
timeout             = "soon"
architecture        = "amd64"
owners              = ["anyone", "12a"]
custom_endpoint_ecs = "ftp://ecs.example"
access_key          = "LTAIKEY"
`)
	var me *packersdk.MultiError
	if !errors.As(err, &me) {
		t.Fatalf("Configure = %v (%T), want a MultiError", err, err)
	}
	want := []string{`invalid max_attempts "0"`, `invalid timeout "soon"`, `invalid image_family "aliyun-base"`,
		`invalid custom_endpoint_ecs`, `invalid architecture "amd64"`, `invalid owners "anyone"`, `invalid owners "12a"`, `invalid secret_key ""`}
	if len(me.Errors) != len(want) {
		t.Fatalf("%d diagnostics, want %d:\n%v", len(me.Errors), len(want), err)
	}
	for i, w := range want {
		if got := me.Errors[i].Error(); !strings.HasPrefix(got, w) || strings.Contains(got, "\n") {
			t.Errorf("diagnostic %d = %q, want one line starting %q", i, got, w)
		}
		if !imagefamily.IsInputError(me.Errors[i]) {
			t.Errorf("diagnostic %d = %v: not an input error", i, me.Errors[i])
		}
	}
}

// During `packer validate` the outputs of other data sources arrive as
// placeholders (an unknown list as an empty one): Configure accepts them,
// and Execute refuses to send anything, naming what is not known yet.
func TestPlaceholdersAreRefusedAtExecute(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	for _, tc := range []struct{ name, body, want string }{
		{"every attribute", "image_family = unknown\nregion = unknown\naccess_key = unknown\nsecret_key = unknown\nsecurity_token = unknown\n" +
			"ram_role_arn = unknown\nram_session_name = unknown\ncustom_endpoint_ecs = unknown\nsts_endpoint = unknown\ntimeout = unknown\n" +
			"max_retries = unknown_number\narchitecture = unknown\nos_type = unknown\nmax_age = unknown",
			"cannot resolve image family: access_key, architecture, custom_endpoint_ecs, image_family, max_age, os_type, ram_role_arn, ram_session_name, region, secret_key, security_token, sts_endpoint, timeout not known yet"},
		{"regions element", "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", unknown]", "regions not known yet"},
		{"regions list", "image_family = \"web-base\"\nregions = unknown_list", "regions is empty"},
		{"empty regions", "image_family = \"web-base\"\nregions = []", "regions is empty"},
		{"wait_timeout with newer_than", "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nwait_timeout = unknown\nnewer_than = \"m-base-mid\"", "wait_timeout not known yet"},
		{"expected_image_id", "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\nexpected_image_id = unknown", "expected_image_id not known yet"},
		{"owners element", "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nowners = [\"self\", unknown]", "owners not known yet"},
		{"ignore_missing_regions", "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", unknown]\nignore_missing_regions = unknown_bool", "regions not known yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounts()
			body := tc.body
			if !strings.Contains(body, "custom_endpoint_ecs") {
				body += "\ncustom_endpoint_ecs = \"" + srv.URL + "\""
			}
			_, _, err := runBlock(t, srv, body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Execute = %v, want %q", err, tc.want)
			}
			if n := srv.Requests(""); n != 0 {
				t.Fatalf("%d requests sent", n)
			}
		})
	}
}

// ---- Execute: one harness for every run ----

const (
	keyID     = "LTAIPACKERTESTKEY0001"
	keySecret = "packer-test-secret-DO-NOT-PRINT-0001"
	deniedID  = "LTAIPACKERDENIEDKEY0002"
	deniedKey = "packer-test-secret-DO-NOT-PRINT-0002"
	roleARN   = "acs:ram::123456789012:role/image-reader"
	creds     = "\naccess_key = \"" + keyID + "\"\nsecret_key = \"" + keySecret + "\"\n"
)

func img(id, family, status, created, arch, osType string) ecs.Image {
	var im ecs.Image
	im.ImageId, im.ImageFamily, im.Status, im.CreationTime = id, family, status, created
	im.ImageName = id + "-name"
	im.Architecture, im.OSType, im.Size = arch, osType, 40
	im.IsSelfShared = "false"
	return im
}

// newEmulator: web-base in cn-hangzhou (m-base-mid the newest Available
// one, a newer one Creating), cn-shanghai and cn-qingdao; cn-beijing is
// empty; arm-base in cn-hangzhou has no tags and no disks.
func newEmulator(t *testing.T) *ecstest.Server {
	t.Helper()
	mid := img("m-base-mid", "web-base", "Available", "2024-03-01T00:00:00Z", "x86_64", "linux")
	mid.ImageVersion, mid.ImageOwnerAlias = "7", "self"
	f := &ecstest.Fixture{
		Accounts: []ecstest.Account{
			{AccessKeyID: keyID, AccessKeySecret: keySecret},
			{AccessKeyID: deniedID, AccessKeySecret: deniedKey, Denied: true},
		},
		Roles:   []ecstest.Role{{ARN: roleARN, TrustedAccounts: []string{keyID}}},
		Regions: []string{"cn-hangzhou", "cn-beijing", "cn-shanghai", "cn-qingdao"},
		Images: map[string][]ecs.Image{
			"cn-hangzhou": {img("m-base-old", "web-base", "Available", "2024-01-01T00:00:00Z", "x86_64", "linux"), mid,
				img("m-base-creating", "web-base", "Creating", "2024-04-01T00:00:00Z", "x86_64", "linux"),
				img("m-arm", "arm-base", "Available", "2024-03-01T00:00:00Z", "arm64", "linux")},
			"cn-shanghai": {img("m-sh-web", "web-base", "Available", "2024-03-02T00:00:00Z", "x86_64", "linux")},
			"cn-qingdao":  {img("m-qd-web", "web-base", "Available", "2024-03-03T00:00:00Z", "x86_64", "linux")},
		},
	}
	srv := ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// run executes body with the test account and srv's endpoints (runBlock).
func run(t *testing.T, srv *ecstest.Server, body string) (cty.Value, string, error) {
	t.Helper()
	return runBlock(t, srv, body+creds+"custom_endpoint_ecs = \""+srv.URL+"\"\nsts_endpoint = \""+srv.URL+"\"\n")
}

// runBlock configures block, checks that Configure sent nothing, and
// executes it (execute) through srv's transport, loopback only, with the
// emulator's clock (2024-03-11) and a sleep that returns at once for
// retries and wait polls.
func runBlock(t *testing.T, srv *ecstest.Server, block string) (cty.Value, string, error) {
	t.Helper()
	before := srv.Requests("")
	d, err := configure(t, block)
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if n := srv.Requests("") - before; n != 0 {
		t.Fatalf("Configure sent %d requests; it must work offline", n)
	}
	d.prepare = func(r *imagefamily.Request) {
		r.Transport = ecstest.LoopbackOnly(srv.Transport())
		r.Retry.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
	d.now = func() time.Time { return time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC) }
	return execute(t, d)
}

// execute runs d.Execute with PACKER_LOG on and the plugin log captured,
// then checks what holds for every run whatever its outcome: the
// diagnostic Packer prints (checkDiagnostic) and the plugin log (checkLog)
// are printable, hold no forged text as a line start or runner command,
// and neither holds a secret of the tests.
func execute(t *testing.T, d *Datasource, forged ...string) (cty.Value, string, error) {
	t.Helper()
	t.Setenv("PACKER_LOG", "1")
	// The core may still write a trace line from an SDK call it abandoned
	// at the deadline after Execute returned: the buffer takes a lock.
	var logBuf syncio.Buffer
	log.SetOutput(&logBuf)
	defer log.SetOutput(io.Discard)
	v, err := d.Execute()
	out := logBuf.String()
	scan := secretscan.New(keySecret, deniedKey, hostileSecret)
	checkLog(t, out, forged)
	scan.Check(t, "plugin log", out)
	if err != nil {
		checkDiagnostic(t, err, forged)
		scan.Check(t, "diagnostic", err.Error())
	}
	return v, out, err
}

func TestMain(m *testing.M) {
	// The data source logs to the standard logger (Packer's plugin log);
	// keep test output readable. execute captures it.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// Found: the outputs match OutputSpec (or Packer rejects them), the image
// is the core's answer (which image is newest is the core's rule:
// imagefamily TestResolveNewestAvailable; every field's mapping is
// TestEveryFieldIsAnAttribute's), one request, the Packer front's
// User-Agent. Tags and disks are never null.
func TestExecuteFound(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	v, _, err := run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\narchitecture = \"x86_64\"\nos_type = \"linux\"\nmax_age = \"30d\"\n")
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	var d Datasource
	if want := hcldec.ImpliedType(d.OutputSpec()); !v.Type().Equals(want) {
		t.Fatalf("output type %#v, want %#v", v.Type(), want)
	}
	if got := v.GetAttr("image_id").AsString(); got != "m-base-mid" || v.GetAttr("region").AsString() != "cn-hangzhou" {
		t.Fatalf("image_id = %s, want m-base-mid", got)
	}
	if n := srv.Requests("DescribeImageFromFamily"); n != 1 {
		t.Errorf("%d DescribeImageFromFamily requests, want exactly 1", n)
	}
	if ua := srv.LastRequest("DescribeImageFromFamily").Header.Get("User-Agent"); !strings.Contains(ua, "packer") {
		t.Errorf("User-Agent %q does not name the Packer front", ua)
	}
	v, _, err = run(t, srv, "image_family = \"arm-base\"\nregion = \"cn-hangzhou\"\n")
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	for _, k := range []string{"tags", "disk_device_mappings"} {
		if a := v.GetAttr(k); a.IsNull() || !a.IsKnown() || a.LengthInt() != 0 {
			t.Errorf("%s = %#v, want an empty, non-null collection", k, a)
		}
	}
}

// A guard refusal names the attribute that set the guard (the guards
// themselves are imagefamily TestGuardsOnResolve's and TestOwnersGuard's).
func TestExecuteGuards(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	for _, tc := range []struct{ attr, extra, want string }{
		{"architecture", `architecture = "arm64"`, `fails the architecture guard: expected "arm64", found "x86_64"`},
		{"os_type", `os_type = "windows"`, `fails the os_type guard: expected "windows", found "linux"`},
		{"owners", `owners = ["system", "1234567890123456"]`, `fails the owners guard: expected an image owned by one of system, 1234567890123456, found ImageOwnerAlias "self", ImageOwnerId none`},
		// The clock is 2024-03-11; m-base-mid is from 2024-03-01.
		{"max_age", `max_age = "72h"`, "fails the max_age guard: expected an image at most 3d old, found one 10d old"},
	} {
		t.Run(tc.attr, func(t *testing.T) {
			_, _, err := run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"+tc.extra)
			var ge *GuardError
			if !errors.As(err, &ge) || !errors.Is(err, imagefamily.ErrGuard) || ge.Attr != tc.attr {
				t.Fatalf("error %T %v is not a GuardError of %s, class ErrGuard", err, err, tc.attr)
			}
			for _, w := range []string{`"web-base"`, "cn-hangzhou", "m-base-mid", "RequestId " + ge.RequestID, tc.want} {
				if ge.RequestID == "" || !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// With PACKER_LOG set the data source hands the core's redacted trace to the
// plugin log; neither the secret nor an STS-issued secret or token may show
// up in it.
func TestExecuteLogHasNoSecrets(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	d := mustConfigure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nram_role_arn = \""+roleARN+"\""+creds+
		"custom_endpoint_ecs = \""+srv.URL+"\"\nsts_endpoint = \""+srv.URL+"\"\n")
	// Every secret the core obtains on its own is reported through OnSecret.
	var issued []string
	d.prepare = func(r *imagefamily.Request) {
		r.Transport = srv.Transport()
		r.Credentials.OnSecret = func(v string) { issued = append(issued, v) }
	}
	_, out, err := execute(t, d)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if len(issued) < 2 {
		t.Fatalf("the core reported %d issued secrets, want the STS secret and token", len(issued))
	}
	rec := srv.LastRequest("DescribeImageFromFamily")
	token := rec.Params.Get("SecurityToken")
	if token == "" {
		t.Fatal("the lookup did not use the assumed role's STS credentials")
	}
	if !strings.Contains(out, "DescribeImageFromFamily") || !strings.Contains(out, "m-base-mid") {
		t.Fatalf("the debug trace is missing from the log:\n%s", out)
	}
	secretscan.New(keySecret, token, rec.Params.Get("Signature")).Add(issued...).Check(t, "plugin log", out)
}
