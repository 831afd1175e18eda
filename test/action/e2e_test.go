package actione2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/worktree"
)

const (
	actVersion = "v0.2.89" // as scripts/tools.sh builds it (see e2etest.Tool)
	e2eKeyID   = "LTAIE2EACTIONKEY0001"
	e2eSecret  = "e2e-secret-NOT-REAL-0001"
)

// world is everything a workflow run talks to, all on loopback.
type world struct {
	t        *testing.T
	ws       string
	emu      *ecstest.Server
	certFile string
	tokens   *httptest.Server
	mu       sync.Mutex
	minted   []string
	trap     *trapProxy
	cache    string // act's action cache (and so RUNNER_TOOL_CACHE)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	emu, cert := e2etest.Emulator(t, "testdata/fixture.json")
	w := &world{t: t, ws: t.TempDir(), emu: emu, certFile: cert, trap: newTrapProxy(t), cache: t.TempDir()}
	// act's copy of "the local repo" is exactly the working tree (tracked
	// and new files, as act itself would see them) and nothing outside it.
	if err := worktree.Copy(e2etest.RepoRoot(t), w.ws); err != nil {
		t.Fatal(err)
	}
	w.tokens = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer e2e-runtime-token" {
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := idToken(r.URL.Query().Get("audience"))
		w.mu.Lock()
		w.minted = append(w.minted, tok)
		w.mu.Unlock()
		fmt.Fprintf(rw, `{"count":1,"value":%q}`, tok)
	}))
	t.Cleanup(w.tokens.Close)
	return w
}

// idToken is shaped like a GitHub Actions ID token (the emulator checks the
// claims, not the signature).
func idToken(aud string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:imagefamily/e2e:ref:refs/heads/main",
		"aud": aud, "exp": time.Now().Add(10 * time.Minute).Unix(), "iat": time.Now().Unix(),
	})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("e2e-signature-"+aud))
}

type actResult struct {
	out string
	err error
}

// act runs the workflow at path, relative to the repository root (such as
// test/action/testdata/workflows/drift.yml), in host mode, offline: no
// image pulls, no action fetches, no version check, no cache server, and
// every non-loopback connection sent to the trap proxy.
func (w *world) act(path string, extraEnv []string, extraArgs ...string) actResult {
	w.t.Helper()
	workflow := filepath.Base(path)
	home := w.t.TempDir()
	goenv := []string{}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOROOT"} {
		goenv = append(goenv, k+"="+goEnv(w.t, k))
	}
	stepEnv := append([]string{
		"EMULATOR_ENDPOINT=" + w.emu.Endpoint(),
		"SSL_CERT_FILE=" + w.certFile,
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + w.tokens.URL + "/_apis/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=e2e-runtime-token",
		"ALICLOUD_IMAGE_FAMILY_BUILD_PACKAGE=" + e2etest.CLIPackage,
		"GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "CGO_ENABLED=0",
	}, goenv...)
	stepEnv = append(stepEnv, w.trap.env()...)
	stepEnv = append(stepEnv, extraEnv...)

	args := []string{"push",
		"-W", path,
		"-P", "ubuntu-latest=-self-hosted",
		"--action-offline-mode", "--pull=false", "--no-cache-server",
		"--action-cache-path", w.cache,
		"--secret", "ALICLOUD_ACCESS_KEY_ID=" + e2eKeyID,
		"--secret", "ALICLOUD_ACCESS_KEY_SECRET=" + e2eSecret,
	}
	for _, e := range stepEnv {
		args = append(args, "--env", e)
	}
	args = append(args, extraArgs...)
	cmd := exec.Command(e2etest.Tool(w.t, "act", actVersion), args...)
	cmd.Dir = w.ws
	cmd.Env = append([]string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"ACT_DISABLE_VERSION_CHECK=1",
	}, append(goenv, w.trap.env()...)...)
	b, err := cmd.CombinedOutput()
	res := actResult{out: string(b), err: err}
	w.trap.check(w.t)
	// act prints secrets as *** itself; the action must not print them in
	// any other form either.
	w.mu.Lock()
	// Not the runtime request token: it reaches act as a plain --env (act
	// has no other way to pass it), and act's own --verbose log prints
	// every such variable.
	scan := secretscan.New(e2eSecret).Add(w.minted...)
	// The STS-issued token of the last lookup, when it used one (OIDC).
	scan.Add(w.emu.LastRequest("DescribeImageFromFamily").Params.Get("SecurityToken"))
	w.mu.Unlock()
	scan.Check(w.t, "act's log of "+workflow, res.out)
	checkStepLog(w.t, workflow, res.out)
	return res
}

