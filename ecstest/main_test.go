package ecstest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
)

func TestTLSServerTrust(t *testing.T) {
	s := newDemo(t, true)
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || "https://"+s.Endpoint() != s.URL {
		t.Fatalf("URL %s endpoint %s", s.URL, s.Endpoint())
	}
	cert := s.Certificate()
	if cert == nil || cert.VerifyHostname("127.0.0.1") != nil || cert.VerifyHostname("localhost") != nil {
		t.Fatal("certificate does not cover 127.0.0.1 and localhost")
	}
	block, _ := pem.Decode(s.CertPEM())
	if block == nil || !bytes.Equal(block.Bytes, cert.Raw) {
		t.Fatal("CertPEM is not the certificate")
	}
	path, err := s.WriteCertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, s.CertPEM()) {
		t.Fatal("cert file differs")
	}

	if a := raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil); a.err != nil || a.status != 200 {
		t.Fatalf("trusted client: %v %d", a.err, a.status)
	}
	// A client that does not trust the certificate is refused.
	untrusted := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	_, err = untrusted.Get(s.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("untrusted client: %v", err)
	}

	plain := newDemo(t, false)
	if plain.Certificate() != nil || plain.CertPEM() != nil {
		t.Fatal("plain server has a certificate")
	}
	if _, err := plain.WriteCertFile(t.TempDir()); err == nil {
		t.Fatal("WriteCertFile on a plain server")
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:0", "example.com:80"} {
		if s, err := Start(nil, Options{Addr: addr}); err == nil {
			s.Close()
			t.Fatalf("%s accepted", addr)
		}
	}
}

func TestParseFixture(t *testing.T) {
	f := demoFixture(t)
	if len(f.Accounts) != 2 || len(f.Roles) != 4 || len(f.Images["cn-hangzhou"]) != 6 {
		t.Fatalf("%+v", f)
	}
	for _, bad := range []string{
		`{"acounts": []}`,
		`{"accounts": [{"access_key_id": "LTAIX"}]}`,
		`{"accounts": [{"access_key_id": "STS.X", "access_key_secret": "s"}]}`,
		`{"roles": [{"arn": "role/x"}]}`,
		`{"images": {"cn-hangzhou": [{"ImageFamily": "x"}]}}`,
		`{"images": {"cn-hangzhou": [{"ImageId": "m-1", "Size": "big"}]}}`,
	} {
		if _, err := ParseFixture([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if _, err := LoadFixture(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestMainProcessMode(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(fixture, DemoFixture, 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready.json")
	certFile := filepath.Join(dir, "cert.pem")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncio.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- Main(ctx, []string{"--fixture", fixture, "--tls", "--cert-file", certFile,
			"--ready-file", ready, "--throttle", "1", "--latency", "10ms"}, &stdout, &stderr)
	}()

	var line []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, err := os.ReadFile(ready); err == nil {
			line = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var info ReadyInfo
	if err := json.Unmarshal(line, &info); err != nil || !strings.HasPrefix(info.URL, "https://127.0.0.1:") ||
		info.Endpoint != strings.TrimPrefix(info.URL, "https://") || info.CertFile != certFile {
		t.Fatalf("ready line %q: %v", line, err)
	}
	for deadline := time.Now().Add(5 * time.Second); stdout.String() != string(line); {
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q, want %q", stdout.String(), line)
		}
		time.Sleep(10 * time.Millisecond)
	}

	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("bad cert file")
	}
	c, err := ecs.NewClientWithAccessKey("cn-hangzhou", demoKey, demoSecret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = info.Endpoint
	c.SetTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})
	req := ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = "https"
	req.RegionId, req.ImageFamily = "cn-hangzhou", "web-base"
	_, err = c.DescribeImageFromFamily(req)
	wantServerError(t, err, 400, "Throttling.User") // --throttle 1
	req = ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = "https"
	req.RegionId, req.ImageFamily = "cn-hangzhou", "web-base"
	resp, err := c.DescribeImageFromFamily(req)
	if err != nil || resp.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("%v %+v", err, resp)
	}

	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Main did not stop on cancel")
	}
	if strings.Contains(stdout.String()+stderr.String(), demoSecret) {
		t.Fatal("secret printed")
	}
}

func TestMainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(fixture, DemoFixture, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"nope": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "--fixture is required"},
		{[]string{"--fixture", fixture, "--addr", "0.0.0.0:0"}, 2, "not a loopback"},
		{[]string{"--fixture", fixture, "--addr", "192.168.1.1:8080"}, 2, "not a loopback"},
		{[]string{"--fixture", fixture, "--cert-file", "x.pem"}, 2, "needs --tls"},
		{[]string{"--fixture", fixture, "--throttle", "-1"}, 2, "negative"},
		{[]string{"--fixture", fixture, "extra"}, 2, "unexpected argument"},
		{[]string{"--bogus"}, 2, "bogus"},
		{[]string{"--fixture", bad}, 1, "unknown field"},
		{[]string{"--fixture", filepath.Join(dir, "missing.json")}, 1, "missing.json"},
	} {
		var stdout, stderr syncio.Buffer
		code := Main(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || stdout.String() != "" {
			t.Errorf("%v: exit %d stderr %q stdout %q", tc.args, code, stderr.String(), stdout.String())
		}
	}
}
