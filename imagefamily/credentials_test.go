package imagefamily

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeProfile(t *testing.T, home, body string) string {
	t.Helper()
	dir := filepath.Join(home, ".aliyun")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const twoProfiles = `{"current":"dev","profiles":[
 {"name":"dev","mode":"AK","access_key_id":"LTAIPROFILEDEV","access_key_secret":"dev-secret-1"},
 {"name":"ci","mode":"StsToken","access_key_id":"STS.PROFILECI","access_key_secret":"ci-secret-2","sts_token":"ci-token-2"},
 {"name":"weird","mode":"CloudSSO"}]}`

func baseKeysFor(t *testing.T, c Credentials) (keys, error) {
	t.Helper()
	s := newSession(Request{Credentials: c})
	return s.baseKeys(context.Background())
}

func TestCredentialOrder(t *testing.T) {
	home := t.TempDir()
	writeProfile(t, home, twoProfiles)
	fullEnv := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIENVALIBABA", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret-a",
		"ALICLOUD_ACCESS_KEY": "LTAIENVALICLOUD", "ALICLOUD_SECRET_KEY": "env-secret-b", "SECURITY_TOKEN": "legacy-token",
		"ALIBABA_CLOUD_PROFILE": "ci",
	}
	cases := []struct {
		name   string
		creds  Credentials
		env    map[string]string
		wantID string
		token  string
	}{
		{"explicit keys beat everything", Credentials{AccessKeyID: "LTAIEXPLICIT", AccessKeySecret: "x-secret"}, fullEnv, "LTAIEXPLICIT", ""},
		{"explicit profile beats env keys", Credentials{Profile: "dev"}, fullEnv, "LTAIPROFILEDEV", ""},
		{"ALIBABA_CLOUD_ vars first", Credentials{}, fullEnv, "LTAIENVALIBABA", ""},
		{"ALICLOUD_ vars with SECURITY_TOKEN", Credentials{}, map[string]string{
			"ALICLOUD_ACCESS_KEY": "LTAIENVALICLOUD", "ALICLOUD_SECRET_KEY": "env-secret-b", "SECURITY_TOKEN": "legacy-token"}, "LTAIENVALICLOUD", "legacy-token"},
		{"ALICLOUD_SECURITY_TOKEN beats SECURITY_TOKEN", Credentials{}, map[string]string{
			"ALICLOUD_ACCESS_KEY": "LTAIENVALICLOUD", "ALICLOUD_SECRET_KEY": "env-secret-b", "ALICLOUD_SECURITY_TOKEN": "tf-token", "SECURITY_TOKEN": "legacy-token"}, "LTAIENVALICLOUD", "tf-token"},
		{"env profile name", Credentials{}, map[string]string{"ALIBABA_CLOUD_PROFILE": "ci"}, "STS.PROFILECI", "ci-token-2"},
		{"ALICLOUD_PROFILE", Credentials{}, map[string]string{"ALICLOUD_PROFILE": "ci"}, "STS.PROFILECI", "ci-token-2"},
		{"current profile of the default file", Credentials{}, map[string]string{}, "LTAIPROFILEDEV", ""},
	}
	for _, c := range cases {
		c.creds.Getenv = envFunc(c.env)
		c.creds.HomeDir = home
		k, err := baseKeysFor(t, c.creds)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if k.ID != c.wantID || k.Token != c.token {
			t.Errorf("%s: got id %s token %q, want %s %q", c.name, k.ID, k.Token, c.wantID, c.token)
		}
	}
}

func TestNoCredentialsListsEveryWay(t *testing.T) {
	_, err := baseKeysFor(t, Credentials{Getenv: envFunc(nil), HomeDir: t.TempDir()})
	if !errors.Is(err, ErrNoCredentials) || !IsInputError(err) {
		t.Fatalf("err = %v", err)
	}
	// The core's own wording names the Request's fields; a front names its
	// own settings (Names.NoCredentials, names_test.go).
	for _, frag := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "config.json",
		"Credentials.ECSRoleName or ALIBABA_CLOUD_ECS_METADATA", "Credentials.AssumeRoleARN or ALICLOUD_ASSUME_ROLE_ARN"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("message lacks %q", frag)
		}
	}
}

