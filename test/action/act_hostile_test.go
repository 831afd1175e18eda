package actione2e

// act's runner of the hostile-endpoint table, one representative row per
// shape of answer and per sink: answers refused for their nesting, their
// members or their member names (at the transport and in the answer
// check), accepted answers at the cap (nested to the limit, many tags,
// string escapes), and answers that plant legacy runner commands ("##[...")
// in labels, error codes and a refused status. Each row has its own
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

// actHostileRows names the representatives (by the start of their names).
var actHostileRows = []string{
	"shape: deep arrays in an unknown member",
	"shape: deep arrays in an error answer",
	"shape: an object of 513 members",
	"shape: member names made by escapes",
	"shape: nesting at the limit, wide at the bottom",
	"shape: string escapes",
	"shape: many tags",
	"labels planting legacy runner commands",
	"error Code and Message planting legacy runner commands",
	"Status planting legacy runner commands",
}

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
      - name: outcome %[1]s
        shell: bash
        env:
          OUTCOME: ${{ steps.%[1]s.outcome }}
          FOUND: ${{ steps.%[1]s.outputs.found }}
          IMAGE: ${{ steps.%[1]s.outputs.image-id }}
        run: echo "HOSTILE-ROW-OUTCOME %[1]s $OUTCOME found=$FOUND image=$IMAGE"
`, r.id, r.row.Name, cert, r.srv.Endpoint(), r.srv.Timeout())
	}
	return b.String()
}

func TestActHostileEndpoints(t *testing.T) {
	w := newWorld(t)
	all := conformance.HostileRows()
	var rows []actHostile
	for i, name := range actHostileRows {
		var row *conformance.HostileRow
		for j := range all {
			if strings.HasPrefix(all[j].Name, name) {
				row = &all[j]
				break
			}
		}
		if row == nil {
			t.Fatalf("conformance.HostileRows has no row %q", name)
		}
		h := conformance.StartHostile(*row)
		t.Cleanup(h.Close)
		rows = append(rows, actHostile{id: fmt.Sprintf("hostile-%d", i+1), row: *row, srv: h})
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
			// The action's attempt budget is 5; a row the table retries
			// (twice at its budget) is retried up to it.
			wantReq := r.row.Requests
			if wantReq > 1 {
				wantReq = actionAttempts
			}
			if n := r.srv.Requests(); n != wantReq {
				t.Errorf("the endpoint saw %d requests, want %d", n, wantReq)
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
