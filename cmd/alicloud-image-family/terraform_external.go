package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// alicloud-image-family terraform-external: Terraform's external data
// source protocol. Terraform runs the program with the data source's
// `query` on stdin, one JSON object whose values are all strings, and reads
// one JSON object whose values are all strings from stdout; a non-zero exit
// fails the plan and Terraform shows stderr. The query's keys are the Packer
// data source's attribute names (imagefamily.AttributeNames; a test checks
// them against its spec), so one set of variables feeds both tools; the answer's keys
// are its output attribute names (the field table, region and image_ids).
// An empty string is a setting not given: Terraform modules pass "" for
// optional variables.

// externalNames are the query keys: the data source's attribute names
// (imagefamily.AttributeNames).
var externalNames = imagefamily.Names{Front: imagefamily.FrontCLI, Settings: imagefamily.AttributeNames()}

// externalNotOffered are the data source's attributes the query does not
// take, and why (a test checks every attribute is in one of the two).
var externalNotOffered = map[string]string{
	"regions":                "one region per data source: the answer is one image's attributes; use one data block per region (for_each)",
	"ignore_missing_regions": "one region per data source",
	"max_retries":            "deprecated in the data source; use max_attempts",
	"expected_image_id":      "pin the id in the lock file instead, or compare in Terraform (a check or precondition)",
}

// maxExternalQuery bounds what is read from stdin: a query is a few hundred
// bytes.
const maxExternalQuery = 64 << 10

// externalUsage is -h's text.
const externalUsage = `Usage: alicloud-image-family terraform-external

Terraform's external data source protocol: reads one JSON object of strings on stdin, whose keys are
the Packer data source's attribute names (region, image_family, custom_endpoint_ecs, sts_endpoint,
access_key, secret_key, security_token, profile, shared_credentials_file, ram_role_name, ram_role_arn,
ram_session_name, timeout, max_attempts, architecture, os_type, max_age, owners (comma-separated),
wait_timeout, newer_than); "" means not given. Writes one JSON object of strings on stdout: every
output attribute of the data source (image_id, image_name, ..., region, image_ids), numbers, booleans,
tags and disks JSON-encoded into strings. On failure: one line on stderr and the exit code of resolve
(2 bad query, nothing sent; 3 no available image; 5 refused by a guard; 1 any other failure).
See docs/terraform.md.
`

func (a *app) terraformExternal(ctx context.Context, args []string) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(a.stderr, externalUsage)
		return exitOK
	}
	if len(args) > 0 {
		return a.externalFail(&imagefamily.ValidationError{Field: "argument", Value: args[0],
			Rule: "terraform-external takes no arguments: the query comes on stdin as one JSON object of strings"})
	}
	query, err := readExternalQuery(a.stdin)
	if err != nil {
		return a.externalFail(err)
	}
	req, err := a.externalRequest(query)
	if err != nil {
		return a.externalFail(externalNames.FirstRefusal(err))
	}
	img, err := imagefamily.Resolve(ctx, req)
	if err != nil {
		return a.externalFail(err)
	}
	out, err := json.Marshal(externalAnswer(req.Region, img))
	if err != nil {
		return a.externalFail(err)
	}
	a.stdout.Write(append(out, '\n'))
	return exitOK
}

// externalFail writes err as one line on stderr (Terraform shows it as the
// reason), escaped, and returns its exit code.
func (a *app) externalFail(err error) int {
	err = externalNames.NoCredentials(err)
	lines := imagefamily.MessageLines(err)
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	a.report("alicloud-image-family terraform-external: " + strings.Join(lines, " "))
	return exitCode(err)
}

