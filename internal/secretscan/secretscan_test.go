package secretscan

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// recorder is a TB that keeps the reports instead of failing the test.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// A security token looks like this: letters, digits, '+', '/' and '='.
const token = "CAIS+abc/DEF=ghi+jkl/MNO0123456789pqrsTUV=="
const secret = "my secret&key/with+specials"

func TestEveryFormIsFound(t *testing.T) {
	for _, sec := range []string{token, secret} {
		for _, f := range Forms(sec) {
			text := "before\nsome text " + f.Value + " more\nafter"
			leaks := New(sec).Find(text)
			if len(leaks) != 1 || leaks[0].Line != 2 {
				t.Errorf("%s of %q: leaks %v", f.Name, sec, leaks)
			}
		}
	}
}

func TestFormsCoverTheEncodingsThatOccur(t *testing.T) {
	once := url.QueryEscape(token)
	js, _ := json.Marshal(map[string]string{"t": secret})
	cases := map[string]string{
		"query string":        "https://h/?SecurityToken=" + once + "&x=1",
		"query escaped twice": url.QueryEscape("a=" + once),
		"JSON document":       string(js),
		"base64 header":       "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+token)),
		"base64 JWT claim":    base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","tok":"` + token + `"}`)),
		"lower-case percent":  strings.NewReplacer("%2B", "%2b", "%2F", "%2f", "%3D", "%3d").Replace(rpcencode.Encode(token)),
	}
	for name, text := range cases {
		if len(New(token, secret).Find(text)) == 0 {
			t.Errorf("%s: not found in %q", name, text)
		}
	}
}

// The real case: the emulator's SignatureDoesNotMatch message echoes the
// string to sign, which holds the security token percent-encoded twice.
func TestSignatureDoesNotMatchMessage(t *testing.T) {
	params := url.Values{"Action": {"DescribeImageFromFamily"}, "SecurityToken": {token}, "AccessKeyId": {"STS.x"}}
	msg := "Specified signature is not matched with our calculation. server string to sign is:" + ecstest.StringToSign("POST", params)
	if strings.Contains(msg, token) {
		t.Fatal("the token appears as is; this test would prove nothing")
	}
	leaks := New(token).Find(msg)
	if len(leaks) != 1 || leaks[0].Form != "percent-encoded twice" {
		t.Fatalf("leaks = %v", leaks)
	}
}

func TestBase64AtEveryOffset(t *testing.T) {
	for pad := 0; pad < 6; pad++ {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			text := enc.EncodeToString([]byte(strings.Repeat("x", pad) + token + "tail"))
			if len(New(token).Find(text)) != 1 {
				t.Errorf("offset %d: not found in %s", pad, text)
			}
		}
	}
}

func TestCleanTextAndIgnoredLines(t *testing.T) {
	clean := "SecurityToken=[REDACTED] AccessKeyId=LTAIxx****\n::error title=x::SignatureDoesNotMatch\n" +
		base64.StdEncoding.EncodeToString([]byte("an unrelated value of some length"))
	if leaks := New(token, secret, "").Find(clean); len(leaks) != 0 {
		t.Fatalf("false positives: %v", leaks)
	}
	text := "::add-mask::" + token + "\n  ::add-mask::" + secret + "\nvalue " + token
	s := New(token, secret).IgnoreLines("::add-mask::")
	leaks := s.Find(text)
	if len(leaks) != 1 || leaks[0].Line != 3 {
		t.Fatalf("leaks = %v", leaks)
	}
}

func TestReportsNeverRepeatTheSecret(t *testing.T) {
	var r recorder
	text := "a " + token + " b " + url.QueryEscape(secret) + "\n" + strings.Repeat("y", 500) + rpcencode.Encode(rpcencode.Encode(token))
	if Check(&r, "stderr", text, token, secret) {
		t.Fatal("Check reported clean text")
	}
	if len(r.errs) != 3 {
		t.Fatalf("reports: %q", r.errs)
	}
	for _, e := range r.errs {
		for _, sec := range []string{token, secret} {
			for _, f := range Forms(sec) {
				if strings.Contains(e, f.Value) {
					t.Errorf("report %q repeats the secret (%s)", e, f.Name)
				}
			}
		}
		if !strings.HasPrefix(e, "stderr: secret ") || !strings.Contains(e, "[SECRET]") {
			t.Errorf("report %q does not name the stream and the place", e)
		}
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	var r recorder
	s := New(token)
	if !s.CheckFile(&r, filepath.Join(dir, "missing")) || len(r.errs) != 0 {
		t.Fatalf("a missing file is not clean: %v", r.errs)
	}
	p := filepath.Join(dir, "out")
	os.WriteFile(p, []byte("json<<D\n{\"t\":\""+token+"\"}\nD\n"), 0o600)
	if s.CheckFile(&r, p) || len(r.errs) != 1 || !strings.Contains(r.errs[0], p) {
		t.Fatalf("reports: %v", r.errs)
	}
}

func TestAddLater(t *testing.T) {
	s := New()
	if len(s.Find(token)) != 0 {
		t.Fatal("an empty scanner found something")
	}
	s.Add(token, token, "")
	if len(s.Secrets()) != 1 || len(s.Find(token)) != 1 {
		t.Fatalf("secrets %d", len(s.Secrets()))
	}
}
