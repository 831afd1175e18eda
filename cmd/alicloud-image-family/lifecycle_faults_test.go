package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// The lifecycle's rows of the fault table (ecstest.LifecycleFaultRows),
// one row per command and outcome class, through the binary's promote and
// rollback against a fresh emulator process each: the exit code, stdout's
// outcome line, stderr's fragment, the retry lines and the requests by
// action. The core runs every row (imagefamily/lifecycle_faults_test.go).
func TestLifecycleFaultMatrixCLI(t *testing.T) {
	seen := map[string]bool{}
	for _, row := range ecstest.LifecycleFaultRows() {
		class := row.Command + "/" + row.Outcome.String()
		if seen[class] {
			continue
		}
		seen[class] = true
		t.Run(row.Name, func(t *testing.T) {
			e := startEmulatorWith(t, ecstest.LifecycleFixture())
			env := demoEnv
			switch row.Credentials {
			case ecstest.CredKeys:
			case ecstest.CredReadOnly:
				env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": ecstest.ReadOnlyKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ecstest.ReadOnlyKeySecret}
			case ecstest.CredNoWrite:
				env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": ecstest.NoWriteKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ecstest.NoWriteKeySecret}
			default:
				t.Fatalf("row %q: credentials %d have no mapping in the CLI's lifecycle runner", row.Name, row.Credentials)
			}
			region, id := "cn-hangzhou", ecstest.LifecycleRollbackImage
			wantLine := "rolled-back"
			if row.Command == ecstest.CommandPromote {
				if err := e.Control.SetCopyPolls(0); err != nil {
					t.Fatal(err)
				}
				cp, err := e.Control.CopyImage("cn-hangzhou", ecstest.LifecycleCopySource, ecstest.LifecycleCopyRegion)
				if err != nil {
					t.Fatal(err)
				}
				region, id, wantLine = ecstest.LifecycleCopyRegion, cp, "promoted"
			}
			for _, f := range row.Faults {
				if err := e.Control.Fault(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			args := []string{row.Command, "--endpoint", e.Endpoint, "--image-family", "web-base",
				"--image-ids", region + "=" + id, "--max-attempts", strconv.Itoa(row.MaxAttempts)}
			if row.Timeout > 0 {
				args = append(args, "--timeout", row.Timeout.String())
			}
			r := runCLI(t, e, env, args...)
			t.Logf("exit %d after %v: %s", r.code, r.elapsed.Round(time.Millisecond), strings.TrimSpace(r.stderr))
			if r.code != row.ExitCode() {
				t.Errorf("exit code %d, want %d", r.code, row.ExitCode())
			}
			if row.ExitCode() == exitOK {
				wantLine = region + "\t" + wantLine + "\t" + id + "\n"
			} else {
				wantLine = region + "\tfailed\t" + id + "\n"
				if !strings.Contains(r.stderr, row.Fragment) {
					t.Errorf("stderr lacks %q", row.Fragment)
				}
			}
			if r.stdout != wantLine {
				t.Errorf("stdout %q, want %q", r.stdout, wantLine)
			}
			if n := retryLines(r.stderr); n != row.Retries {
				t.Errorf("%d retry lines on stderr, want %d", n, row.Retries)
			}
			if row.Within > 0 && r.elapsed > row.Within+processStartAllowance {
				t.Errorf("took %v, want at most %v", r.elapsed, row.Within+processStartAllowance)
			}
			counts, err := e.Control.Requests()
			if err != nil {
				t.Fatal(err)
			}
			for action, want := range row.Requests {
				if got := counts.ByAction[action]; got != want {
					t.Errorf("the emulator saw %d %q requests, want %d", got, action, want)
				}
			}
		})
	}
}