// goEnv is the go command's setting k, which act's steps get too.
func goEnv(t *testing.T, k string) string {
	b, err := exec.Command("go", "env", k).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// checkStepLog holds for every run: no step crashed, every annotation is
// one bounded line, and no step's line holds a legacy runner command ("##["
// anywhere in a line is one). act also echoes each output exact, which a
// runner does not print to the step log.
func checkStepLog(t *testing.T, workflow, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if !jobLine.MatchString(l) || strings.Contains(l, "::set-output:: ") {
			continue
		}
		for _, bad := range []string{"##[", "panic:", "fatal error:", "goroutine ", "[running]"} {
			if strings.Contains(l, bad) {
				t.Errorf("act's log of %s: a step's line holds %q: %.300s", workflow, bad, l)
			}
		}
		if strings.Contains(l, "::error ") && len(l) > 4096 {
			t.Errorf("act's log of %s: an annotation of %d bytes: %.300s", workflow, len(l), l)
		}
	}
}

func (r actResult) must(t *testing.T, markers ...string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("act failed: %v\n%s", r.err, r.out)
	}
	for _, m := range markers {
		if !strings.Contains(r.out, m) {
			t.Errorf("act log lacks %q:\n%s", m, r.out)
		}
	}
}

func TestActOutputs(t *testing.T) {
	w := newWorld(t)
	r := w.act("testdata/workflows/outputs.yml", nil)
	// act shows each step's job summary in its log.
	r.must(t, "E2E-OUTPUTS-OK", "Building alicloud-image-family from source",
		"Summary - ### Alibaba Cloud image family `web-base`",
		"| cn-hangzhou | `m-bp1e2enew000000002` | web-base-v2 | 2 | 2024-03-05T08:30:00Z | x86_64 | Alibaba Cloud Linux 3.2104 LTS 64 bit |")
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 1 {
		t.Errorf("%d DescribeImageFromFamily requests, want 1", n)
	}
}

func TestActFailure(t *testing.T) {
	w := newWorld(t)
	r := w.act("testdata/workflows/failure.yml", nil)
	r.must(t, "E2E-FAILURE-OK",
		"::error title=Image family lookup failed in cn-beijing::no available image in family \"web-base\" in region cn-beijing",
		"copies of an image carry no family",
		"::warning title=No image in family web-base::",
		"::error title=Image family lookup failed::invalid input image-family \"https://not-a-family\"",
	)
}

func TestActSeveralRegions(t *testing.T) {
	w := newWorld(t)
	r := w.act("testdata/workflows/regions.yml", nil)
	r.must(t, "E2E-REGIONS-RESOLVE-OK", "E2E-REGIONS-MATRIX-OK cn-hangzhou", "E2E-REGIONS-MATRIX-OK cn-shanghai")
	if n := w.emu.Requests("DescribeImageFromFamily"); n != 2 {
		t.Errorf("%d DescribeImageFromFamily requests, want 2", n)
	}
}

func TestActOIDC(t *testing.T) {
	w := newWorld(t)
	// Step debug logging on: the core's trace is printed as ::debug:: lines,
	// and still no token may appear.
	// act shows ::debug:: lines only in its verbose mode.
	r := w.act("testdata/workflows/oidc.yml", []string{"RUNNER_DEBUG=1"}, "--verbose")
	r.must(t, "E2E-OIDC-OK",
		`requested with audience "wrong-audience"`,
		"permissions: id-token: write",
		"::debug::[alicloud-image-family]",
	)
	if n := w.emu.Requests("AssumeRoleWithOIDC"); n != 2 {
		t.Errorf("%d AssumeRoleWithOIDC requests, want 2 (good and wrong audience)", n)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.minted) != 2 {
		t.Errorf("%d ID tokens minted, want 2", len(w.minted))
	}
}

// The action at a release tag downloads the release binary, verifies it and
// runs it: action.yml hands the launcher its ref and the runner's platform.
// (The launcher's tool cache and checksum refusals: TestLauncher.)
func TestActRelease(t *testing.T) {
	w := newWorld(t)
	payload, err := os.ReadFile(e2etest.CLI(t))
	if err != nil {
		t.Fatal(err)
	}
	rel := newRelease(t, "9.8.7", payload, hostPlatform())
	r := w.act("testdata/workflows/release.yml", []string{"ALICLOUD_IMAGE_FAMILY_RELEASES_URL=" + rel.srv.URL},
		"--local-repository", "imagefamily/packer-plugin-alicloud-image-family@v9.8.7="+w.ws)
	r.must(t, "E2E-RELEASE-OK", "Verified "+rel.assetName(hostPlatform()))
	if strings.Contains(r.out, "from source") {
		t.Errorf("a release tag built from source:\n%s", r.out)
	}
}
