package imagefamily

import (
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
	for _, bad := range []string{"", "cn-hangzhou", "cn-hangzhou=", "Hangzhou=m-1", "cn-hangzhou=m-1;rm", "cn-hangzhou=m-aa,cn-hangzhou=m-bb"} {
		if _, err := ParseExpected("--expect", bad); !IsInputError(err) || !strings.Contains(err.Error(), "--expect") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []string{``, `[]`, `null`, `{"cn-hangzhou":1}`, `{"cn hangzhou":"m-aa"}`, `{"cn-hangzhou":"m-a\n"}`, `not json`,
		`{"cn-hangzhou":"m-aa"} junk`, `{"cn-hangzhou":"m-aa"}{"cn-shanghai":"m-bb"}`, `{"cn-hangzhou":"m-aa","cn-hangzhou":"m-aa"}`, `{"cn-hangzhou":{"x":"m-aa"}}`} {
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
