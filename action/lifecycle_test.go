package action

// The commands promote and rollback through Main against the real core and
// the in-process emulator, which serves the family lifecycle: one case per
// outcome class, each checked in every sink (exit code, step log,
// annotations, outputs, job summary) and against the emulator's state.

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// lifecycleStep is a step of command cmd with image-ids ids (and the
// emulator's keys), without the lookup's region input.
func lifecycleStep(t *testing.T, srv *ecstest.Server, cmd, ids string, kv ...string) *step {
	t.Helper()
	return newStep(t, lifecycleStepInputs(srv, cmd, ids, kv...))
}

// results reads the results output.
func (s *step) results() []imagefamily.OutcomeRecord {
	s.t.Helper()
	var rs []imagefamily.OutcomeRecord
	if err := json.Unmarshal([]byte(s.outputs()["results"]), &rs); err != nil {
		s.t.Fatalf("results output %q: %v", s.outputs()["results"], err)
	}
	return rs
}

// want checks the exit code, the outcome of each region (in the order of
// their names) and the outputs image-ids, changed and found.
func (s *step) want(code int, outcomes []string, imageIDs, changed, found string) {
	s.t.Helper()
	if s.code != code {
		s.t.Fatalf("exit %d, want %d\n%s", s.code, code, s.stdout)
	}
	var got []string
	for _, r := range s.results() {
		got = append(got, r.Outcome)
	}
	if !reflect.DeepEqual(got, outcomes) {
		s.t.Errorf("outcomes %v, want %v\n%s", got, outcomes, s.stdout)
	}
	outs := s.outputs()
	if outs["image-ids"] != imageIDs || outs["changed"] != changed || outs["found"] != found {
		s.t.Errorf("image-ids=%s changed=%s found=%s, want %s %s %s", outs["image-ids"], outs["changed"], outs["found"], imageIDs, changed, found)
	}
	if outs["json"] != "" || outs["image-id"] != "" {
		s.t.Errorf("outputs %v: want the image's empty", outs)
	}
}

func (s *step) logHas(frags ...string)     { s.t.Helper(); s.has("step log", s.stdout.String(), frags) }
func (s *step) summaryHas(frags ...string) { s.t.Helper(); s.has("job summary", s.summary(), frags) }

func (s *step) has(sink, text string, frags []string) {
	s.t.Helper()
	for _, f := range frags {
		if !strings.Contains(text, f) {
			s.t.Errorf("%s lacks %q:\n%s", sink, f, text)
		}
	}
}

func TestLifecyclePromoteAndRollback(t *testing.T) {
	srv := emulator(t)
	const newest, older = "m-hznew0001", "m-hzold0001"
	cp := srv.CopyImage("cn-hangzhou", newest, "cn-beijing")
	ids := `{"cn-hangzhou":"` + newest + `","cn-beijing":"` + cp + `"}`

	// Dry run: says which image would change, changes nothing.
	s := lifecycleStep(t, srv, "promote", ids, "wait-timeout", "30s", "dry-run", "true").runMain(viaEmulator(srv))
	s.want(0, []string{"would-promote", "already"}, `{"cn-hangzhou":"`+newest+`"}`, "false", "false")
	s.logHas("cn-beijing: dry run: "+cp+` would change: ImageFamily "" -> "web-base" (the API accepted it with DryRun); nothing was changed`,
		"waiting in cn-beijing")
	s.summaryHas("`web-base`: promote (dry run: nothing was changed)", "| cn-beijing | `"+cp+"` | would-promote | ImageFamily \"\" -&gt; \"web-base\" |")
	if img, _ := srv.Image("cn-beijing", cp); img.ImageFamily != "" || img.ImageId != cp {
		t.Fatalf("the dry run set the family: %+v", img)
	}

	// Promote.
	s = lifecycleStep(t, srv, "promote", ids, "wait-timeout", "30s").runMain(viaEmulator(srv))
	s.want(0, []string{"promoted", "already"}, `{"cn-beijing":"`+cp+`","cn-hangzhou":"`+newest+`"}`, "true", "true")
	s.logHas("cn-beijing: promoted "+cp+`: ImageFamily "" -> "web-base"; the family resolves to `+cp,
		"cn-hangzhou: "+newest+" is already a live member of the family, and the family resolves to it; nothing changed")
	s.summaryHas("| cn-beijing | `"+cp+"` | promoted |", "| `"+cp+"` |", "| cn-hangzhou | `"+newest+"` | already | none | `"+newest+"` |")

	// Superseded: exit 4, naming the newer image.
	s = lifecycleStep(t, srv, "promote", `{"cn-hangzhou":"`+older+`"}`).runMain(viaEmulator(srv))
	s.want(4, []string{"superseded"}, `{"cn-hangzhou":"`+newest+`"}`, "false", "true")
	s.logHas("::error title=Image family promote superseded in cn-hangzhou::", "resolves to a newer image, "+newest)

	// Rollback.
	s = lifecycleStep(t, srv, "rollback", `{"cn-hangzhou":"`+newest+`"}`).runMain(viaEmulator(srv))
	s.want(0, []string{"rolled-back"}, `{"cn-hangzhou":"`+older+`"}`, "true", "true")
	s.logHas("cn-hangzhou: rolled-back " + newest + ": Status Available -> Deprecated; the family resolves to " + older)

	// The last image: refused (exit 5).
	s = lifecycleStep(t, srv, "rollback", `{"cn-hangzhou":"`+older+`"}`).runMain(viaEmulator(srv))
	s.want(5, []string{"refused"}, `{"cn-hangzhou":"`+older+`"}`, "false", "true")
	s.logHas("::error title=Image family rollback refused in cn-hangzhou::", "allow-empty")

	// Failed: an image that can never become Available; exit 1.
	s = lifecycleStep(t, srv, "promote", `{"cn-hangzhou":"m-hzbroken"}`).runMain(viaEmulator(srv))
	s.want(1, []string{"failed"}, `{}`, "false", "false")
	s.logHas("::error title=Image family promote failed in cn-hangzhou::", "can never become Available")
	s.summaryHas("| cn-hangzhou | `m-hzbroken` | failed | none | not read back |", "- **cn-hangzhou** (failed): ")
}

