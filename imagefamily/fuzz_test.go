package imagefamily

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets. `go test` runs their seed corpora (the f.Add lines and
// testdata/fuzz/) as ordinary tests; scripts/fuzz.sh runs each for a bounded
// time.

// referenceFamilyOK restates the API document's family rules independently
// of ValidateFamily, so the fuzzer compares two readings of the same rules.
func referenceFamilyOK(s string) bool {
	if rest, ok := strings.CutPrefix(s, "acs:"); ok {
		return referenceSharedFamilyOK(rest)
	}
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 128 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !(letter || r >= '0' && r <= '9' || r == ':' || r == '_' || r == '-') {
			return false
		}
	}
	for _, p := range []string{"http://", "https://", "acs:", "aliyun"} {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	return true
}

// referenceSharedFamilyOK is the acs: rule written out by hand: an optional
// owner account id (1 to 20 digits) and ':', then a family part of 2 to 128
// letters, digits, '.', '_', '-', starting with a letter or digit.
func referenceSharedFamilyOK(rest string) bool {
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		owner := rest[:i]
		if len(owner) < 1 || len(owner) > 20 {
			return false
		}
		for _, r := range owner {
			if r < '0' || r > '9' {
				return false
			}
		}
		rest = rest[i+1:]
	}
	if len(rest) < 2 || len(rest) > 128 {
		return false
	}
	for i, r := range rest {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !(r == '.' || r == '_' || r == '-')) {
			return false
		}
	}
	return true
}

func FuzzValidateFamily(f *testing.F) {
	for _, s := range []string{"web-base", "a", "ab", "aliyun-x", "acs:x", "http://x", "1abc", "a b", "a\x00b", "ÿab", strings.Repeat("a", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateFamily(s)
		if ok := referenceFamilyOK(s); ok != (err == nil) {
			t.Fatalf("ValidateFamily(%q) = %v, reference says ok=%v", s, err, ok)
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "image family" || ve.Rule == "" {
				t.Fatalf("error %v is not a field-naming ValidationError", err)
			}
		}
	})
}

func FuzzValidateRegion(f *testing.F) {
	for _, s := range []string{"cn-hangzhou", "ap-southeast-1", "CN-X", "cn--x", "", "-", "cn-hangzhou\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateRegion(s)
		if err == nil {
			// Whatever passes is safe to put in a host name and a URL.
			if !validHost("ecs." + s + ".aliyuncs.com") {
				t.Fatalf("accepted region %q makes an invalid host", s)
			}
			if _, perr := ParseRegions(s); perr != nil {
				t.Fatalf("ParseRegions rejects a valid region %q: %v", s, perr)
			}
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"ecs.cn-hangzhou.aliyuncs.com", "127.0.0.1:8443", "http://127.0.0.1:1", "https://[::1]:443/", "ftp://x", "https://u@x", "x:99999", "[::1", "https://x?y", ":80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := parseEndpoint("endpoint", s)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("parseEndpoint(%q) error %v is not an input error", s, err)
			}
			return
		}
		if s == "" {
			return
		}
		if ep.Scheme != "https" && ep.Scheme != "http" {
			t.Fatalf("scheme %q", ep.Scheme)
		}
		if ep.Scheme == "http" && !strings.HasPrefix(strings.ToLower(s), "http://") {
			t.Fatalf("%q downgraded to http without saying so", s)
		}
		if strings.ContainsAny(ep.Host, "/?#@ \t\r\n") || ep.Host == "" {
			t.Fatalf("host %q from %q", ep.Host, s)
		}
		// Parsing the canonical form gives the same endpoint.
		again, err := parseEndpoint("endpoint", ep.String())
		if err != nil || again != ep {
			t.Fatalf("round trip of %q: %+v %v", s, again, err)
		}
	})
}

func FuzzImageJSON(f *testing.F) {
	f.Add([]byte(`{"ImageId":"m-1","Tags":{"Tag":[{"TagKey":"a","TagValue":"b"},{"Key":"c","Value":"d"}]},"DiskDeviceMappings":{"DiskDeviceMapping":[{"Size":"40"}]},"Size":40,"IsSelfShared":"true"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"Size":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var img Image
		if err := json.Unmarshal(b, &img); err != nil {
			return
		}
		if img.Tags == nil || img.DiskDeviceMappings == nil {
			t.Fatal("decoded image has nil tags or mappings")
		}
		out, err := json.Marshal(img)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Image
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		// Raw is the same JSON value, though encoding/json may write it
		// with other escapes (& as \u0026); the typed view is identical.
		var rawIn, rawBack any
		if json.Unmarshal(img.Raw, &rawIn) != nil || json.Unmarshal(back.Raw, &rawBack) != nil || !reflect.DeepEqual(rawIn, rawBack) {
			t.Fatalf("round trip changed the raw image:\n%s\n%s", img.Raw, back.Raw)
		}
		img.Raw, back.Raw = nil, nil
		if !reflect.DeepEqual(img, back) {
			t.Fatalf("round trip changed the image:\n%+v\n%+v", img, back)
		}
	})
}
