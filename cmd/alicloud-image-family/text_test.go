package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/fieldtest"
)

// parseText splits --output text into its header and rows, checking the
// shape every line must have.
func parseText(t *testing.T, out string) (header []string, rows [][]string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("text output does not end with a line break: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header = strings.Split(lines[0], "\t")
	for i, l := range lines[1:] {
		row := strings.Split(l, "\t")
		if len(row) != len(header) {
			t.Fatalf("line %d has %d columns, the header %d: %q", i+2, len(row), len(header), l)
		}
		for _, v := range row {
			if !safetext.IsClean(v) {
				t.Errorf("line %d: value %q holds a control character", i+2, v)
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// checkTextColumns: the columns are REGION and every one-line field of the
// core's table, named Field.ActionName(), each value Field.Text escaped for
// the terminal; tags and disk mappings are not columns.
func checkTextColumns(t *testing.T, out string, regions []string) {
	t.Helper()
	img := fieldtest.Image()
	header, rows := parseText(t, out)
	if header[0] != "REGION" {
		t.Errorf("first column %q", header[0])
	}
	if len(rows) != len(regions) {
		t.Fatalf("%d rows for regions %v:\n%s", len(rows), regions, out)
	}
	for i, region := range regions {
		row := rows[i]
		if row[0] != region {
			t.Errorf("row %d is for %s, want %s", i, row[0], region)
		}
		for _, f := range imagefamily.Fields() {
			col := slices.Index(header, f.ActionName())
			if !f.Kind.Scalar() {
				if col >= 0 {
					t.Errorf("%s (%v) is a column", f.ActionName(), f.Kind)
				}
				continue
			}
			if col < 0 {
				t.Errorf("field %s has no column %s", f.Name, f.ActionName())
				continue
			}
			if want := safetext.Printable(f.Text(img)); row[col] != want {
				t.Errorf("%s: column %s = %q, want %q", region, f.ActionName(), row[col], want)
			}
		}
		// The description's line break and tab are shown, not obeyed.
		if d := row[slices.Index(header, "description")]; !strings.Contains(d, `line one\n\tline two`) {
			t.Errorf("description column %q", d)
		}
	}
}

// Through the real binary, for one region and for two.
func TestTextOutputBinary(t *testing.T) {
	cliBinary(t)
	h := conformance.StartHostile(conformance.ServeImage(fieldtest.ImageJSON))
	defer h.Close()
	cert, err := h.WriteCertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": hostileKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": hostileSecret, "no_proxy": "127.0.0.1,localhost"}
	for _, regions := range [][]string{{"cn-hangzhou"}, {"cn-shanghai", "cn-hangzhou"}} {
		r := runCLI(t, &emulatorProcess{CertFile: cert}, env, "resolve", "--region", strings.Join(regions, ","),
			"--image-family", fieldtest.Family, "--endpoint", h.Endpoint(), "--output", "text")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit %d: %s", regions, r.code, r.stderr)
		}
		checkTextColumns(t, r.stdout, regions)
	}
}
