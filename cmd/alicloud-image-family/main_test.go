package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

const (
	demoSecret = demoAccessKeySecret
	wantNewest = "m-bp1demowebbase000003"
)

func TestMain(m *testing.M) {
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		os.Setenv(k, "127.0.0.1,localhost")
	}
	os.Exit(m.Run())
}

// inProcess runs the command in this process against an in-process emulator
// with the demo fixture, its dates as written.
func inProcess(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int, srv *ecstest.Server) {
	t.Helper()
	f, err := ecstest.ParseFixture(ecstest.DemoFixtureAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	srv = ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	if env == nil {
		env = map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": demoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": demoSecret}
	}
	env["HOME"] = t.TempDir()
	var out, errb bytes.Buffer
	a := &app{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb, transport: srv.Transport()}
	full := append([]string{}, args...)
	if len(full) > 0 && full[0] == "resolve" {
		full = append([]string{"resolve", "--endpoint", srv.Endpoint(), "--sts-endpoint", srv.Endpoint()}, full[1:]...)
	}
	code = a.run(context.Background(), full)
	return out.String(), errb.String(), code, srv
}

// stdout is the id alone, with the region from a flag or from the
// environment.
func TestResolvePrintsOnlyTheID(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--region", "cn-hangzhou"}},
		{map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": demoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": demoSecret, "ALICLOUD_REGION": "cn-hangzhou"}, nil},
	} {
		out, errOut, code, srv := inProcess(t, c.env, append([]string{"resolve", "--image-family", "web-base"}, c.args...)...)
		if code != 0 || out != wantNewest+"\n" || errOut != "" || srv.Requests("DescribeImageFromFamily") != 1 {
			t.Errorf("%v: code=%d out=%q err=%q requests=%d", c.args, code, out, errOut, srv.Requests("DescribeImageFromFamily"))
		}
	}
}

func TestSeveralRegions(t *testing.T) {
	out, errOut, code, _ := inProcess(t, nil, "resolve", "--region", "cn-shanghai", "--region", "cn-hangzhou,cn-beijing", "--image-family", "web-base")
	// web-base is in cn-shanghai and cn-hangzhou, not in cn-beijing: a line
	// per region found, in the order given, one not-found report, exit 3.
	if code != exitNotFound || out != "cn-shanghai\tm-uf6demowebbase000003\ncn-hangzhou\t"+wantNewest+"\n" {
		t.Fatalf("code=%d out=%q", code, out)
	}
	if strings.Contains(errOut, "cn-shanghai") || !strings.Contains(errOut, "cn-beijing") {
		t.Fatalf("stderr %q", errOut)
	}
	out, _, code, _ = inProcess(t, nil, "resolve", "--region", "cn-beijing,cn-hangzhou", "--image-family", "web-base", "--output", "json")
	var m map[string]map[string]any
	if code != exitNotFound || json.Unmarshal([]byte(out), &m) != nil || m["cn-hangzhou"]["ImageId"] != wantNewest || len(m) != 1 {
		t.Fatalf("code=%d out=%q", code, out)
	}
	// Another failure outranks not-found.
	_, _, code, _ = inProcess(t, nil, "resolve", "--region", "cn-beijing,xx-nowhere-1", "--image-family", "web-base")
	if code != exitFailure {
		t.Fatalf("code=%d, want 1", code)
	}
	// A region given twice is looked up once.
	out, _, code, srv := inProcess(t, nil, "resolve", "--region", "cn-hangzhou,cn-shanghai,cn-hangzhou", "--image-family", "web-base")
	if code != exitOK || out != "cn-hangzhou\t"+wantNewest+"\ncn-shanghai\tm-uf6demowebbase000003\n" || srv.Requests("DescribeImageFromFamily") != 2 {
		t.Fatalf("code=%d out=%q", code, out)
	}
	// stdout carries results only: several regions with none found print
	// nothing in any output (not an empty JSON object, not a header).
	for _, output := range []string{"id", "json", "text"} {
		out, errOut, code, _ := inProcess(t, nil, "resolve", "--region", "cn-hangzhou,cn-beijing", "--image-family", "app-server", "--output", output)
		if code != exitNotFound || out != "" || strings.Count(errOut, "\n") != 2 {
			t.Errorf("--output %s: exit %d, stdout %q, stderr %q", output, code, out, errOut)
		}
	}
}

