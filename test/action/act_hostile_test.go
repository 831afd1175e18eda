package actione2e

// act's runner of the hostile-endpoint table: a row per outcome class and
// per sink (conformance.Sample, EndToEnd; the core and the CLI binary run
// every row, the action's Main a row per class and set of sinks). Each row
// has its own
// misbehaving TLS server on loopback and its own job, run by act as a runner
// would run the action; the log must show the row's outcome and outputs,
// one-line annotations, no crash, and no forged command.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

type actHostile struct {
	id  string
	row conformance.HostileRow
	srv *conformance.HostileServer
}

func hostileWorkflow(rows []actHostile, cert string) string {
	var b strings.Builder
	b.WriteString(`# Written by test/action/act_hostile_test.go.
name: hostile
on: push
permissions:
  contents: read
env:
  ALIBABA_CLOUD_ACCESS_KEY_ID: ${{ secrets.ALICLOUD_ACCESS_KEY_ID }}
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: ${{ secrets.ALICLOUD_ACCESS_KEY_SECRET }}
jobs:
`)
	prev := ""
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s:\n    runs-on: ubuntu-latest\n", r.id)
		if prev != "" {
			fmt.Fprintf(&b, "    needs: [%s]\n", prev)
		}
		prev = r.id
		fmt.Fprintf(&b, `    steps:
      - uses: actions/checkout@v4
      - name: before %[1]s
        shell: bash
        run: echo "HOSTILE-ROW-BEFORE %[1]s"
      # %[2]s
      - id: %[1]s
        uses: ./
        continue-on-error: true
        env:
          SSL_CERT_FILE: %[3]q
        with:
          region: cn-hangzhou
          image-family: web-base
          endpoint: %[4]s
          timeout: %[5]s
          max-attempts: %[6]d
      - name: outcome %[1]s
        shell: bash
        env:
          OUTCOME: ${{ steps.%[1]s.outcome }}
          FOUND: ${{ steps.%[1]s.outputs.found }}
          IMAGE: ${{ steps.%[1]s.outputs.image-id }}
        run: echo "HOSTILE-ROW-OUTCOME %[1]s $OUTCOME found=$FOUND image=$IMAGE"
`, r.id, r.row.Name, cert, r.srv.Endpoint(), r.srv.Timeout(), conformance.HostileMaxAttempts)
	}
	return b.String()
}

func TestActHostileEndpoints(t *testing.T) {
	w := newWorld(t)
	var rows []actHostile
	for i, row := range conformance.Sample(conformance.HostileRows(), conformance.EndToEnd) {
		h := conformance.StartHostile(row)
		t.Cleanup(h.Close)
		rows = append(rows, actHostile{id: fmt.Sprintf("hostile-%d", i+1), row: row, srv: h})
	}
	// httptest's servers share one certificate.
	cert, err := rows[0].srv.WriteCertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(w.ws, "testdata", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hostile.yml"), []byte(hostileWorkflow(rows, cert)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := w.act("hostile.yml", nil)
	if res.err != nil {
		t.Fatalf("act failed: %v\n%s", res.err, res.out)
	}
	sections := logSections(res.out, "HOSTILE-ROW")
	for _, r := range rows {
		t.Run(r.row.Name, func(t *testing.T) {
			log, ok := sections[r.id]
			if !ok {
				t.Fatalf("no section of the log for %s", r.id)
			}
			want := "success found=true image=" + conformance.HostileImageID
			if r.row.ExitCode != 0 {
				want = "failure found=false image="
			}
			if !strings.Contains(log, "HOSTILE-ROW-OUTCOME "+r.id+" "+want+"\n") {
				t.Errorf("outcome: want %q", want)
			}
			if r.row.ExitCode != 0 {
				annotation := ""
				for _, l := range strings.Split(log, "\n") {
					if strings.Contains(l, "::error ") {
						annotation = l
					}
				}
				if !strings.Contains(annotation, r.srv.Fill(r.row.Fragment)) {
					t.Errorf("no ::error annotation with %q", r.row.Fragment)
				}
				if len(annotation) > 4096 {
					t.Errorf("the annotation is %d bytes", len(annotation))
				}
			}
			for _, crash := range []string{"panic:", "fatal error:", "goroutine ", "[running]"} {
				if strings.Contains(log, crash) {
					t.Errorf("the step crashed (%q in its log)", crash)
				}
			}
			for _, l := range strings.Split(log, "\n") {
				// The step's own lines carry act's job prefix. act also
				// echoes each output, exact (continuation lines of a
				// multi-line value without the prefix), and the job summary;
				// a runner prints neither to the step log.
				if !strings.HasPrefix(l, "[hostile/") || strings.Contains(l, "::set-output:: ") {
					continue
				}
				for _, f := range r.row.Forged {
					if strings.Contains(f, "##[") && strings.Contains(l, f) {
						t.Errorf("a log line holds the forged legacy command %q: %.300s", f, l)
					}
				}
			}
			if n := r.srv.Requests(); n != r.row.Requests {
				t.Errorf("the endpoint saw %d requests, want %d", n, r.row.Requests)
			}
			if n := r.srv.OtherRequests(); n != 0 {
				t.Errorf("the second listener saw %d requests", n)
			}
			if t.Failed() {
				t.Logf("log of %s:\n%.20000s", r.id, log)
			}
		})
	}
}
