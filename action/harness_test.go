package action

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
)

// step is one simulated action step: an injected environment, temporary
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files and a captured stdout.
type step struct {
	t       *testing.T
	env     map[string]string
	stdout  *syncio.Buffer // written from one goroutine per region
	outPath string
	sumPath string
	code    int
	err     error
}

// newStep prepares a step with the given inputs (names as in action.yml).
// The environment has nothing from the real process: no credentials, no
// proxy, no home directory, so the core's chain cannot find anything by
// accident.
func newStep(t *testing.T, inputs map[string]string) *step {
	t.Helper()
	dir := t.TempDir()
	s := &step{
		t:       t,
		env:     map[string]string{},
		stdout:  &syncio.Buffer{},
		outPath: filepath.Join(dir, "output"),
		sumPath: filepath.Join(dir, "summary"),
	}
	for _, p := range []string{s.outPath, s.sumPath} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.env["GITHUB_OUTPUT"] = s.outPath
	s.env["GITHUB_STEP_SUMMARY"] = s.sumPath
	s.env["HOME"] = dir
	s.env["NO_PROXY"] = "*"
	for k, v := range inputs {
		// The composite action passes underscores; JavaScript-style
		// hyphens are tested separately.
		s.env["INPUT_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = v
	}
	return s
}

func (s *step) getenv(k string) string { return s.env[k] }

// run runs the action once with the given options, its Action made as Run's
// documentation says (stdout through StepLog).
func (s *step) run(opts ...Option) *step {
	s.t.Helper()
	a := githubactions.New(githubactions.WithGetenv(s.getenv), githubactions.WithWriter(StepLog(s.stdout)))
	s.err = Run(context.Background(), a, opts...)
	s.code = ExitCode(s.err)
	s.scanAll()
	return s
}

// runMain runs the step through Main and scans everything it wrote.
func (s *step) runMain(opts ...Option) *step {
	s.t.Helper()
	s.code = Main(context.Background(), s.getenv, s.stdout, opts...)
	s.scanAll()
	return s
}

// checkForged: no line of the step log starts with text a server planted
// (the harness cannot know it: "::error::" is one of our commands).
func checkForged(t *testing.T, s *step, forged []string) {
	t.Helper()
	for _, line := range strings.Split(s.stdout.String(), "\n") {
		for _, f := range forged {
			if strings.HasPrefix(line, f) {
				t.Errorf("step log line starts with forged text %q", f)
			}
		}
	}
}

// scanAll scans every run's captured output for the secrets it was given
// and for STS-issued credentials, whatever the test itself checks.
func (s *step) scanAll() {
	s.t.Helper()
	s.assertNoSecrets(s.env["INPUT_ACCESS_KEY_SECRET"], s.env["INPUT_SECURITY_TOKEN"],
		s.env["INPUT_ACCESS-KEY-SECRET"], s.env["INPUT_SECURITY-TOKEN"],
		s.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], s.env["ALIBABA_CLOUD_SECURITY_TOKEN"],
		s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], fakeJWT)
	s.assertNoIssuedCredentials()
	s.checkSinks()
}

// ourCommands are the workflow commands the action itself issues; any other
// line of the step log that starts with "::" was planted.
var ourCommands = []string{"::error ", "::error::", "::warning ", "::warning::", "::add-mask::", "::debug::", "::notice ", "::notice::"}