// Every sink escapes what a region's outcome carries from a server: the
// step log (no workflow command of its own), the job summary (no HTML,
// table break or link), and the results output keeps it exact.
func TestLifecycleReportEscapes(t *testing.T) {
	hostile := "boom\n::warning::injected | <img src=x> [link](https://evil.example) ##[error]x"
	outs := []imagefamily.RegionOutcome{
		{Region: "cn-hangzhou", ImageID: "m-hznew0001", Outcome: imagefamily.Failed, Err: errors.New(hostile)},
		{Region: "cn-shanghai", ImageID: "m-shnew0001", Outcome: imagefamily.Superseded, Resolves: "m-shnewer001",
			Changes: []string{"ImageFamily \"<b>x</b>\" -> \"web-base\""}, Err: errors.New(hostile)},
	}
	s := newStep(t, map[string]string{})
	a := githubactions.New(githubactions.WithGetenv(s.getenv), githubactions.WithWriter(StepLog(s.stdout)))
	c := &config{}
	err := c.reportLifecycle(a, &inputs{command: "promote", family: "web-base"}, outs, nil)
	if code := ExitCode(err); code != 1 {
		t.Fatalf("exit %d, want 1 (failed over superseded)", code)
	}
	// The harness's checks of every sink (no command but ours, no "##[",
	// no HTML, whole table rows), then the planted command, a link, a line
	// of its own.
	s.checkSinks()
	if w := annotations(s, "::warning"); len(w) != 0 {
		t.Errorf("a server string made a workflow command: %q", w)
	}
	for _, bad := range []string{"[link](https", "https://", "\n::warning"} {
		if strings.Contains(s.summary(), bad) {
			t.Errorf("job summary holds %q:\n%s", bad, s.summary())
		}
	}
	rs := s.results()
	if len(rs) != 2 || rs[0].Error != hostile || rs[1].Changes[0] != outs[1].Changes[0] {
		t.Errorf("results output not exact: %+v", rs)
	}
}

// Bad input to promote and rollback, one row per input-parsing path of the
// commands (the rules: imagefamily TestLifecycleBadInputSendsNothing; CLI
// TestE2ELifecycleBadInputSendsNothing).
func TestLifecycleBadInputSendsNothing(t *testing.T) {
	srv := emulator(t)
	ids := `{"cn-hangzhou":"m-hznew0001"}`
	for _, c := range []struct {
		name   string
		inputs map[string]string
		frag   string
	}{
		{"unknown command", lifecycleStepInputs(srv, "promot", ids), `invalid input command "promot": it must be one of lock, promote, resolve, rollback`},
		{"image-ids with resolve", keyed(srv, "image-ids", ids), `invalid input image-ids`},
		{"dry-run with resolve", keyed(srv, "dry-run", "true"), `invalid input dry-run "true": it has no meaning with command resolve (only with promote or rollback)`},
		{"allow-empty with promote", lifecycleStepInputs(srv, "promote", ids, "allow-empty", "true"), `invalid input allow-empty "true": it has no meaning with command promote (only with rollback)`},
		{"region with promote", lifecycleStepInputs(srv, "promote", ids, "region", "cn-hangzhou"), `invalid input region "cn-hangzhou": it has no meaning with command promote`},
		{"owners with rollback", lifecycleStepInputs(srv, "rollback", ids, "owners", "self"), `invalid input owners "self": it has no meaning with command rollback (only with lock or resolve)`},
		{"wait-timeout with rollback", lifecycleStepInputs(srv, "rollback", ids, "wait-timeout", "1m"), `invalid input wait-timeout "1m": it has no meaning with command rollback (only with promote or resolve)`},
		{"no image-ids", lifecycleStepInputs(srv, "rollback", ""), `invalid input image-ids "": it is required with command rollback`},
		{"image-ids not JSON", lifecycleStepInputs(srv, "promote", "cn-hangzhou=m-hznew0001"), `invalid input image-ids "cn-hangzhou=m-hznew0001": it must be one JSON object`},
		{"dry-run not a boolean", lifecycleStepInputs(srv, "promote", ids, "dry-run", "yes"), `invalid input dry-run "yes": it must be true or false`},
		{"no credentials", lifecycleStepInputs(srv, "promote", ids, "access-key-id", "", "access-key-secret", ""), "no Alibaba Cloud credentials found"},
	} {
		t.Run(c.name, func(t *testing.T) { runBadInput(t, srv, newStep(t, c.inputs), c.frag) })
	}
}

func lifecycleStepInputs(srv *ecstest.Server, cmd, ids string, kv ...string) map[string]string {
	in := keyed(srv, append([]string{"command", cmd, "image-ids", ids}, kv...)...)
	delete(in, "region")
	for i := 0; i < len(kv); i += 2 {
		in[kv[i]] = kv[i+1]
	}
	return in
}
