package actione2e

// act's runner of the fault table (conformance.FaultRows, the rows the core runs
// in imagefamily/faults_matrix_test.go), the way a runner starts the action
// (action.yml, the launcher, the binary), followed by a few rows of the
// bad-input table: one generated workflow, one act run. Between the rows, a
// step calls a gate this test serves on loopback, which injects the next
// row's faults into the emulator (and after the row, records what the
// emulator saw), so every row sees exactly its own faults.
//
// act runs a row per outcome class and per sink (conformance.Sample,
// EndToEnd), each with its attempt budget (max-attempts); the core and the
// CLI binary run every row, the action's Main a row per class and set of
// sinks (action/faults_matrix_test.go).

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	actRoleARN      = "acs:ram::123456789012:role/image-reader"
	actOIDCRole     = "acs:ram::123456789012:role/github-image-reader"
	actOIDCProvider = "acs:ram::123456789012:oidc-provider/github"
)

// actRow is one row of the table as the workflow runs it.
type actRow struct {
	row     conformance.FaultRow
	id      string            // the step id, row-N
	secrets map[string]string // act secrets the row's inputs name
}

// rowGate injects each row's faults when the workflow reaches it and
// records the emulator's counts after it.
type rowGate struct {
	emu    *ecstest.Server
	rows   map[string]actRow
	mu     sync.Mutex
	counts map[string]map[string]int // step id -> action -> requests
}

func (g *rowGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	what, id, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	row, ok := g.rows[id]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch what {
	case "before":
		g.emu.ClearFaults()
		if row.row.Credentials == conformance.CredSTSExpired {
			g.emu.ExpireSessions()
		}
		g.emu.Inject(row.row.Faults...)
		g.emu.ResetCounts()
	case "after":
		g.emu.ClearFaults()
		seen := map[string]int{}
		for action := range row.row.Requests {
			seen[action] = g.emu.Requests(action)
		}
		g.mu.Lock()
		g.counts[id] = seen
		g.mu.Unlock()
	default:
		http.NotFound(w, r)
		return
	}
	fmt.Fprintln(w, "ok")
}

// gateStep calls the gate with bash alone (no curl on a bare runner).
func gateStep(what, id string) string {
	return fmt.Sprintf(`      - name: gate %[1]s %[2]s
        shell: bash
        run: |
          echo "FAULT-ROW-%[3]s %[2]s"
          exec 3<>/dev/tcp/127.0.0.1/$FAULT_GATE_PORT
          printf 'GET /%[1]s/%[2]s HTTP/1.0\r\n\r\n' >&3
          grep -q '^ok' <&3
`, what, id, strings.ToUpper(what))
}

// actRows takes the sampled rows and gives each its credentials:
// STS ones are issued here, before the run, and handed over as act secrets.
// The rows whose credentials expire come last: ExpireSessions ends every
// session issued so far.
func actRows(t *testing.T, w *world) []actRow {
	var rows []actRow
	for _, row := range conformance.Sample(conformance.FaultRows(), conformance.EndToEnd) {
		rows = append(rows, actRow{row: row})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		return rows[i].row.Credentials != conformance.CredSTSExpired && rows[j].row.Credentials == conformance.CredSTSExpired
	})
	for i := range rows {
		r := &rows[i]
		r.id = "row-" + strconv.Itoa(i+1)
		key := strings.ToUpper(strings.ReplaceAll(r.id, "-", "_"))
		sts := func(other bool, secretOverride string) {
			a := assumeRoleE2E(t, w.emu)
			token := a[2]
			if other {
				token = assumeRoleE2E(t, w.emu)[2]
			}
			secret := a[1]
			if secretOverride != "" {
				secret = secretOverride
			}
			r.secrets = map[string]string{key + "_ID": a[0], key + "_SECRET": secret, key + "_TOKEN": token, key + "_ISSUED_SECRET": a[1]}
		}
		switch r.row.Credentials {
		case conformance.CredKeys:
			r.secrets = map[string]string{key + "_ID": e2eKeyID, key + "_SECRET": e2eSecret}
		case conformance.CredWrongSecret:
			r.secrets = map[string]string{key + "_ID": e2eKeyID, key + "_SECRET": conformance.FaultWrongSecret}
		case conformance.CredSTSWrongSecret:
			sts(false, conformance.FaultWrongSecret)
		case conformance.CredSTSExpired:
			sts(false, "")
		case conformance.CredSTSOtherToken:
			sts(true, "")
		case conformance.CredOIDC:
		default:
			t.Fatalf("row %q: credentials %d have no mapping in act's runner", r.row.Name, r.row.Credentials)
		}
	}
	return rows
}

