package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// gitlabDotenv reads a dotenv report as GitLab does
// (artifacts:reports:dotenv): every line KEY=VALUE, split at the first '=',
// key and value stripped of surrounding white space, the key letters,
// digits and '_' not starting with a digit, the value taken literally (no
// unquoting, no escapes), no line breaks inside a value; blank lines and
// lines starting with # are skipped. It fails the test on any line GitLab
// would refuse.
func gitlabDotenv(t *testing.T, text string) map[string]string {
	t.Helper()
	key := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	vars := map[string]string{}
	if text != "" && !strings.HasSuffix(text, "\n") {
		t.Errorf("dotenv text does not end with a line break: %q", text)
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			t.Errorf("dotenv line %q is blank or a comment; every line must be a variable", line)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !key.MatchString(k) {
			t.Errorf("dotenv line %q: GitLab refuses it (the key must be letters, digits and '_')", line)
			continue
		}
		if _, dup := vars[k]; dup {
			t.Errorf("dotenv key %s written twice", k)
		}
		if strings.ContainsAny(v, "\r\x00") {
			t.Errorf("dotenv line %q holds a control character", line)
		}
		vars[k] = v
	}
	return vars
}

// The single-region dotenv holds REGION and every column of the text
// output, under the column's name in upper snake case, with the same
// value; read back as GitLab reads it, nothing changes.
func TestE2EDotenv(t *testing.T) {
	e := startEmulator(t)
	r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--output", "dotenv")...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	vars := gitlabDotenv(t, r.stdout)
	text := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", "web-base", "--output", "text")...)
	lines := strings.Split(strings.TrimSuffix(text.stdout, "\n"), "\n")
	if text.code != 0 || len(lines) != 2 {
		t.Fatalf("text output: exit %d %q", text.code, text.stdout)
	}
	cols, vals := strings.Split(lines[0], "\t"), strings.Split(lines[1], "\t")
	if len(vars) != len(cols) {
		t.Errorf("dotenv has %d variables, the text output %d columns", len(vars), len(cols))
	}
	for i, c := range cols {
		k := strings.ToUpper(strings.ReplaceAll(c, "-", "_"))
		if got, ok := vars[k]; !ok || got != vals[i] {
			t.Errorf("%s = %q (present %v), the text column %s holds %q", k, got, ok, c, vals[i])
		}
	}
	if vars["IMAGE_ID"] != wantNewest || vars["REGION"] != "cn-hangzhou" || vars["IMAGE_FAMILY"] != "web-base" {
		t.Errorf("dotenv: %v", vars)
	}
	if !strings.HasPrefix(r.stdout, "REGION=cn-hangzhou\nIMAGE_ID="+wantNewest+"\n") {
		t.Errorf("dotenv does not start with REGION and IMAGE_ID:\n%s", r.stdout)
	}

	// Several regions: each found region's keys carry its id in upper
	// snake case; the unprefixed keys describe the first region found, in
	// the order asked, as the action's single-image outputs do; a missing
	// region is reported on stderr (exit 3) and has no keys.
	r = runCLI(t, e, demoEnv, resolveArgs(e, "--region", "cn-beijing,cn-shanghai,cn-hangzhou", "--image-family", "web-base", "--output", "dotenv")...)
	if r.code != exitNotFound || !strings.Contains(r.stderr, "cn-beijing: no available image") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	vars = gitlabDotenv(t, r.stdout)
	if vars["REGION"] != "cn-shanghai" || vars["IMAGE_ID"] != "m-uf6demowebbase000003" ||
		vars["CN_SHANGHAI_IMAGE_ID"] != "m-uf6demowebbase000003" || vars["CN_HANGZHOU_IMAGE_ID"] != wantNewest ||
		vars["CN_HANGZHOU_CREATION_TIME"] != newestCreated {
		t.Errorf("dotenv:\n%s", r.stdout)
	}
	for k := range vars {
		if strings.HasPrefix(k, "CN_BEIJING_") || k == "CN_HANGZHOU_REGION" {
			t.Errorf("unexpected key %s", k)
		}
	}
	// REGION and the first region's fields, then each found region's.
	if want := 1 + 3*len(textFields()); len(vars) != want {
		t.Errorf("%d variables, want %d", len(vars), want)
	}
}

// A value GitLab cannot read back unchanged is refused, naming the key and
// the field, and nothing is written; one it can (quotes, '=', '#', UTF-8)
// is written as it is.
func TestDotenvValues(t *testing.T) {
	img := imagefamily.Image{ImageID: "m-bp1g7004ksh0oeuc0001", ImageFamily: "web-base", Status: "Available"}
	for _, c := range []struct {
		desc string
		frag string // "" means written
	}{
		{`"quoted" it stays`, ""},
		{`a=b # not a comment`, ""},
		{`'single' and $HOME and \n written literally`, ""},
		{"Ubuntu 22.04 64位", ""},
		{"line one\n::error::forged", "DESCRIPTION (the field description of the image in region cn-hangzhou) cannot be written as a dotenv value: it holds a line break"},
		{"carriage\rreturn", "it holds a line break"},
		{"bell\x07", "it holds a control character"},
		{"escape \x1b[31m", "it holds a control character"},
		{" leading", "it starts or ends with white space, which GitLab strips"},
		{"trailing\t", "it holds a control character"},
		{"trailing ", "it starts or ends with white space"},
	} {
		in := img
		in.Description = c.desc
		text, err := dotenvLines([]imagefamily.Result{{Region: "cn-hangzhou", Image: in}})
		if c.frag == "" {
			if err != nil {
				t.Errorf("%q: %v", c.desc, err)
				continue
			}
			if got := gitlabDotenv(t, text)["DESCRIPTION"]; got != c.desc {
				t.Errorf("%q read back by GitLab as %q", c.desc, got)
			}
			continue
		}
		if err == nil || text != "" || !strings.Contains(err.Error(), c.frag) || !strings.Contains(err.Error(), "--output dotenv") {
			t.Errorf("%q: text %q, err %v; want %q", c.desc, text, err, c.frag)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r\x1b\x07") {
			t.Errorf("%q: the error holds the raw value: %q", c.desc, err)
		}
	}
	if text, err := dotenvLines(nil); text != "" || err != nil {
		t.Errorf("no results: %q %v", text, err)
	}
}
