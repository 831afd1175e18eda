package ecstest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAssumeRoleThenECS(t *testing.T) {
	s := newDemo(t, true) // the SDK's STS credential providers are https only
	c := stsClient(t, s, demoKey, demoSecret, "")
	resp, err := assumeRole(c, s, readerRole, "ci-run")
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.Credentials
	if !strings.HasPrefix(cr.AccessKeyId, "STS.") || cr.AccessKeySecret == "" || cr.SecurityToken == "" {
		t.Fatalf("%+v", cr)
	}
	exp, err := time.Parse(timestampLayout, cr.Expiration)
	if err != nil || time.Until(exp) < 14*time.Minute || time.Until(exp) > 16*time.Minute {
		t.Fatalf("Expiration %q for 900 s: %v", cr.Expiration, err)
	}
	if resp.AssumedRoleUser.Arn != readerRole+"/ci-run" || !strings.HasSuffix(resp.AssumedRoleUser.AssumedRoleId, ":ci-run") {
		t.Fatalf("%+v", resp.AssumedRoleUser)
	}
	last := s.LastRequest("AssumeRole")
	if last.Params.Get("Version") != "2015-04-01" || last.Params.Get("Signature") == "" {
		t.Fatalf("%+v", last.Params)
	}

	// The issued credentials work on the ECS side.
	img, err := describe(ecsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken), s, "cn-hangzhou", "web-base")
	if err != nil || img.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("%v %+v", err, img)
	}
	if s.LastRequest("DescribeImageFromFamily").Params.Get("SecurityToken") != cr.SecurityToken {
		t.Fatal("SecurityToken not sent")
	}

	// A second session, to have a real token that belongs to another key.
	other, err := assumeRole(c, s, readerRole, "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token, code string
	}{
		{"", "MissingSecurityToken"},
		{"CAISnot-a-token-we-issued", "InvalidSecurityToken.Malformed"},
		{other.Credentials.SecurityToken, "InvalidSecurityToken.MismatchWithAccessKey"},
	} {
		_, err := describe(ecsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, tc.token), s, "cn-hangzhou", "web-base")
		wantServerError(t, err, 400, tc.code)
	}
	// Right token, wrong secret: the signature still has to match.
	_, err = describe(ecsClient(t, s, cr.AccessKeyId, "wrong", cr.SecurityToken), s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 400, "SignatureDoesNotMatch")

	// Role chaining: STS credentials may assume a role.
	chained, err := assumeRole(stsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken), s, oidcRole, "chained")
	if err != nil {
		t.Fatal(err)
	}

	// GetCallerIdentity tells who is calling.
	id := callerIdentity(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)
	if id["IdentityType"] != "AssumedRoleUser" || id["Arn"] != "acs:ram::123456789012:assumed-role/image-reader/ci-run" {
		t.Fatalf("%v", id)
	}
	if id := callerIdentity(t, s, demoKey, demoSecret, ""); id["IdentityType"] != "RAMUser" || id["Arn"] != "acs:ram::123456789012:user/demo-ci" {
		t.Fatalf("%v", id)
	}

	s.ExpireSessions()
	for _, k := range []struct{ id, secret, token string }{
		{cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken},
		{chained.Credentials.AccessKeyId, chained.Credentials.AccessKeySecret, chained.Credentials.SecurityToken},
	} {
		_, err = describe(ecsClient(t, s, k.id, k.secret, k.token), s, "cn-hangzhou", "web-base")
		se := wantServerError(t, err, 400, "InvalidSecurityToken.Expired")
		if strings.Contains(se.Message(), k.token) {
			t.Fatal("token in message")
		}
	}
}

func callerIdentity(t *testing.T, s *Server, id, secret, token string) map[string]string {
	t.Helper()
	p := map[string]string{"Action": "GetCallerIdentity", "Version": "2015-04-01", "RegionId": "\x00", "ImageFamily": "\x00"}
	if token != "" {
		p["SecurityToken"] = token
	}
	a := raw(t, s, http.MethodPost, signed("POST", id, secret, p), nil)
	var m map[string]string
	if a.Status != 200 || json.Unmarshal(a.Body, &m) != nil {
		t.Fatalf("GetCallerIdentity: %d %s", a.Status, a.Body)
	}
	return m
}