// assumeRoleE2E obtains STS credentials (id, secret, token) from the
// emulator with the workflow's key.
func assumeRoleE2E(t *testing.T, emu *ecstest.Server) [3]string {
	t.Helper()
	c, err := ecstest.AssumeRole(emu.Client(), emu.URL, e2eKeyID, e2eSecret, actRoleARN)
	if err != nil {
		t.Fatal(err)
	}
	return [3]string{c.AccessKeyID, c.AccessKeySecret, c.SecurityToken}
}

// rowStep is the action step of one row.
func rowStep(r actRow) string {
	var b strings.Builder
	key := strings.ToUpper(strings.ReplaceAll(r.id, "-", "_"))
	fmt.Fprintf(&b, "      # %s\n      - id: %s\n        uses: ./\n        continue-on-error: true\n", r.row.Name, r.id)
	env := map[string]string{}
	if r.row.Credentials == conformance.CredOIDC {
		// The job's keys would compete with OIDC.
		env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "", ""
	}
	if r.row.Untrusted {
		env["SSL_CERT_FILE"] = "/nonexistent/none.pem"
	}
	if len(env) > 0 {
		b.WriteString("        env:\n")
		for _, k := range slices.Sorted(maps.Keys(env)) {
			fmt.Fprintf(&b, "          %s: %q\n", k, env[k])
		}
	}
	b.WriteString("        with:\n          region: cn-hangzhou\n          image-family: web-base\n          endpoint: ${{ env.EMULATOR_ENDPOINT }}\n")
	sts := "${{ env.EMULATOR_ENDPOINT }}"
	if r.row.STSUnreachable {
		sts = "127.0.0.1:1"
	}
	fmt.Fprintf(&b, "          sts-endpoint: %s\n", sts)
	if r.row.Credentials == conformance.CredOIDC {
		fmt.Fprintf(&b, "          role-to-assume: %s\n          oidc-provider-arn: %s\n", actOIDCRole, actOIDCProvider)
	} else {
		fmt.Fprintf(&b, "          access-key-id: ${{ secrets.%[1]s_ID }}\n          access-key-secret: ${{ secrets.%[1]s_SECRET }}\n", key)
		if _, ok := r.secrets[key+"_TOKEN"]; ok {
			fmt.Fprintf(&b, "          security-token: ${{ secrets.%s_TOKEN }}\n", key)
		}
	}
	if r.row.Timeout > 0 {
		fmt.Fprintf(&b, "          timeout: %s\n", r.row.Timeout)
	}
	fmt.Fprintf(&b, "          max-attempts: %d\n", r.row.MaxAttempts)
	return b.String()
}

// matrixWorkflow is a job for each fault row, then one for the bad-input
// steps, each job needing the one before (so the rows run in turn, as the
// gate expects). One job per row, because act v0.2.89 slows down with every
// further run of a composite action in one job (a row's step took 50s after
// twenty of them) and then drops the step's annotations.
func matrixWorkflow(rows []actRow) string {
	var b strings.Builder
	b.WriteString(`# Written by test/action/act_matrix_test.go.
name: action matrix
on: push
permissions:
  id-token: write
  contents: read
env:
  ALIBABA_CLOUD_ACCESS_KEY_ID: ${{ secrets.ALICLOUD_ACCESS_KEY_ID }}
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: ${{ secrets.ALICLOUD_ACCESS_KEY_SECRET }}
jobs:
`)
	job := func(id, needs string) {
		fmt.Fprintf(&b, "  %s:\n    runs-on: ubuntu-latest\n", id)
		if needs != "" {
			fmt.Fprintf(&b, "    needs: [%s]\n", needs)
		}
		b.WriteString("    steps:\n      - uses: actions/checkout@v4\n")
	}
	prev := ""
	for _, r := range rows {
		job(r.id, prev)
		prev = r.id
		b.WriteString(gateStep("before", r.id))
		b.WriteString(rowStep(r))
		b.WriteString(gateStep("after", r.id))
		fmt.Fprintf(&b, `      - name: outcome %[1]s
        shell: bash
        env:
          OUTCOME: ${{ steps.%[1]s.outcome }}
          IMAGE: ${{ steps.%[1]s.outputs.image-id }}
        run: echo "FAULT-ROW-OUTCOME %[1]s $OUTCOME image=$IMAGE"
`, r.id)
	}
	job("bad-inputs", prev)
	b.WriteString(badInputSteps())
	b.WriteString(badInputAssert)
	return b.String()
}

