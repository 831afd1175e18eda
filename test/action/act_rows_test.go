package actione2e

// act's runner of table rows, as a runner starts the action (action.yml,
// the launcher, the binary): conformance.Sample's rows (EndToEnd: a row per
// outcome class and per sink) of the fault table (on the emulator, with the
// row's faults injected) and of the hostile table (each on its own TLS
// server), and bad input (exit 2, no request); the core and the CLI binary
// run every row. One workflow, one job per row: act v0.2.89 slows down with
// every further run of a composite action in one job and then drops the
// step's annotations. The emulator's rows run in turn, calling a gate
// around their step that sets the emulator up and records what it saw; the
// hostile rows share nothing and run in a second chain beside them.

import (
	"fmt"
	"maps"
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
	rowsWorkflow    = "action rows"
)

// actRow is one row as the workflow runs it and as the test checks it.
type actRow struct {
	id, name string
	env      map[string]string // the step's environment
	with     []string          // the step's inputs, in pairs
	secrets  map[string]string // act secrets the inputs name
	// before and after run at the gate around the step; nil for a row on
	// its own server, which runs in the second chain.
	before, after func()
	exit          int    // the step's exit code
	image         string // the image-id output of a success
	fragment      string // in the ::error annotation of a failure
	retries       int    // retry lines in the step log; -1: not counted
	// seen checks what the row's server saw.
	seen func(t *testing.T)
}

// emulatorRow is a row the emulator serves: before resets its counts and
// sets it up, after records the requests of the actions in want.
func emulatorRow(w *world, id, name string, setup func(), want map[string]int) actRow {
	var mu sync.Mutex
	var seen map[string]int
	return actRow{id: id, name: name, env: map[string]string{}, secrets: map[string]string{}, retries: -1,
		before: func() { w.emu.ClearFaults(); setup(); w.emu.ResetCounts() },
		after: func() {
			w.emu.ClearFaults()
			mu.Lock()
			defer mu.Unlock()
			seen = map[string]int{}
			for action := range want {
				seen[action] = w.emu.Requests(action)
			}
		},
		seen: func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			if !maps.Equal(seen, want) {
				t.Errorf("the emulator saw %v requests (by action), want %v", seen, want)
			}
		},
	}
}

