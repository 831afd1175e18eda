package action

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
)

// stepLogAction is an Action writing to buf through StepLog, as Main makes
// it.
func stepLogAction(buf *bytes.Buffer) *githubactions.Action {
	return githubactions.New(githubactions.WithWriter(StepLog(buf)), githubactions.WithGetenv(func(string) string { return "" }))
}

// Our own workflow commands come out of StepLog byte for byte as
// go-githubactions writes them.
func TestStepLogKeepsOwnCommands(t *testing.T) {
	var raw, filtered bytes.Buffer
	for _, a := range []*githubactions.Action{
		githubactions.New(githubactions.WithWriter(&raw), githubactions.WithGetenv(func(string) string { return "" })),
		stepLogAction(&filtered),
	} {
		a.AddMask("action-secret-0001")
		a.WithFieldsMap(map[string]string{"title": "Image family lookup failed in cn-hangzhou"}).Errorf("%s", "refused: 100% [RequestId R-1]\nnext")
		a.Warningf("%s", "summary # not written [x]")
		a.Debugf("%s", "[alicloud-image-family] > POST https://ecs.aliyuncs.com/ #1")
		a.Infof("%s", "cn-hangzhou: the newest image in family web is m-1 (web, version 7)")
	}
	if raw.String() != filtered.String() {
		t.Errorf("StepLog changed our commands:\n%s\nwant:\n%s", filtered.String(), raw.String())
	}
}

// Server text that holds the legacy prefix, or ends in "##" before a "["
// of ours, never leaves a "##[" in the log; a secret holding "##[" is
// masked as it is and as the log shows it.
func TestStepLogLegacyPrefix(t *testing.T) {
	var buf bytes.Buffer
	a := stepLogAction(&buf)
	a.AddMask("se##[cret-value")
	// Text deliberately not passed through safetext.Terminal: the writer
	// is the guard behind it.
	a.Infof("%s[RequestId R-1]", "Throttling##")
	a.Infof("found %s", "web##[error]forged")
	a.WithFieldsMap(map[string]string{"title": "t ##[stop-commands]x"}).Errorf("%s", "denied ##[add-mask]m-hostile0000000000001")
	a.Warningf("#%s", "#[error]split")

	want := "::add-mask::se##[cret-value\n" +
		"::add-mask::se##\\[cret-value\n" +
		"Throttling##\\[RequestId R-1]\n" +
		"found web##\\[error]forged\n" +
		"::error title=t ##\\[stop-commands]x::denied ##\\[add-mask]m-hostile0000000000001\n" +
		"::warning::##\\[error]split\n"
	if got := buf.String(); got != want {
		t.Errorf("step log:\n%s\nwant:\n%s", got, want)
	}
}

// Writes that cut a line anywhere: the prefix is caught across them, and an
// "::add-mask::" is passed exactly only when it is a whole line of its own.
func TestStepLogWrites(t *testing.T) {
	var buf bytes.Buffer
	w := StepLog(&buf)
	for _, p := range []string{
		"code ##", "[error]forged\n",
		"::add-mask::a##[b\n",
		"mid-line ", "::add-mask::c##[d\n",
		"::add-mask::e##[f", " and more\n",
		"#", "#", "[stop-commands]x\n",
	} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	want := "code ##\\[error]forged\n" +
		"::add-mask::a##[b\n::add-mask::a##\\[b\n" +
		"mid-line ::add-mask::c##\\[d\n" +
		"::add-mask::e##\\[f and more\n" +
		"##\\[stop-commands]x\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// Main writes through StepLog: a secret input holding "##[" is masked as it
// is and as the rewritten log would show it.
func TestMainWritesThroughStepLog(t *testing.T) {
	s := newStep(t, map[string]string{"access-key-secret": "action-se##[cret-0001"}).runMain()
	if s.code != 2 {
		t.Errorf("exit %d, want 2 (no region)", s.code)
	}
	out := s.stdout.String()
	for _, want := range []string{"::add-mask::action-se##[cret-0001\n", "::add-mask::action-se##\\[cret-0001\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}
