package imagefamily

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestExpectedAndChanges(t *testing.T) {
	m, err := ParseExpected("--expect", "cn-hangzhou=m-bp1a0000000000000001, cn-shanghai=m-uf6a0000000000000001")
	if err != nil || len(m) != 2 || m["cn-shanghai"] != "m-uf6a0000000000000001" {
		t.Fatalf("%v %v", m, err)
	}
	j, err := ParseExpectedJSON("--expect-file", []byte(`{"cn-hangzhou":"m-bp1a0000000000000001","cn-shanghai":"m-uf6a0000000000000001"}`))
	if err != nil || len(j) != 2 {
		t.Fatalf("%v %v", j, err)
	}
	for _, bad := range []string{"", "cn-hangzhou", "cn-hangzhou=", "Hangzhou=m-1", "cn-hangzhou=m-1;rm", "cn-hangzhou=m-bp1a0000000000000001,cn-hangzhou=m-bp1a0000000000000002"} {
		if _, err := ParseExpected("--expect", bad); !IsInputError(err) || !strings.Contains(err.Error(), "--expect") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []string{``, `[]`, `null`, `{"cn-hangzhou":1}`, `{"cn hangzhou":"m-aa"}`, `{"cn-hangzhou":"m-a\n"}`, `not json`,
		`{"cn-hangzhou":"m-aa"} junk`, `{"cn-hangzhou":"m-aa"}{"cn-shanghai":"m-bb"}`, `{"cn-hangzhou":"m-bp1a0000000000000001","cn-hangzhou":"m-bp1a0000000000000001"}`, `{"cn-hangzhou":{"x":"m-aa"}}`} {
		if _, err := ParseExpectedJSON("expected-image-ids", []byte(bad)); !IsInputError(err) || !strings.Contains(err.Error(), "expected-image-ids") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := CheckExpectedRegions("--expect-file", m, []string{"cn-hangzhou"}); !IsInputError(err) || !strings.Contains(err.Error(), "cn-shanghai") {
		t.Errorf("unknown region: %v", err)
	}
	results := []Result{
		{Region: "cn-hangzhou", Image: Image{ImageID: "m-bp1a0000000000000002", CreationTime: "2024-06-01T00:00:00Z"}},
		{Region: "cn-shanghai", Image: Image{ImageID: "m-uf6a0000000000000001"}},
		{Region: "cn-beijing", Image: Image{ImageID: "m-2ze0000000000000001"}},
	}
	ch := Changes(m, results)
	if len(ch) != 1 || ch[0].String() != "cn-hangzhou: m-bp1a0000000000000001 -> m-bp1a0000000000000002 (created 2024-06-01T00:00:00Z)" {
		t.Fatalf("%v", ch)
	}
}

// Every expected value must have an image id's shape, so that a family's
// name pasted by mistake (web-base) is bad input, not a change. The
// same rule for pairs, the JSON object and ValidateImageID (the data
// source's expected_image_id).
func TestExpectedImageIDShape(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		// Custom (and shared, Marketplace) images.
		{"m-bp1g7004ksh0oeuc0001", true},
		{"m-uf6a0000000000000001", true},
		{"m-2ze0000000000000001", true},
		{"m-bp1demowebbase000003", true},
		{"m-12345678", true},                    // 8 after m-: the shortest
		{"m-" + strings.Repeat("a", 30), true},  // 30 after m-: the longest
		{"m-1234567", false},                    // 7
		{"m-" + strings.Repeat("a", 31), false}, // 31
		{"m-BP1G7004KSH0OEUC0001", false},       // upper case
		{"M-bp1g7004ksh0oeuc0001", false},       // upper-case prefix
		{"m-bp1g7004-ksh0oeuc0001", false},      // a hyphen in the tail
		{"m-bp1g7004ksh0oeuc0001 ", false},      // trailing space
		{"m_bp1g7004ksh0oeuc0001", false},       // underscore for the hyphen
		{"m-bp1***", false},                     // masked, as in the docs
		// Public images.
		{"aliyun_3_x64_20G_alibase_20240819.vhd", true},
		{"aliyun_3_arm64_20G_alibase_20240819.vhd", true},
		{"ubuntu_22_04_x64_20G_alibase_20240926.vhd", true},
		{"win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd", true},
		{"anolisos_8_9_x64_20G_rhck_alibase_20240724.vhd", true},
		{"aliyun_3_x64_20G_alibase_20240819", false},     // no format
		{"aliyun_3_x64_20G_alibase_20240819.exe", false}, // not a disk format
		{"Aliyun_3_x64_20G_alibase_20240819.vhd", false}, // upper-case OS word
		{"aliyun.vhd", false},                            // no underscore-separated parts
		{"_3_x64_20G_alibase_20240819.vhd", false},
		{strings.Repeat("a_b", 42) + ".vhd", false}, // over 128 characters
		// Not image ids at all.
		{"web-base", false},
		{"web_base", false},
		{"acs:210987654321:golden-base", false},
		{"cn-hangzhou", false},
		{"", false},
	} {
		err := ValidateImageID("expected id", tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateImageID(%q) = %v, want ok %v", tc.id, err, tc.ok)
		}
		_, perr := ParseExpected("--expect", "cn-hangzhou="+tc.id)
		_, jerr := ParseExpectedJSON("expected-image-ids", []byte(`{"cn-hangzhou":`+strconv.Quote(tc.id)+`}`))
		if tc.ok {
			if jerr != nil || perr != nil {
				t.Errorf("%q: ParseExpected %v, ParseExpectedJSON %v", tc.id, perr, jerr)
			}
			continue
		}
		var ve *ValidationError
		for what, err := range map[string]error{"ValidateImageID": err, "ParseExpected": perr, "ParseExpectedJSON": jerr} {
			if what == "ParseExpected" && strings.Contains(tc.id, " ") {
				continue // pairs are split at white space: the id before it is whole
			}
			if !errors.As(err, &ve) || !strings.Contains(ve.Rule, "m- and 8 to 30 lower-case letters or digits") || !strings.Contains(ve.Rule, "ending in .vhd") {
				t.Errorf("%s(%q) = %v, want the image id rule", what, tc.id, err)
			}
		}
	}
	// A family pasted into --expect is bad input naming
	// the flag and the rule.
	_, err := ParseExpected("--expect", "cn-hangzhou=web-base")
	if want := `invalid --expect "web-base": the image id for cn-hangzhou is not an image id: a custom image's id is m- and 8 to 30 lower-case letters or digits`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ParseExpected = %v, want %q...", err, want)
	}
	_, err = ParseExpectedJSON("input expected-image-ids", []byte(`{"cn-hangzhou":"bogus"}`))
	if want := `invalid input expected-image-ids "bogus": the image id for cn-hangzhou is not an image id`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ParseExpectedJSON = %v, want %q...", err, want)
	}
}
