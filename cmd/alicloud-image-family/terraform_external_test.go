package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/datasource/family"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// The query's keys are the data source's names for the core's settings,
// and every attribute of the data source is a key or said not to be, with
// the reason.
func TestExternalKeysAreTheDataSourceAttributes(t *testing.T) {
	keys := slices.Collect(maps.Values(externalNames.Settings))
	for name := range (&family.Datasource{}).ConfigSpec() {
		if strings.HasPrefix(name, "packer_") {
			continue
		}
		_, notOffered := externalNotOffered[name]
		if slices.Contains(keys, name) == notOffered {
			t.Errorf("attribute %s: a query key %v, not offered %v: it must be exactly one", name, slices.Contains(keys, name), notOffered)
		}
	}
	for name := range externalNotOffered {
		if _, ok := (&family.Datasource{}).ConfigSpec()[name]; !ok {
			t.Errorf("externalNotOffered names %s, which the data source does not have", name)
		}
	}
}

// externalQuery is a query as Terraform sends it: a JSON object of strings.
func externalQuery(e *emulatorProcess, kv ...string) string {
	q := map[string]string{"region": "cn-hangzhou", "image_family": "web-base",
		"custom_endpoint_ecs": e.Endpoint, "sts_endpoint": e.Endpoint,
		"access_key": demoAccessKeyID, "secret_key": demoSecret}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00delete" {
			delete(q, kv[i])
			continue
		}
		q[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(q)
	return string(b)
}

// The answer is one flat JSON object of strings whose keys are the data
// source's output attributes, with the image's values.
func TestE2ETerraformExternal(t *testing.T) {
	e := startEmulator(t)
	bin := cliBinary(t)
	// Optional settings given as "", as Terraform modules pass them.
	r := runBinaryInput(t, bin, e, nil, externalQuery(e, "owners", "self, system", "architecture", "x86_64", "max_age", "", "timeout", "30", "max_attempts", "2"), "terraform-external")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r.stdout)
	}
	outputs := (&family.Datasource{}).OutputSpec()
	for k, v := range answer {
		if _, ok := v.(string); !ok {
			t.Errorf("%s is a JSON %T, not a string: Terraform refuses the answer", k, v)
		}
		if _, ok := outputs[k]; !ok {
			t.Errorf("%s is not an output attribute of the data source", k)
		}
	}
	for k := range outputs {
		if _, ok := answer[k]; !ok {
			t.Errorf("the answer lacks the data source's output %s", k)
		}
	}
	want := map[string]string{"image_id": wantNewest, "region": "cn-hangzhou", "image_family": "web-base",
		"creation_time": newestCreated, "image_ids": `{"cn-hangzhou":"` + wantNewest + `"}`, "image_owner_alias": "self", "image_owner_id": "0"}
	for k, v := range want {
		if answer[k] != v {
			t.Errorf("%s = %q, want %q", k, answer[k], v)
		}
	}
	for _, k := range []string{"tags", "disk_device_mappings", "size", "is_copied"} {
		s, _ := answer[k].(string)
		if !json.Valid([]byte(s)) {
			t.Errorf("%s = %q is not JSON text", k, s)
		}
	}

	// Failures: the exit code of resolve, one escaped line on stderr (the
	// reason Terraform shows), nothing on stdout, no secret; a bad query
	// sends nothing.
	cases := []struct {
		name, stdin string
		code        int
		frags       []string
	}{
		{"unknown key", externalQuery(e, "image_familly", "web-base"), 2, []string{`invalid query key "image_familly"`, "the data source's attribute names", "custom_endpoint_ecs"}},
		{"a key the data source has but the query does not", externalQuery(e, "regions", "cn-hangzhou"), 2, []string{`invalid query key "regions"`, "not offered here", "for_each"}},
		{"a number", `{"region":"cn-hangzhou","image_family":"web-base","timeout":30}`, 2, []string{`invalid timeout "(a JSON number)"`, "must be a string"}},
		{"a secret of the wrong type, not echoed", `{"image_family":"web-base","secret_key":["s3cr3t-in-a-list"]}`, 2, []string{`invalid secret_key "(a JSON array)"`}},
		{"null", `{"image_family":null}`, 2, []string{`invalid image_family "(a JSON null)"`}},
		{"a nested object", `{"image_family":{"name":"web-base"}}`, 2, []string{"(a JSON object)"}},
		{"an array", `["web-base"]`, 2, []string{"one JSON object of strings"}},
		{"two objects", `{"image_family":"web-base"}{"region":"cn-hangzhou"}`, 2, []string{"is not JSON"}},
		{"a duplicated key", `{"image_family":"web-base","image_family":"other"}`, 2, []string{"has the key image_family twice"}},
		{"empty stdin", "", 2, []string{"is empty"}},
		{"not JSON", "image_family=web-base", 2, []string{"is not JSON"}},
		{"bad timeout", externalQuery(e, "timeout", "soon"), 2, []string{`invalid timeout "soon"`}},
		{"bad owners", externalQuery(e, "owners", "self,anyone"), 2, []string{`invalid owners "anyone"`}},
		{"bad family", externalQuery(e, "image_family", "aliyun-x"), 2, []string{`invalid image_family "aliyun-x"`}},
		{"missing family", externalQuery(e, "image_family", "\x00delete"), 2, []string{`invalid image_family ""`}},
		{"key without secret", externalQuery(e, "secret_key", ""), 2, []string{"secret_key"}},
		{"not found", externalQuery(e, "image_family", "no-such-family"), 3, []string{"no available image"}},
		{"refused by the owners guard", externalQuery(e, "owners", "marketplace"), 5, []string{"fails the owners guard", `found ImageOwnerAlias "self"`}},
		{"wrong secret", externalQuery(e, "secret_key", "wrong-secret-value-xyz"), 1, []string{"SignatureDoesNotMatch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			r := runBinaryInput(t, bin, e, nil, c.stdin, "terraform-external")
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if r.code != c.code || r.stdout != "" || len(lines) != 1 || !safetext.IsClean(lines[0]) ||
				!strings.HasPrefix(lines[0], "alicloud-image-family terraform-external: ") {
				t.Fatalf("exit %d (want %d), stdout %q, stderr:\n%s", r.code, c.code, r.stdout, r.stderr)
			}
			for _, f := range c.frags {
				if !strings.Contains(r.stderr, f) {
					t.Errorf("stderr lacks %q: %s", f, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "s3cr3t-in-a-list") {
				t.Errorf("stderr echoes a secret: %s", r.stderr)
			}
			counts, err := e.Control.Requests()
			if err != nil {
				t.Fatal(err)
			}
			if c.code == 2 && counts.All != 0 {
				t.Errorf("%d requests for a bad query", counts.All)
			}
		})
	}
}
