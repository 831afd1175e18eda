package main

// The CLI's runner of the conformance tables, every row through the real
// binary: the fault rows (conformance.FaultRows, LifecycleFaultRows) against
// the emulator process, the hostile rows (HostileRows, LifecycleHostileRows)
// against the row's own server; lookup rows through resolve, lifecycle rows
// through promote and rollback. The first row of each outcome class runs in
// every output mode; the others, whose stdout a mode changes no further,
// each in one mode, in turn. runBinaryInput checks the sinks of every run
// (nothing crashed, no control character, no forged runner command, no
// secret, stdout parses); rowRun checks what every row states (the exit
// code, stderr's fragment, the retry lines, the time bound); each table's
// runner checks its server's counts and stdout.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	describeAction = conformance.ActionDescribe
	oidcRoleARN    = "acs:ram::123456789012:role/github-oidc-image-reader"
	oidcProvARN    = "acs:ram::123456789012:oidc-provider/github"
	// processStartAllowance is what starting the binary adds to a row's
	// time bound.
	processStartAllowance = time.Second
	hostileKeyID          = "LTAIHOSTILECLI000001"
	hostileSecret         = "hostile-cli-secret-MUST-NOT-LEAK-0001"
	// hostileStderrPerRegion bounds what one region's failure may print.
	hostileStderrPerRegion = 4 << 10
)

// rowRun is one run of a row through the binary and what the row states
// about it.
type rowRun struct {
	e        *emulatorProcess
	env      map[string]string
	args     []string
	code     int
	fragment string        // on stderr when the run fails
	retries  int           // retry lines on stderr
	within   time.Duration // 0: no bound
}

func (rr rowRun) run(t *testing.T) run {
	t.Helper()
	r := runCLI(t, rr.e, rr.env, rr.args...)
	t.Logf("exit %d after %v; stdout %d bytes; stderr: %.2000s", r.code, r.elapsed.Round(time.Millisecond), len(r.stdout), r.stderr)
	if r.code != rr.code {
		t.Errorf("exit code %d, want %d", r.code, rr.code)
	}
	if rr.code != exitOK && !strings.Contains(r.stderr, rr.fragment) {
		t.Errorf("stderr lacks %q", rr.fragment)
	}
	if n := retryLines(r.stderr); n != rr.retries {
		t.Errorf("%d retry lines on stderr, want %d", n, rr.retries)
	}
	if rr.within > 0 && r.elapsed > rr.within+processStartAllowance {
		t.Errorf("took %v, want at most %v", r.elapsed, rr.within+processStartAllowance)
	}
	return r
}

// inTurn is the modes the i-th row runs in: every one for the first row of
// its class, else one, in turn.
func inTurn[M any](modes []M, i int, first bool) []M {
	if first {
		return modes
	}
	return modes[i%len(modes) : i%len(modes)+1]
}

// firstOf reports whether class is seen for the first time.
func firstOf(seen map[string]bool, class string) bool {
	first := !seen[class]
	seen[class] = true
	return first
}

// retryLines counts the "retrying" lines on stderr.
func retryLines(stderr string) int {
	n := 0
	for _, l := range strings.Split(stderr, "\n") {
		if retryLine.MatchString(l) {
			n++
		}
	}
	return n
}

// stsSession is a set of STS credentials the emulator issued.
type stsSession struct{ id, secret, token string }

// assumeRole asks the emulator process for STS credentials, so a row can
// hand security tokens to the binary.
func assumeRole(t *testing.T, e *emulatorProcess) stsSession {
	t.Helper()
	c, err := ecstest.AssumeRole(e.Control.Client, "https://"+e.Endpoint, demoAccessKeyID, demoSecret, "acs:ram::123456789012:role/image-reader")
	if err != nil {
		t.Fatal(err)
	}
	return stsSession{c.AccessKeyID, c.AccessKeySecret, c.SecurityToken}
}

func stsEnv(id, secret, token string) map[string]string {
	return map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token}
}