// faultRows are the sampled fault rows with their credentials: STS ones
// are issued here, before the run, and handed over as act secrets. The rows
// whose credentials expire come last: ExpireSessions ends every session
// issued so far.
func faultRows(t *testing.T, w *world) []actRow {
	sampled := conformance.Sample(conformance.FaultRows(), conformance.EndToEnd)
	sort.SliceStable(sampled, func(i, j int) bool {
		return sampled[i].Credentials != conformance.CredSTSExpired && sampled[j].Credentials == conformance.CredSTSExpired
	})
	var rows []actRow
	for i, fr := range sampled {
		id := "row-" + strconv.Itoa(i+1)
		key := strings.ToUpper(strings.ReplaceAll(id, "-", "_"))
		r := emulatorRow(w, id, fr.Name, func() {
			if fr.Credentials == conformance.CredSTSExpired {
				w.emu.ExpireSessions()
			}
			w.emu.Inject(fr.Faults...)
		}, fr.Requests)
		r.exit, r.fragment, r.retries = fr.ExitCode(), fr.Fragment, fr.Retries
		if r.exit == 0 {
			r.image = "m-bp1e2enew000000002"
		}
		sts := "${{ env.EMULATOR_ENDPOINT }}"
		if fr.STSUnreachable {
			sts = "127.0.0.1:1"
		}
		r.with = []string{"region", "cn-hangzhou", "image-family", "web-base", "endpoint", "${{ env.EMULATOR_ENDPOINT }}", "sts-endpoint", sts}
		var keyID, secret, token string // no security-token input when token is ""
		switch fr.Credentials {
		case conformance.CredKeys, conformance.CredWrongSecret:
			keyID, secret = e2eKeyID, e2eSecret
		case conformance.CredSTSWrongSecret, conformance.CredSTSExpired, conformance.CredSTSOtherToken:
			a := assumeRoleE2E(t, w.emu)
			keyID, secret, token = a[0], a[1], a[2]
			r.secrets[key+"_ISSUED_SECRET"] = a[1] // for the scan of the log
			if fr.Credentials == conformance.CredSTSOtherToken {
				token = assumeRoleE2E(t, w.emu)[2]
			}
		case conformance.CredOIDC:
			// The job's keys would compete with OIDC.
			r.env["ALIBABA_CLOUD_ACCESS_KEY_ID"], r.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "", ""
			r.with = append(r.with, "role-to-assume", actOIDCRole, "oidc-provider-arn", actOIDCProvider)
		default:
			t.Fatalf("row %q: credentials %d have no mapping in act's runner", fr.Name, fr.Credentials)
		}
		if fr.Credentials == conformance.CredWrongSecret || fr.Credentials == conformance.CredSTSWrongSecret {
			secret = conformance.FaultWrongSecret
		}
		for input, v := range map[string]string{"access-key-id": keyID, "access-key-secret": secret, "security-token": token} {
			if v != "" {
				name := key + "_" + strings.ToUpper(strings.ReplaceAll(input, "-", "_"))
				r.secrets[name] = v
				r.with = append(r.with, input, "${{ secrets."+name+" }}")
			}
		}
		if fr.Untrusted {
			r.env["SSL_CERT_FILE"] = "/nonexistent/none.pem"
		}
		if fr.Timeout > 0 {
			r.with = append(r.with, "timeout", fr.Timeout.String())
		}
		r.with = append(r.with, "max-attempts", strconv.Itoa(fr.MaxAttempts))
		rows = append(rows, r)
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

// badInputRows fail before a request (the gate counts the emulator's), with
// exit 2 and their annotation. The rules of each input are the core's and
// the action's Main's tables (action/action_badinput_test.go,
// action/lifecycle_test.go); act shows the input reaching the action.
func badInputRows(w *world) []actRow {
	noRequest := map[string]int{"": 0}
	misspelt := emulatorRow(w, "misspelt-input", "image_family is not an input of this action (a typo of image-family), so the required family is missing", func() {}, noRequest)
	misspelt.with = []string{"region", "cn-hangzhou", "image_family", "web-base"}
	misspelt.fragment = `::error title=Image family lookup failed::invalid input image-family "": it is required`
	promote := emulatorRow(w, "region-with-promote", "a lookup's input with command promote", func() {}, noRequest)
	promote.with = []string{"command", "promote", "region", "cn-hangzhou", "image-family", "web-base", "image-ids", `'{"cn-hangzhou":"m-bp1e2enew000000002"}'`}
	promote.fragment = `::error title=Image family promote failed::invalid input region "cn-hangzhou": it has no meaning with command promote (only with lock or resolve)`
	rows := []actRow{misspelt, promote}
	for i := range rows {
		rows[i].exit = 2
		rows[i].with = append(rows[i].with, "endpoint", "${{ env.EMULATOR_ENDPOINT }}")
	}
	return rows
}

// hostileRows are the sampled hostile rows, each on its own server.
func hostileRows(t *testing.T) []actRow {
	var rows []actRow
	var cert string
	for i, hr := range conformance.Sample(conformance.HostileRows(), conformance.EndToEnd) {
		srv := conformance.StartHostile(hr)
		t.Cleanup(srv.Close)
		if cert == "" { // httptest's servers share one certificate
			var err error
			if cert, err = srv.WriteCertFile(t.TempDir()); err != nil {
				t.Fatal(err)
			}
		}
		r := actRow{id: fmt.Sprintf("hostile-%d", i+1), name: hr.Name, exit: hr.ExitCode, fragment: srv.Fill(hr.Fragment), retries: -1,
			env:  map[string]string{"SSL_CERT_FILE": cert},
			with: []string{"region", "cn-hangzhou", "image-family", "web-base", "endpoint", srv.Endpoint(), "timeout", srv.Timeout().String(), "max-attempts", strconv.Itoa(conformance.HostileMaxAttempts)},
			seen: func(t *testing.T) {
				if n := srv.Requests(); n != hr.Requests {
					t.Errorf("the endpoint saw %d requests, want %d", n, hr.Requests)
				}
				if n := srv.OtherRequests(); n != 0 {
					t.Errorf("the second listener saw %d requests", n)
				}
			}}
		if hr.ExitCode == 0 {
			r.image = conformance.HostileImageID
		}
		rows = append(rows, r)
	}
	return rows
}

// gateStep calls the gate with bash alone (no curl on a bare runner).
func gateStep(what, id string) string {
	return fmt.Sprintf(`      - name: gate %[1]s %[2]s
        shell: bash
        run: |
          exec 3<>/dev/tcp/127.0.0.1/$GATE_PORT
          printf 'GET /%[1]s/%[2]s HTTP/1.0\r\n\r\n' >&3
          grep -q '^ok' <&3
`, what, id)
}

// rowsWorkflowFile is a job per row: the rows with a gate in one chain, the
// others in a second.
func rowsWorkflowFile(rows []actRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by test/action/act_rows_test.go.
name: %s
on: push
permissions:
  id-token: write
  contents: read
env:
  ALIBABA_CLOUD_ACCESS_KEY_ID: ${{ secrets.ALICLOUD_ACCESS_KEY_ID }}
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: ${{ secrets.ALICLOUD_ACCESS_KEY_SECRET }}
jobs:
`, rowsWorkflow)
	prev := map[bool]string{}
	for _, r := range rows {
		gated := r.before != nil
		fmt.Fprintf(&b, "  %s:\n    runs-on: ubuntu-latest\n", r.id)
		if prev[gated] != "" {
			fmt.Fprintf(&b, "    needs: [%s]\n", prev[gated])
		}
		prev[gated] = r.id
		b.WriteString("    steps:\n      - uses: actions/checkout@v4\n")
		if gated {
			b.WriteString(gateStep("before", r.id))
		}
		fmt.Fprintf(&b, "      # %s\n      - id: %s\n        uses: ./\n        continue-on-error: true\n", r.name, r.id)
		if len(r.env) > 0 {
			b.WriteString("        env:\n")
			for _, k := range slices.Sorted(maps.Keys(r.env)) {
				fmt.Fprintf(&b, "          %s: %q\n", k, r.env[k])
			}
		}
		b.WriteString("        with:\n")
		for i := 0; i+1 < len(r.with); i += 2 {
			fmt.Fprintf(&b, "          %s: %s\n", r.with[i], r.with[i+1])
		}
		if gated {
			b.WriteString(gateStep("after", r.id))
		}
		fmt.Fprintf(&b, `      - name: outcome %[1]s
        shell: bash
        env:
          OUTCOME: ${{ steps.%[1]s.outcome }}
          FOUND: ${{ steps.%[1]s.outputs.found }}
          IMAGE: ${{ steps.%[1]s.outputs.image-id }}
          CHANGED: ${{ steps.%[1]s.outputs.changed }}
        run: echo "ROW-OUTCOME $OUTCOME found=$FOUND image=$IMAGE changed=$CHANGED"
`, r.id)
	}
	return b.String()
}

// actRetryLine is a retry line of the step log, and errorLine an
// annotation, as act shows them.
var (
	actRetryLine = regexp.MustCompile(`\| retrying .+: attempt \d+ of \d+ failed \(.+\); next attempt in \S+`)
	errorLine    = regexp.MustCompile(`(?m)^.*::error .*$`)
)

func TestActRows(t *testing.T) {
	w := newWorld(t)
	rows := append(append(faultRows(t, w), badInputRows(w)...), hostileRows(t)...)
	atGate := map[string]func(){} // "before/row-1" -> the row's before
	var secretArgs []string
	scan := secretscan.New(conformance.FaultWrongSecret)
	for _, r := range rows {
		atGate["before/"+r.id], atGate["after/"+r.id] = r.before, r.after
		for _, k := range slices.Sorted(maps.Keys(r.secrets)) {
			secretArgs = append(secretArgs, "--secret", k+"="+r.secrets[k])
			if !strings.HasSuffix(k, "_ID") {
				scan.Add(r.secrets[k])
			}
		}
	}
	gate := w.gate(func(path string) bool {
		if f := atGate[path]; f != nil {
			f()
			return true
		}
		return false
	})
	const path = "test/action/testdata/workflows/rows.yml" // in act's copy of the repository
	if err := os.WriteFile(filepath.Join(w.ws, path), []byte(rowsWorkflowFile(rows)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := w.act(path, []string{gate}, secretArgs...)
	res.must(t)
	scan.Check(t, "act's log", res.out)
	sections := jobSections(res.out, rowsWorkflow)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			log := sections[r.id]
			want, wantCodes := "success found=true image="+r.image+" changed=false", "[]"
			if r.exit != 0 {
				want, wantCodes = "failure found=false image= changed=false", fmt.Sprintf("[%d]", r.exit)
				annotations := errorLine.FindAllString(log, -1)
				if len(annotations) == 0 || !strings.Contains(annotations[len(annotations)-1], r.fragment) {
					t.Errorf("no ::error annotation with %q", r.fragment)
				}
			}
			if !strings.Contains(log, "| ROW-OUTCOME "+want+"\n") {
				t.Errorf("outcome: want %q", want)
			}
			if codes := fmt.Sprint(exitCodes(log)); codes != wantCodes {
				t.Errorf("exit codes of failed steps %s, want %s", codes, wantCodes)
			}
			if n := len(actRetryLine.FindAllString(log, -1)); r.retries >= 0 && n != r.retries {
				t.Errorf("%d retry lines, want %d", n, r.retries)
			}
			r.seen(t)
			if t.Failed() {
				t.Logf("log of %s:\n%.20000s", r.id, log)
			}
		})
	}
	// act v0.2.89, unlike GitHub's runner, does not warn about an input the
	// action does not declare (the misspelt input fails only because the
	// family is required); say so when a newer act does.
	if strings.Contains(res.out, "Unexpected input") {
		t.Logf("act warns about unexpected inputs")
	}
}

// jobLine is a line of act's log with its job prefix ("[workflow/job   ] ").
var jobLine = regexp.MustCompile(`^\[([^/\]]+)/([^\]]+?)\s*\] `)

// jobSections cuts act's log of workflow into each job's lines (jobs may
// run side by side, so their lines interleave). A line without the prefix
// continues the one before it (a multi-line value act echoes, a summary).
func jobSections(out, workflow string) map[string]string {
	sections := map[string]string{}
	job := ""
	for _, l := range strings.Split(out, "\n") {
		if m := jobLine.FindStringSubmatch(l); m != nil {
			job = map[bool]string{true: m[2]}[m[1] == workflow]
		}
		if job != "" {
			sections[job] += l + "\n"
		}
	}
	return sections
}
