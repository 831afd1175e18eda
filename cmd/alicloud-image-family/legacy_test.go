package main

// The GitHub runner's legacy workflow commands ("##[cmd]data", found
// anywhere in a line): in a run: step the CLI's stderr is the step log, and
// so is stdout unless it is captured. conformance.HostileRows (block 5) runs
// server strings holding "##[" through the binary; these tests pin each
// path down in process.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/fieldtest"
)

// Every path to stderr rewrites "##[": report (an unknown command, a
// refused flag value), the flag package's own message, and any other Write
// to the app's stderr, also when the "##" and the "[" come in two Writes.
func TestStderrRewritesLegacyPrefix(t *testing.T) {
	for _, args := range [][]string{
		{"##[error]forged-command"},
		{"resolve", "--bogus##[add-mask]m-hostile0000000000001"},
		{"resolve", "--region", "cn##[stop-commands]forged", "--image-family", "web-base"},
		{"resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--output", "##[error]forged-output"},
	} {
		var out, errb bytes.Buffer
		a := &app{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb}
		code := a.run(context.Background(), args)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if got := errb.String(); strings.Contains(got, "##[") || !strings.Contains(got, `##\[`) {
			t.Errorf("%q: stderr %q; want every \"##[\" written \"##\\[\"", args, got)
		}
		// After run, a.stderr is the wrapped writer every path uses.
		errb.Reset()
		io.WriteString(a.stderr, "alicloud-image-family: code Throttling##")
		io.WriteString(a.stderr, "[RequestId R-1]\n")
		if got, want := errb.String(), `alicloud-image-family: code Throttling##\[RequestId R-1]`+"\n"; got != want {
			t.Errorf("two Writes: stderr %q, want %q", got, want)
		}
	}
}

// legacyImage is fieldtest's image with "##[" planted in a label and the
// description.
func legacyImage(t *testing.T) string {
	t.Helper()
	var img map[string]any
	if err := json.Unmarshal([]byte(fieldtest.ImageJSON), &img); err != nil {
		t.Fatal(err)
	}
	img["ImageName"] = "web##[error]forged-name"
	img["Description"] = "###[add-mask]m-bp1fieldtest00000001 \\##[stop-commands]x ##[##["
	b, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// --output json writes "##[" inside strings as "##\u005b": the same JSON
// value, decoded, as the endpoint sent; --output id and text are unchanged
// (text keeps every printable character, so "##[" too).
func TestJSONOutputRewritesLegacyPrefix(t *testing.T) {
	served := legacyImage(t)
	h := conformance.StartHostile(conformance.ServeImage(served))
	defer h.Close()
	run := func(regions, output string) string {
		t.Helper()
		var out, errb bytes.Buffer
		env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": hostileKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": hostileSecret, "HOME": t.TempDir()}
		a := &app{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb, transport: h.Transport()}
		if code := a.run(context.Background(), []string{"resolve", "--region", regions,
			"--image-family", fieldtest.Family, "--endpoint", h.Endpoint(), "--output", output}); code != 0 {
			t.Fatalf("%s %s: exit %d: %s", regions, output, code, errb.String())
		}
		return out.String()
	}

	one := run("cn-hangzhou", "json")
	if strings.Contains(one, "##[") || !strings.Contains(one, `##\u005b`) {
		t.Errorf("json output holds \"##[\" as it is:\n%s", one)
	}
	if same, err := conformance.SameJSON([]byte(one), []byte(served)); err != nil || !same {
		t.Errorf("json output is not the served image (%v):\n%s\nserved:\n%s", err, one, served)
	}

	two := run("cn-hangzhou,cn-shanghai", "json")
	if strings.Contains(two, "##[") {
		t.Errorf("json output holds \"##[\" as it is:\n%s", two)
	}
	var byRegion map[string]json.RawMessage
	if err := json.Unmarshal([]byte(two), &byRegion); err != nil || len(byRegion) != 2 {
		t.Fatalf("json output of two regions (%v):\n%s", err, two)
	}
	for region, img := range byRegion {
		if same, err := conformance.SameJSON(img, []byte(served)); err != nil || !same {
			t.Errorf("%s: json output is not the served image (%v): %s", region, err, img)
		}
	}

	if id := run("cn-hangzhou", "id"); id != "m-bp1fieldtest00000001\n" {
		t.Errorf("id output %q", id)
	}
	if text := run("cn-hangzhou", "text"); !strings.Contains(text, "\tweb##[error]forged-name\t") {
		t.Errorf("text output lost the exact image name:\n%s", text)
	}
}

func TestNoLegacyJSON(t *testing.T) {
	for _, v := range []string{"##[", "###[##[", `\##[`, "a##b[", "##\n[", "中##[文"} {
		b, _ := json.Marshal(map[string]string{"k##[": v})
		got := noLegacyJSON(string(b))
		if strings.Contains(got, "##[") {
			t.Errorf("%s -> %s holds \"##[\"", b, got)
		}
		var back map[string]string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back["k##["] != v {
			t.Errorf("%s -> %s decodes to %q (%v), want %q", b, got, back, err, v)
		}
	}
}