func TestTokenLifetime(t *testing.T) {
	s := newDemo(t, true)
	s.SetTokenLifetime(1500 * time.Millisecond)
	resp, err := assumeRole(stsClient(t, s, demoKey, demoSecret, ""), s, readerRole, "short")
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.Credentials
	c := ecsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)
	if _, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1600 * time.Millisecond)
	_, err = describe(c, s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 400, "InvalidSecurityToken.Expired")
}

func TestAssumeRoleRejections(t *testing.T) {
	s := newDemo(t, true)
	c := stsClient(t, s, demoKey, demoSecret, "")

	_, err := assumeRole(c, s, "acs:ram::123456789012:role/nope", "x1")
	wantServerError(t, err, 404, "EntityNotExist.Role")
	_, err = assumeRole(c, s, "arn:aws:iam::1:role/x", "x1")
	wantServerError(t, err, 400, "InvalidParameter.RoleArn")
	_, err = assumeRole(c, s, readerRole, "a")
	wantServerError(t, err, 400, "InvalidParameter.RoleSessionName")
	_, err = assumeRole(c, s, readerRole, "")
	wantServerError(t, err, 400, "MissingRoleSessionName")
	// Not in the role's trust list.
	_, err = assumeRole(stsClient(t, s, deniedKey, deniedSec, ""), s, readerRole, "x1")
	wantServerError(t, err, 403, "NoPermission")
	// OIDC-only role.
	_, err = assumeRole(c, s, oidcRole, "x1")
	wantServerError(t, err, 403, "NoPermission")
	// Signed like any call.
	_, err = assumeRole(stsClient(t, s, demoKey, "bad", ""), s, readerRole, "x1")
	wantServerError(t, err, 400, "SignatureDoesNotMatch")

	for _, d := range []string{"899", "3601", "abc"} {
		a := raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, map[string]string{
			"Action": "AssumeRole", "Version": "2015-04-01", "RoleArn": readerRole,
			"RoleSessionName": "dur", "DurationSeconds": d, "RegionId": "\x00", "ImageFamily": "\x00",
		}), nil)
		if e := decodeError(t, a); a.Status != 400 || e.Code != "InvalidParameter.DurationSeconds" {
			t.Fatalf("%s: %d %+v", d, a.Status, e)
		}
	}

	// A denied role issues credentials, which then have no ECS permission.
	resp, err := assumeRole(c, s, noECSRole, "x1")
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.Credentials
	_, err = describe(ecsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken), s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 403, "InvalidUser.Unauthorized")

	// ExternalId, when the role demands one.
	s.AddRole(Role{ARN: "acs:ram::123456789012:role/ext", TrustedAccounts: []string{demoKey}, ExternalID: "abc-123"})
	_, err = assumeRole(c, s, "acs:ram::123456789012:role/ext", "x1")
	wantServerError(t, err, 403, "NoPermission")
	req := signed("POST", demoKey, demoSecret, map[string]string{
		"Action": "AssumeRole", "Version": "2015-04-01", "RoleArn": "acs:ram::123456789012:role/ext",
		"RoleSessionName": "ext", "ExternalId": "abc-123", "RegionId": "\x00", "ImageFamily": "\x00",
	})
	if a := raw(t, s, http.MethodPost, req, nil); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
}

// oidc posts AssumeRoleWithOIDC the way the SDK's OIDC credential provider
// does: a few parameters in the query, the rest in a form body, no signature.
func oidc(t *testing.T, s *Server, role, provider, token string) rawAnswer {
	t.Helper()
	q := url.Values{
		"Version": {"2015-04-01"}, "Action": {"AssumeRoleWithOIDC"}, "Format": {"JSON"},
		"Timestamp": {time.Now().UTC().Format(timestampLayout)},
	}
	form := url.Values{
		"RoleArn": {role}, "OIDCProviderArn": {provider}, "OIDCToken": {token},
		"RoleSessionName": {"gh-actions"}, "DurationSeconds": {"3600"},
	}
	return raw(t, s, http.MethodPost, q, form)
}