func TestHalfSetEnvironmentIsAnInputError(t *testing.T) {
	_, err := baseKeysFor(t, Credentials{Getenv: envFunc(map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIONLYID"}), HomeDir: t.TempDir()})
	if !IsInputError(err) || !strings.Contains(err.Error(), "ALIBABA_CLOUD_ACCESS_KEY_SECRET") {
		t.Fatalf("err = %v", err)
	}
	_, err = baseKeysFor(t, Credentials{Getenv: envFunc(map[string]string{"ALIBABA_CLOUD_ROLE_ARN": "acs:ram::1:role/x"}), HomeDir: t.TempDir()})
	if !IsInputError(err) || !strings.Contains(err.Error(), "ALIBABA_CLOUD_OIDC_PROVIDER_ARN") {
		t.Fatalf("err = %v", err)
	}
}

func TestProfileErrors(t *testing.T) {
	home := t.TempDir()
	path := writeProfile(t, home, twoProfiles)
	// What can be found offline (a profile that is not in the file, a file
	// that is missing or not JSON) is bad input naming the setting; what
	// the profile's mode does is the chain's to report.
	input := map[string]Credentials{
		`invalid profile "nope": there is no such profile in ` + path + "; the file has: dev, ci, weird": {Profile: "nope"},
		`invalid profile file "` + filepath.Join(home, "missing.json") + `": the aliyun CLI config file`: {ProfileFile: filepath.Join(home, "missing.json")},
	}
	for frag, c := range input {
		c.HomeDir, c.Getenv = home, envFunc(nil)
		_, err := baseKeysFor(t, c)
		if !IsInputError(err) || !strings.Contains(err.Error(), frag) {
			t.Errorf("want %q, got %v", frag, err)
		}
	}
	_, err := baseKeysFor(t, Credentials{Profile: "weird", HomeDir: home, Getenv: envFunc(nil)})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), `mode "CloudSSO" is not supported`) {
		t.Errorf("err = %v", err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = baseKeysFor(t, Credentials{Profile: "dev", HomeDir: home, Getenv: envFunc(nil)})
	if !IsInputError(err) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("err = %v", err)
	}
}

// The aliyun CLI profile the chain will read is checked offline,
// before the region (which may come from the profile): a profile that is not
// in the file, a file that is missing, unreadable or not JSON, is a
// *ValidationError naming the setting, and nothing is sent.
func TestValidateProfile(t *testing.T) {
	home := t.TempDir()
	path := writeProfile(t, home, `{"current":"ci","profiles":[
 {"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-hangzhou"},
 {"name":"sso","mode":"AK","access_key_id":"a","access_key_secret":"b"},
 {"name":"chain","mode":"ChainableRamRoleArn","source_profile":"ci-old","ram_role_arn":"acs:ram::123456789012:role/r"}]}`)
	other := t.TempDir()
	bad := filepath.Join(other, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"profiles":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	noCurrent := filepath.Join(other, "nocurrent.json")
	if err := os.WriteFile(noCurrent, []byte(`{"profiles":[{"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	badHome := t.TempDir()
	badDefault := writeProfile(t, badHome, `{"current":"gone","profiles":[{"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b"}]}`)
	emptyHome := t.TempDir()
	cases := []struct {
		name         string
		c            Credentials
		env          map[string]string
		field, value string // "" field: no error
		rule         string
	}{
		{"a profile that is there", Credentials{Profile: "sso", HomeDir: home}, nil, "", "", ""},
		{"the current profile", Credentials{HomeDir: home}, nil, "", "", ""},
		{"no profile at all", Credentials{HomeDir: emptyHome}, nil, "", "", ""},
		{"unknown profile", Credentials{Profile: "nope", HomeDir: home}, nil, "profile", "nope",
			"there is no such profile in " + path + "; the file has: ci, sso, chain"},
		{"unknown profile, default file missing", Credentials{Profile: "ci", HomeDir: emptyHome}, nil, "profile", "ci",
			"the aliyun CLI config file " + filepath.Join(emptyHome, ".aliyun", "config.json") + " does not exist"},
		{"named file missing", Credentials{ProfileFile: filepath.Join(other, "none.json"), HomeDir: home}, nil, "profile file", filepath.Join(other, "none.json"),
			"does not exist; create it with `aliyun configure`"},
		{"named file a directory", Credentials{Profile: "ci", ProfileFile: other, HomeDir: home}, nil, "profile file", other,
			"cannot be read: is a directory"},
		{"named file not JSON", Credentials{Profile: "ci", ProfileFile: bad, HomeDir: home}, nil, "profile file", bad, "is not valid JSON"},
		{"named file without current or default", Credentials{ProfileFile: noCurrent, HomeDir: home}, nil, "profile file", noCurrent,
			noCurrent + ` names no current profile and has no profile "default"; the file has: ci`},
		{"unknown source_profile", Credentials{Profile: "chain", HomeDir: home}, nil, "profile", "chain",
			`profile "chain" takes its keys from source_profile "ci-old", which is not in ` + path},
		{"ALICLOUD_PROFILE unknown", Credentials{HomeDir: home}, map[string]string{"ALICLOUD_PROFILE": "nope"}, "environment", "ALICLOUD_PROFILE",
			`there is no profile "nope" in ` + path + "; the file has: ci, sso, chain"},
		{"ALICLOUD_SHARED_CREDENTIALS_FILE missing", Credentials{HomeDir: home}, map[string]string{"ALICLOUD_SHARED_CREDENTIALS_FILE": filepath.Join(other, "none.json")},
			"environment", "ALICLOUD_SHARED_CREDENTIALS_FILE", "does not exist"},
		{"default file's current profile missing", Credentials{HomeDir: badHome}, nil, defaultFileField, badDefault,
			`its current profile "gone" is not in ` + badDefault},
		// Sources that come before the profile in the chain: it is not read.
		{"keys in the environment first", Credentials{HomeDir: home}, map[string]string{"ALICLOUD_PROFILE": "nope",
			"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}, "", "", ""},
		{"an explicit ECS role first", Credentials{ECSRoleName: "reader", HomeDir: home}, map[string]string{"ALICLOUD_PROFILE": "nope"}, "", "", ""},
		{"explicit keys with a broken default file", Credentials{AccessKeyID: "id", AccessKeySecret: "s", HomeDir: badHome}, nil, "", "", ""},
		// Two sources are validateCredentials' to refuse.
		{"two sources", Credentials{Profile: "nope", ECSRoleName: "reader", HomeDir: home}, nil, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Getenv = envFunc(tc.env)
			err := ValidateProfile(tc.c)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ValidateProfile = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || ve.Value != tc.value || !strings.Contains(ve.Rule, tc.rule) {
				t.Fatalf("ValidateProfile = %#v, want field %q value %q rule containing %q", err, tc.field, tc.value, tc.rule)
			}
			// Validate reports it before the region, which is missing here:
			// the region could have come from the profile.
			if err := Validate(Request{Family: webBase, Credentials: tc.c}); !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("Validate without a region = %v, want the profile's error", err)
			}
			// The chain says the same.
			if _, err := baseKeysFor(t, tc.c); !IsInputError(err) || !strings.Contains(err.Error(), tc.rule) {
				t.Errorf("the chain = %v", err)
			}
		})
	}
}

// A lookup with a region and an unknown profile is bad input (exit 2, not a
// credentials error at lookup time), and nothing is sent.
func TestResolveUnknownProfileSendsNothing(t *testing.T) {
	srv := emulator(t)
	home := t.TempDir()
	writeProfile(t, home, `{"current":"ci","profiles":[{"name":"ci","mode":"AK","access_key_id":"a","access_key_secret":"b"},{"name":"sso","mode":"AK","access_key_id":"a","access_key_secret":"b"}]}`)
	r := request(srv)
	r.Credentials = Credentials{Profile: "nope", HomeDir: home, Getenv: envFunc(nil), STSEndpoint: srv.Endpoint()}
	_, err := Resolve(context.Background(), r)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "profile" || !strings.Contains(err.Error(), "the file has: ci, sso") || srv.Requests("") != 0 {
		t.Fatalf("Resolve = %v (%d requests)", err, srv.Requests(""))
	}
	if _, err := ResolveRegions(context.Background(), r, []string{"cn-hangzhou", "cn-shanghai"}, 0); !errors.As(err, &ve) || srv.Requests("") != 0 {
		t.Fatalf("ResolveRegions = %v (%d requests)", err, srv.Requests(""))
	}
}

func TestECSRoleOnlyWhenNamed(t *testing.T) {
	var hits atomic.Int32
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Write([]byte("md-token-abcdef"))
		case r.URL.Path == "/latest/meta-data/ram/security-credentials/image-reader":
			if r.Header.Get("X-Aliyun-Ecs-Metadata-Token") != "md-token-abcdef" {
				w.WriteHeader(401)
				return
			}
			w.Write([]byte(`{"Code":"Success","AccessKeyId":"STS.ECSROLE","AccessKeySecret":"ecs-secret-9","SecurityToken":"ecs-token-9","Expiration":"2099-01-01T00:00:00Z"}`))
		default:
			w.WriteHeader(404)
		}
	}))
	defer md.Close()

	// Nothing named: the metadata service is never asked.
	_, err := baseKeysFor(t, Credentials{MetadataEndpoint: md.URL, Getenv: envFunc(nil), HomeDir: t.TempDir()})
	if !errors.Is(err, ErrNoCredentials) || hits.Load() != 0 {
		t.Fatalf("err=%v hits=%d", err, hits.Load())
	}
	k, err := baseKeysFor(t, Credentials{ECSRoleName: "image-reader", MetadataEndpoint: md.URL, Getenv: envFunc(nil)})
	if err != nil || k.ID != "STS.ECSROLE" || k.Token != "ecs-token-9" {
		t.Fatalf("k=%+v err=%v", k.ID, err)
	}
	_, err = baseKeysFor(t, Credentials{ECSRoleName: "other-role", MetadataEndpoint: md.URL, Getenv: envFunc(nil)})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), `"other-role"`) {
		t.Fatalf("err=%v", err)
	}
}

func TestOIDCTokenFileProblems(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for file, frag := range map[string]string{filepath.Join(dir, "missing"): "reading the OIDC token file", empty: "is empty"} {
		_, err := baseKeysFor(t, Credentials{OIDCRoleARN: "acs:ram::1:role/r", OIDCProviderARN: "acs:ram::1:oidc-provider/p", OIDCTokenFile: file, Getenv: envFunc(nil)})
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), frag) {
			t.Errorf("err=%v want %q", err, frag)
		}
	}
}

// decoySTS counts the requests that reach it: the STS endpoint that must not
// be used.
func decoySTS(t *testing.T) (endpoint string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	d := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(d.Close)
	return d.URL, hits
}

// A profile's own STS settings are used like the aliyun CLI uses them:
// sts_endpoint (over the environment; an explicit setting still wins),
// expired_seconds, ram_session_name, for RamRoleArn, ChainableRamRoleArn and
// OIDC profiles.
func TestProfileSTSSettings(t *testing.T) {
	srv := emulator(t)
	decoy, hits := decoySTS(t)
	home := t.TempDir()
	writeProfile(t, home, `{"current":"ak","profiles":[
 {"name":"ak","mode":"AK","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`","region_id":"cn-hangzhou"},
 {"name":"role","mode":"RamRoleArn","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`","ram_role_arn":"`+readerRole+`",
  "ram_session_name":"vpc-only-session","expired_seconds":1800,"sts_endpoint":"`+srv.Endpoint()+`","region_id":"cn-shanghai"},
 {"name":"chain","mode":"ChainableRamRoleArn","source_profile":"ak","ram_role_arn":"`+readerRole+`","sts_endpoint":"`+srv.Endpoint()+`","expired_seconds":900},
 {"name":"to-decoy","mode":"RamRoleArn","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`","ram_role_arn":"`+readerRole+`","sts_endpoint":"`+decoy+`"},
 {"name":"short","mode":"RamRoleArn","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`","ram_role_arn":"`+readerRole+`","expired_seconds":60}]}`)

	resolveWith := func(t *testing.T, c Credentials) error {
		t.Helper()
		srv.ResetCounts()
		r := request(srv)
		c.HomeDir = home
		r.Credentials = c
		img, err := Resolve(context.Background(), r)
		if err == nil && img.ImageID != wantNewest {
			t.Fatalf("image %s", img.ImageID)
		}
		return err
	}
	t.Run("profile sts_endpoint wins over the environment", func(t *testing.T) {
		for _, p := range []string{"role", "chain"} {
			err := resolveWith(t, Credentials{Profile: p, Getenv: envFunc(map[string]string{"ALIBABA_CLOUD_STS_ENDPOINT": decoy})})
			if err != nil || srv.Requests("AssumeRole") != 1 || hits.Load() != 0 {
				t.Fatalf("%s: err %v, AssumeRole at the profile's endpoint %d, at the environment's %d", p, err, srv.Requests("AssumeRole"), hits.Load())
			}
		}
		last := srv.LastRequest("AssumeRole").Params
		if last.Get("DurationSeconds") != "900" {
			t.Errorf("chain: DurationSeconds %s, want the profile's expired_seconds 900", last.Get("DurationSeconds"))
		}
		resolveWith(t, Credentials{Profile: "role", Getenv: envFunc(nil)})
		last = srv.LastRequest("AssumeRole").Params
		if last.Get("DurationSeconds") != "1800" || last.Get("RoleSessionName") != "vpc-only-session" {
			t.Errorf("role: DurationSeconds %s, RoleSessionName %s; want the profile's 1800 and vpc-only-session", last.Get("DurationSeconds"), last.Get("RoleSessionName"))
		}
	})
	t.Run("an explicit STS endpoint wins over the profile's", func(t *testing.T) {
		err := resolveWith(t, Credentials{Profile: "to-decoy", STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil)})
		if err != nil || srv.Requests("AssumeRole") != 1 || hits.Load() != 0 {
			t.Fatalf("err %v, AssumeRole %d, decoy %d", err, srv.Requests("AssumeRole"), hits.Load())
		}
	})
	t.Run("without an explicit one, the profile's sts_endpoint is where AssumeRole goes", func(t *testing.T) {
		err := resolveWith(t, Credentials{Profile: "to-decoy", Getenv: envFunc(nil)})
		if err == nil || hits.Load() == 0 || srv.Requests("AssumeRole") != 0 {
			t.Fatalf("err %v, decoy hits %d, emulator AssumeRole %d", err, hits.Load(), srv.Requests("AssumeRole"))
		}
		hits.Store(0)
	})
	t.Run("expired_seconds out of range", func(t *testing.T) {
		err := resolveWith(t, Credentials{Profile: "short", Getenv: envFunc(nil)})
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "expired_seconds 60") || srv.Requests("") != 0 {
			t.Fatalf("err %v, requests %d", err, srv.Requests(""))
		}
	})
}

func TestProfileSTSRegion(t *testing.T) {
	s := newSession(Request{Credentials: Credentials{Getenv: envFunc(map[string]string{"ALIBABA_CLOUD_STS_REGION": "cn-beijing"})}})
	for _, c := range []struct {
		rs   roleSettings
		want string
	}{
		{roleSettings{stsRegion: "cn-shanghai"}, "sts.cn-shanghai.aliyuncs.com"},
		{roleSettings{stsRegion: "cn-shanghai", stsEndpoint: "sts-vpc.cn-shanghai.aliyuncs.com"}, "sts-vpc.cn-shanghai.aliyuncs.com"},
		{roleSettings{}, "sts.cn-beijing.aliyuncs.com"},
	} {
		ep, err := s.stsEndpoint(c.rs)
		if err != nil || ep.Host != c.want || ep.Scheme != "https" {
			t.Errorf("%+v: %v %v, want %s", c.rs, ep, err, c.want)
		}
	}
	if _, err := s.stsEndpoint(roleSettings{stsRegion: "Not A Region", source: `CLI profile "x"`}); err == nil || !strings.Contains(err.Error(), "sts_region") {
		t.Errorf("bad sts_region: %v", err)
	}
}

func TestProfileRegion(t *testing.T) {
	home := t.TempDir()
	writeProfile(t, home, `{"current":"ak","profiles":[
 {"name":"ak","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-hangzhou"},
 {"name":"sh","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"cn-shanghai"},
 {"name":"none","mode":"AK","access_key_id":"a","access_key_secret":"b"},
 {"name":"bad","mode":"AK","access_key_id":"a","access_key_secret":"b","region_id":"CN Hangzhou"}]}`)
	cases := []struct {
		c        Credentials
		want     string
		wantFrom string
		wantErr  string
	}{
		{Credentials{HomeDir: home, Getenv: envFunc(nil)}, "cn-hangzhou", `profile "ak"`, ""},
		{Credentials{HomeDir: home, Profile: "sh", Getenv: envFunc(nil)}, "cn-shanghai", `profile "sh"`, ""},
		{Credentials{HomeDir: home, Getenv: envFunc(map[string]string{"ALIBABA_CLOUD_PROFILE": "sh"})}, "cn-shanghai", `profile "sh"`, ""},
		{Credentials{HomeDir: home, Getenv: envFunc(map[string]string{"ALICLOUD_PROFILE": "none"})}, "", "", ""},
		{Credentials{HomeDir: home, Profile: "bad", Getenv: envFunc(nil)}, "", "", "region_id"},
		{Credentials{HomeDir: t.TempDir(), Getenv: envFunc(nil)}, "", "", ""},
		// A profile or file that is named but not there is an error, not "no
		// region".
		{Credentials{HomeDir: home, Profile: "nope", Getenv: envFunc(nil)}, "", "", `invalid profile "nope": there is no such profile`},
		{Credentials{HomeDir: home, Getenv: envFunc(map[string]string{"ALICLOUD_PROFILE": "nope"})}, "", "", `invalid environment "ALICLOUD_PROFILE"`},
		{Credentials{HomeDir: home, ProfileFile: filepath.Join(home, "none.json"), Getenv: envFunc(nil)}, "", "", "does not exist"},
	}
	for i, c := range cases {
		got, from, err := ProfileRegion(c.c)
		if got != c.want || !strings.Contains(from, c.wantFrom) || (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("case %d: %q %q %v; want %q from %q, err %q", i, got, from, err, c.want, c.wantFrom, c.wantErr)
		}
	}
}

// The aliyun CLI's environment names are read too, after the SDK's and
// Packer's; its switches to ignore the default profile are honoured.
func TestAliyunCLIEnvironmentNames(t *testing.T) {
	for _, prefix := range []string{"ALIBABACLOUD_", "ALICLOUD_"} {
		k, ok := lookupEnvKeys(envFunc(map[string]string{prefix + "ACCESS_KEY_ID": "id-1", prefix + "ACCESS_KEY_SECRET": "secret-1", prefix + "SECURITY_TOKEN": "tok-1"}))
		if !ok || k.id != "id-1" || k.secret != "secret-1" || k.token != "tok-1" {
			t.Errorf("%s names: %+v %v", prefix, k, ok)
		}
	}
	k, _ := lookupEnvKeys(envFunc(map[string]string{"ALIBABACLOUD_ACCESS_KEY_ID": "cli", "ALIBABACLOUD_ACCESS_KEY_SECRET": "cli-s", "ALIBABA_CLOUD_ACCESS_KEY_ID": "sdk", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sdk-s"}))
	if k.id != "sdk" {
		t.Errorf("the SDK's names must win, got %q", k.id)
	}
	home := t.TempDir()
	writeProfile(t, home, `{"current":"a","profiles":[{"name":"a","mode":"AK","access_key_id":"pa","access_key_secret":"pa-secret","region_id":"cn-hangzhou"},{"name":"b","mode":"AK","access_key_id":"pb","access_key_secret":"pb-secret","region_id":"cn-beijing"}]}`)
	for _, env := range []map[string]string{{"ALIBABACLOUD_IGNORE_PROFILE": "TRUE"}, {"ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true"}} {
		s := newSession(Request{Credentials: Credentials{HomeDir: home, Getenv: envFunc(env)}})
		if _, err := s.baseKeys(context.Background()); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%v: default profile still used: %v", env, err)
		}
		if r, _, _ := ProfileRegion(Credentials{HomeDir: home, Getenv: envFunc(env)}); r != "" {
			t.Errorf("%v: default profile's region still used: %q", env, r)
		}
	}
	s := newSession(Request{Credentials: Credentials{HomeDir: home, Getenv: envFunc(map[string]string{"ALIBABACLOUD_PROFILE": "b"})}})
	if k, err := s.baseKeys(context.Background()); err != nil || k.ID != "pb" {
		t.Errorf("ALIBABACLOUD_PROFILE: %+v %v", k, err)
	}
}

// An OIDC profile uses its own sts_endpoint (over the environment's),
// expired_seconds and ram_session_name; a profile's ram_session_name also
// wins over the request's (--role-session-name), as documented.
func TestOIDCProfileSTSSettings(t *testing.T) {
	srv := emulator(t)
	decoy, hits := decoySTS(t)
	home := t.TempDir()
	token := filepath.Join(home, "token")
	os.WriteFile(token, []byte(fakeJWT(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:o/r:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})), 0o600)
	writeProfile(t, home, `{"current":"oidc","profiles":[
 {"name":"oidc","mode":"OIDC","ram_role_arn":"`+oidcRole+`","oidc_provider_arn":"`+oidcProv+`","oidc_token_file":"`+token+`",
  "ram_session_name":"oidc-from-profile","expired_seconds":1200,"sts_endpoint":"`+srv.Endpoint()+`"},
 {"name":"role","mode":"RamRoleArn","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`","ram_role_arn":"`+readerRole+`","ram_session_name":"profile-session","sts_endpoint":"`+srv.Endpoint()+`"}]}`)
	r := request(srv)
	r.Credentials = Credentials{HomeDir: home, Getenv: envFunc(map[string]string{"ALIBABA_CLOUD_STS_ENDPOINT": decoy})}
	if img, err := Resolve(context.Background(), r); err != nil || img.ImageID != wantNewest {
		t.Fatalf("OIDC profile: %v", err)
	}
	p := srv.LastRequest("AssumeRoleWithOIDC").Params
	if srv.Requests("AssumeRoleWithOIDC") != 1 || hits.Load() != 0 || p.Get("RoleSessionName") != "oidc-from-profile" || p.Get("DurationSeconds") != "1200" {
		t.Fatalf("AssumeRoleWithOIDC at the profile's endpoint %d, decoy %d, params %v", srv.Requests("AssumeRoleWithOIDC"), hits.Load(), p)
	}
	r.Credentials = Credentials{HomeDir: home, Profile: "role", RoleSessionName: "from-the-flag", Getenv: envFunc(nil)}
	if _, err := Resolve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got := srv.LastRequest("AssumeRole").Params.Get("RoleSessionName"); got != "profile-session" {
		t.Fatalf("RoleSessionName %q, want the profile's over the request's", got)
	}
}

// The role-ARN rule is one (validateRoleARN): the same refusal, value and
// words whether the ARN is a setting checked by Validate, the OIDC role, the
// ALICLOUD_ASSUME_ROLE_ARN variable or an aliyun CLI profile's ram_role_arn
// read at lookup time; none of them sends anything.
func TestRoleARNRuleOnce(t *testing.T) {
	srv := emulator(t)
	const bad = "acs:ram::123456789012:user/image-reader"
	want := func(field string) ValidationError {
		return ValidationError{Field: field, Value: bad, Rule: "it must look like acs:ram::123456789012:role/role-name"}
	}
	home := t.TempDir()
	writeProfile(t, home, `{"current":"role","profiles":[{"name":"role","mode":"RamRoleArn","access_key_id":"`+demoID+
		`","access_key_secret":"`+demoSecret+`","ram_role_arn":"`+bad+`"}]}`)
	cases := []struct {
		name  string
		edit  func(*Request)
		field string
	}{
		{"setting", func(r *Request) { r.Credentials.AssumeRoleARN = bad }, "role ARN"},
		{"OIDC setting", func(r *Request) {
			r.Credentials = Credentials{OIDCRoleARN: bad, OIDCProviderARN: "acs:ram::123456789012:oidc-provider/gh", OIDCToken: "t", Getenv: envFunc(nil)}
		}, "OIDC role ARN"},
		{"environment", func(r *Request) {
			r.Credentials.Getenv = envFunc(map[string]string{"ALICLOUD_ASSUME_ROLE_ARN": bad})
		}, "role ARN"},
		{"aliyun CLI profile", func(r *Request) {
			r.Credentials = Credentials{Profile: "role", HomeDir: home, STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil)}
		}, "role ARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCounts()
			r := request(srv)
			c.edit(&r)
			_, err := Resolve(context.Background(), r)
			var ve *ValidationError
			if !errors.As(err, &ve) || *ve != want(c.field) {
				t.Errorf("err = %v, want %v", err, &ValidationError{Field: c.field, Value: bad, Rule: want(c.field).Rule})
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
