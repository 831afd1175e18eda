package action

// The command lock through Main against the real core and the in-process
// emulator, one case per outcome class: the write, check clean and drifted
// (exit 4), a guard's refusal (5), a family missing in a region (3), bad
// input (2) with nothing sent, and the changes output escaped for
// Markdown, and a deprecated pin in every sink. The file's rules
// (byte-identical refresh, which pin is stale, the entry that moves) are
// the core's: imagefamily TestLockWriteRefreshCheck.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// lockStep is a step of command lock with the emulator's keys, in a
// workspace of its own (GITHUB_WORKSPACE); kv are further inputs.
func lockStep(t *testing.T, srv *ecstest.Server, workspace string, kv ...string) *step {
	t.Helper()
	in := keyed(srv, "command", "lock", "lock-file", "images.lock.json")
	delete(in, "region")
	delete(in, "image-family")
	for i := 0; i < len(kv); i += 2 {
		in[kv[i]] = kv[i+1]
	}
	s := newStep(t, in)
	s.env["GITHUB_WORKSPACE"] = workspace
	return s
}

// lockWant checks the exit code and the outputs changed and changes.
func (s *step) lockWant(code int, changed, changes string) {
	s.t.Helper()
	if s.code != code {
		s.t.Fatalf("exit %d, want %d\n%s", s.code, code, s.stdout)
	}
	outs := s.outputs()
	if outs["changed"] != changed || outs["changes"] != changes {
		s.t.Errorf("changed=%s changes=%q, want %s %q", outs["changed"], outs["changes"], changed, changes)
	}
	if len(outs) != len(outputNames) || outs["image-id"] != "" || outs["json"] != "" || outs["results"] != "[]" {
		s.t.Errorf("outputs %v: want every output, the image's empty", outs)
	}
}

const lockBoth = `{
  "families": {
    "web-base": {
      "cn-hangzhou": {
        "creation_time": "2024-02-01T00:00:00Z",
        "image_id": "m-hznew0001",
        "image_name": "web-base-m-hznew0001"
      },
      "cn-shanghai": {
        "creation_time": "2024-02-02T00:00:00Z",
        "image_id": "m-shnew0001",
        "image_name": "web-base-m-shnew0001"
      }
    }
  },
  "version": 1
}
`

func TestLockWriteRefreshCheck(t *testing.T) {
	srv := emulator(t)
	ws := t.TempDir()
	path := filepath.Join(ws, "images.lock.json")

	// Pin: the file is created in the workspace, one change per entry.
	s := lockStep(t, srv, ws, "image-family", "web-base", "region", "cn-hangzhou,cn-shanghai").runMain(viaEmulator(srv))
	s.lockWant(0, "true", "- web-base cn-hangzhou: none -> m-hznew0001 (created 2024-02-01T00:00:00Z, named web-base-m-hznew0001)\n"+
		"- web-base cn-shanghai: none -> m-shnew0001 (created 2024-02-02T00:00:00Z, named web-base-m-shnew0001)\n")
	if got := readFile(t, path); got != lockBoth {
		t.Fatalf("the lock file:\n%s\nwant:\n%s", got, lockBoth)
	}
	s.logHas("web-base cn-hangzhou: none -> m-hznew0001 (created 2024-02-01T00:00:00Z)", "wrote images.lock.json: 2 entries changed")
	s.summaryHas("### Alibaba Cloud image family lock file `images.lock.json`", "Changed:", "- web-base cn-shanghai: none -> m-shnew0001")
	if outs := s.outputs(); outs["found"] != "true" {
		t.Errorf("found=%s, want true", outs["found"])
	}

	// Check, current: exit 0.
	s = lockStep(t, srv, ws, "check", "true").runMain(viaEmulator(srv))
	s.lockWant(0, "false", "")
	s.summaryHas("(check: nothing is written)", "2 entries checked")

	// A newer image: check drifts (exit 4), the file untouched.
	srv.AddImage("cn-hangzhou", emuImage("m-hznewer0002", "2024-05-02T00:00:00Z"))
	const change = "- web-base cn-hangzhou: m-hznew0001 -> m-hznewer0002 (created 2024-05-02T00:00:00Z, named web-base-m-hznewer0002)\n"
	s = lockStep(t, srv, ws, "check", "true").runMain(viaEmulator(srv))
	s.lockWant(4, "true", change)
	s.logHas("::error title=Lock file differs::images.lock.json: 1 difference; nothing was written (check): web-base cn-hangzhou: m-hznew0001 -> m-hznewer0002 (created 2024-05-02T00:00:00Z)")
	s.summaryHas("Would change:", change)
	if readFile(t, path) != lockBoth {
		t.Error("check changed the file")
	}

	// The pinned image deprecated as well (a rollback): the action says so
	// in the step log, the annotation and the summary (the wording and the
	// status are the core's).
	srv.SetImageStatus("cn-hangzhou", "m-hznew0001", "Deprecated")
	const stale = "web-base cn-hangzhou: the pinned image m-hznew0001 is Deprecated"
	s = lockStep(t, srv, ws, "check", "true").runMain(viaEmulator(srv))
	s.lockWant(4, "true", change)
	s.logHas(stale, "::error title=Lock file differs::images.lock.json: 1 difference; nothing was written (check): "+stale+"; web-base cn-hangzhou: m-hznew0001 -> m-hznewer0002")
	s.summaryHas("- " + stale)
}

