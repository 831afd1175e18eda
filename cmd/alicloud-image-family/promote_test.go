package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// The exit code of several regions is the worst: 1 > 5 > 3 > 4 > 0, in any
// order of arrival.
func TestExitCodePrecedence(t *testing.T) {
	order := []int{exitOK, exitChanged, exitNotFound, exitGuard, exitFailure} // best to worst
	for i, a := range order {
		for j, b := range order {
			want := order[max(i, j)]
			if got := worse(a, b); got != want {
				t.Errorf("worse(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
	errs := map[error]int{
		&imagefamily.GuardError{Guard: "architecture"}:          exitGuard,
		&imagefamily.NotFoundError{Region: "cn-hangzhou"}:       exitNotFound,
		&imagefamily.ValidationError{Field: "--wait"}:           exitUsage,
		&imagefamily.APIError{Code: "InvalidRegionId.NotFound"}: exitFailure,
	}
	for err, want := range errs {
		if got := exitCode(err); got != want {
			t.Errorf("exitCode(%T) = %d, want %d", err, got, want)
		}
	}
}

// --concurrency defaults to 0: every region at once, up to
// imagefamily.DefaultConcurrency; the help says so.
func TestDefaultConcurrency(t *testing.T) {
	var f resolveFlags
	var help bytes.Buffer
	fs := newResolveFlagSet(&f, &help)
	if err := fs.Parse(nil); err != nil || f.concurrency.raw != "0" {
		t.Fatalf("default concurrency %q (%v), want 0", f.concurrency.raw, err)
	}
	fs.Usage()
	want := fmt.Sprintf("0 resolves every region at once, up to %d", imagefamily.DefaultConcurrency)
	if !strings.Contains(help.String(), want) {
		t.Errorf("help lacks %q:\n%s", want, help.String())
	}
	for _, v := range []string{"0", "1", "64"} {
		_, errOut, code, _ := inProcess(t, nil, "resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--concurrency", v)
		if code != exitOK {
			t.Errorf("--concurrency %s: exit %d %s", v, code, errOut)
		}
	}
}

// Regions report concurrently (retries here): every line arrives whole. Run
// with -race: the writes of the regions' goroutines meet in one writer.
func TestConcurrentReportsDoNotInterleave(t *testing.T) {
	f, err := ecstest.ParseFixture(ecstest.DemoFixtureAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	srv := ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	var regions []string
	for i := 1; i <= 24; i++ {
		r := fmt.Sprintf("fan-region-%d", i)
		srv.AddImage(r, image("m-"+r, "web-base", "2024-03-14T02:00:00Z", "x86_64"))
		regions = append(regions, r)
	}
	srv.Throttle(describeAction, 2*len(regions))
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": demoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": demoSecret, "HOME": t.TempDir()}
	var out bytes.Buffer
	// An unsynchronised writer that writes in two halves: without the
	// lock, -race reports the concurrent writes, and halves of different
	// lines would interleave.
	errw := &splitWriter{}
	a := &app{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: errw, transport: srv.Transport()}
	code := a.run(context.Background(), []string{"resolve", "--endpoint", srv.Endpoint(), "--image-family", "web-base",
		"--region", strings.Join(regions, ","), "--max-attempts", "10"})
	if code != exitOK || strings.Count(out.String(), "\n") != len(regions) {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out.String(), errw.String())
	}
	ls := strings.Split(strings.TrimSuffix(errw.String(), "\n"), "\n")
	if len(ls) != 2*len(regions) {
		t.Errorf("%d stderr lines, want %d (one per retry)", len(ls), 2*len(regions))
	}
	for _, l := range ls {
		if !retryLine.MatchString(l) {
			t.Errorf("not one whole retry line: %q", l)
		}
	}
}

type splitWriter struct{ bytes.Buffer }

func (w *splitWriter) Write(p []byte) (int, error) {
	h := len(p) / 2
	w.Buffer.Write(p[:h])
	w.Buffer.Write(p[h:])
	return len(p), nil
}

var _ io.Writer = (*splitWriter)(nil)
