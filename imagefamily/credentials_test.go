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
	for _, frag := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "config.json", "ram_role_name", "role"} {
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
	cases := map[string]Credentials{
		"no such profile; the file has: dev, ci, weird": {Profile: "nope"},
		`mode "CloudSSO" is not supported`:              {Profile: "weird"},
		"does not exist":                                {ProfileFile: filepath.Join(home, "missing.json")},
	}
	for frag, c := range cases {
		c.HomeDir, c.Getenv = home, envFunc(nil)
		_, err := baseKeysFor(t, c)
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), frag) {
			t.Errorf("want %q, got %v", frag, err)
		}
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := baseKeysFor(t, Credentials{Profile: "dev", HomeDir: home, Getenv: envFunc(nil)})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("err = %v", err)
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
