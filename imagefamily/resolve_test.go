package imagefamily

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

const (
	demoID      = "LTAIDEMOACCESSKEYID0001"
	demoSecret  = "demo-secret-NOT-A-REAL-SECRET-0001"
	deniedID    = "LTAIDEMODENIEDKEYID0002"
	deniedSec   = "demo-secret-NOT-A-REAL-SECRET-0002"
	readerRole  = "acs:ram::123456789012:role/image-reader"
	oidcRole    = "acs:ram::123456789012:role/github-oidc-image-reader"
	oidcProv    = "acs:ram::123456789012:oidc-provider/github"
	noEcsRole   = "acs:ram::123456789012:role/no-ecs-access"
	wantNewest  = "m-bp1demowebbase000003"
	webBase     = "web-base"
	hangzhou    = "cn-hangzhou"
	fastTimeout = 5 * time.Second
)

func TestMain(m *testing.M) {
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		os.Setenv(k, "127.0.0.1,localhost")
	}
	os.Exit(m.Run())
}

// emulator serves the demo fixture with its dates as written: tests here add
// images dated against them and pin ages.
func emulator(t *testing.T) *ecstest.Server {
	t.Helper()
	f, err := ecstest.ParseFixture(ecstest.DemoFixtureAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	srv := ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// noSleep keeps retry tests fast; the retry policy itself is tested with a
// fake clock in retry_test.go.
func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

func request(srv *ecstest.Server) Request {
	return Request{
		Region: hangzhou, Family: webBase,
		Credentials: Credentials{AccessKeyID: demoID, AccessKeySecret: demoSecret, STSEndpoint: srv.Endpoint(),
			Getenv: envFunc(nil), HomeDir: "/nonexistent"},
		Endpoint:  srv.Endpoint(),
		Transport: srv.Transport(),
		Timeout:   fastTimeout,
		Retry:     RetryPolicy{Sleep: noSleep},
		Front:     FrontCLI,
	}
}

func TestResolveNewestAvailable(t *testing.T) {
	srv := emulator(t)
	img, err := Resolve(context.Background(), request(srv))
	if err != nil {
		t.Fatal(err)
	}
	if img.ImageID != wantNewest || img.Status != "Available" || img.ImageFamily != webBase {
		t.Fatalf("got %s %s %s", img.ImageID, img.Status, img.ImageFamily)
	}
	if img.RequestID == "" || strings.Contains(mustJSON(img), img.RequestID) {
		t.Fatalf("RequestID %q missing, or leaked into the API-shaped JSON", img.RequestID)
	}
	if img.Tags == nil || img.DiskDeviceMappings == nil || len(img.DiskDeviceMappings) == 0 {
		t.Fatalf("tags/mappings not mapped: %+v", img)
	}
	if n := srv.Requests("DescribeImageFromFamily"); n != 1 || srv.Requests("") != 1 {
		t.Fatalf("requests = %d (all %d), want exactly 1", n, srv.Requests(""))
	}
	ua := srv.LastRequest("DescribeImageFromFamily").Header.Get("User-Agent")
	if !strings.Contains(ua, "packer-plugin-alicloud-image-family/") || !strings.Contains(ua, "(cli;") {
		t.Fatalf("User-Agent %q does not name project and front", ua)
	}
	// A newer image still Creating is never picked; once Available it is.
	srv.AddImage(hangzhou, ecs.Image{ImageId: "m-new-creating", ImageFamily: webBase, Status: "Creating", CreationTime: "2025-06-01T00:00:00Z"})
	if img, _ := Resolve(context.Background(), request(srv)); img.ImageID != wantNewest {
		t.Fatalf("picked %s while the newer image is Creating", img.ImageID)
	}
	srv.SetImageStatus(hangzhou, "m-new-creating", "Available")
	if img, _ := Resolve(context.Background(), request(srv)); img.ImageID != "m-new-creating" {
		t.Fatalf("picked %s, want the newly available image", img.ImageID)
	}
}

func TestResolveJSONRoundTripUsesAPINames(t *testing.T) {
	srv := emulator(t)
	img, err := Resolve(context.Background(), request(srv))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(img)
	for _, key := range []string{`"ImageId":"` + wantNewest, `"Tags":{"Tag":[`, `"DiskDeviceMappings":{"DiskDeviceMapping":[`, `"IsSelfShared":"`, `"OSNameEn"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	var back Image
	if err := json.Unmarshal(b, &back); err != nil || back.ImageID != img.ImageID || len(back.Tags) != len(img.Tags) {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

func TestResolveErrors(t *testing.T) {
	srv := emulator(t)
	cases := []struct {
		name     string
		mod      func(*Request)
		class    error
		frags    []string
		requests int
	}{
		{"not found", func(r *Request) { r.Family = "no-such-family" }, ErrNotFound, []string{`"no-such-family"`, hangzhou, "RequestId"}, 1},
		{"unknown region", func(r *Request) { r.Region = "xx-nowhere-9" }, ErrRegionNotFound, []string{"InvalidRegionId.NotFound", "xx-nowhere-9", "RequestId"}, 1},
		{"denied", func(r *Request) { r.Credentials.AccessKeyID, r.Credentials.AccessKeySecret = deniedID, deniedSec }, ErrAccessDenied, []string{"InvalidUser.Unauthorized", "ecs:DescribeImageFromFamily"}, 1},
		{"wrong secret", func(r *Request) { r.Credentials.AccessKeySecret = "wrong-secret-value-123" }, ErrAuthFailed, []string{"SignatureDoesNotMatch", "secret does not match"}, 1},
		{"unknown key", func(r *Request) { r.Credentials.AccessKeyID = "LTAIUNKNOWNKEY99" }, ErrAuthFailed, []string{"InvalidAccessKeyId.NotFound"}, 1},
		{"invalid family sends nothing", func(r *Request) { r.Family = "aliyun-x" }, ErrInvalidInput, []string{"image family"}, 0},
		{"no credentials sends nothing", func(r *Request) { r.Credentials = Credentials{Getenv: envFunc(nil), HomeDir: t.TempDir()} }, ErrNoCredentials, []string{"ALIBABA_CLOUD_ACCESS_KEY_ID"}, 0},
	}
	for _, c := range cases {
		srv.ResetCounts()
		r := request(srv)
		c.mod(&r)
		_, err := Resolve(context.Background(), r)
		if !errors.Is(err, c.class) {
			t.Errorf("%s: err = %v, want class %v", c.name, err, c.class)
			continue
		}
		for _, f := range c.frags {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("%s: %q lacks %q", c.name, err, f)
			}
		}
		secretscan.Check(t, c.name+" error", err.Error(), demoSecret, deniedSec, "wrong-secret-value-123")
		if got := srv.Requests(""); got != c.requests {
			t.Errorf("%s: emulator saw %d requests, want %d", c.name, got, c.requests)
		}
	}
}

func TestResolveFaults(t *testing.T) {
	srv := emulator(t)
	const action = "DescribeImageFromFamily"
	cases := []struct {
		name     string
		inject   func()
		attempts int
		class    error // nil: success
		requests int
	}{
		{"throttled twice then ok", func() { srv.Throttle(action, 2) }, 5, nil, 3},
		{"throttled 429 once then ok", func() { srv.Throttle(action, 1, ecstest.TooManyRequests()) }, 5, nil, 2},
		{"throttled forever", func() { srv.Throttle(action, 100) }, 4, ErrThrottled, 4},
		{"503 then ok", func() { srv.FailStatus(action, 1, 503, "ServiceUnavailable") }, 5, nil, 2},
		{"500 then ok", func() { srv.FailStatus(action, 2, 500, "InternalError") }, 5, nil, 3},
		{"dropped connection then ok", func() { srv.DropConnection(action, 1) }, 5, nil, 2},
		{"malformed body", func() { srv.MalformedBody(action, 1) }, 5, ErrAPI, 1},
		{"empty body", func() { srv.EmptyBody(action, 1) }, 5, ErrAPI, 1},
	}
	for _, c := range cases {
		srv.ClearFaults()
		srv.ResetCounts()
		c.inject()
		r := request(srv)
		r.Retry.MaxAttempts = c.attempts
		img, err := Resolve(context.Background(), r)
		if c.class == nil && (err != nil || img.ImageID != wantNewest) {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if c.class != nil && !errors.Is(err, c.class) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.class)
		}
		if got := srv.Requests(action); got != c.requests {
			t.Errorf("%s: %d requests, want %d", c.name, got, c.requests)
		}
	}
}

func TestRetryAfterHeaderIsHonoured(t *testing.T) {
	srv := emulator(t)
	srv.Throttle("DescribeImageFromFamily", 1, ecstest.RetryAfter(1500*time.Millisecond))
	var slept []time.Duration
	r := request(srv)
	r.Retry.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	if _, err := Resolve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] != 1500*time.Millisecond {
		t.Fatalf("slept %v, want [1.5s]", slept)
	}
}

func TestHangIsCutByTimeout(t *testing.T) {
	srv := emulator(t)
	srv.Hang("DescribeImageFromFamily")
	r := request(srv)
	r.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Resolve(context.Background(), r)
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 3*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	// Cancellation of the caller's context works the same way.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = Resolve(ctx, request(srv))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestUntrustedCertificateFailsWithoutFallback(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	r.Transport = nil // the system roots do not trust the emulator
	_, err := Resolve(context.Background(), r)
	if !errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Requests(""); n != 0 {
		t.Fatalf("%d requests reached the handler; nothing may fall back to HTTP", n)
	}
}

func TestPlainHTTPOnlyWhenWrittenOut(t *testing.T) {
	f, _ := ecstest.ParseFixture(ecstest.DemoFixture)
	srv := ecstest.NewServer(f)
	defer srv.Close()
	r := request(srv)
	r.Transport = nil
	r.Endpoint = "http://" + srv.Endpoint()
	if img, err := Resolve(context.Background(), r); err != nil || img.ImageID != wantNewest {
		t.Fatalf("http:// endpoint: %v", err)
	}
	r.Endpoint = srv.Endpoint() // bare host:port means HTTPS, which this server does not speak
	r.Retry.MaxAttempts = 1
	if _, err := Resolve(context.Background(), r); err == nil {
		t.Fatal("bare host:port silently used plain HTTP")
	}
}

func TestAssumeRoleThenResolve(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	r.Credentials.AssumeRoleARN = readerRole
	var trace bytes.Buffer
	r.Debug = &trace
	img, err := Resolve(context.Background(), r)
	if err != nil || img.ImageID != wantNewest {
		t.Fatalf("err = %v", err)
	}
	if srv.Requests("AssumeRole") != 1 {
		t.Fatalf("AssumeRole requests = %d", srv.Requests("AssumeRole"))
	}
	last := srv.LastRequest("DescribeImageFromFamily")
	if id := last.Params.Get("AccessKeyId"); !strings.HasPrefix(id, "STS.") || last.Params.Get("SecurityToken") == "" {
		t.Fatalf("ECS call was not made with the STS credentials (AccessKeyId %s)", id)
	}
	// The debug trace shows both calls and never a secret or token.
	tr := trace.String()
	if !strings.Contains(tr, "Action=AssumeRole") || !strings.Contains(tr, "Action=DescribeImageFromFamily") {
		t.Fatalf("trace lacks calls:\n%s", tr)
	}
	secretscan.Check(t, "debug trace", tr, demoSecret, last.Params.Get("SecurityToken"), last.Params.Get("Signature"))

	// A role whose credentials lack ECS permission.
	r = request(srv)
	r.Credentials.AssumeRoleARN = noEcsRole
	if _, err := Resolve(context.Background(), r); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("err = %v", err)
	}
	// An unknown role is a credentials error naming the role.
	r.Credentials.AssumeRoleARN = "acs:ram::123456789012:role/missing"
	_, err = Resolve(context.Background(), r)
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "role/missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpiredSecurityToken(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	r.Credentials.AssumeRoleARN = readerRole
	s := newSession(r)
	k, err := s.credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.ExpireSessions()
	r.Credentials = Credentials{AccessKeyID: k.ID, AccessKeySecret: k.Secret, SecurityToken: k.Token, Getenv: envFunc(nil)}
	_, err = Resolve(context.Background(), r)
	if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "InvalidSecurityToken") {
		t.Fatalf("err = %v", err)
	}
	secretscan.Check(t, "expired token error", err.Error(), k.Secret, k.Token)
	// Mismatched token: a real key with a token that is not its own.
	r.Credentials.SecurityToken = "not-the-right-token-value"
	srv.SetTokenLifetime(time.Hour)
	_, err = Resolve(context.Background(), r)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
}

func fakeJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func TestOIDC(t *testing.T) {
	srv := emulator(t)
	good := fakeJWT(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:org/repo:ref:refs/heads/main", "iss": "https://token.actions.githubusercontent.com", "exp": time.Now().Add(time.Hour).Unix()})
	r := request(srv)
	r.Credentials = Credentials{OIDCRoleARN: oidcRole, OIDCProviderARN: oidcProv, OIDCToken: good, STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil)}
	img, err := Resolve(context.Background(), r)
	if err != nil || img.ImageID != wantNewest {
		t.Fatalf("err = %v", err)
	}
	if srv.Requests("AssumeRoleWithOIDC") != 1 {
		t.Fatal("no AssumeRoleWithOIDC call")
	}
	// From the environment, with a token file.
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(good+"\n"), 0o600)
	r.Credentials = Credentials{STSEndpoint: srv.Endpoint(), HomeDir: t.TempDir(), Getenv: envFunc(map[string]string{
		"ALIBABA_CLOUD_ROLE_ARN": oidcRole, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": oidcProv, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": file})}
	if _, err := Resolve(context.Background(), r); err != nil {
		t.Fatalf("env OIDC: %v", err)
	}
	// Wrong audience: the error says so and never shows the token.
	bad := fakeJWT(map[string]any{"aud": "wrong-audience", "exp": time.Now().Add(time.Hour).Unix()})
	r.Credentials = Credentials{OIDCRoleARN: oidcRole, OIDCProviderARN: oidcProv, OIDCToken: bad, STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil)}
	_, err = Resolve(context.Background(), r)
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "wrong-audience") {
		t.Fatalf("err = %v", err)
	}
	secretscan.Check(t, "wrong audience error", err.Error(), bad)
	// STS down during OIDC: a network error within the deadline.
	r.Credentials.OIDCToken = good
	r.Credentials.STSEndpoint = "127.0.0.1:1"
	r.Retry.MaxAttempts = 2
	_, err = Resolve(context.Background(), r)
	if !errors.Is(err, ErrCredentials) || !errors.Is(err, ErrNetwork) {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveRegionsConcurrently(t *testing.T) {
	srv := emulator(t)
	srv.Latency(100 * time.Millisecond)
	r := request(srv)
	r.Credentials.AssumeRoleARN = readerRole
	regions := []string{"cn-hangzhou", "cn-shanghai", "cn-beijing", "xx-nowhere-1"}
	start := time.Now()
	results, err := ResolveRegions(context.Background(), r, regions, 0)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	for i, res := range results {
		if res.Region != regions[i] {
			t.Fatalf("order: %v", results)
		}
	}
	if results[0].Err != nil || results[0].Image.ImageID != wantNewest {
		t.Errorf("cn-hangzhou: %v", results[0].Err)
	}
	if !errors.Is(results[3].Err, ErrRegionNotFound) {
		t.Errorf("xx-nowhere-1: %v", results[3].Err)
	}
	if srv.Requests("AssumeRole") != 1 {
		t.Errorf("credentials obtained %d times, want once", srv.Requests("AssumeRole"))
	}
	// Four lookups at 100ms each plus one AssumeRole: concurrent means well
	// under the 500ms a sequential run would need.
	if elapsed > 450*time.Millisecond {
		t.Logf("fan-out took %v (sequential would be ~500ms); machine may be loaded", elapsed)
	}
	if _, err := ResolveRegions(context.Background(), r, []string{"cn-hangzhou", "BAD"}, 2); !IsInputError(err) {
		t.Fatalf("bad region: %v", err)
	}
}

func TestConcurrentResolveIsRaceFree(t *testing.T) {
	srv := emulator(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Resolve(context.Background(), request(srv)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOnSecretSeesIssuedCredentials(t *testing.T) {
	srv := emulator(t)
	r := request(srv)
	r.Credentials.AssumeRoleARN = readerRole
	var seen []string
	r.Credentials.OnSecret = func(v string) { seen = append(seen, v) }
	if _, err := Resolve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	last := srv.LastRequest("DescribeImageFromFamily")
	token := last.Params.Get("SecurityToken")
	if len(seen) != 2 || seen[1] != token || seen[0] == demoSecret {
		t.Fatalf("OnSecret saw %d values; want the STS secret and token, not the caller's own secret", len(seen))
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestProfileModesThatCallSTS(t *testing.T) {
	srv := emulator(t)
	home := t.TempDir()
	writeProfile(t, home, `{"current":"ak","profiles":[
 {"name":"ak","mode":"AK","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`"},
 {"name":"role","mode":"RamRoleArn","access_key_id":"`+demoID+`","access_key_secret":"`+demoSecret+`","ram_role_arn":"`+readerRole+`","ram_session_name":"from-profile"},
 {"name":"chain","mode":"ChainableRamRoleArn","source_profile":"ak","ram_role_arn":"`+readerRole+`"},
 {"name":"loop","mode":"ChainableRamRoleArn","source_profile":"loop","ram_role_arn":"`+readerRole+`"}]}`)
	for _, profile := range []string{"role", "chain"} {
		srv.ResetCounts()
		r := request(srv)
		r.Credentials = Credentials{Profile: profile, HomeDir: home, STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil)}
		if img, err := Resolve(context.Background(), r); err != nil || img.ImageID != wantNewest {
			t.Fatalf("profile %s: %v", profile, err)
		}
		if srv.Requests("AssumeRole") != 1 {
			t.Fatalf("profile %s: %d AssumeRole calls", profile, srv.Requests("AssumeRole"))
		}
		if profile == "role" && srv.LastRequest("AssumeRole").Params.Get("RoleSessionName") != "from-profile" {
			t.Fatal("the profile's ram_session_name was not used")
		}
	}
	r := request(srv)
	r.Credentials = Credentials{Profile: "loop", HomeDir: home, STSEndpoint: srv.Endpoint(), Getenv: envFunc(nil)}
	if _, err := Resolve(context.Background(), r); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "loops") {
		t.Fatalf("looping source_profile: %v", err)
	}
}

// Shared (acs:<owner>:<family>) and public (acs:<family>) families are sent
// unchanged and answered with the owner's image; a family that is not
// shared is "not found" with a hint about sharing.
func TestResolveSharedAndPublicFamilies(t *testing.T) {
	srv := emulator(t)
	for family, want := range map[string]string{
		"acs:210987654321:golden-base":           "m-bp1sharedgolden00001",
		"acs:alibaba_cloud_linux_3_2104_lts_x64": "aliyun_3_x64_20G_alibase_20240819.vhd",
	} {
		r := request(srv)
		r.Family = family
		img, err := Resolve(context.Background(), r)
		if err != nil || img.ImageID != want {
			t.Fatalf("%s: %q %v, want %s", family, img.ImageID, err, want)
		}
		if got := srv.LastRequest("DescribeImageFromFamily").Params.Get("ImageFamily"); got != family {
			t.Fatalf("sent ImageFamily %q, want %q unchanged", got, family)
		}
	}
	r := request(srv)
	r.Family = "acs:999999999999:golden-base"
	_, err := Resolve(context.Background(), r)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "(account 999999999999) has shared") {
		t.Fatalf("unshared family: %v", err)
	}
}