// actBadInputs are rows of the bad-input table run through act: each step
// must fail before a request, with its annotation.
var actBadInputs = []struct {
	id, why    string
	with       []string // inputs beyond the endpoint, in pairs
	annotation string   // after "::error title=Image family lookup failed::"
}{
	{"misspelt-input", "image_family is not an input of this action (a typo of image-family), so the required family is missing",
		[]string{"region", "cn-hangzhou", "image_family", "web-base"}, `invalid input image-family "": it is required`},
	{"bad-region", "an upper-case region",
		[]string{"region", "CN-HANGZHOU", "image-family", "web-base"}, `invalid input region "CN-HANGZHOU": region ids are lower case`},
	{"bad-expected", "expected-image-ids that is not the image-ids shape",
		[]string{"region", "cn-hangzhou", "image-family", "web-base", "expected-image-ids", "cn-hangzhou=m-bp1e2enew000000002"},
		`invalid input expected-image-ids "cn-hangzhou=m-bp1e2enew000000002": it must be one JSON object of region to image id`},
	{"unknown-expected-region", "expected-image-ids naming a region not looked up",
		[]string{"region", "cn-hangzhou", "image-family", "web-base", "expected-image-ids", `'{"cn-shanghai":"m-uf6e2eshanghai00001"}'`},
		`invalid input expected-image-ids "cn-shanghai": it names a region that is not being looked up (cn-hangzhou)`},
	{"negative-wait", "a negative wait",
		[]string{"region", "cn-hangzhou", "image-family", "web-base", "wait-timeout", "-5m"},
		`invalid input wait-timeout "-5m": it must be between 0s and 6h0m0s`},
	{"bad-guard", "a guard with an unknown value",
		[]string{"region", "cn-hangzhou", "image-family", "web-base", "architecture", "amd64"},
		`invalid input architecture "amd64": it must be one the API reports: x86_64, arm64, i386`},
}

func badInputSteps() string {
	var b strings.Builder
	for _, s := range actBadInputs {
		fmt.Fprintf(&b, "      # Bad input: %s.\n      - id: %s\n        uses: ./\n        continue-on-error: true\n        with:\n", s.why, s.id)
		for i := 0; i+1 < len(s.with); i += 2 {
			fmt.Fprintf(&b, "          %s: %s\n", s.with[i], s.with[i+1])
		}
		b.WriteString("          endpoint: ${{ env.EMULATOR_ENDPOINT }}\n")
	}
	return b.String()
}

const badInputAssert = `      - name: Assert outcomes
        shell: bash
        env:
          MISSPELT: ${{ steps.misspelt-input.outcome }}
          BAD_REGION: ${{ steps.bad-region.outcome }}
          BAD_EXPECTED: ${{ steps.bad-expected.outcome }}
          BAD_EXPECTED_CHANGED: ${{ steps.bad-expected.outputs.changed }}
          UNKNOWN_EXPECTED_REGION: ${{ steps.unknown-expected-region.outcome }}
          NEGATIVE_WAIT: ${{ steps.negative-wait.outcome }}
          BAD_GUARD: ${{ steps.bad-guard.outcome }}
          BAD_GUARD_FOUND: ${{ steps.bad-guard.outputs.found }}
        run: |
          fail=0
          check() {
            if [ "$2" = "$3" ]; then echo "ok $1"; else echo "::error::$1 is '$2', want '$3'"; fail=1; fi
          }
          check misspelt-input.outcome "$MISSPELT" failure
          check bad-region.outcome "$BAD_REGION" failure
          check bad-expected.outcome "$BAD_EXPECTED" failure
          check bad-expected.changed "$BAD_EXPECTED_CHANGED" false
          check unknown-expected-region.outcome "$UNKNOWN_EXPECTED_REGION" failure
          check negative-wait.outcome "$NEGATIVE_WAIT" failure
          check bad-guard.outcome "$BAD_GUARD" failure
          check bad-guard.found "$BAD_GUARD_FOUND" false
          [ "$fail" = 0 ] && echo "E2E-MATRIX-OK"
`