func TestLockGuardAndMissing(t *testing.T) {
	srv := emulator(t)
	ws := t.TempDir()
	path := filepath.Join(ws, "images.lock.json")
	if err := os.WriteFile(path, []byte(lockBoth), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.AddImage("cn-hangzhou", emuImage("m-hznewer0002", "2024-05-02T00:00:00Z"))

	// A guard refuses the newer image: never written, exit 5.
	s := lockStep(t, srv, ws, "architecture", "arm64").runMain(viaEmulator(srv))
	s.lockWant(5, "false", "")
	s.logHas("::error title=Image family lock kept web-base in cn-hangzhou::", "the entry is kept: m-hznew0001")
	if readFile(t, path) != lockBoth {
		t.Error("a refused image was written")
	}
	if outs := s.outputs(); outs["found"] != "false" {
		t.Errorf("found=%s, want false", outs["found"])
	}

	// A family with no image in a region: exit 3, nothing added.
	s = lockStep(t, srv, ws, "image-family", "web-base", "region", "cn-beijing").runMain(viaEmulator(srv))
	s.lockWant(3, "false", "")
	s.logHas("web-base cn-beijing: no available image in the family; nothing is added")
	if readFile(t, path) != lockBoth {
		t.Error("the file changed")
	}
}

func TestLockBadInputSendsNothing(t *testing.T) {
	srv := emulator(t)
	ws := t.TempDir()
	path := filepath.Join(ws, "images.lock.json")
	malformed := []byte(`{"version": 1, "families": {"web-base": {"cn-hangzhou": {"image_id": "m-1"}}}`)
	if err := os.WriteFile(path, malformed, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		kv   []string
		frag string
	}{
		{"malformed", nil, `invalid input lock-file "images.lock.json": it is not JSON: line 1`},
		{"no such file", []string{"lock-file", "other.lock.json"}, `invalid input lock-file "other.lock.json": there is no such file; create it by naming the image-family and region to pin`},
		{"outside the workspace", []string{"lock-file", "../images.lock.json"}, `invalid input lock-file "../images.lock.json": a relative path is the workspace's`},
		{"no lock-file", []string{"lock-file", ""}, `invalid input lock-file "": it is required with command lock`},
		{"check with resolve", []string{"command", "resolve", "region", "cn-hangzhou", "image-family", "web-base", "lock-file", "", "check", "true"},
			`invalid input check "true": it has no meaning with command resolve (only with lock)`},
		{"lock-file with promote", []string{"command", "promote", "image-family", "web-base", "image-ids", `{"cn-hangzhou":"m-hznew0001"}`},
			`invalid input lock-file "images.lock.json": it has no meaning with command promote (only with lock)`},
		{"bad region", []string{"image-family", "web-base", "region", "cn hangzhou"}, `invalid input region`},
	} {
		t.Run(c.name, func(t *testing.T) {
			runBadInput(t, srv, lockStep(t, srv, ws, c.kv...), c.frag)
			if readFile(t, path) != string(malformed) {
				t.Error("the file changed")
			}
		})
	}
}

// A hostile image name reaches the changes output (a pull request's body)
// and the job summary as text: no HTML, no link, no mention, no line of
// its own; the lock file keeps it exact.
func TestLockChangesEscaped(t *testing.T) {
	srv := emulator(t)
	ws := t.TempDir()
	img := emuImage("m-hzhostile01", "2024-06-01T00:00:00Z")
	img.ImageName = `<img src=x onerror=alert(1)> [pwn](https://evil.example) @admin ##[error]x | y`
	srv.AddImage("cn-hangzhou", img)
	s := lockStep(t, srv, ws, "image-family", "web-base", "region", "cn-hangzhou").runMain(viaEmulator(srv))
	const line = `- web-base cn-hangzhou: none -> m-hzhostile01 (created 2024-06-01T00:00:00Z, named &lt;img src=x onerror=alert(1)&gt; \[pwn\](https\://evil.example) \@admin ##\\\[error\]x \| y)` + "\n"
	s.lockWant(0, "true", line)
	for _, bad := range []string{"<img", "[pwn](", "https://evil", " @admin", "##[error]"} {
		if strings.Contains(s.outputs()["changes"], bad) || strings.Contains(s.summary(), bad) {
			t.Errorf("changes or the summary hold %q:\n%s\n%s", bad, s.outputs()["changes"], s.summary())
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(ws, "images.lock.json")), `"image_name": "`+img.ImageName+`"`) {
		t.Error("the lock file does not hold the name exactly")
	}
}

func TestWorkspacePath(t *testing.T) {
	for _, c := range []struct{ ws, in, want string }{
		{"/w", "images.lock.json", "/w/images.lock.json"},
		{"/w", "ci/./images.lock.json", "/w/ci/images.lock.json"},
		{"/w", "/etc/images.lock.json", "/etc/images.lock.json"},
		{"", "images.lock.json", "images.lock.json"},
	} {
		if got, err := workspacePath(c.ws, c.in); err != nil || got != filepath.FromSlash(c.want) {
			t.Errorf("workspacePath(%q, %q) = %q, %v; want %q", c.ws, c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "..", "../x", "a/../../x", "a\nb"} {
		if _, err := workspacePath("/w", in); err == nil {
			t.Errorf("workspacePath(%q) accepted", in)
		}
	}
}

// A check whose lookups all fail (a wrong secret: the pins cannot be looked
// up either) found no difference: the step fails (exit 1) on the failures,
// with no "Lock file differs" annotation claiming one.
func TestLockCheckFailingIsNoDifference(t *testing.T) {
	srv := emulator(t)
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "images.lock.json"), []byte(lockBoth), 0o644); err != nil {
		t.Fatal(err)
	}
	s := lockStep(t, srv, ws, "check", "true", "access-key-secret", "wrong-secret-value-xyz").runMain(viaEmulator(srv))
	s.lockWant(1, "false", "")
	s.logHas("::error title=Image family lock kept web-base in cn-hangzhou::", "no difference found, but 2 of 2 entries could not be checked")
	if log := s.stdout.String(); strings.Contains(log, "Lock file differs") {
		t.Errorf("a check that found no difference annotates one:\n%s", log)
	}
}
