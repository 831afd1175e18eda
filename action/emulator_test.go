package action

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// These tests run the real core against the signing emulator (ECS and STS),
// so what the action sends is what a real endpoint would accept.

// issued matches STS credentials the emulator hands out; none may ever be
// printed.
var issued = regexp.MustCompile(`STS\.[A-Za-z0-9]{20,}|CAIS[A-Za-z0-9+/=_-]{40,}`)

func (s *step) assertNoIssuedCredentials() {
	s.t.Helper()
	if m := issued.FindString(s.unmasked()); m != "" {
		s.t.Errorf("STS-issued credential %q... in the step's output", m[:8])
	}
}

const (
	emuKeyID     = "LTAIACTIONTESTKEY0001"
	emuSecret    = "action-test-secret-NOT-REAL-0001"
	oidcRole     = "acs:ram::123456789012:role/github-reader"
	oidcProvider = "acs:ram::123456789012:oidc-provider/github"
	keyRole      = "acs:ram::123456789012:role/image-reader"
)

func emulator(t *testing.T) *ecstest.Server {
	t.Helper()
	img := func(id, created, status string) ecs.Image {
		return ecs.Image{
			ImageId: id, ImageName: "web-base-" + id, ImageFamily: "web-base", ImageVersion: "7",
			Status: status, CreationTime: created, Architecture: "x86_64", OSType: "linux",
			OSName: "Alibaba Cloud Linux 3", Platform: "Aliyun", Size: 40, IsSelfShared: "false",
		}
	}
	srv, err := ecstest.Start(&ecstest.Fixture{
		Accounts: []ecstest.Account{{AccessKeyID: emuKeyID, AccessKeySecret: emuSecret}},
		Roles: []ecstest.Role{
			{ARN: oidcRole, OIDCProviderARN: oidcProvider},
			{ARN: keyRole, TrustedAccounts: []string{emuKeyID}},
		},
		Regions: []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"},
		Images: map[string][]ecs.Image{
			"cn-hangzhou": {img("m-hzold0001", "2024-01-01T00:00:00Z", "Available"), img("m-hznew0001", "2024-02-01T00:00:00Z", "Available"), img("m-hzbroken", "2024-03-01T00:00:00Z", "UnAvailable")},
			"cn-shanghai": {img("m-shnew0001", "2024-02-02T00:00:00Z", "Available")},
		},
	}, ecstest.Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// viaEmulator points every request of the step at the emulator.
func viaEmulator(srv *ecstest.Server) Option {
	return WithRequest(func(r *imagefamily.Request) {
		r.Transport = srv.Transport()
		r.Retry.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	})
}

func emuInputs(srv *ecstest.Server, kv ...string) map[string]string {
	m := map[string]string{
		"region": "cn-hangzhou", "image-family": "web-base",
		"endpoint": srv.Endpoint(), "sts-endpoint": srv.Endpoint(),
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Static keys as inputs and as an earlier step's environment, through the
// real core: the outputs, one request naming the action front, the debug
// trace with RUNNER_DEBUG.
func TestEmulatorStaticKeys(t *testing.T) {
	srv := emulator(t)
	for _, fromEnv := range []bool{false, true} {
		srv.ResetCounts()
		s := newStep(t, emuInputs(srv, "access-key-id", emuKeyID, "access-key-secret", emuSecret))
		if fromEnv {
			delete(s.env, "INPUT_ACCESS_KEY_ID")
			delete(s.env, "INPUT_ACCESS_KEY_SECRET")
			s.env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = emuKeyID
			s.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = emuSecret
		}
		s.env["RUNNER_DEBUG"] = "1"
		s.run(viaEmulator(srv))
		if s.err != nil {
			t.Fatalf("Run: %v\n%s", s.err, s.stdout)
		}
		var img imagefamily.Image
		if outs := s.outputs(); outs["image-id"] != "m-hznew0001" || outs["image-ids"] != `{"cn-hangzhou":"m-hznew0001"}` ||
			json.Unmarshal([]byte(outs["json"]), &img) != nil || img.OSName != "Alibaba Cloud Linux 3" {
			t.Errorf("outputs = %v", outs)
		}
		if n := srv.Requests(describeAction); n != 1 {
			t.Errorf("%d DescribeImageFromFamily requests, want 1", n)
		}
		if ua := srv.LastRequest(describeAction).Header.Get("User-Agent"); !strings.Contains(ua, "action") {
			t.Errorf("User-Agent %q does not name the action front", ua)
		}
		if !strings.Contains(s.stdout.String(), "::debug::") {
			t.Errorf("no debug trace with RUNNER_DEBUG=1:\n%s", s.stdout)
		}
	}
}

func TestEmulatorAssumeRoleWithKeys(t *testing.T) {
	srv := emulator(t)
	s := newStep(t, emuInputs(srv, "access-key-id", emuKeyID, "access-key-secret", emuSecret, "role-to-assume", keyRole))
	s.env["GITHUB_RUN_ID"] = "777"
	s.env["RUNNER_DEBUG"] = "1"
	s.run(viaEmulator(srv))
	if s.err != nil || s.outputs()["image-id"] != "m-hznew0001" {
		t.Fatalf("err %v\n%s", s.err, s.stdout)
	}
	if srv.Requests("AssumeRole") != 1 {
		t.Errorf("AssumeRole requests: %d", srv.Requests("AssumeRole"))
	}
	// The STS-issued secret and token were registered with the runner, so a
	// later log line holding them would be masked too.
	last := srv.LastRequest("DescribeImageFromFamily")
	token := last.Params.Get("SecurityToken")
	if token == "" || !slices.Contains(s.masked(), token) {
		t.Errorf("the STS-issued security token was not masked; masked: %d values", len(s.masked()))
	}
}

// jwt builds an unsigned-looking ID token like GitHub's, with the audience
// the runner was asked for.
func jwt(aud string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	hdr := enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"test"}`))
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:octo/app:ref:refs/heads/main",
		"aud": aud, "exp": exp.Unix(), "iat": time.Now().Unix(),
	})
	return hdr + "." + enc(claims) + "." + enc([]byte("signature-"+aud))
}

// githubTokenService stands in for the runner's ID token endpoint and
// remembers the tokens it minted; fail, when given, answers a request
// instead whenever it returns true.
func githubTokenService(t *testing.T, fail ...func(w http.ResponseWriter, r *http.Request) bool) (*httptest.Server, *[]string) {
	var minted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(fail) > 0 && fail[0](w, r) {
			return
		}
		if r.Header.Get("Authorization") != "Bearer runtime-request-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := jwt(r.URL.Query().Get("audience"), time.Now().Add(5*time.Minute))
		minted = append(minted, tok)
		fmt.Fprintf(w, `{"count":1,"value":%q}`, tok)
	}))
	t.Cleanup(srv.Close)
	return srv, &minted
}

func oidcStep(t *testing.T, srv *ecstest.Server, tokens *httptest.Server, kv ...string) *step {
	s := newStep(t, emuInputs(srv, append([]string{"role-to-assume", oidcRole, "oidc-provider-arn", oidcProvider}, kv...)...))
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = tokens.URL + "/_apis/token?api-version=2.0"
	s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "runtime-request-token"
	s.env["RUNNER_DEBUG"] = "1"
	return s
}

// OIDC through the real core: the token is masked first, exchanged once;
// an audience input the provider does not accept is named in the
// annotation beside the STS error.
func TestEmulatorOIDC(t *testing.T) {
	srv := emulator(t)
	tokens, minted := githubTokenService(t)
	s := oidcStep(t, srv, tokens).run(viaEmulator(srv))
	if s.err != nil || s.outputs()["image-id"] != "m-hznew0001" || srv.Requests("AssumeRoleWithOIDC") != 1 || len(*minted) != 1 {
		t.Fatalf("Run: %v, outputs %v, AssumeRoleWithOIDC %d, %d tokens minted\n%s", s.err, s.outputs(), srv.Requests("AssumeRoleWithOIDC"), len(*minted), s.stdout)
	}
	if !strings.HasPrefix(s.stdout.String(), "::add-mask::runtime-request-token\n::add-mask::"+(*minted)[0]+"\n") {
		t.Errorf("the token is not masked first:\n%s", s.stdout)
	}
	s.assertNoSecrets(*minted...)

	s = oidcStep(t, srv, tokens, "audience", "my-other-client").run(viaEmulator(srv))
	if out := s.stdout.String(); s.code != 1 || !strings.Contains(out, "AudienceNotMatch") || !strings.Contains(out, `requested with audience "my-other-client"`) {
		t.Errorf("exit %d; the annotation does not say which audience was sent:\n%s", s.code, out)
	}
	s.assertNoSecrets(*minted...)
}
