package imagefamily

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// goldenLock is the one form of a lock file: keys sorted at every level
// (families before version), two-space indent, a final newline, "<" and
// "&" written as they are.
const goldenLock = `{
  "families": {
    "app-server": {
      "cn-shanghai": {
        "creation_time": "2024-03-01T08:30:00Z",
        "image_id": "m-uf6demoappserver00001",
        "image_name": "app <server> & co"
      }
    },
    "web-base": {
      "cn-hangzhou": {
        "creation_time": "2024-03-14T02:00:00Z",
        "image_id": "m-bp1demowebbase000003",
        "image_name": "web-base-v3"
      },
      "cn-shanghai": {
        "creation_time": "2024-03-14T06:00:00Z",
        "image_id": "m-uf6demowebbase000003",
        "image_name": "web-base-v3"
      }
    }
  },
  "version": 1
}
`

func TestLockRenderGolden(t *testing.T) {
	f := LockFile{Families: map[string]map[string]LockEntry{
		"web-base": {
			"cn-shanghai": {ImageID: "m-uf6demowebbase000003", ImageName: "web-base-v3", CreationTime: "2024-03-14T06:00:00Z"},
			"cn-hangzhou": {ImageID: "m-bp1demowebbase000003", ImageName: "web-base-v3", CreationTime: "2024-03-14T02:00:00Z"},
		},
		"app-server": {"cn-shanghai": {ImageID: "m-uf6demoappserver00001", ImageName: "app <server> & co", CreationTime: "2024-03-01T08:30:00Z"}},
	}}
	if got := string(f.Render()); got != goldenLock {
		t.Fatalf("Render:\n%s\nwant:\n%s", got, goldenLock)
	}
	back, err := ParseLock("images.lock.json", []byte(goldenLock))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Render(); !bytes.Equal(got, []byte(goldenLock)) {
		t.Fatalf("parse and render is not the identity:\n%s", got)
	}
	empty := LockFile{}.Render()
	if string(empty) != "{\n  \"families\": {},\n  \"version\": 1\n}\n" {
		t.Fatalf("empty: %q", empty)
	}
}