// resolve -h is TestUsageErrorsAreOneLineAndTheHint's.
func TestVersion(t *testing.T) {
	if out, _, code, _ := inProcess(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "alicloud-image-family ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb}
	if code := a.run(context.Background(), []string{"demo"}); code != 0 {
		t.Fatalf("demo exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), wantNewest) {
		t.Fatalf("demo output:\n%s", out.String())
	}
	// It ends pointing at the offline pipelines page, which exists.
	if !strings.HasSuffix(out.String(), "\n"+offlinePipelinesLine+"\n") || !strings.Contains(offlinePipelinesLine, "docs/offline-pipelines.md") {
		t.Errorf("demo stdout does not end with the offline pipelines line:\n%s", out.String())
	}
	if _, err := os.Stat("../../docs/offline-pipelines.md"); err != nil {
		t.Errorf("the demo points at a page that is not there: %v", err)
	}
	// The lifecycle's story: the copy resolves nowhere (exit 3, with a
	// hint naming promote), promote waits for the copy and puts it in the
	// family, and after the rollback the family resolves to the previous
	// image.
	for _, want := range []string{
		"resolve --region cn-beijing --image-family web-base\n   (exit code 3)",
		"cn-beijing\tpromoted\tm-",
		"cn-hangzhou\talready\t" + wantNewest,
		"cn-hangzhou\trolled-back\t" + wantNewest,
		"resolve --region cn-hangzhou --image-family web-base\nm-bp1demowebbase000002\n   (exit code 0)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo stdout lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{
		`no available image in family "web-base" in region cn-beijing`,
		"'alicloud-image-family promote'",
		"waiting in cn-beijing: poll 1 saw m-",
		`ImageFamily "" -> "web-base"`,
		"Status Available -> Deprecated; the family resolves to m-bp1demowebbase000002",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("demo stderr lacks %q:\n%s", want, errb.String())
		}
	}
	scan := secretscan.New(demoSecret, demoAccessKeySecret)
	scan.Check(t, "demo stdout", out.String())
	scan.Check(t, "demo stderr", errb.String())
}

// With no --region and no region variable, the region is the selected aliyun
// CLI profile's region_id (as the aliyun CLI does), and stderr says so; a
// flag or a variable still wins. A profile that is not there is
// imagefamily's TestProfileRegion and TestBadInputCLI's.
func TestResolveRegionFromProfile(t *testing.T) {
	f, err := ecstest.ParseFixture(ecstest.DemoFixtureAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	srv := ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	home := t.TempDir()
	os.MkdirAll(home+"/.aliyun", 0o700)
	os.WriteFile(home+"/.aliyun/config.json", []byte(`{"current":"hz","profiles":[
 {"name":"hz","mode":"AK","access_key_id":"`+demoAccessKeyID+`","access_key_secret":"`+demoSecret+`","region_id":"cn-hangzhou"},
 {"name":"sh","mode":"AK","access_key_id":"`+demoAccessKeyID+`","access_key_secret":"`+demoSecret+`","region_id":"cn-shanghai"}]}`), 0o600)
	run := func(env map[string]string, args ...string) (string, string, int) {
		env["HOME"] = home
		var out, errb bytes.Buffer
		a := &app{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb, transport: srv.Transport()}
		code := a.run(context.Background(), append([]string{"resolve", "--endpoint", srv.Endpoint(), "--image-family", "web-base"}, args...))
		return out.String(), errb.String(), code
	}
	out, errOut, code := run(map[string]string{})
	if code != 0 || out != wantNewest+"\n" || !strings.Contains(errOut, `region cn-hangzhou from aliyun CLI profile "hz"`) {
		t.Fatalf("current profile: code=%d out=%q err=%q", code, out, errOut)
	}
	// The profile named on the command line gives its own region (the
	// cn-shanghai copy of web-base proves the region was used).
	out, errOut, code = run(map[string]string{}, "--profile", "sh")
	if code != exitOK || out != "m-uf6demowebbase000003\n" || !strings.Contains(errOut, `region cn-shanghai from aliyun CLI profile "sh"`) {
		t.Fatalf("--profile sh: code=%d out=%q err=%q", code, out, errOut)
	}
	out, errOut, code = run(map[string]string{"ALICLOUD_REGION": "cn-hangzhou"}, "--profile", "sh")
	if code != 0 || out != wantNewest+"\n" || strings.Contains(errOut, "from aliyun CLI profile") {
		t.Fatalf("ALICLOUD_REGION must win: code=%d out=%q err=%q", code, out, errOut)
	}
	out, errOut, code = run(map[string]string{}, "--profile", "sh", "--region", "cn-hangzhou")
	if code != 0 || out != wantNewest+"\n" || errOut != "" {
		t.Fatalf("--region must win: code=%d out=%q err=%q", code, out, errOut)
	}

}