// faultEnv maps a fault row's credentials onto the binary's environment,
// where runBinaryInput finds every *SECRET* and *TOKEN* variable to scan
// for.
func faultEnv(t *testing.T, e *emulatorProcess, row conformance.FaultRow) map[string]string {
	t.Helper()
	var env map[string]string
	switch row.Credentials {
	case conformance.CredKeys:
		env = demoEnv
	case conformance.CredWrongSecret:
		env = with(demoEnv, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", conformance.FaultWrongSecret)
	case conformance.CredSTSWrongSecret:
		s := assumeRole(t, e)
		env = stsEnv(s.id, conformance.FaultWrongSecret, s.token)
	case conformance.CredSTSExpired:
		s := assumeRole(t, e)
		if err := e.Control.ExpireSessions(); err != nil {
			t.Fatal(err)
		}
		env = stsEnv(s.id, s.secret, s.token)
	case conformance.CredSTSOtherToken:
		a, b := assumeRole(t, e), assumeRole(t, e)
		env = stsEnv(a.id, a.secret, b.token)
	case conformance.CredOIDC:
		token := jwt(map[string]any{"aud": "sts.aliyuncs.com", "sub": "repo:o/r:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		env = map[string]string{"ALIBABA_CLOUD_ROLE_ARN": oidcRoleARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": oidcProvARN, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": file}
	case conformance.CredReadOnly:
		env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": conformance.ReadOnlyKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": conformance.ReadOnlyKeySecret}
	case conformance.CredNoWrite:
		env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": conformance.NoWriteKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": conformance.NoWriteKeySecret}
	default:
		t.Fatalf("row %q: credentials %d have no mapping in the CLI's runner", row.Name, row.Credentials)
	}
	if row.Untrusted {
		// A certificate file without the emulator's certificate.
		env = with(env, "SSL_CERT_FILE", filepath.Join(t.TempDir(), "none.pem"))
	}
	return env
}

// faultArgs are the flags every fault row sets.
func faultArgs(row conformance.FaultRow) []string {
	args := []string{"--max-attempts", strconv.Itoa(row.MaxAttempts)}
	if row.STSUnreachable {
		args = append(args, "--sts-endpoint", "127.0.0.1:1")
	}
	if row.Timeout > 0 {
		args = append(args, "--timeout", row.Timeout.String())
	}
	return args
}

// armFaults sets the row's faults and zeroes the emulator's counts.
func armFaults(t *testing.T, e *emulatorProcess, faults []ecstest.FaultSpec) {
	t.Helper()
	for _, f := range faults {
		if err := e.Control.Fault(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Control.ResetCounts(); err != nil {
		t.Fatal(err)
	}
}

// checkRequests checks the requests the emulator saw by action ("" for
// all) against the row's and returns the emulator's counts.
func checkRequests(t *testing.T, e *emulatorProcess, want map[string]int) ecstest.RequestCounts {
	t.Helper()
	counts, err := e.Control.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for action, n := range want {
		got := counts.ByAction[action]
		if action == "" {
			got = counts.All
		}
		if got != n {
			t.Errorf("the emulator saw %d %q requests, want %d", got, action, n)
		}
	}
	return counts
}

func TestFaultMatrixCLI(t *testing.T) {
	e := startEmulator(t)
	for _, row := range conformance.FaultRows() {
		t.Run(row.Name, func(t *testing.T) {
			if err := e.Control.ClearFaults(); err != nil {
				t.Fatal(err)
			}
			env := faultEnv(t, e, row)
			armFaults(t, e, row.Faults)
			r := rowRun{e: e, env: env, args: resolveArgs(e, append([]string{"--image-family", "web-base"}, faultArgs(row)...)...),
				code: row.ExitCode(), fragment: row.Fragment, retries: row.Retries, within: row.Within}.run(t)
			if want := map[bool]string{true: wantNewest + "\n"}[row.ExitCode() == exitOK]; r.stdout != want {
				t.Errorf("stdout %q, want %q", r.stdout, want)
			}
			checkRequests(t, e, row.Requests)
		})
	}
	e.Control.ClearFaults()
}

// lifecycleChange is the change each command of the lifecycle's rows makes
// (RegionOutcome.Changes).
var lifecycleChange = map[string]string{
	conformance.CommandPromote:  `ImageFamily "" -> "web-base"`,
	conformance.CommandRollback: "Status Available -> Deprecated",
}

// The lifecycle's fault rows through promote and rollback, each against a
// fresh emulator process: besides what every row states, stdout (the
// outcome, or the JSON with the changes and whether they were made), the
// change said on stderr exactly when made (or, unconfirmed, attempted), a
// dry run's writes all DryRun=true, and the emulator's image changed
// exactly when the row says so.
func TestLifecycleFaultMatrixCLI(t *testing.T) {
	seen := map[string]bool{}
	for i, row := range conformance.LifecycleFaultRows() {
		class := fmt.Sprintf("%s/%s/dry-run=%v/unconfirmed=%v", row.Command, row.Outcome, row.DryRun, row.Unconfirmed)
		for _, output := range inTurn([]string{"text", "json"}, i, firstOf(seen, class)) {
			t.Run(row.Name+"/"+output, func(t *testing.T) { runLifecycleFaultRow(t, row, output) })
		}
	}
}

func runLifecycleFaultRow(t *testing.T, row conformance.FaultRow, output string) {
	e := startEmulatorProcess(t, conformance.LifecycleFixture(), true)
	region, id, outcome := "cn-hangzhou", conformance.LifecycleRollbackImage, "rolled-back"
	changed := func(family, status string) bool { return status == "Deprecated" }
	if row.Command == conformance.CommandPromote {
		if err := e.Control.SetCopyPolls(0); err != nil {
			t.Fatal(err)
		}
		cp, err := e.Control.CopyImage("cn-hangzhou", conformance.LifecycleCopySource, conformance.LifecycleCopyRegion)
		if err != nil {
			t.Fatal(err)
		}
		region, id, outcome = conformance.LifecycleCopyRegion, cp, "promoted"
		changed = func(family, status string) bool { return family == "web-base" }
	}
	env := faultEnv(t, e, row)
	armFaults(t, e, row.Faults)
	args := append([]string{row.Command, "--endpoint", e.Endpoint, "--image-family", "web-base", "--image-ids", region + "=" + id, "--output", output}, faultArgs(row)...)
	if row.DryRun {
		args = append(args, "--dry-run")
		outcome = map[string]string{conformance.CommandPromote: "would-promote", conformance.CommandRollback: "would-roll-back"}[row.Command]
	}
	r := rowRun{e: e, env: env, args: args, code: row.ExitCode(), fragment: row.Fragment, retries: row.Retries, within: row.Within}.run(t)
	wantChanged := (row.Outcome == conformance.FaultFound && !row.DryRun) || row.Unconfirmed
	if row.ExitCode() != exitOK {
		outcome = "failed"
	}
	// What was (or would be) changed is said on stderr, and only then.
	wantSaid, listed := "", ""
	switch {
	case row.Unconfirmed:
		wantSaid = region + ": " + map[string]string{conformance.CommandPromote: "family set", conformance.CommandRollback: "status set"}[row.Command] +
			" on " + id + " (" + lifecycleChange[row.Command] + "), " + conformance.UnconfirmedFragment
		listed = lifecycleChange[row.Command]
	case row.ExitCode() == exitOK:
		wantSaid, listed = lifecycleChange[row.Command], lifecycleChange[row.Command]
	}
	if wantSaid != "" && !strings.Contains(r.stderr, wantSaid) {
		t.Errorf("stderr does not say %q", wantSaid)
	}
	if wantSaid == "" && strings.Contains(r.stderr, lifecycleChange[row.Command]) {
		t.Errorf("stderr names the change %q, which was not made", lifecycleChange[row.Command])
	}
	checkLifecycleStdout(t, output, r.stdout, region, id, outcome, wantChanged, listed)
	for _, w := range checkRequests(t, e, row.Requests).Writes {
		if row.DryRun && w.DryRun != "true" {
			t.Errorf("a dry run sent a write without DryRun=true: %+v", w)
		}
	}
	if family, status := imageState(t, e, region, id); changed(family, status) != wantChanged {
		t.Errorf("the emulator's image is in family %q, %s; want changed: %v", family, status, wantChanged)
	}
}

// checkLifecycleStdout: one region's outcome line, or its JSON listing the
// change made or that would be (listed, "" for none) and whether it was
// made (changed).
func checkLifecycleStdout(t *testing.T, output, stdout, region, id, outcome string, changed bool, listed string) {
	t.Helper()
	if output == "text" {
		if want := region + "\t" + outcome + "\t" + id + "\n"; stdout != want {
			t.Errorf("stdout %q, want %q", stdout, want)
		}
		return
	}
	var js []struct {
		Region   string   `json:"region"`
		ImageID  string   `json:"image_id"`
		Outcome  string   `json:"outcome"`
		Changes  []string `json:"changes"`
		Changed  *bool    `json:"changed"`
		Resolves *string  `json:"resolves"`
		Error    string   `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || len(js) != 1 {
		t.Fatalf("stdout is not a JSON array of one outcome (%v): %q", err, stdout)
	}
	o := js[0]
	if o.Region != region || o.ImageID != id || o.Outcome != outcome || o.Changed == nil || *o.Changed != changed || o.Resolves == nil {
		t.Errorf("JSON %+v; want %s %s %s, changed %v", o, region, id, outcome, changed)
	}
	if (listed == "" && len(o.Changes) != 0) || (listed != "" && !slices.Equal(o.Changes, []string{listed})) {
		t.Errorf("JSON changes %q; want %q", o.Changes, listed)
	}
	if (outcome == "failed") != (o.Error != "") {
		t.Errorf("JSON error %q for outcome %s", o.Error, outcome)
	}
}

// hostileMode is one way of running a command against a hostile row.
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

// lifecycleHostileModes are the output sinks of promote and rollback.
var lifecycleHostileModes = []hostileMode{
	{"text", "text", []string{"cn-hangzhou"}},
	{"json", "json", []string{"cn-hangzhou"}},
}

// Every hostile row through resolve: a found row in every mode (its
// output differs by mode), the others in one mode each, in turn (stdout
// stays empty in every mode; stderr is the same sink).
func TestHostileEndpointsCLI(t *testing.T) {
	cliBinary(t) // build once before the first row's clock starts
	seen := map[string]bool{}
	for i, row := range conformance.HostileRows() {
		first := row.Outcome == conformance.HostileFound || firstOf(seen, row.Outcome.String())
		for _, mode := range inTurn(hostileModes, i, first) {
			t.Run(row.Name+"/"+mode.name, func(t *testing.T) { runHostileRow(t, row, mode) })
		}
	}
}

// Every lifecycle hostile row through promote and rollback, by the same
// runner: the first of each command, call and outcome class in both
// output sinks. Besides what every row is checked for, the endpoint took
// exactly the row's writes (nothing changed where the row fails).
func TestLifecycleHostileEndpointsCLI(t *testing.T) {
	cliBinary(t)
	seen := map[string]bool{}
	for i, row := range conformance.LifecycleHostileRows() {
		first := firstOf(seen, row.Command+"/"+row.Action+"/"+row.Outcome.String())
		for _, mode := range inTurn(lifecycleHostileModes, i, first) {
			t.Run(row.Name+"/"+mode.name, func(t *testing.T) { runHostileRow(t, row, mode) })
		}
	}
}

func runHostileRow(t *testing.T, row conformance.HostileRow, mode hostileMode) {
	h := conformance.StartHostile(row)
	defer h.Close()
	cert, err := h.WriteCertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": hostileKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": hostileSecret, "no_proxy": "127.0.0.1,localhost"}
	args := []string{"resolve", "--region", strings.Join(mode.regions, ",")}
	if row.Command != "" {
		var ids []string
		for _, region := range mode.regions {
			ids = append(ids, region+"="+conformance.HostileImageID)
		}
		args = []string{row.Command, "--image-ids", strings.Join(ids, ",")}
	}
	args = append(args, "--image-family", h.Family(), "--endpoint", h.Endpoint(), "--timeout", h.Timeout().String(),
		"--max-attempts", fmt.Sprint(conformance.HostileMaxAttempts), "--output", mode.output)
	r := rowRun{e: &emulatorProcess{CertFile: cert}, env: env, args: args, code: row.ExitCode, fragment: h.Fill(row.Fragment),
		retries: (row.Requests - 1) * len(mode.regions)}.run(t)

	// Each region's lookup makes the row's requests and writes; the second
	// listener (every redirect's target) sees none.
	if n, want := h.Requests(), row.Requests*len(mode.regions); n != want {
		t.Errorf("the endpoint saw %d requests, want %d", n, want)
	}
	if n := h.OtherRequests(); n != 0 {
		t.Errorf("the second listener (a redirect target) saw %d requests, want 0", n)
	}
	if n, want := h.Writes(), row.Writes*len(mode.regions); n != want {
		t.Errorf("the endpoint took %d writes, want %d", n, want)
	}
	if n := int64(len(r.stdout) + len(r.stderr)); n > h.OutputBound() {
		t.Errorf("wrote %d bytes for %d served: more than %d times the answer", n, h.ServedBytes(), conformance.HostileOutputRatio)
	}
	// Nothing forged starts a line in either stream.
	for name, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		for i, line := range strings.Split(text, "\n") {
			for _, f := range row.Forged {
				if strings.HasPrefix(line, f) {
					t.Errorf("%s line %d starts with forged text %q: %q", name, i+1, f, line)
				}
			}
		}
	}
	checkHostileStdout(t, row, mode, r.stdout)
	checkHostileStderr(t, row, mode, h, r.stderr)
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
	switch mode.output {
	case "id":
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
	case "text":
		// A header and one line per region, every value escaped: the
		// served description's line breaks and escapes show, visibly.
		header, rows := parseText(t, stdout)
		if !slices.Equal(header, textColumns()) || len(rows) != len(mode.regions) {
			t.Fatalf("text output: header %q, %d rows for %d regions", header, len(rows), len(mode.regions))
		}
		d, hasDescription := servedImage(t, row)["Description"].(string)
		for i, region := range mode.regions {
			if rows[i][0] != region || rows[i][1] != conformance.HostileImageID {
				t.Errorf("row %d: %q", i, rows[i][:2])
			}
			if got := rows[i][slices.Index(header, "description")]; hasDescription && got != safetext.Printable(d) {
				t.Errorf("%s: description column %q, want the served one escaped %q", region, got, safetext.Printable(d))
			}
		}
		return
	}
	served := servedImage(t, row)
	images := map[string]map[string]any{}
	if len(mode.regions) == 1 {
		var img map[string]any
		if err := json.Unmarshal([]byte(stdout), &img); err != nil {
			t.Fatalf("stdout is not one JSON object: %v", err)
		}
		images[mode.regions[0]] = img
	} else if err := json.Unmarshal([]byte(stdout), &images); err != nil {
		t.Fatalf("stdout is not one JSON object keyed by region: %v", err)
	}
	if len(images) != len(mode.regions) {
		t.Errorf("JSON holds %d images, want %d", len(images), len(mode.regions))
	}
	for _, region := range mode.regions {
		img := images[region]
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
// one bounded line naming the problem (no tab: server text is escaped),
// each retry one line more, and every line is ours.
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
	if limit := hostileStderrPerRegion * len(mode.regions); len(stderr) >= limit || strings.Contains(stderr, "\t") {
		t.Errorf("stderr is %d bytes, want under %d and no tab: server text must be quoted as a bounded excerpt", len(stderr), limit)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "alicloud-image-family: ") {
			t.Errorf("a stderr line is not the CLI's own: %q", line)
		}
		if !retryLine.MatchString(line) {
			lines = append(lines, line)
		}
	}
	if len(lines) != len(mode.regions) {
		t.Errorf("stderr has %d failure lines, want one per region (%d):\n%s", len(lines), len(mode.regions), stderr)
	}
	for _, region := range mode.regions {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, region) && strings.Contains(l, frag) }) {
			t.Errorf("no stderr line names %s and %q:\n%s", region, frag, stderr)
		}
	}
}
