package family

import (
	"bytes"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
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

func TestConfigureMinimal(t *testing.T) {
	clearEnv(t)
	d := mustConfigure(t, `
image_family = "web-base"
region       = "cn-hangzhou"
`)
	if d.req.Family != "web-base" || d.req.Region != "cn-hangzhou" || d.req.Front != imagefamily.FrontPacker {
		t.Fatalf("request = %+v", d.req)
	}
	if d.req.Retry.MaxAttempts != 0 || d.req.Timeout != 0 {
		t.Fatalf("defaults must be left to the core, got attempts %d timeout %s", d.req.Retry.MaxAttempts, d.req.Timeout)
	}
}

func TestConfigureRequired(t *testing.T) {
	clearEnv(t)
	_, err := configure(t, ``)
	if err == nil {
		t.Fatal("Configure accepted an empty block")
	}
	for _, want := range []string{`invalid image_family ""`, "it is required", "region is required", "ALICLOUD_REGION"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConfigureRegionFromEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("ALIBABA_CLOUD_REGION_ID", "cn-beijing")
	d := mustConfigure(t, `image_family = "web-base"`)
	if d.req.Region != "cn-beijing" {
		t.Fatalf("region = %q, want ALIBABA_CLOUD_REGION_ID", d.req.Region)
	}
	// The builder's own variable wins over the SDK's.
	t.Setenv("ALICLOUD_REGION", "cn-shanghai")
	d = mustConfigure(t, `image_family = "web-base"`)
	if d.req.Region != "cn-shanghai" {
		t.Fatalf("region = %q, want ALICLOUD_REGION", d.req.Region)
	}
	// The attribute wins over both.
	d = mustConfigure(t, `
image_family = "web-base"
region = "ap-southeast-1"`)
	if d.req.Region != "ap-southeast-1" {
		t.Fatalf("region = %q, want the attribute", d.req.Region)
	}
}

// With no attribute and no variable, the region is the region_id of the
// aliyun CLI profile in use, like the aliyun CLI's; a bad one is refused in
// Configure naming it.
func TestConfigureRegionFromProfile(t *testing.T) {
	clearEnv(t)
	home := os.Getenv("HOME")
	os.MkdirAll(filepath.Join(home, ".aliyun"), 0o700)
	os.WriteFile(filepath.Join(home, ".aliyun", "config.json"), []byte(`{"current":"hz","profiles":[
 {"name":"hz","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-hangzhou"},
 {"name":"sh","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-shanghai"},
 {"name":"bad","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"Hangzhou!"}]}`), 0o600)
	if d := mustConfigure(t, `image_family = "web-base"`); d.req.Region != "cn-hangzhou" {
		t.Fatalf("region = %q, want the current profile's", d.req.Region)
	}
	if d := mustConfigure(t, "image_family = \"web-base\"\nprofile = \"sh\""); d.req.Region != "cn-shanghai" {
		t.Fatalf("region = %q, want profile sh's", d.req.Region)
	}
	t.Setenv("ALICLOUD_REGION", "ap-southeast-1")
	if d := mustConfigure(t, "image_family = \"web-base\"\nprofile = \"sh\""); d.req.Region != "ap-southeast-1" {
		t.Fatalf("region = %q, want ALICLOUD_REGION over the profile", d.req.Region)
	}
	t.Setenv("ALICLOUD_REGION", "")
	_, err := configure(t, "image_family = \"web-base\"\nprofile = \"bad\"")
	if err == nil || !strings.Contains(err.Error(), "region_id") {
		t.Fatalf("bad region_id: %v", err)
	}
}

// A profile or credentials file the block names but that is not
// there is refused in Configure naming the attribute (packer validate
// fails, nothing is sent), also when the region was to come from the
// profile: not "region is required".
func TestConfigureProfileErrors(t *testing.T) {
	clearEnv(t)
	home := os.Getenv("HOME")
	os.MkdirAll(filepath.Join(home, ".aliyun"), 0o700)
	path := filepath.Join(home, ".aliyun", "config.json")
	os.WriteFile(path, []byte(`{"current":"ci","profiles":[
 {"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-hangzhou"},
 {"name":"sso","mode":"AK","access_key_id":"a","access_key_secret":"b"}]}`), 0o600)
	notJSON := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(notJSON, []byte("{"), 0o600)
	missing := filepath.Join(t.TempDir(), "none.json")
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unknown profile, no region", `profile = "nope"`,
			[]string{`invalid profile "nope": there is no such profile in ` + path + "; the file has: ci, sso"}},
		{"unknown profile with a region", "profile = \"nope\"\nregion = \"cn-hangzhou\"",
			[]string{`invalid profile "nope": there is no such profile in`}},
		{"credentials file missing", `shared_credentials_file = "` + missing + `"`,
			[]string{`invalid shared_credentials_file "` + missing + `": the aliyun CLI config file ` + missing + " does not exist"}},
		{"credentials file not JSON", "profile = \"ci\"\nshared_credentials_file = \"" + notJSON + "\"",
			[]string{"invalid shared_credentials_file", "is not valid JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(t, "image_family = \"web-base\"\n"+tc.body)
			if err == nil {
				t.Fatal("Configure accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Configure = %v, want %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "region is required") {
				t.Errorf("Configure = %v: the profile is the mistake, not the region", err)
			}
		})
	}
}

