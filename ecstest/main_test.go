package ecstest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

	if a := raw(t, s, http.MethodPost, signed("POST", demoKey, demoSecret, nil), nil); a.Err != nil || a.Status != 200 {
		t.Fatalf("trusted client: %v %d", a.Err, a.Status)
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
