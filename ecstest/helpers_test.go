package ecstest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
)

const (
	demoKey    = "LTAIDEMOACCESSKEYID0001"
	demoSecret = "demo-secret-NOT-A-REAL-SECRET-0001"
	deniedKey  = "LTAIDEMODENIEDKEYID0002"
	deniedSec  = "demo-secret-NOT-A-REAL-SECRET-0002"
	readerRole = "acs:ram::123456789012:role/image-reader"
	oidcRole   = "acs:ram::123456789012:role/github-oidc-image-reader"
	noECSRole  = "acs:ram::123456789012:role/no-ecs-access"
	oidcProv   = "acs:ram::123456789012:oidc-provider/github"
)

// TestMain keeps the SDK quiet and on loopback. The SDK reads DEBUG when its
// packages initialise, before any test code runs, so the only way to unset it
// is to run the tests again in a child process without it.
func TestMain(m *testing.M) {
	if os.Getenv("DEBUG") != "" && os.Getenv("ECSTEST_CHILD") == "" {
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "DEBUG=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "ECSTEST_CHILD=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(providerChildEnv) != "" {
		os.Exit(providerChild())
	}
	// The SDK honours HTTP(S)_PROXY even for loopback unless NO_PROXY says so.
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		os.Setenv(k, "127.0.0.1,localhost")
	}
	os.Exit(m.Run())
}

func demoFixture(t *testing.T) *Fixture {
	t.Helper()
	f, err := ParseFixture(DemoFixture)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newDemo(t *testing.T, tls bool) *Server {
	t.Helper()
	s, err := Start(demoFixture(t), Options{TLS: tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func scheme(s *Server) string {
	if s.Certificate() != nil {
		return "https"
	}
	return "http"
}

// ecsClient is a real SDK client pointed at the emulator.
func ecsClient(t *testing.T, s *Server, id, secret, token string) *ecs.Client {
	t.Helper()
	var c *ecs.Client
	var err error
	if token == "" {
		c, err = ecs.NewClientWithAccessKey("cn-hangzhou", id, secret)
	} else {
		c, err = ecs.NewClientWithStsToken("cn-hangzhou", id, secret, token)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = s.Endpoint()
	c.SetTransport(s.Transport())
	return c
}

func stsClient(t *testing.T, s *Server, id, secret, token string) *sts.Client {
	t.Helper()
	var c *sts.Client
	var err error
	if token == "" {
		c, err = sts.NewClientWithAccessKey("cn-hangzhou", id, secret)
	} else {
		c, err = sts.NewClientWithStsToken("cn-hangzhou", id, secret, token)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = s.Endpoint()
	c.SetTransport(s.Transport())
	return c
}

func describe(c *ecs.Client, s *Server, region, family string) (*ecs.DescribeImageFromFamilyResponse, error) {
	req := ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = scheme(s)
	req.RegionId = region
	req.ImageFamily = family
	return c.DescribeImageFromFamily(req)
}

func assumeRole(c *sts.Client, s *Server, arn, session string) (*sts.AssumeRoleResponse, error) {
	req := sts.CreateAssumeRoleRequest()
	req.Scheme = scheme(s)
	req.RoleArn = arn
	req.RoleSessionName = session
	req.DurationSeconds = "900"
	return c.AssumeRole(req)
}

// wantServerError checks an SDK error's status and code.
func wantServerError(t *testing.T, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want ServerError %d %s, got %T %v", status, code, err, err)
	}
	if se.HttpStatus() != status || se.ErrorCode() != code {
		t.Fatalf("want %d %s, got %d %s: %s", status, code, se.HttpStatus(), se.ErrorCode(), se.Message())
	}
	return se
}

// signed builds a correctly signed parameter set with the server's own
// signer (its agreement with the SDK is proved by the SDK tests); tests then
// break one thing at a time.
func signed(method, id, secret string, p map[string]string) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{
		"Format": "JSON", "Version": "2014-05-26", "Action": "DescribeImageFromFamily",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureType": "",
		"SignatureNonce": randomString(20, alnum), "AccessKeyId": id,
		"Timestamp": time.Now().UTC().Format(timestampLayout),
		"RegionId":  "cn-hangzhou", "ImageFamily": "web-base",
	} {
		v.Set(k, x)
	}
	for k, x := range p {
		if x == "\x00" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	v.Set("Signature", sign(method, v, secret))
	return v
}

type rawAnswer struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// raw sends query parameters (and an optional form body) with net/http.
func raw(t *testing.T, s *Server, method string, query, form url.Values) rawAnswer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL+"/?"+query.Encode(), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := s.Client()
	c.Timeout = 10 * time.Second
	resp, err := c.Do(req)
	if err != nil {
		return rawAnswer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return rawAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

type errorBody struct {
	RequestId, HostId, Code, Message, Recommend string
}

func decodeError(t *testing.T, a rawAnswer) errorBody {
	t.Helper()
	if a.Err != nil {
		t.Fatalf("request failed: %v", a.Err)
	}
	var e errorBody
	dec := json.NewDecoder(strings.NewReader(string(a.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", a.Body, err)
	}
	return e
}

// jwt builds an unsigned-looking compact JWT with the given claims.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test"}) + "." + enc(claims) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("not-a-real-signature"))
}