func TestConfigureMapsAccessAttributes(t *testing.T) {
	clearEnv(t)
	d := mustConfigure(t, `
image_family            = "web-base"
region                  = "cn-hangzhou"
access_key              = "LTAIKEY"
secret_key              = "s3cret"
security_token          = "tok"
ram_role_arn            = "acs:ram::123456789012:role/reader"
ram_session_name        = "packer-build"
custom_endpoint_ecs     = "https://127.0.0.1:8443"
sts_endpoint            = "127.0.0.1:8444"
timeout                 = "45s"
max_retries             = 2
`)
	c := d.req.Credentials
	if c.AccessKeyID != "LTAIKEY" || c.AccessKeySecret != "s3cret" || c.SecurityToken != "tok" ||
		c.AssumeRoleARN != "acs:ram::123456789012:role/reader" || c.RoleSessionName != "packer-build" ||
		c.STSEndpoint != "127.0.0.1:8444" {
		t.Fatalf("credentials = %+v", c)
	}
	if d.req.Endpoint != "https://127.0.0.1:8443" || d.req.Timeout != 45*time.Second {
		t.Fatalf("endpoint %q timeout %s", d.req.Endpoint, d.req.Timeout)
	}
	if d.req.Retry.MaxAttempts != 3 {
		t.Fatalf("max_retries 2 must mean 3 attempts, got %d", d.req.Retry.MaxAttempts)
	}

	// max_attempts counts attempts, as the CLI's --max-attempts and the
	// action's max-attempts do; max_retries (deprecated) still works.
	for body, want := range map[string]int{"max_attempts = 3": 3, "max_attempts = 1": 1, "max_attempts = 20": 20, "max_retries = 19": 20} {
		d = mustConfigure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"+body+"\n")
		if d.req.Retry.MaxAttempts != want {
			t.Errorf("%s: %d attempts, want %d", body, d.req.Retry.MaxAttempts, want)
		}
	}

	// The file must hold the profile (Configure reads it).
	file := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(file, []byte(`{"profiles":[{"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b"}]}`), 0o600)
	d = mustConfigure(t, `
image_family            = "web-base"
region                  = "cn-hangzhou"
profile                 = "ci"
shared_credentials_file = "`+file+`"
max_retries             = 0
`)
	if d.req.Credentials.Profile != "ci" || d.req.Credentials.ProfileFile != file {
		t.Fatalf("profile settings = %+v", d.req.Credentials)
	}
	if d.req.Retry.MaxAttempts != 1 {
		t.Fatalf("max_retries 0 must disable retries (1 attempt), got %d", d.req.Retry.MaxAttempts)
	}

	d = mustConfigure(t, `
image_family  = "web-base"
region        = "cn-hangzhou"
ram_role_name = "packer-builder"
`)
	if d.req.Credentials.ECSRoleName != "packer-builder" {
		t.Fatalf("ram_role_name not mapped: %+v", d.req.Credentials)
	}
}

