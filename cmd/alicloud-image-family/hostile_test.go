package main

// The CLI's runner of the hostile-endpoint table (conformance.HostileRows): every
// row through the real binary, in each output mode, for one region and for
// two; and of the lifecycle's rows (conformance.LifecycleHostileRows) through
// promote and rollback. Each run states the exit code (never 2, never a Go
// panic), that stdout holds exactly the result or nothing (promote and
// rollback: the outcome per region), that stderr names the problem in a
// bounded amount of printable text where nothing forged starts a line, that
// no control character and never the signed request shows, how many
// requests each listener saw and (lifecycle) how many writes were taken;
// forged text holding the GitHub runner's legacy command prefix "##[" shows
// nowhere in a line but in the exact --output text.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	hostileKeyID  = "LTAIHOSTILECLI000001"
	hostileSecret = "hostile-cli-secret-MUST-NOT-LEAK-0001"
	// hostileStderrPerRegion bounds what one region's failure may print.
	hostileStderrPerRegion = 4 << 10
)

// hostileMode is one way of running resolve against a row.
type hostileMode struct {
	name    string
	output  string
	regions []string
}

var hostileModes = []hostileMode{
	{"id", "id", []string{"cn-hangzhou"}},
	{"json", "json", []string{"cn-hangzhou"}},
	{"two regions id", "id", []string{"cn-hangzhou", "cn-shanghai"}},
	{"two regions json", "json", []string{"cn-hangzhou", "cn-shanghai"}},
	{"two regions text", "text", []string{"cn-hangzhou", "cn-shanghai"}},
}

func TestHostileEndpointsCLI(t *testing.T) {
	cliBinary(t) // build once before the first row's clock starts
	for _, row := range conformance.HostileRows() {
		t.Run(row.Name, func(t *testing.T) {
			for _, mode := range hostileModes {
				t.Run(mode.name, func(t *testing.T) { runHostileRow(t, row, mode) })
			}
		})
	}
}

// lifecycleHostileModes are the output sinks of promote and rollback:
// stdout as text and as JSON, stderr checked in both.
var lifecycleHostileModes = []hostileMode{
	{"text", "text", []string{"cn-hangzhou"}},
	{"json", "json", []string{"cn-hangzhou"}},
}

// The lifecycle's hostile rows (conformance.LifecycleHostileRows; the core runs
// them all) through the binary's promote and rollback, by the same runner:
// for each command, call and outcome class, the row planting the most, in
// each output sink. Besides what every row is checked for, the endpoint
// took exactly the row's writes (nothing changed where the row fails).
func TestLifecycleHostileEndpointsCLI(t *testing.T) {
	cliBinary(t)
	picked := map[string]conformance.HostileRow{}
	var order []string
	for _, row := range conformance.LifecycleHostileRows() {
		class := row.Command + "/" + row.Action + "/" + row.Outcome.String()
		prev, seen := picked[class]
		if !seen {
			order = append(order, class)
		}
		if !seen || len(row.Forged) > len(prev.Forged) {
			picked[class] = row
		}
	}
	planted := map[string]bool{}
	for _, class := range order {
		row := picked[class]
		for _, f := range row.Forged {
			planted["##["] = planted["##["] || strings.Contains(f, "##[")
			planted["::"] = planted["::"] || strings.HasPrefix(f, "::")
		}
		t.Run(row.Name, func(t *testing.T) {
			for _, mode := range lifecycleHostileModes {
				t.Run(mode.name, func(t *testing.T) { runHostileRow(t, row, mode) })
			}
		})
	}
	if !planted["##["] || !planted["::"] {
		t.Errorf("the rows picked plant no legacy (##[) or no workflow (::) command: %v", planted)
	}
}

