package ecstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetadataServesAttachedRoles(t *testing.T) {
	s := newDemo(t, false)
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if token != "" {
			req.Header.Set(metadataTokenH, token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(credsPath, ""); code != 200 || body != "ecs-image-reader" {
		t.Fatalf("role list: %d %q", code, body)
	}
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/latest/api/token", nil)
	req.Header.Set("X-Aliyun-Ecs-Metadata-Token-Ttl-Seconds", "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, body := get(credsPath+"ecs-image-reader", string(tok))
	var creds map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &creds) != nil || creds["Code"] != "Success" || !strings.HasPrefix(creds["AccessKeyId"], "STS.") {
		t.Fatalf("credentials: %d %s", code, body)
	}
	// The issued keys work against ECS like any STS credentials.
	c := ecsClient(t, s, creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
	if r, err := describe(c, s, "cn-hangzhou", "web-base"); err != nil || r.Image.ImageId != "m-bp1demowebbase000003" {
		t.Fatalf("describe with instance-role keys: %v", err)
	}
	if code, _ := get(credsPath+"image-reader", ""); code != 404 {
		t.Fatalf("a role not attached to the instance: %d", code)
	}
	if code, _ := get(credsPath+"ecs-image-reader", "forged-token"); code != 401 {
		t.Fatalf("forged token: %d", code)
	}
	if s.Requests(MetadataAction) != 5 {
		t.Fatalf("metadata requests counted: %d", s.Requests(MetadataAction))
	}
}