func TestConfigureRejects(t *testing.T) {
	clearEnv(t)
	base := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"
	cases := []struct {
		name, body string
		want       []string
	}{
		{"reserved family", `image_family = "aliyun-base"` + "\nregion = \"cn-hangzhou\"", []string{"image_family", "aliyun"}},
		{"upper-case region", `image_family = "web-base"` + "\nregion = \"CN-Hangzhou\"", []string{"region", `"cn-hangzhou"`}},
		{"bad timeout", base + `timeout = "soon"`, []string{`invalid timeout "soon"`, "such as 90s"}},
		{"timeout 3601 seconds", base + `timeout = "3601"`, []string{`invalid timeout "3601"`, "a bare number counts seconds"}},
		{"negative retries", base + `max_retries = -1`, []string{`invalid max_retries "-1"`, "from 0 (no retries) to 19", "max_attempts = max_retries + 1"}},
		{"too many retries", base + `max_retries = 50`, []string{`invalid max_retries "50"`, "19"}},
		{"max_attempts 0", base + `max_attempts = 0`, []string{`invalid max_attempts "0"`, "from 1 (no retries) to 20"}},
		{"max_attempts and max_retries", base + "max_attempts = 3\nmax_retries = 2", []string{`invalid max_retries "2"`, "max_attempts (3)", "keep max_attempts only"}},
		{"architecture", base + `architecture = "amd64"`, []string{"architecture", `"amd64"`, "x86_64, arm64, i386"}},
		{"os_type", base + `os_type = "macos"`, []string{"os_type", `"macos"`, "linux, windows"}},
		{"max_age words", base + `max_age = "a month"`, []string{"max_age", `"30d"`}},
		{"owners unknown alias", base + `owners = ["self", "anyone"]`, []string{`invalid owners "anyone"`, "self, system, others or marketplace"}},
		{"key without secret", base + `access_key = "LTAIKEY"`, []string{"secret_key", "required"}},
		{"secret without key", base + `secret_key = "s3cret"`, []string{"access_key", "required"}},
		{"token without keys", base + `security_token = "tok"`, []string{"security_token"}},
		{"two credential sources", base + "access_key = \"a\"\nsecret_key = \"b\"\nprofile = \"p\"", []string{"only one credential source"}},
		{"role arn", base + `ram_role_arn = "reader"`, []string{"ram_role_arn", "acs:ram::"}},
		{"session name", base + `ram_session_name = "x"`, []string{"ram_session_name"}},
		{"ecs role arn", base + `ram_role_name = "acs:ram::1:role/x"`, []string{"ram_role_name", "not an ARN"}},
		{"endpoint scheme", base + `custom_endpoint_ecs = "ftp://ecs.example"`, []string{"custom_endpoint_ecs", "scheme"}},
		{"sts endpoint path", base + `sts_endpoint = "https://sts.example/path"`, []string{"sts_endpoint", "path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(t, tc.body)
			if err == nil {
				t.Fatal("Configure accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			secretscan.Check(t, "Configure error", err.Error(), "s3cret")
		})
	}
}

// timeout takes the core's forms: a Go duration or a whole number of
// seconds, from 100ms to 1h.
func TestConfigureTimeout(t *testing.T) {
	clearEnv(t)
	for in, want := range map[string]time.Duration{
		"90": 90 * time.Second, "90s": 90 * time.Second, "2m": 2 * time.Minute, "1h": time.Hour,
		"3600": time.Hour, "100ms": 100 * time.Millisecond, "1m30s": 90 * time.Second,
	} {
		d := mustConfigure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\ntimeout = \""+in+"\"\n")
		if d.req.Timeout != want {
			t.Errorf("timeout %q = %s, want %s", in, d.req.Timeout, want)
		}
	}
	// Refused in Configure, that is by `packer validate`, naming the
	// attribute, and before anything else sees the value.
	d, err := configure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\ntimeout = \"18446744074\"\n")
	if err == nil || !strings.Contains(err.Error(), `invalid timeout "18446744074"`) {
		t.Fatalf("timeout 18446744074: %v, want the timeout attribute refused", err)
	}
	if d.req.Timeout != 0 {
		t.Fatalf("a refused timeout reached the request as %s", d.req.Timeout)
	}
}

