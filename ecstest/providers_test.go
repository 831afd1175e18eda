package ecstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

const providerChildEnv = "ECSTEST_PROVIDER_CHILD_ENDPOINT"

// TestSDKCredentialProviders runs the SDK's own RAM-role and OIDC credential
// providers against the emulator. They build their requests by hand (query
// plus form body, the OIDC one unsigned) and talk https with the system
// roots only, so they run in a child process whose SSL_CERT_FILE is the
// emulator's certificate.
func TestSDKCredentialProviders(t *testing.T) {
	s := newDemo(t, true)
	dir := t.TempDir()
	certFile, err := s.WriteCertFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "oidc-token")
	now := time.Now().Unix()
	token := jwt(map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o/r:ref:refs/heads/main",
		"aud": "sts.aliyuncs.com", "iat": now, "exp": now + 600})
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DEBUG=") && !strings.HasPrefix(kv, "SSL_CERT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, providerChildEnv+"="+s.Endpoint(), "SSL_CERT_FILE="+certFile,
		"ECSTEST_TOKEN_FILE="+tokenFile, "ECSTEST_CHILD=1", "NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), token) || strings.Contains(string(out), demoSecret) {
		t.Fatal("secret in child output")
	}
	for _, a := range []string{"AssumeRole", "AssumeRoleWithOIDC"} {
		last := s.LastRequest(a)
		if s.Requests(a) != 1 || last.Params.Get("RoleArn") == "" || last.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("%s: %d requests, last %+v", a, s.Requests(a), last)
		}
	}
	if s.LastRequest("AssumeRoleWithOIDC").Params.Get("Signature") != "" {
		t.Fatal("the OIDC provider signed its request?")
	}
	if n := s.Requests("DescribeImageFromFamily"); n != 2 {
		t.Fatalf("DescribeImageFromFamily requests = %d", n)
	}
}

// providerChild is the child side of TestSDKCredentialProviders; it returns
// the exit code and prints nothing secret.
func providerChild() int {
	endpoint := os.Getenv(providerChildEnv)
	ram, err := credentials.NewRAMRoleARNCredentialsProviderBuilder().
		WithCredentialsProvider(credentials.NewStaticAKCredentialsProvider(demoKey, demoSecret)).
		WithRoleArn(readerRole).WithRoleSessionName("provider-test").WithDurationSeconds(900).
		WithStsEndpoint(endpoint).Build()
	if err != nil {
		fmt.Println("ram builder:", err)
		return 1
	}
	oidc, err := credentials.NewOIDCCredentialsProviderBuilder().
		WithOIDCProviderARN(oidcProv).WithOIDCTokenFilePath(os.Getenv("ECSTEST_TOKEN_FILE")).
		WithRoleArn(oidcRole).WithRoleSessionName("gh-actions").WithDurationSeconds(900).
		WithSTSEndpoint(endpoint).Build()
	if err != nil {
		fmt.Println("oidc builder:", err)
		return 1
	}
	for name, p := range map[string]credentials.CredentialsProvider{"ram-role-arn": ram, "oidc": oidc} {
		cc, err := p.GetCredentials()
		if err != nil {
			fmt.Println(name, "GetCredentials:", err)
			return 1
		}
		if !strings.HasPrefix(cc.AccessKeyId, "STS.") || cc.SecurityToken == "" {
			fmt.Println(name, ": not STS credentials")
			return 1
		}
		c, err := ecs.NewClientWithStsToken("cn-hangzhou", cc.AccessKeyId, cc.AccessKeySecret, cc.SecurityToken)
		if err != nil {
			fmt.Println(name, err)
			return 1
		}
		c.Domain = endpoint
		req := ecs.CreateDescribeImageFromFamilyRequest()
		req.Scheme = "https"
		req.RegionId, req.ImageFamily = "cn-hangzhou", "web-base"
		resp, err := c.DescribeImageFromFamily(req)
		if err != nil || resp.Image.ImageId != "m-bp1demowebbase000003" {
			fmt.Println(name, "DescribeImageFromFamily failed:", err)
			return 1
		}
		fmt.Println(name, "ok")
	}
	return 0
}