func runHostileRow(t *testing.T, row conformance.HostileRow, mode hostileMode) {
	h := conformance.StartHostile(row)
	defer h.Close()
	cert, err := h.WriteCertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// runCLI gives the binary nothing but PATH, a temporary HOME, NO_PROXY
	// for loopback and SSL_CERT_FILE, plus this environment; it scans both
	// streams for the secret in every encoding a server could echo.
	env := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     hostileKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": hostileSecret,
		"no_proxy":                        "127.0.0.1,localhost",
	}
	args := []string{"resolve", "--region", strings.Join(mode.regions, ",")}
	if row.Command != "" {
		var ids []string
		for _, region := range mode.regions {
			ids = append(ids, region+"="+conformance.HostileImageID)
		}
		args = []string{row.Command, "--image-ids", strings.Join(ids, ",")}
	}
	args = append(args, "--image-family", h.Family(),
		"--endpoint", h.Endpoint(),
		"--timeout", h.Timeout().String(),
		"--max-attempts", fmt.Sprint(conformance.HostileMaxAttempts),
		"--output", mode.output)
	r := runCLI(t, &emulatorProcess{CertFile: cert}, env, args...)
	t.Logf("exit %d after %v; stderr %d bytes, stdout %d bytes", r.code, r.elapsed.Round(time.Millisecond), len(r.stderr), len(r.stdout))
	if testing.Verbose() && len(mode.regions) == 1 && mode.output == "id" {
		t.Logf("stderr: %s", r.stderr)
	}

	// The process ended the way the row says, on its own terms.
	for _, crash := range []string{"panic:", "fatal error:", "goroutine ", "[running]", "runtime."} {
		if strings.Contains(r.stderr, crash) {
			t.Fatalf("the binary crashed (%q in stderr):\n%s", crash, r.stderr)
		}
	}
	if r.code == exitUsage {
		t.Errorf("exit 2 (bad input) for an answer from the server; stderr:\n%s", r.stderr)
	}
	if r.code != row.ExitCode {
		t.Errorf("exit code %d, want %d (%v); stderr:\n%s", r.code, row.ExitCode, row.Outcome, r.stderr)
	}

	// Requests: each region's lookup makes the row's requests; the second
	// listener (every redirect's target) sees none.
	if n, want := h.Requests(), row.Requests*len(mode.regions); n != want {
		t.Errorf("the endpoint saw %d requests, want %d", n, want)
	}
	if n := h.OtherRequests(); n != 0 {
		t.Errorf("the second listener (a redirect target) saw %d requests, want 0", n)
	}
	// A lifecycle command changed the image exactly where the row says.
	if n, want := h.Writes(), row.Writes*len(mode.regions); n != want {
		t.Errorf("the endpoint took %d writes, want %d", n, want)
	}

	if n := int64(len(r.stdout) + len(r.stderr)); n > h.OutputBound() {
		t.Errorf("wrote %d bytes for %d served: more than %d times the answer", n, h.ServedBytes(), conformance.HostileOutputRatio)
	}
	checkHostileStdout(t, row, mode, r.stdout)
	checkHostileStderr(t, row, mode, h, r.stderr)

	// Nothing forged starts a line, in either stream, and forged text that
	// holds the runner's legacy command prefix "##[" is nowhere in a line
	// as it is (the runner looks for it anywhere): not on stderr, not in
	// the JSON ("##\u005b", the same value). Only --output text keeps every
	// printable character exact. The signed request never shows (runCLI
	// has scanned for the secret itself).
	for name, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		exact := name == "stdout" && mode.output == "text"
		for i, line := range strings.Split(text, "\n") {
			for _, f := range row.Forged {
				if strings.HasPrefix(line, f) {
					t.Errorf("%s line %d starts with forged text %q: %q", name, i+1, f, line)
				}
				if strings.Contains(f, "##[") && strings.Contains(line, f) && !exact {
					t.Errorf("%s line %d holds the forged legacy command %q as it is: %q", name, i+1, f, line)
				}
			}
		}
		// No control character the server sent reaches a terminal or a
		// log as it is: escaped in text, \uXXXX in JSON.
		for i, c := range text {
			if c != '\n' && c != '\t' && !unicode.IsPrint(c) {
				t.Errorf("%s holds %U at byte %d", name, c, i)
				break
			}
		}
		for _, leak := range []string{"Signature=", "SignatureNonce", hostileSecret} {
			if strings.Contains(text, leak) {
				t.Errorf("%s holds %q", name, leak)
			}
		}
	}
}