func TestConfigureUnknownAttribute(t *testing.T) {
	clearEnv(t)
	// A typo is caught by Packer's own decoding against ConfigSpec; Configure
	// must refuse it too when it gets a raw map (JSON-era callers).
	d := &Datasource{}
	err := d.Configure(map[string]any{"image_family": "web-base", "region": "cn-hangzhou", "imagefamily": "x"})
	if err == nil || !strings.Contains(err.Error(), "imagefamily") {
		t.Fatalf("Configure(typo) = %v", err)
	}
}

func TestConfigureGuards(t *testing.T) {
	clearEnv(t)
	d := mustConfigure(t, `
image_family = "web-base"
region       = "cn-hangzhou"
architecture = "arm64"
os_type      = "linux"
max_age      = "30d"
`)
	if g := d.req.Guards; g.MaxAge != 30*24*time.Hour || g.Architecture != "arm64" || g.OSType != "linux" {
		t.Fatalf("guards = %+v, want arm64, linux, 30d", g)
	}
	d = mustConfigure(t, `
image_family = "web-base"
region       = "cn-hangzhou"
max_age      = "36h"
`)
	if d.req.Guards.MaxAge != 36*time.Hour {
		t.Fatalf("max_age 36h = %s", d.req.Guards.MaxAge)
	}
}

// During `packer validate` the outputs of other data sources are unknown and
// arrive as placeholders. Configure must accept them (and still check what
// is known) without touching the network.
func TestConfigurePlaceholders(t *testing.T) {
	clearEnv(t)
	d := mustConfigure(t, `
image_family        = unknown
region              = unknown
access_key          = unknown
secret_key          = unknown
security_token      = unknown
ram_role_arn        = unknown
ram_session_name    = unknown
custom_endpoint_ecs = unknown
sts_endpoint        = unknown
timeout             = unknown
max_retries         = unknown_number
architecture        = unknown
os_type             = unknown
max_age             = unknown
`)
	// Execute must refuse to send "<unknown>" anywhere.
	_, err := d.Execute()
	if err == nil || !strings.Contains(err.Error(), "not known yet") || !strings.Contains(err.Error(), "image_family") {
		t.Fatalf("Execute with placeholders = %v", err)
	}

	// Known values are still checked next to unknown ones.
	_, err = configure(t, `
image_family = unknown
region       = "Hangzhou"
`)
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("a bad known region next to an unknown family was accepted: %v", err)
	}
	_, err = configure(t, `
image_family = "web-base"
region       = unknown
access_key   = unknown
`)
	if err == nil || !strings.Contains(err.Error(), "secret_key") {
		t.Fatalf("an access key without a secret was accepted because the key is unknown: %v", err)
	}
	_, err = configure(t, `
image_family = "web-base"
region       = unknown
max_age      = "old"
`)
	if err == nil || !strings.Contains(err.Error(), "max_age") {
		t.Fatalf("a bad max_age next to an unknown region was accepted: %v", err)
	}
	// The region may come only from a placeholder without being required.
	mustConfigure(t, `
image_family = "web-base"
region       = unknown
`)
}

// ---- Execute against the emulator ----

const (
	keyID     = "LTAIPACKERTESTKEY0001"
	keySecret = "packer-test-secret-DO-NOT-PRINT-0001"
	deniedID  = "LTAIPACKERDENIEDKEY0002"
	deniedKey = "packer-test-secret-DO-NOT-PRINT-0002"
	roleARN   = "acs:ram::123456789012:role/image-reader"
)

func img(id, family, status, created, arch, osType string) ecs.Image {
	var im ecs.Image
	im.ImageId, im.ImageFamily, im.Status, im.CreationTime = id, family, status, created
	im.ImageName = id + "-name"
	im.Architecture, im.OSType, im.Size = arch, osType, 40
	im.IsSelfShared = "false"
	return im
}

