package imagefamily

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

func TestValidateFamily(t *testing.T) {
	long := "a" + strings.Repeat("b", 127)
	cases := []struct {
		family string
		rule   string // fragment of the rule; "" means valid
	}{
		{"hangzhou-daily-update", ""},
		{"ab", ""},
		{"web:base_v2-x", ""},
		{long, ""},
		{"A1", ""},
		{"", "required"},
		{"a", "2 to 128 characters"},
		{long + "c", "2 to 128 characters"},
		{"1base", "start with a letter"},
		{"-base", "start with a letter"},
		{"_base", "start with a letter"},
		{":base", "start with a letter"},
		{"web base", "letters, digits"},
		{"web/base", "letters, digits"},
		{"web.base", "letters, digits"},
		{"wéb-base", "letters, digits"},
		{"http://example.com", "http://"},
		{"https://example.com", "http://"},
		{"acs:ram::1:role/x", "RAM ARN"},
		{"acs:family", ""},
		{"acs:alibaba_cloud_linux_3_2104_lts_x64", ""},
		{"acs:1234567890123456:golden-base", ""},
		{"acs:1234567890123456:golden.base_v2", ""},
		{"acs:", "acs:<owner account id>:<family>"},
		{"acs:x", "acs:<owner account id>:<family>"},
		{"acs:123:", "acs:<owner account id>:<family>"},
		{"acs:abc:golden", "acs:<owner account id>:<family>"},
		{"acs:123:golden base", "acs:<owner account id>:<family>"},
		{"acs:123:-golden", "acs:<owner account id>:<family>"},
		{"acs:123456789012345678901:golden", "acs:<owner account id>:<family>"},
		{"acs:1:2:golden", "acs:<owner account id>:<family>"},
		{"acs:" + strings.Repeat("a", 129), "acs:<owner account id>:<family>"},
		{"acs:123:http://x", "RAM ARN"},
		{"aliyun-base", `"aliyun"`},
		{"aliyun", `"aliyun"`},
		{" web-base", "white space"},
		{"web-base\n", "white space"},
	}
	for _, c := range cases {
		err := ValidateFamily(c.family)
		if c.rule == "" {
			if err != nil {
				t.Errorf("ValidateFamily(%q) = %v, want nil", c.family, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("ValidateFamily(%q) = %v, want *ValidationError", c.family, err)
		}
		if ve.Field != "image family" || !strings.Contains(ve.Rule, c.rule) {
			t.Errorf("ValidateFamily(%q): field %q rule %q, want rule containing %q", c.family, ve.Field, ve.Rule, c.rule)
		}
		if !errors.Is(err, ErrInvalidInput) || !IsInputError(err) {
			t.Errorf("ValidateFamily(%q) error is not ErrInvalidInput", c.family)
		}
		if !strings.Contains(err.Error(), "image family") {
			t.Errorf("message %q does not name the field", err)
		}
	}
}

func TestValidateRegion(t *testing.T) {
	valid := []string{"cn-hangzhou", "ap-southeast-1", "cn-shanghai-finance-1", "us-west-1", "eu-central-1", "me-east-1", "cn-hongkong", "na-south-1"}
	for _, r := range valid {
		if err := ValidateRegion(r); err != nil {
			t.Errorf("ValidateRegion(%q) = %v", r, err)
		}
	}
	invalid := map[string]string{
		"":                      "required",
		"hangzhou":              "region id",
		"CN-HANGZHOU":           `"cn-hangzhou"`,
		"cn_hangzhou":           "region id",
		"cn-hangzhou ":          "region id",
		"cn-":                   "region id",
		"-cn":                   "region id",
		"cn--hangzhou":          "region id",
		"cn-hangzhou.":          "region id",
		strings.Repeat("a", 70): "63",
	}
	for r, rule := range invalid {
		err := ValidateRegion(r)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "region" || !strings.Contains(err.Error(), rule) {
			t.Errorf("ValidateRegion(%q) = %v, want region error containing %q", r, err, rule)
		}
	}
}

func TestParseRegions(t *testing.T) {
	got, err := ParseRegions(" cn-hangzhou, cn-shanghai\nap-southeast-1,,cn-hangzhou\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cn-hangzhou", "cn-shanghai", "ap-southeast-1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ParseRegions = %v, want %v", got, want)
	}
	for _, bad := range []string{"", " , \n", "cn-hangzhou,Bad_Region"} {
		if _, err := ParseRegions(bad); !IsInputError(err) {
			t.Errorf("ParseRegions(%q) = %v, want input error", bad, err)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	ok := map[string]endpoint{
		"ecs.cn-hangzhou.aliyuncs.com": {"ecs.cn-hangzhou.aliyuncs.com", "https"},
		"127.0.0.1:8443":               {"127.0.0.1:8443", "https"},
		"https://ecs.example.com":      {"ecs.example.com", "https"},
		"https://ecs.example.com/":     {"ecs.example.com", "https"},
		"HTTPS://ecs.example.com:443":  {"ecs.example.com:443", "https"},
		"http://127.0.0.1:8080":        {"127.0.0.1:8080", "http"},
		"[::1]:8443":                   {"[::1]:8443", "https"},
		"localhost":                    {"localhost", "https"},
		"":                             {},
	}
	for in, want := range ok {
		got, err := parseEndpoint("endpoint", in)
		if err != nil || got != want {
			t.Errorf("parseEndpoint(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"ftp://ecs.example.com":           "scheme",
		"https://ecs.example.com/path":    "path",
		"https://user:pw@ecs.example.com": "user information",
		"https://ecs.example.com?x=1":     "query",
		"ecs.example.com/x":               "host, host:port or a URL",
		"ecs.example.com:0":               "port",
		"ecs.example.com:99999":           "port",
		"ecs.example.com:abc":             "port",
		"ecs.example.com:":                "port",
		"ecs example.com":                 "white space",
		"https://":                        "host is empty",
		"-bad-.example.com":               "host name",
		"ecs_bad.example.com":             "host name",
	}
	for in, frag := range bad {
		_, err := parseEndpoint("endpoint", in)
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), frag) {
			t.Errorf("parseEndpoint(%q) = %v, want input error containing %q", in, err, frag)
		}
	}
}

func TestValidateSettings(t *testing.T) {
	base := Request{Region: "cn-hangzhou", Family: "web-base"}
	cases := []struct {
		name string
		mod  func(*Request)
		frag string
	}{
		{"secret without id", func(r *Request) { r.Credentials.AccessKeySecret = "s3cr3t-value" }, "access key id"},
		{"id without secret", func(r *Request) { r.Credentials.AccessKeyID = "LTAI1234567890" }, "access key secret"},
		{"token alone", func(r *Request) { r.Credentials.SecurityToken = "tok-123456" }, "security token"},
		{"two sources", func(r *Request) {
			r.Credentials.AccessKeyID, r.Credentials.AccessKeySecret, r.Credentials.Profile = "LTAI1234567890", "s3cr3t-value", "dev"
		}, "only one credential source"},
		{"oidc without provider", func(r *Request) {
			r.Credentials.OIDCRoleARN, r.Credentials.OIDCToken = "acs:ram::123:role/r", "tok"
		}, "OIDC provider ARN"},
		{"oidc without token", func(r *Request) {
			r.Credentials.OIDCRoleARN, r.Credentials.OIDCProviderARN = "acs:ram::123:role/r", "acs:ram::123:oidc-provider/gh"
		}, "token"},
		{"bad role arn", func(r *Request) { r.Credentials.AssumeRoleARN = "role/reader" }, "acs:ram::"},
		{"bad provider arn", func(r *Request) {
			r.Credentials.OIDCRoleARN, r.Credentials.OIDCProviderARN, r.Credentials.OIDCToken = "acs:ram::123:role/r", "acs:ram::123:role/x", "t"
		}, "oidc-provider"},
		{"bad session name", func(r *Request) { r.Credentials.RoleSessionName = "has space" }, "session name"},
		{"short duration", func(r *Request) { r.Credentials.RoleSessionDuration = 60e9 }, "15m"},
		{"ecs role arn", func(r *Request) { r.Credentials.ECSRoleName = "acs:ram::1:role/x" }, "not an ARN"},
		{"bad sts endpoint", func(r *Request) { r.Credentials.STSEndpoint = "ftp://sts" }, "STS endpoint"},
		{"bad endpoint", func(r *Request) { r.Endpoint = "https://x/y" }, "endpoint"},
		{"negative timeout", func(r *Request) { r.Timeout = -1 }, "timeout"},
		{"tiny timeout", func(r *Request) { r.Timeout = 30 }, "unit"},
		{"too many attempts", func(r *Request) { r.Retry.MaxAttempts = 100 }, "between 1 and 20"},
	}
	for _, c := range cases {
		r := base
		c.mod(&r)
		err := Validate(r)
		if !IsInputError(err) || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%s: Validate = %v, want input error containing %q", c.name, err, c.frag)
		}
		if err != nil {
			secretscan.Check(t, c.name+" error", err.Error(), "s3cr3t-value")
		}
	}
	if err := Validate(base); err != nil {
		t.Fatalf("Validate(base) = %v", err)
	}
}

func TestParseDurationRanges(t *testing.T) {
	ok := map[string]time.Duration{"90": 90 * time.Second, "90s": 90 * time.Second, "2m": 2 * time.Minute, "1h": time.Hour, "3600": time.Hour, "100ms": 100 * time.Millisecond, " 30s ": 30 * time.Second}
	for in, want := range ok {
		got, err := ParseDuration("timeout", in, MinTimeout, MaxTimeout)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"18446744074", "9223372036854775807", "99999999999999999999", "3601", "1h1s", "-1", "0", "0s", "50ms", "2562047h", "9999999999h", "", "abc", "10 s", "1e9", "0x10"} {
		_, err := ParseDuration("input timeout", in, MinTimeout, MaxTimeout)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "input timeout" || !IsInputError(err) {
			t.Errorf("ParseDuration(%q) = %v, want a validation error naming the field", in, err)
		}
		// Well-formed but out of range (overflowing included) says the range.
		if strings.HasSuffix(in, "h") || in == "18446744074" || in == "3601" {
			if !strings.Contains(err.Error(), "between 100ms and 1h0m0s") {
				t.Errorf("ParseDuration(%q) = %v, want the range rule", in, err)
			}
		}
	}
}

func TestValidateTimeoutRange(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, time.Millisecond, MaxTimeout + time.Second} {
		err := Validate(Request{Region: "cn-hangzhou", Family: "web-base", Timeout: d})
		if !IsInputError(err) || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("timeout %v: err = %v, want an input error naming timeout", d, err)
		}
	}
}