func TestParseLockRefusals(t *testing.T) {
	entry := `{"creation_time":"2024-03-14T02:00:00Z","image_id":"m-bp1demowebbase000003","image_name":"v3"}`
	for _, tc := range []struct{ in, want string }{
		{``, "it is not JSON"},
		{`{"version":1,"families":{}`, "it is not JSON: line 1"},
		{"{\n\"version\":1,\n\"families\":{},\n}", "it is not JSON: line 4"},
		{`[]`, "the top level: it must be a JSON object"},
		{`{"version":1}`, "families: it is missing"},
		{`{"families":{}}`, "version: it is missing"},
		{`{"version":2,"families":{}}`, "version: unknown version 2"},
		{`{"version":"1","families":{}}`, `version: it must be the number 1, not "1"`},
		{`{"version":1.0,"families":{}}`, "unknown version 1.0"},
		{`{"version":1,"families":{},"extra":true}`, `"extra": unknown member`},
		{`{"version":1,"version":1,"families":{}}`, `the key "version" is written twice`},
		{`{"version":1,"families":[]}`, "families: it must be a JSON object"},
		{`{"version":1,"families":{"aliyun-x":{"cn-hangzhou":` + entry + `}}}`, `families["aliyun-x"]: invalid image family`},
		{`{"version":1,"families":{"web-base":{}}}`, `families["web-base"]: a family pins at least one region`},
		{`{"version":1,"families":{"web-base":{"Hangzhou":` + entry + `}}}`, `families["web-base"]["Hangzhou"]: invalid region`},
		{`{"version":1,"families":{"web-base":{"cn-hangzhou":{"image_id":"m-bp1demowebbase000003","image_name":"v3"}}}}`, `families["web-base"]["cn-hangzhou"].creation_time: it is missing`},
		{`{"version":1,"families":{"web-base":{"cn-hangzhou":{"creation_time":"","image_id":"m-bp1 x","image_name":"v3"}}}}`, `families["web-base"]["cn-hangzhou"].image_id: "m-bp1 x" is not an image id`},
		{`{"version":1,"families":{"web-base":{"cn-hangzhou":{"creation_time":"","image_id":null,"image_name":"v3"}}}}`, `.image_id: it must be a string, not null`},
		{`{"version":1,"families":{"web-base":{"cn-hangzhou":{"creation_time":"yesterday","image_id":"m-bp1demowebbase000003","image_name":"v3"}}}}`, `.creation_time: "yesterday" is not a time`},
		{`{"version":1,"families":{"web-base":{"cn-hangzhou":{"creation_time":"","image_id":"m-bp1demowebbase000003","image_name":"v3","pinned_by":"me"}}}}`, `families["web-base"]["cn-hangzhou"]["pinned_by"]: unknown member`},
		{"{\"version\":1,\"families\":{\"web-base\":{\"cn-hangzhou\":{\"creation_time\":\"\",\"image_id\":\"m-bp1demowebbase000003\",\"image_name\":\"\xff\"}}}}", "it is not UTF-8 text"},
	} {
		_, err := ParseLock("images.lock.json", []byte(tc.in))
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "lock file" || ve.Value != "images.lock.json" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a refusal containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseLock(f *testing.F) {
	f.Add([]byte(goldenLock))
	f.Add([]byte(`{"version":1,"families":{}}`))
	f.Add([]byte(`{"version":1,"families":{"web-base":{"cn-hangzhou":{"creation_time":"","image_id":"m-bp1demowebbase000003","image_name":"\u2028"}}}}`))
	f.Add([]byte(`{"version":2,"families":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		lf, err := ParseLock("f", b)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		// Whatever is accepted renders to a form that reads back the same
		// and renders to the same bytes.
		out := lf.Render()
		back, err := ParseLock("f", out)
		if err != nil {
			t.Fatalf("rendered form refused: %v\n%s", err, out)
		}
		if again := back.Render(); !bytes.Equal(again, out) {
			t.Fatalf("render not stable:\n%s\n%s", out, again)
		}
	})
}

func TestLockWriteRefreshCheck(t *testing.T) {
	srv := emulator(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "images.lock.json")
	req := LockRequest{Request: request(srv), Path: path}
	req.Regions = []string{"cn-shanghai", hangzhou}
	res, err := Lock(ctx, req)
	if err != nil || !res.Written || res.ExitCode() != ExitOK || len(res.Outcomes) != 2 || res.Outcomes[0].Action != LockAdded {
		t.Fatalf("%+v %v", res, err)
	}
	b, _ := os.ReadFile(path)
	want, err := os.ReadFile("testdata/lock/web-base.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("written:\n%s", b)
	}
	if got := res.Outcomes[0].String(); got != "web-base cn-hangzhou: none -> m-bp1demowebbase000003 (created 2024-03-14T02:00:00Z)" {
		t.Fatal(got)
	}

	// A refresh with nothing new writes nothing.
	st0, _ := os.Stat(path)
	res, err = Lock(ctx, LockRequest{Request: request(srv), Path: path})
	st1, _ := os.Stat(path)
	if err != nil || res.Written || res.Changed() || res.ExitCode() != ExitOK || !os.SameFile(st0, st1) || st0.ModTime() != st1.ModTime() {
		t.Fatalf("refresh: %+v %v", res, err)
	}

	// A guard refuses: exit 5, the entry kept, nothing written.
	g := LockRequest{Request: request(srv), Path: path, Regions: []string{hangzhou}}
	g.Guards = Guards{Architecture: "arm64"}
	res, err = Lock(ctx, g)
	if err != nil || res.Written || res.ExitCode() != ExitGuard {
		t.Fatalf("guard: %+v %v", res, err)
	}
	if res, _ := Lock(ctx, LockRequest{Request: request(srv), Path: path, Check: true}); res.ExitCode() != ExitOK {
		t.Fatalf("check: %+v", res)
	}

	// Rollback: deprecate the pinned image; check says 4 and names both.
	srv.SetImageStatus(hangzhou, wantNewest, "Deprecated")
	res, err = Lock(ctx, LockRequest{Request: request(srv), Path: path, Check: true})
	if err != nil || res.ExitCode() != ExitChanged || res.Written {
		t.Fatalf("check after rollback: %+v %v", res, err)
	}
	o := res.Outcomes[0]
	if o.Action != LockUpdated || o.New.ImageID != oldImage || o.Pinned != "Deprecated" ||
		o.PinnedString() != "web-base cn-hangzhou: the pinned image m-bp1demowebbase000003 is Deprecated" {
		t.Fatalf("%+v %q", o, o.PinnedString())
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Fatal("check wrote the file")
	}
}

func TestPlanLockOffline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock.json")
	srv := emulator(t)
	base := request(srv)
	for _, tc := range []struct {
		name    string
		family  string
		regions []string
		check   bool
		want    string
	}{
		{"missing file, nothing named", "", nil, false, "there is no such file"},
		{"missing file, check", webBase, []string{hangzhou}, true, "there is no such file"},
		{"bad family", "aliyun-x", []string{hangzhou}, false, "invalid image family"},
		{"bad region", webBase, []string{"Hangzhou"}, false, "invalid region"},
	} {
		r := LockRequest{Request: base, Path: path, Regions: tc.regions, Check: tc.check}
		r.Family = tc.family
		if _, err := PlanLock(r); !IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	os.WriteFile(path, []byte(goldenLock), 0o600)
	r := LockRequest{Request: base, Path: path}
	r.Family = "golden-base"
	if _, err := PlanLock(r); !IsInputError(err) || !strings.Contains(err.Error(), "pins no such family") {
		t.Error(err)
	}
	r = LockRequest{Request: base, Path: path, Regions: []string{hangzhou}}
	p, err := PlanLock(r)
	if err != nil || len(p.targets) != 1 || p.targets[0] != (target{webBase, hangzhou}) {
		t.Errorf("%+v %v", p.targets, err)
	}
	if n := srv.Requests(""); n != 0 {
		t.Fatalf("PlanLock sent %d requests", n)
	}
}

func TestWriteLockFileKeepsModeAndRefusesAConcurrentChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.lock.json")
	os.WriteFile(path, []byte("old"), 0o640)
	if err := writeLockFile(path, []byte("old"), true, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || st.Mode().Perm() != 0o640 {
		t.Fatalf("%q %v", b, st.Mode())
	}
	err := writeLockFile(path, []byte("old"), true, []byte("newer"))
	if !errors.Is(err, ErrLockFileChanged) || ExitCode(err) != ExitChanged {
		t.Fatalf("%v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("%q", b)
	}
	if err := writeLockFile(path, nil, false, []byte("x")); !errors.Is(err, ErrLockFileChanged) {
		t.Fatalf("created over an existing file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("a temporary file was left: %v", entries)
	}
}

func TestLockCutShortWritesNothing(t *testing.T) {
	srv := emulator(t)
	path := filepath.Join(t.TempDir(), "images.lock.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := LockRequest{Request: request(srv), Path: path, Regions: []string{hangzhou}}
	// The lookup's answer is in and accepted (the age guard's clock runs
	// last), then the run is cancelled (Ctrl-C) before the write.
	req.Guards = Guards{MaxAge: 1 << 62, Now: func() time.Time { cancel(); return time.Now() }}
	res, err := Lock(ctx, req)
	if err != nil || res.Written || !res.Changed() || res.ExitCode() != ExitFailure || !strings.Contains(res.Err.Error(), "cut short") {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a cut-short run wrote the file: %v", err)
	}
}

// Lock looks up every family in every region in one wave, with credentials
// obtained once for the run (an AssumeRole per family used to run the
// families one after another), and checks a drifted pin with them too.
func TestLockOneWaveCredentialsOnce(t *testing.T) {
	srv := emulator(t)
	path := filepath.Join(t.TempDir(), "images.lock.json")
	drifted := strings.Replace(goldenLock, `"m-bp1demowebbase000003"`, `"m-bp1demowebbase000002"`, 1)
	if err := os.WriteFile(path, []byte(drifted), 0o644); err != nil {
		t.Fatal(err)
	}
	req := LockRequest{Request: request(srv), Path: path, Check: true}
	req.Family = "" // every entry of the file
	req.Credentials.AssumeRoleARN = readerRole
	// Every lookup waits until all three are in flight: run one family
	// after another and the first lookup times out at the barrier.
	barrier := &actionBarrier{base: req.Transport, action: "DescribeImageFromFamily", want: 3, all: make(chan struct{})}
	req.Transport = barrier
	srv.ResetCounts()
	res, err := Lock(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Err != nil {
			t.Errorf("%s %s: %v", o.Family, o.Region, o.Err)
		}
	}
	if res.ExitCode() != ExitChanged || len(res.Outcomes) != 3 || res.Outcomes[1].Action != LockUpdated || res.Outcomes[1].Pinned != "" || res.Outcomes[1].PinnedErr != nil {
		t.Fatalf("%+v", res)
	}
	for action, want := range map[string]int{"AssumeRole": 1, "DescribeImageFromFamily": 3, "DescribeImages": 1} {
		if n := srv.Requests(action); n != want {
			t.Errorf("%s: %d requests, want %d", action, n, want)
		}
	}
}

// The verdict line every front ends a lock run with.
func TestLockVerdict(t *testing.T) {
	current := LockOutcome{Action: LockCurrent}
	updated := LockOutcome{Action: LockUpdated}
	kept := LockOutcome{Action: LockKept, Err: ErrNotFound}
	stale := LockOutcome{Action: LockCurrent, Pinned: "Deprecated"}
	for _, row := range []struct {
		res  LockResult
		want string
	}{
		{LockResult{Outcomes: []LockOutcome{current, current}}, "f.json is current; nothing was written (2 entries looked up)"},
		{LockResult{Written: true, Outcomes: []LockOutcome{updated, current}}, "wrote f.json: 1 entry changed"},
		{LockResult{Written: true, Outcomes: []LockOutcome{updated, updated, kept}}, "wrote f.json: 2 entries changed; 1 entry kept as it was (see above)"},
		{LockResult{Outcomes: []LockOutcome{kept, kept}}, "f.json: nothing was written; 2 entries kept as they were (see above)"},
		{LockResult{Check: true, Outcomes: []LockOutcome{current}}, "f.json is current (1 entry checked)"},
		{LockResult{Check: true, Outcomes: []LockOutcome{updated, stale, current}}, "f.json: 2 differences; nothing was written (--check)"},
		{LockResult{Check: true, Outcomes: []LockOutcome{current, kept}}, "f.json: no difference found, but 1 of 2 entries could not be checked (see above)"},
		{LockResult{Err: ErrLockFileChanged, Outcomes: []LockOutcome{updated}}, "f.json: nothing was written"},
	} {
		if got := row.res.Verdict("f.json", "--check"); got != row.want {
			t.Errorf("got  %q\nwant %q", got, row.want)
		}
	}
}

// actionBarrier holds every request of action until want of them are in
// flight (or 5 s pass, when the request fails).
type actionBarrier struct {
	base   http.RoundTripper
	action string
	want   int
	mu     sync.Mutex
	n      int
	all    chan struct{}
}

func (b *actionBarrier) RoundTrip(r *http.Request) (*http.Response, error) {
	if requestParam(r, "Action") == b.action {
		b.mu.Lock()
		if b.n++; b.n == b.want {
			close(b.all)
		}
		b.mu.Unlock()
		select {
		case <-b.all:
		case <-time.After(5 * time.Second):
			return nil, errors.New("barrier: the " + b.action + " requests did not run at once")
		}
	}
	return b.base.RoundTrip(r)
}

// requestParam is an RPC parameter of r, from its query or its form body.
func requestParam(r *http.Request, name string) string {
	if name == "Action" && r.Header.Get("x-acs-action") != "" {
		return r.Header.Get("x-acs-action")
	}
	if v := r.URL.Query().Get(name); v != "" {
		return v
	}
	if r.Body == nil || r.GetBody == nil {
		return ""
	}
	body, err := r.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	b, _ := io.ReadAll(io.LimitReader(body, 1<<20))
	form, _ := url.ParseQuery(string(b))
	return form.Get(name)
}

// The check of drifted pins is part of the run: the pins are checked at
// once, not one after another each with a deadline of its own (a --check of
// thirty drifted entries would take thirty round trips, and up to thirty
// timeouts past --timeout).
func TestLockChecksDriftedPinsAtOnce(t *testing.T) {
	srv := emulator(t)
	path := filepath.Join(t.TempDir(), "images.lock.json")
	drifted := strings.Replace(goldenLock, `"m-bp1demowebbase000003"`, `"m-bp1demowebbase000002"`, 1)
	drifted = strings.Replace(drifted, `"m-uf6demowebbase000003"`, `"m-uf6demowebbase000002"`, 1)
	if err := os.WriteFile(path, []byte(drifted), 0o644); err != nil {
		t.Fatal(err)
	}
	req := LockRequest{Request: request(srv), Path: path, Check: true}
	req.Family = ""
	req.Transport = &actionBarrier{base: req.Transport, action: "DescribeImages", want: 2, all: make(chan struct{})}
	res, err := Lock(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, o := range res.Outcomes {
		if o.PinnedErr != nil {
			t.Errorf("%s %s: %v", o.Family, o.Region, o.PinnedErr)
		}
		if o.Family == webBase && o.Action == LockUpdated {
			checked++
		}
	}
	if checked != 2 || res.ExitCode() != ExitChanged {
		t.Fatalf("%+v", res)
	}
}

// --timeout bounds the run: when it ends the wave, the run was cut short
// and, as for Ctrl-C, nothing is written, not even the entries that did
// resolve in time (docs/cli.md, lock: "A run cut short (Ctrl-C, SIGTERM,
// --timeout) writes nothing").
func TestLockTimeoutWritesNothing(t *testing.T) {
	srv := emulator(t)
	path := filepath.Join(t.TempDir(), "images.lock.json")
	req := LockRequest{Request: request(srv), Path: path, Regions: []string{hangzhou, shanghai}}
	req.Timeout = 300 * time.Millisecond
	base := req.Transport
	req.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if requestParam(r, "RegionId") == shanghai {
			<-r.Context().Done() // shanghai never answers
			return nil, r.Context().Err()
		}
		return base.RoundTrip(r)
	})
	res, err := Lock(context.Background(), req)
	if err != nil || res.Written || res.ExitCode() != ExitFailure || res.Err == nil || !strings.Contains(res.Err.Error(), "cut short") {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a run cut short by its timeout wrote the file: %v", err)
	}
}

// Credentials are obtained once for the run: when that fails, every entry
// is kept with the one failure, and no pin is "looked up" with the same
// failure again (a front reports the credentials' failure once; a line per
// pin repeating it is noise, and nothing was sent for it).
func TestLockCheckCredentialsFailOnce(t *testing.T) {
	srv := emulator(t)
	path := filepath.Join(t.TempDir(), "images.lock.json")
	if err := os.WriteFile(path, []byte(goldenLock), 0o644); err != nil {
		t.Fatal(err)
	}
	req := LockRequest{Request: request(srv), Path: path, Check: true}
	req.Family = ""
	req.Credentials.AssumeRoleARN = readerRole
	req.Retry.MaxAttempts = 1
	base := req.Transport
	req.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if requestParam(r, "Action") == "AssumeRole" {
			return nil, errors.New("connection refused")
		}
		return base.RoundTrip(r)
	})
	srv.ResetCounts()
	res, err := Lock(context.Background(), req)
	if err != nil || len(res.Outcomes) != 3 || res.ExitCode() != ExitFailure {
		t.Fatalf("%+v %v", res, err)
	}
	for _, o := range res.Outcomes {
		if !errors.As(o.Err, new(*CredentialsError)) || o.PinnedErr != nil || o.PinnedString() != "" {
			t.Errorf("%s %s: err %v; pinned %q", o.Family, o.Region, o.Err, o.PinnedString())
		}
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("%d ECS requests sent without credentials", n)
	}
}