// checkHostileStdout: exactly the result for a found row, nothing otherwise.
func checkHostileStdout(t *testing.T, row conformance.HostileRow, mode hostileMode, stdout string) {
	t.Helper()
	if row.Command != "" {
		// promote and rollback print an outcome per region whatever
		// happened: the change listed only where it was made.
		outcome, listed := "failed", ""
		if row.Outcome == conformance.HostileFound {
			outcome = map[string]string{conformance.CommandPromote: "promoted", conformance.CommandRollback: "rolled-back"}[row.Command]
			listed = lifecycleChange[row.Command]
		}
		checkLifecycleStdout(t, mode.output, stdout, mode.regions[0], conformance.HostileImageID, outcome, row.Writes > 0, listed)
		return
	}
	if row.Outcome != conformance.HostileFound {
		if stdout != "" {
			t.Errorf("stdout %q, want nothing (%v)", stdout, row.Outcome)
		}
		return
	}
	if mode.output == "id" {
		want := conformance.HostileImageID + "\n"
		if len(mode.regions) > 1 {
			want = ""
			for _, region := range mode.regions {
				want += region + "\t" + conformance.HostileImageID + "\n"
			}
		}
		if stdout != want {
			t.Errorf("stdout %q, want %q", stdout, want)
		}
		return
	}
	if mode.output == "text" {
		// A header and one line per region, every value escaped: the
		// served description's line breaks and escapes show, visibly.
		header, rows := parseText(t, stdout)
		if !slices.Equal(header, textColumns()) || len(rows) != len(mode.regions) {
			t.Fatalf("text output: header %q, %d rows for %d regions", header, len(rows), len(mode.regions))
		}
		served := servedImage(t, row)
		for i, region := range mode.regions {
			if rows[i][0] != region || rows[i][1] != conformance.HostileImageID {
				t.Errorf("row %d: %q", i, rows[i][:2])
			}
			if d, ok := served["Description"].(string); ok {
				if got := rows[i][slices.Index(header, "description")]; got != safetext.Printable(d) {
					t.Errorf("%s: description column %q, want the served one escaped %q", region, got, safetext.Printable(d))
				}
			}
		}
		return
	}
	if !strings.HasSuffix(stdout, "}\n") {
		t.Errorf("JSON output does not end with \"}\\n\": %q", stdout)
	}
	served := servedImage(t, row)
	images := map[string]map[string]any{}
	if len(mode.regions) == 1 {
		var img map[string]any
		if err := json.Unmarshal([]byte(stdout), &img); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
		}
		images[mode.regions[0]] = img
	} else if err := json.Unmarshal([]byte(stdout), &images); err != nil {
		t.Fatalf("stdout is not one JSON object keyed by region: %v\n%s", err, stdout)
	}
	if len(images) != len(mode.regions) {
		t.Errorf("JSON holds %d images, want %d", len(images), len(mode.regions))
	}
	for _, region := range mode.regions {
		img, ok := images[region]
		if !ok {
			t.Errorf("JSON lacks region %s", region)
			continue
		}
		if img["ImageId"] != conformance.HostileImageID {
			t.Errorf("%s: ImageId %v, want %s", region, img["ImageId"], conformance.HostileImageID)
		}
		// Machine output is exact: every string and number the server sent
		// (the Description with its line breaks and escapes included) comes
		// back unchanged.
		for k, v := range served {
			switch v.(type) {
			case string, float64:
				if !reflect.DeepEqual(img[k], v) {
					t.Errorf("%s: %s is %q in the output, the server sent %q", region, k, img[k], v)
				}
			}
		}
	}
}

// servedImage is the Image member the row's server answers with, got by
// calling its handler directly (no request reaches the listener).
func servedImage(t *testing.T, row conformance.HostileRow) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/?Action=DescribeImageFromFamily&RegionId=cn-hangzhou&ImageFamily="+url.QueryEscape(row.LookupFamily()), nil)
	row.Serve(rec, req, conformance.HostileEnv{Other: "http://127.0.0.1:9"})
	var body struct{ Image map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Image == nil {
		t.Fatalf("the row's answer has no Image (%v): %q", err, rec.Body.String())
	}
	return body.Image
}

// checkHostileStderr: silent when found; otherwise each region's failure is
// one bounded line of printable text naming the problem, each retry one line
// more, and every line is ours.
func checkHostileStderr(t *testing.T, row conformance.HostileRow, mode hostileMode, h *conformance.HostileServer, stderr string) {
	t.Helper()
	frag := h.Fill(row.Fragment)
	if row.Outcome == conformance.HostileFound {
		if row.Command == "" {
			if stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
			return
		}
		// promote and rollback say what they changed, a line per region.
		frag = lifecycleChange[row.Command]
	}
	if limit := hostileStderrPerRegion * len(mode.regions); len(stderr) >= limit {
		t.Errorf("stderr is %d bytes, want under %d: server text must be quoted as a bounded excerpt", len(stderr), limit)
	}
	if !utf8.ValidString(stderr) {
		t.Errorf("stderr is not valid UTF-8: %q", stderr)
	}
	for i, c := range stderr {
		if c != '\n' && !unicode.IsPrint(c) {
			t.Errorf("stderr holds %U at byte %d (only printable text and line breaks may reach a terminal): %q", c, i, stderr)
			break
		}
	}
	all := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for _, line := range all {
		if !strings.HasPrefix(line, "alicloud-image-family: ") {
			t.Errorf("a stderr line is not the CLI's own: %q", line)
		}
	}
	// Each retry is announced on a line of its own (before every request
	// but the first); the rest is one failure line per region.
	var lines []string
	retries := 0
	for _, line := range all {
		if retryLine.MatchString(line) {
			retries++
			continue
		}
		lines = append(lines, line)
	}
	if want := (row.Requests - 1) * len(mode.regions); retries != want {
		t.Errorf("stderr has %d retry lines, want %d:\n%s", retries, want, stderr)
	}
	if len(lines) != len(mode.regions) {
		t.Errorf("stderr has %d failure lines, want one per region (%d):\n%s", len(lines), len(mode.regions), stderr)
	}
	for _, region := range mode.regions {
		found := false
		for _, line := range lines {
			found = found || (strings.Contains(line, region) && strings.Contains(line, frag))
		}
		if !found {
			t.Errorf("no stderr line names %s and %q:\n%s", region, frag, stderr)
		}
	}
}