// The attempt budget every front offers: 1 (no retries) to MaxAttempts, the
// same rule for the CLI's text, the action's input and the data source's
// number; the error names the front's field.
func TestParseMaxAttempts(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "5": 5, " 20 ": 20} {
		if n, err := ParseMaxAttempts("--max-attempts", in); err != nil || n != want {
			t.Errorf("ParseMaxAttempts(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, in := range []string{"0", "21", "-1", "five", "", "1.5", "99999999999999999999"} {
		_, err := ParseMaxAttempts("input max-attempts", in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "input max-attempts" || !strings.Contains(err.Error(), "from 1 (no retries) to 20") {
			t.Errorf("ParseMaxAttempts(%q) = %v, want a validation error naming the field and the rule", in, err)
		}
	}
	if err := ValidateMaxAttempts("max_attempts", 0); err == nil || !strings.Contains(err.Error(), `invalid max_attempts "0"`) {
		t.Errorf("ValidateMaxAttempts(0) = %v", err)
	}
	if DefaultMaxAttempts != 5 || MaxAttempts != 20 {
		t.Errorf("DefaultMaxAttempts %d, MaxAttempts %d: the docs say 5 and 20", DefaultMaxAttempts, MaxAttempts)
	}
}

// Validate returns every problem, in the order of the table, each a
// *ValidationError naming its setting; the first one's text comes first,
// and a front's table renames each.
func TestValidateEveryProblem(t *testing.T) {
	err := Validate(Request{
		Family: "aliyun-x", Region: "Hangzhou", Timeout: time.Nanosecond,
		Guards:      Guards{Architecture: "amd64", Owners: []string{"anyone", "12a"}},
		Credentials: Credentials{AccessKeyID: "LTAI", Getenv: func(string) string { return "" }},
	})
	if !errors.Is(err, ErrInvalidInput) || !IsInputError(err) {
		t.Fatalf("Validate = %v: not input", err)
	}
	var fields []string
	for _, p := range Problems(err) {
		var ve *ValidationError
		if !errors.As(p, &ve) {
			t.Fatalf("problem %v is not a *ValidationError", p)
		}
		fields = append(fields, ve.Field)
	}
	want := []string{"image family", "region", "timeout", "architecture", "owners", "owners", "access key secret"}
	if strings.Join(fields, ",") != strings.Join(want, ",") {
		t.Fatalf("problems name %q, want %q", fields, want)
	}
	if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, `invalid image family "aliyun-x"`) {
		t.Fatalf("first line %q, want the family's refusal", first)
	}
	names := Names{Settings: map[string]string{"image family": "--image-family", "owners": "--owners"}}
	renamed := names.refusals(err)
	if len(renamed) != len(want) || !strings.HasPrefix(renamed[0].Error(), "invalid --image-family ") ||
		!strings.HasPrefix(renamed[4].Error(), `invalid --owners "anyone"`) || !errors.Is(names.Refusal(err), ErrInvalidInput) {
		t.Fatalf("refusals = %q", renamed)
	}
	if err := Validate(Request{Family: "web-base", Region: "cn-hangzhou", Endpoint: "ftp://x"}); len(Problems(err)) != 1 {
		t.Fatalf("a bad endpoint is one problem: %v", err)
	}
	if err := Validate(Request{Family: "web-base", Region: "cn-hangzhou", Timeout: time.Nanosecond}); len(Problems(err)) != 1 {
		t.Fatalf("one problem = %v", err)
	} else if _, ok := err.(*ValidationError); !ok {
		t.Fatalf("one problem is %T, want the *ValidationError itself", err)
	}
}