// checkSinks checks what holds after every run, whatever the test itself
// checks: the step log holds only our workflow commands, no control or
// format character and no legacy "##[" (but in the mask of a secret that
// holds them); GITHUB_OUTPUT reads the way the runner reads it, every
// output of action.yml once; the job summary has no HTML and no control
// character, and every row of a table has the cells of its header; a
// signature is only ever shown redacted, and the signed query only with step
// debug logging.
func (s *step) checkSinks() {
	t := s.t
	t.Helper()
	for _, line := range strings.Split(s.stdout.String(), "\n") {
		if strings.HasPrefix(line, "::add-mask::") {
			continue
		}
		if strings.HasPrefix(line, "::") && !hasAnyPrefix(line, ourCommands) {
			t.Errorf("step log line is a workflow command that is not ours: %s", excerptForLog(line))
		}
		if strings.Contains(line, "##[") {
			t.Errorf("step log line holds the legacy command prefix \"##[\": %s", excerptForLog(line))
		}
		if i := strings.IndexFunc(line, unprintable); i >= 0 {
			t.Errorf("step log line holds %q: %s", line[i:i+1], excerptForLog(line))
		}
	}
	if s.env["GITHUB_OUTPUT"] != "" {
		pairs, err := runnerOutputs(readFile(t, s.outPath), false)
		if err != nil {
			t.Errorf("the runner would reject GITHUB_OUTPUT: %v", err)
		}
		seen := map[string]int{}
		for _, p := range pairs {
			seen[p.name]++
		}
		for _, name := range outputNames {
			if seen[name] != 1 {
				t.Errorf("output %s written %d times, want once", name, seen[name])
			}
		}
		if len(seen) != len(outputNames) {
			t.Errorf("%d outputs written, want the %d of action.yml", len(seen), len(outputNames))
		}
	}
	cells := -1
	for _, line := range strings.Split(s.summary(), "\n") {
		if strings.ContainsRune(line, '<') || strings.IndexFunc(line, unprintable) >= 0 {
			t.Errorf("summary line holds HTML or a control character: %s", excerptForLog(line))
		}
		if !strings.HasPrefix(line, "|") {
			cells = -1
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cells < 0 {
			cells = n
		}
		if n != cells || !strings.HasSuffix(line, "|") {
			t.Errorf("summary table row with %d cell borders, its header %d: %s", n, cells, excerptForLog(line))
		}
	}
	everything := s.unmasked()
	if n, redacted := strings.Count(everything, "Signature="), strings.Count(everything, "Signature=[REDACTED]"); n != redacted {
		t.Errorf("the step wrote %d signatures that are not redacted", n-redacted)
	}
	if s.env["RUNNER_DEBUG"] != "1" && strings.Contains(everything, "SignatureNonce") {
		t.Errorf("the step wrote the signed query without step debug logging")
	}
}

// unprintable is a character no sink may carry raw: C0 and C1 controls,
// DEL, line and paragraph separators and format characters (bidi controls).
func unprintable(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0 || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}

// annotations returns the step's lines that start with prefix ("::error ",
// "::warning ", or any other text).
func annotations(s *step, prefix string) []string {
	var out []string
	for _, l := range strings.Split(s.stdout.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// escapeData is how a workflow command's message carries text (the
// runner's and go-githubactions' escaping).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// excerptForLog keeps failure logs readable when a row streams megabytes.
func excerptForLog(s string) string {
	if len(s) > 4000 {
		return fmt.Sprintf("%q...(%d more bytes)", s[:4000], len(s)-4000)
	}
	return fmt.Sprintf("%q", s)
}

// outputs reads GITHUB_OUTPUT the way the runner does (runnerOutputs);
// checkSinks has checked each output is there once.
func (s *step) outputs() map[string]string {
	s.t.Helper()
	pairs, err := runnerOutputs(readFile(s.t, s.outPath), false)
	if err != nil {
		s.t.Fatalf("GITHUB_OUTPUT does not parse: %v", err)
	}
	outs := map[string]string{}
	for _, p := range pairs {
		outs[p.name] = p.value
	}
	return outs
}

func (s *step) summary() string { return readFile(s.t, s.sumPath) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// everything is all the step produced: stdout, outputs and summary.
// unmasked is everything the step wrote except the ::add-mask:: commands,
// which must carry the secrets they register.
func (s *step) unmasked() string {
	var kept []string
	sc := bufio.NewScanner(strings.NewReader(s.everything()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "::add-mask::") {
			kept = append(kept, sc.Text())
		}
	}
	return strings.Join(kept, "\n")
}

// masked lists the values registered with ::add-mask::.
func (s *step) masked() []string {
	var out []string
	for _, line := range strings.Split(s.stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			out = append(out, v)
		}
	}
	return out
}

func (s *step) everything() string {
	b, _ := os.ReadFile(s.outPath)
	return s.stdout.String() + "\n" + string(b) + "\n" + s.summary()
}

// assertNoSecrets fails if any secret appears, in any encoding, anywhere the
// step wrote: stdout (except in the ::add-mask:: commands that register the
// secrets), GITHUB_OUTPUT and the job summary.
func (s *step) assertNoSecrets(secrets ...string) {
	s.t.Helper()
	secretscan.New(secrets...).IgnoreLines("::add-mask::").Check(s.t, "the step's stdout", s.stdout.String())
	files := secretscan.New(secrets...)
	files.CheckFile(s.t, s.outPath)
	files.CheckFile(s.t, s.sumPath)
}

// fakeCore replaces Resolve/ResolveRegions and records the requests, for the
// tests of what the front itself does (inputs, outputs, summary). The tests
// against the real core and the emulator are in emulator_test.go.
type fakeCore struct {
	mu       sync.Mutex
	requests []imagefamily.Request
	regions  []string
	images   map[string]imagefamily.Image
	errs     map[string]error
	err      error // returned by ResolveRegions as a whole
}

func (f *fakeCore) option() Option {
	return func(c *config) {
		c.resolve = func(ctx context.Context, req imagefamily.Request) (imagefamily.Image, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.requests = append(f.requests, req)
			return f.lookup(req.Region, req.Family)
		}
		c.resolveRegions = func(ctx context.Context, req imagefamily.Request, regions []string, n int) ([]imagefamily.Result, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.requests = append(f.requests, req)
			f.regions = regions
			if f.err != nil {
				return nil, f.err
			}
			var rs []imagefamily.Result
			for _, r := range regions {
				img, err := f.lookup(r, req.Family)
				rs = append(rs, imagefamily.Result{Region: r, Image: img, Err: err})
			}
			return rs, nil
		}
	}
}

func (f *fakeCore) lookup(region, family string) (imagefamily.Image, error) {
	if err := f.errs[region]; err != nil {
		return imagefamily.Image{}, err
	}
	img, ok := f.images[region]
	if !ok {
		return imagefamily.Image{}, &imagefamily.NotFoundError{Region: region, Family: family, RequestID: "req-1"}
	}
	return img, nil
}

func (f *fakeCore) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func sampleImage(id string) imagefamily.Image {
	return imagefamily.Image{
		ImageID:            id,
		ImageName:          "web-base-20240102",
		ImageFamily:        "web-base",
		ImageVersion:       "2",
		CreationTime:       "2024-01-02T03:04:05Z",
		Status:             "Available",
		Architecture:       "x86_64",
		OSType:             "linux",
		OSName:             "Ubuntu 22.04 64 bit",
		Platform:           "Ubuntu",
		Size:               40,
		Tags:               map[string]string{"team": "web"},
		DiskDeviceMappings: []imagefamily.DiskDeviceMapping{{Device: "/dev/xvda", Size: "40", SnapshotID: "s-1"}},
	}
}