func TestAssumeRoleWithOIDC(t *testing.T) {
	s := newDemo(t, true)
	now := time.Now().Unix()
	good := jwt(map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:org/repo:ref:refs/heads/main",
		"aud": []string{"sts.aliyuncs.com"}, "iat": now, "exp": now + 300,
	})
	a := oidc(t, s, oidcRole, oidcProv, good)
	if a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
	var resp struct {
		RequestId       string
		AssumedRoleUser struct{ Arn, AssumedRoleId string }
		Credentials     struct{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration string }
		OIDCTokenInfo   map[string]string
	}
	if err := json.Unmarshal(a.Body, &resp); err != nil {
		t.Fatal(err)
	}
	cr := resp.Credentials
	if !strings.HasPrefix(cr.AccessKeyId, "STS.") || resp.AssumedRoleUser.Arn != oidcRole+"/gh-actions" ||
		resp.OIDCTokenInfo["Subject"] != "repo:org/repo:ref:refs/heads/main" || resp.OIDCTokenInfo["ClientIds"] != "sts.aliyuncs.com" {
		t.Fatalf("%s", a.Body)
	}
	if strings.Contains(string(a.Body), good) {
		t.Fatal("OIDC token echoed")
	}
	if _, err := describe(ecsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken), s, "cn-shanghai", "app-server"); err != nil {
		t.Fatal(err)
	}
	// A single-string aud is valid JWT too.
	if a := oidc(t, s, oidcRole, oidcProv, jwt(map[string]any{"aud": "sts.aliyuncs.com"})); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Body)
	}

	for _, tc := range []struct {
		name, role, provider, token string
		status                      int
		code, msg                   string
	}{
		{"bad audience", oidcRole, oidcProv, jwt(map[string]any{"aud": []string{"https://github.com/org"}}), 401,
			"AuthenticationFail.OIDCToken.AudienceNotMatch", `"https://github.com/org", the role expects "sts.aliyuncs.com"`},
		{"expired", oidcRole, oidcProv, jwt(map[string]any{"aud": "sts.aliyuncs.com", "exp": now - 10}), 401,
			"AuthenticationFail.OIDCToken.Expired", "This JsonWebToken is expired."},
		{"not a jwt", oidcRole, oidcProv, "abc.def", 401, "AuthenticationFail.OIDCToken.Invalid", "3 parts"},
		{"bad base64", oidcRole, oidcProv, "a.!!!.c", 401, "AuthenticationFail.OIDCToken.Invalid", "base64"},
		{"empty", oidcRole, oidcProv, "", 401, "AuthenticationFail.OIDCToken.Invalid", "can not empty"},
		{"unknown provider", oidcRole, "acs:ram::123456789012:oidc-provider/other", good, 401, "AuthenticationFail.NoPermission", "No such OIDC Provider"},
		{"role without OIDC", readerRole, oidcProv, good, 401, "AuthenticationFail.NoPermission", "does not trust"},
		{"unknown role", "acs:ram::123456789012:role/nope", oidcProv, good, 404, "EntityNotExist.Role", "nope"},
		{"missing provider", oidcRole, "", good, 400, "MissingOIDCProviderArn", ""},
	} {
		a := oidc(t, s, tc.role, tc.provider, tc.token)
		e := decodeError(t, a)
		if a.Status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %+v", tc.name, a.Status, e)
		}
		if tc.token != "" && strings.Contains(string(a.Body), tc.token) {
			t.Errorf("%s: token echoed", tc.name)
		}
	}

	// OIDC into a denied role: credentials, but no ECS permission.
	a = oidc(t, s, noECSRole, oidcProv, good)
	if err := json.Unmarshal(a.Body, &resp); err != nil || a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
	cr = resp.Credentials
	_, err := describe(ecsClient(t, s, cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken), s, "cn-hangzhou", "web-base")
	wantServerError(t, err, 403, "InvalidUser.Unauthorized")
}