func newEmulator(t *testing.T) *ecstest.Server {
	t.Helper()
	base := img("m-base-old", "web-base", "Available", "2024-01-01T00:00:00Z", "x86_64", "linux")
	mid := img("m-base-mid", "web-base", "Available", "2024-03-01T00:00:00Z", "x86_64", "linux")
	mid.Tags.Tag = []ecs.Tag{{TagKey: "team", TagValue: "web"}, {TagKey: "build", TagValue: "42"}}
	mid.DiskDeviceMappings.DiskDeviceMapping = []ecs.DiskDeviceMapping{
		{Device: "/dev/xvda", Size: "40", SnapshotId: "s-sys", Type: "system"},
		{Device: "/dev/xvdb", Size: "100", SnapshotId: "s-data", Type: "data", Format: "qcow2", ImportOSSBucket: "bkt", ImportOSSObject: "obj"},
	}
	mid.IsSupportCloudinit, mid.IsSupportIoOptimized, mid.IsSelfShared = true, true, "true"
	mid.OSName, mid.OSNameEn, mid.Platform, mid.BootMode = "Ubuntu 22.04 64位", "Ubuntu 22.04 64 bit", "Ubuntu", "UEFI"
	mid.ImageOwnerAlias, mid.Usage, mid.Progress, mid.ImageVersion, mid.Description = "self", "none", "100%", "7", "web base"
	// Newer, but not available: must never be picked.
	creating := img("m-base-creating", "web-base", "Creating", "2024-04-01T00:00:00Z", "x86_64", "linux")
	arm := img("m-arm", "arm-base", "Available", "2024-03-01T00:00:00Z", "arm64", "linux")
	win := img("m-win", "win-base", "Available", "2024-03-01T00:00:00Z", "x86_64", "windows")
	f := &ecstest.Fixture{
		Accounts: []ecstest.Account{
			{AccessKeyID: keyID, AccessKeySecret: keySecret},
			{AccessKeyID: deniedID, AccessKeySecret: deniedKey, Denied: true},
		},
		Roles:   []ecstest.Role{{ARN: roleARN, TrustedAccounts: []string{keyID}}},
		Regions: []string{"cn-hangzhou", "cn-beijing"},
		Images:  map[string][]ecs.Image{"cn-hangzhou": {base, mid, creating, arm, win}},
	}
	srv := ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// run configures a data source against srv and executes it.
func run(t *testing.T, srv *ecstest.Server, body string) (cty.Value, error) {
	t.Helper()
	before := srv.Requests("")
	d, err := configure(t, body+"\ncustom_endpoint_ecs = \""+srv.URL+"\"\nsts_endpoint = \""+srv.URL+"\"\n")
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if n := srv.Requests("") - before; n != 0 {
		t.Fatalf("Configure sent %d requests; it must work offline", n)
	}
	d.prepare = func(r *imagefamily.Request) { r.Transport = srv.Transport() }
	d.now = func() time.Time { return time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC) }
	return d.Execute()
}

const creds = "\naccess_key = \"" + keyID + "\"\nsecret_key = \"" + keySecret + "\"\n"