// readExternalQuery reads the query: one JSON object, each member once,
// every key a known one, every value a string. Nothing may follow it.
func readExternalQuery(r io.Reader) (map[string]string, error) {
	bad := func(rule string) error {
		return fmt.Errorf("the query on stdin %s: %w", rule, imagefamily.ErrInvalidInput)
	}
	if r == nil {
		return nil, bad("is missing")
	}
	body, err := io.ReadAll(io.LimitReader(r, maxExternalQuery+1))
	switch {
	case err != nil:
		return nil, bad("could not be read: " + safetext.Excerpt(err.Error(), 120))
	case len(body) > maxExternalQuery:
		return nil, bad(fmt.Sprintf("is longer than %d KiB; Terraform sends a few hundred bytes", maxExternalQuery>>10))
	case len(bytes.TrimSpace(body)) == 0:
		return nil, bad("is empty: Terraform sends one JSON object of strings (the data source's query)")
	case !json.Valid(body):
		return nil, bad("is not JSON: Terraform sends one JSON object of strings")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, _ := dec.Token(); t != json.Delim('{') {
		return nil, bad("must be one JSON object of strings, such as {\"region\":\"cn-hangzhou\",\"image_family\":\"web-base\"}")
	}
	query := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad("is not one JSON object")
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad("is not one JSON object")
		}
		if _, known := externalKey(key); !known {
			return nil, unknownExternalKey(key)
		}
		if _, dup := query[key]; dup {
			return nil, bad("has the key " + key + " twice")
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || jsonKind(raw) == "null" {
			// The value is not echoed: it may be a secret.
			return nil, &imagefamily.ValidationError{Field: key, Value: "(a JSON " + jsonKind(raw) + ")",
				Rule: "every value of the query must be a string (Terraform's query is a map of strings)"}
		}
		query[key] = v
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		return nil, bad("is not one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("holds more than one JSON value")
	}
	return query, nil
}

// externalKey: whether key is a query key; and the core's name of its
// setting ("" for owners and other keys the core names alike).
func externalKey(key string) (core string, ok bool) {
	for c, k := range externalNames.Settings {
		if k == key {
			return c, true
		}
	}
	return "", false
}

func unknownExternalKey(key string) error {
	keys := slices.Sorted(func(yield func(string) bool) {
		for _, k := range externalNames.Settings {
			if !yield(k) {
				return
			}
		}
	})
	rule := "the query's keys are the data source's attribute names: " + strings.Join(keys, ", ")
	if why, ok := externalNotOffered[key]; ok {
		rule = "not offered here: " + why
	}
	return &imagefamily.ValidationError{Field: "query key", Value: safetext.Excerpt(key, 80), Rule: rule}
}

// jsonKind names the JSON type of a raw value.
func jsonKind(raw json.RawMessage) string {
	switch raw = bytes.TrimSpace(raw); {
	case len(raw) == 0:
		return "value"
	case raw[0] == '{':
		return "object"
	case raw[0] == '[':
		return "array"
	case raw[0] == '"':
		return "string"
	case raw[0] == 't' || raw[0] == 'f':
		return "boolean"
	case raw[0] == 'n':
		return "null"
	}
	return "number"
}

// externalRequest maps the query onto the core's request, with the core's
// parsers and rules (the refusals name the query's keys).
func (a *app) externalRequest(q map[string]string) (imagefamily.Request, error) {
	req := imagefamily.Request{
		Family:   q["image_family"],
		Region:   q["region"],
		Endpoint: q["custom_endpoint_ecs"],
		Front:    imagefamily.FrontCLI,
		Credentials: imagefamily.Credentials{
			AccessKeyID: q["access_key"], AccessKeySecret: q["secret_key"], SecurityToken: q["security_token"],
			Profile: q["profile"], ProfileFile: q["shared_credentials_file"], ECSRoleName: q["ram_role_name"],
			AssumeRoleARN: q["ram_role_arn"], RoleSessionName: q["ram_session_name"], STSEndpoint: q["sts_endpoint"],
			Getenv: a.getenv, HomeDir: a.getenv("HOME"),
		},
		Guards:    imagefamily.Guards{Architecture: q["architecture"], OSType: q["os_type"]},
		NewerThan: q["newer_than"],
		Transport: a.transport,
	}
	var err error
	if v := q["timeout"]; v != "" {
		if req.Timeout, err = imagefamily.ParseDuration("timeout", v, imagefamily.MinTimeout, imagefamily.MaxTimeout); err != nil {
			return req, err
		}
	}
	if v := q["max_attempts"]; v != "" {
		if req.Retry.MaxAttempts, err = imagefamily.ParseMaxAttempts("max attempts", v); err != nil {
			return req, err
		}
	}
	if v := q["max_age"]; v != "" {
		if req.Guards.MaxAge, err = imagefamily.ParseMaxAge("max age", v); err != nil {
			return req, err
		}
	}
	if v := q["owners"]; v != "" {
		if req.Guards.Owners, err = imagefamily.ParseOwners(v); err != nil {
			return req, err
		}
	}
	if v := q["wait_timeout"]; v != "" {
		if req.Wait, err = imagefamily.ParseDuration("wait", v, 0, imagefamily.MaxWait); err != nil {
			return req, err
		}
	}
	if err := imagefamily.ValidateFamily(req.Family); err != nil {
		return req, err
	}
	if err := imagefamily.ValidateProfile(req.Credentials); err != nil {
		return req, err
	}
	if req.Region == "" {
		// As the data source and the alicloud provider: the environment,
		// then the aliyun CLI profile's region_id.
		req.Region = imagefamily.EnvRegion(a.getenv)
		if req.Region == "" {
			region, _, err := imagefamily.ProfileRegion(req.Credentials)
			if err != nil {
				return req, err
			}
			if region == "" {
				return req, &imagefamily.ValidationError{Field: "region", Value: "",
					Rule: "it is required: set region in the query, ALICLOUD_REGION, or region_id in the aliyun CLI profile"}
			}
			req.Region = region
		}
	}
	return req, imagefamily.Validate(req)
}

// externalAnswer is the answer Terraform reads: every output attribute of
// the data source, as strings (Field.Text: numbers and booleans as
// written, tags and disks as JSON text), region, and image_ids (a JSON
// object of region to image id, the data source's map).
func externalAnswer(region string, img imagefamily.Image) map[string]string {
	out := map[string]string{"region": region}
	for _, f := range imagefamily.Fields() {
		out[f.Name] = f.Text(img)
	}
	ids, _ := json.Marshal(map[string]string{region: img.ImageID})
	out["image_ids"] = string(ids)
	return out
}