// actRetryLine is a retry line of the step log, as act shows it.
var actRetryLine = regexp.MustCompile(`\| retrying .+: attempt \d+ of \d+ failed \(.+\); next attempt in \S+`)

func TestActMatrix(t *testing.T) {
	w := newWorld(t)
	rows := actRows(t, w)
	gate := &rowGate{emu: w.emu, rows: map[string]actRow{}, counts: map[string]map[string]int{}}
	var secretArgs []string
	scan := secretscan.New(conformance.FaultWrongSecret)
	for _, r := range rows {
		gate.rows[r.id] = r
		for _, k := range slices.Sorted(maps.Keys(r.secrets)) {
			secretArgs = append(secretArgs, "--secret", k+"="+r.secrets[k])
			if strings.HasSuffix(k, "_SECRET") || strings.HasSuffix(k, "_TOKEN") {
				scan.Add(r.secrets[k])
			}
		}
	}
	gateSrv := httptest.NewServer(gate)
	t.Cleanup(gateSrv.Close)
	port := gateSrv.Listener.Addr().(*net.TCPAddr).Port

	dir := filepath.Join(w.ws, "testdata", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.yml"), []byte(matrixWorkflow(rows)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := w.act("matrix.yml", []string{"FAULT_GATE_PORT=" + strconv.Itoa(port)}, secretArgs...)
	markers := []string{"E2E-MATRIX-OK"}
	for _, s := range actBadInputs {
		markers = append(markers, "::error title=Image family lookup failed::"+s.annotation)
	}
	res.must(t, markers...)
	scan.Check(t, "act's log", res.out)
	sections := rowSections(res.out)
	for _, r := range rows {
		t.Run(r.row.Name, func(t *testing.T) {
			log, ok := sections[r.id]
			if !ok {
				t.Fatalf("no section of the log for %s", r.id)
			}
			want := "success image=m-bp1e2enew000000002"
			if r.row.ExitCode() != 0 {
				want = "failure image="
			}
			if !strings.Contains(log, "FAULT-ROW-OUTCOME "+r.id+" "+want+"\n") {
				t.Errorf("outcome: want %q", want)
			}
			if r.row.ExitCode() != 0 {
				var annotation string
				for _, l := range strings.Split(log, "\n") {
					if strings.Contains(l, "::error ") {
						annotation = l
					}
				}
				if !strings.Contains(annotation, r.row.Fragment) {
					t.Errorf("no ::error annotation with %q", r.row.Fragment)
				}
			}
			if n := len(actRetryLine.FindAllString(log, -1)); n != r.row.Retries {
				t.Errorf("%d retry lines, want %d", n, r.row.Retries)
			}
			gate.mu.Lock()
			seen := gate.counts[r.id]
			gate.mu.Unlock()
			for action, want := range r.row.Requests {
				if seen[action] != want {
					t.Errorf("the emulator saw %d %q requests, want %d", seen[action], action, want)
				}
			}
			if t.Failed() {
				t.Logf("log of %s:\n%s", r.id, log)
			}
		})
	}
	// act v0.2.89, unlike GitHub's runner, does not warn about an input the
	// action does not declare; the misspelt input is caught only because
	// the family it was meant to give is required. Record which it is, so a
	// newer act that warns is noticed.
	if strings.Contains(res.out, "Unexpected input") {
		t.Logf("act warns about unexpected inputs")
	}
}

// rowSections cuts act's log into each row's part: from the gate's "before"
// marker to its outcome line.
func rowSections(out string) map[string]string { return logSections(out, "FAULT-ROW") }

// logSections cuts act's log into each row's part, from a line
// "PREFIX-BEFORE id" to the line "PREFIX-OUTCOME id ..." (the echo commands
// themselves, which act also prints, do not count).
func logSections(out, prefix string) map[string]string {
	before, outcome := prefix+"-BEFORE ", prefix+"-OUTCOME "
	sections := map[string]string{}
	var id string
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, before); i >= 0 && !strings.Contains(l, "echo") {
			id, b = strings.TrimSpace(l[i+len(before):]), strings.Builder{}
		}
		if id == "" {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
		if strings.Contains(l, outcome+id+" ") && !strings.Contains(l, "echo") {
			sections[id] = b.String()
			id = ""
		}
	}
	return sections
}