func TestExecuteResolvesNewestAvailable(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	v, err := run(t, srv, `
image_family = "web-base"
region       = "cn-hangzhou"
architecture = "x86_64"
os_type      = "linux"
max_age      = "30d"
`+creds)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	// The output must match OutputSpec exactly, or Packer rejects it.
	var d Datasource
	if want := hcldec.ImpliedType(d.OutputSpec()); !v.Type().Equals(want) {
		t.Fatalf("output type %#v, want %#v", v.Type(), want)
	}
	str := func(k string) string { return v.GetAttr(k).AsString() }
	if got := str("image_id"); got != "m-base-mid" {
		t.Fatalf("image_id = %s, want the newest Available image m-base-mid (m-base-creating is newer but Creating)", got)
	}
	for k, want := range map[string]string{
		"image_name": "m-base-mid-name", "image_family": "web-base", "image_version": "7",
		"creation_time": "2024-03-01T00:00:00Z", "status": "Available", "progress": "100%",
		"architecture": "x86_64", "os_type": "linux", "os_name": "Ubuntu 22.04 64位",
		"os_name_en": "Ubuntu 22.04 64 bit", "platform": "Ubuntu", "boot_mode": "UEFI",
		"description": "web base", "image_owner_alias": "self", "usage": "none",
		"product_code": "", "region": "cn-hangzhou",
	} {
		if got := str(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if n, _ := v.GetAttr("size").AsBigFloat().Int64(); n != 40 {
		t.Errorf("size = %d", n)
	}
	for k, want := range map[string]bool{"is_copied": false, "is_self_shared": true, "is_subscribed": false,
		"is_support_cloudinit": true, "is_support_io_optimized": true} {
		if got := v.GetAttr(k).True(); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	tags := v.GetAttr("tags").AsValueMap()
	if len(tags) != 2 || tags["team"].AsString() != "web" || tags["build"].AsString() != "42" {
		t.Errorf("tags = %#v", tags)
	}
	disks := v.GetAttr("disk_device_mappings").AsValueSlice()
	if len(disks) != 2 {
		t.Fatalf("disk_device_mappings = %#v", disks)
	}
	second := disks[1].AsValueMap()
	for k, want := range map[string]string{"device": "/dev/xvdb", "size": "100", "snapshot_id": "s-data",
		"type": "data", "format": "qcow2", "import_oss_bucket": "bkt", "import_oss_object": "obj"} {
		if got := second[k].AsString(); got != want {
			t.Errorf("disk_device_mappings[1].%s = %q, want %q", k, got, want)
		}
	}
	if n := srv.Requests("DescribeImageFromFamily"); n != 1 {
		t.Errorf("%d DescribeImageFromFamily requests, want exactly 1", n)
	}
	if ua := srv.LastRequest("DescribeImageFromFamily").Header.Get("User-Agent"); !strings.Contains(ua, "packer") {
		t.Errorf("User-Agent %q does not name the Packer front", ua)
	}
}

func TestExecuteEmptyTagsAndDisksAreNotNull(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	v, err := run(t, srv, `
image_family = "arm-base"
region       = "cn-hangzhou"
`+creds)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	for _, k := range []string{"tags", "disk_device_mappings"} {
		a := v.GetAttr(k)
		if a.IsNull() || !a.IsKnown() || a.LengthInt() != 0 {
			t.Errorf("%s = %#v, want an empty, non-null collection", k, a)
		}
	}
}

func TestExecuteNewImageJoinsFamily(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	body := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n" + creds
	v, err := run(t, srv, body)
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-mid" {
		t.Fatalf("first run: %v %v", v, err)
	}
	srv.AddImage("cn-hangzhou", img("m-base-new", "web-base", "Available", "2024-03-05T00:00:00Z", "x86_64", "linux"))
	v, err = run(t, srv, body)
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-new" {
		t.Fatalf("after a newer image: %v %v", v, err)
	}
	// The Creating image becoming Available makes it the newest.
	srv.SetImageStatus("cn-hangzhou", "m-base-creating", "Available")
	v, err = run(t, srv, body)
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-creating" {
		t.Fatalf("after the Creating image became Available: %v %v", v, err)
	}
}

