package main

// The GitHub runner's legacy workflow commands ("##[cmd]data", found
// anywhere in a line): in a run: step the CLI's stderr is the step log, and
// so is stdout unless it is captured. Server strings holding "##[" are
// hostile rows, through the binary in every output mode ("labels planting
// legacy runner commands": JSON writes "##\u005b", the same value, and text
// keeps it exact; runBinaryInput checks every run); these tests pin down the
// CLI's own paths in process.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
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