func TestExecuteErrors(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	cases := []struct {
		name, body string
		class      error
		want       []string
	}{
		{"missing image", "image_family = \"no-such-family\"\nregion = \"cn-hangzhou\"" + creds, imagefamily.ErrNotFound,
			[]string{`"no-such-family"`, "cn-hangzhou", "RequestId"}},
		{"family only in another region", "image_family = \"web-base\"\nregion = \"cn-beijing\"" + creds, imagefamily.ErrNotFound,
			[]string{`"web-base"`, "cn-beijing", "RequestId", "another region"}},
		{"denied credential", "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\naccess_key = \"" + deniedID + "\"\nsecret_key = \"" + deniedKey + "\"", imagefamily.ErrAccessDenied,
			[]string{`"web-base"`, "cn-hangzhou", "RequestId", "InvalidUser.Unauthorized"}},
		{"wrong secret", "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\naccess_key = \"" + keyID + "\"\nsecret_key = \"wrong-secret-value-0003\"", imagefamily.ErrAuthFailed,
			[]string{`"web-base"`, "cn-hangzhou", "RequestId"}},
		{"unknown region", "image_family = \"web-base\"\nregion = \"cn-nowhere-1\"" + creds, imagefamily.ErrRegionNotFound,
			[]string{`"web-base"`, "cn-nowhere-1", "RequestId", "InvalidRegionId.NotFound"}},
		{"no credentials", "image_family = \"web-base\"\nregion = \"cn-hangzhou\"", imagefamily.ErrNoCredentials,
			[]string{`"web-base"`, "cn-hangzhou", "credentials"}},
		{"role not trusted", "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nram_role_arn = \"acs:ram::123456789012:role/other\"" + creds, nil,
			[]string{`"web-base"`, "cn-hangzhou", "RequestId"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, srv, tc.body)
			if err == nil {
				t.Fatal("Execute succeeded")
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("error %q is not %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			secretscan.Check(t, "Execute error", err.Error(), keySecret, deniedKey, "wrong-secret-value-0003")
			// The core's API errors already name family and region; the
			// wrapper must not say it again.
			if strings.HasPrefix(err.Error(), "resolving") && strings.Count(err.Error(), `"web-base"`) > 1 {
				t.Errorf("family named twice in %q", err)
			}
			t.Logf("diagnostic: %s", err)
		})
	}
}

func TestExecuteGuards(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	cases := []struct {
		name, extra string
		want        []string
	}{
		{"architecture", `architecture = "arm64"`, []string{`fails the architecture guard: expected "arm64", found "x86_64"`}},
		{"os_type", `os_type = "windows"`, []string{`fails the os_type guard: expected "windows", found "linux"`}},
		{"owners", `owners = ["system", "1234567890123456"]`, []string{`fails the owners guard: expected an image owned by one of system, 1234567890123456, found ImageOwnerAlias "self", ImageOwnerId none`}},
		// The emulator's clock is 2024-03-11; m-base-mid is from 2024-03-01.
		// The core writes ages in days and hours.
		{"max_age", `max_age = "72h"`, []string{"fails the max_age guard: expected an image at most 3d old, found one 10d old"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounts()
			_, err := run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"+tc.extra+creds)
			if err == nil {
				t.Fatal("the guard let the image through")
			}
			var ge *GuardError
			if !errors.As(err, &ge) || !errors.Is(err, imagefamily.ErrGuard) {
				t.Fatalf("error %T %q is not a GuardError of class ErrGuard", err, err)
			}
			want := append([]string{`"web-base"`, "cn-hangzhou", "m-base-mid", "RequestId "}, tc.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if ge.RequestID == "" || !strings.Contains(err.Error(), "RequestId "+ge.RequestID) {
				t.Errorf("the guard error does not name the RequestId: %q", err)
			}
		})
	}
	// Guards compare case-insensitively, as the API's own values vary in case.
	if _, err := run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\narchitecture = \"X86_64\"\nos_type = \"Linux\"\nmax_age = \"11d\"\nowners = [\"SELF\"]"+creds); err != nil {
		t.Fatalf("matching guards failed: %v", err)
	}
}

// With PACKER_LOG set the data source hands the core's redacted trace to the
// plugin log; neither the secret nor an STS token may show up in it.
func TestExecuteLogHasNoSecrets(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	t.Setenv("PACKER_LOG", "1")
	var buf bytes.Buffer
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetOutput(io.Discard) })
	// Every secret the core obtains on its own (the STS-issued secret and
	// token) is reported through OnSecret; all of them are scanned for.
	var issued []string
	d, err := configure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nram_role_arn = \""+roleARN+"\""+creds+
		"custom_endpoint_ecs = \""+srv.URL+"\"\nsts_endpoint = \""+srv.URL+"\"\n")
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	d.prepare = func(r *imagefamily.Request) {
		r.Transport = srv.Transport()
		r.Credentials.OnSecret = func(v string) { issued = append(issued, v) }
	}
	if _, err := d.Execute(); err != nil {
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
	out := buf.String()
	if !strings.Contains(out, "DescribeImageFromFamily") || !strings.Contains(out, "m-base-mid") {
		t.Fatalf("the debug trace is missing from the log:\n%s", out)
	}
	secretscan.New(keySecret, token, rec.Params.Get("Signature")).Add(issued...).Check(t, "plugin log", out)
}

func TestMain(m *testing.M) {
	// The data source logs to the standard logger (Packer's plugin log);
	// keep test output readable. TestExecuteLogHasNoSecrets captures it.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
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
