package main

import (
	"context"
	"fmt"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// Demo credentials from the embedded fixture: clearly fake, and accepted only
// by the emulator.
const (
	demoAccessKeyID     = "LTAIDEMOACCESSKEYID0001"
	demoAccessKeySecret = "demo-secret-NOT-A-REAL-SECRET-0001"
	demoRoleARN         = "acs:ram::123456789012:role/image-reader"
)

// demo runs the real lookup path (credential chain, AssumeRole, request
// signing, TLS, retries, response mapping) against the embedded emulator,
// so a new user sees the tool work without a cloud account.
func (a *app) demo(ctx context.Context, args []string) int {
	if len(args) > 0 {
		a.report(fmt.Sprintf("alicloud-image-family demo: it takes no arguments, not %q", args[0]), "Run 'alicloud-image-family -h' for usage.")
		return exitUsage
	}
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		return a.fail(err)
	}
	srv, err := ecstest.Start(f, ecstest.Options{TLS: true})
	if err != nil {
		return a.fail(err)
	}
	defer srv.Close()

	// The demo's environment holds only the fake keys: nothing from the
	// user's shell (real keys, profiles, proxies) takes part.
	env := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     demoAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": demoAccessKeySecret,
	}
	demo := &app{getenv: func(k string) string { return env[k] }, stdout: a.stdout, stderr: a.stderr, transport: srv.Transport()}

	fmt.Fprintf(a.stdout, "Started the ECS/STS emulator at %s (TLS, signature checking on) with the demo fixture.\n", srv.URL)
	steps := []struct {
		title string
		args  []string
	}{
		{"Newest available image of family web-base in cn-hangzhou (a newer image is still Creating and is skipped):",
			[]string{"--region", "cn-hangzhou", "--image-family", "web-base"}},
		{"The same lookup after assuming a RAM role (STS AssumeRole, then ECS with the STS keys):",
			[]string{"--region", "cn-hangzhou", "--image-family", "web-base", "--role-arn", demoRoleARN}},
		{"Several regions at once, one line per region (app-server exists only in cn-shanghai, so cn-hangzhou reports exit code 3):",
			[]string{"--region", "cn-shanghai,cn-hangzhou", "--image-family", "app-server"}},
		{"The image as JSON, with the API's field names:",
			[]string{"--region", "cn-shanghai", "--image-family", "app-server", "--output", "json"}},
	}
	worst := exitOK
	for i, s := range steps {
		args := append([]string{"--endpoint", srv.Endpoint(), "--sts-endpoint", srv.Endpoint()}, s.args...)
		fmt.Fprintf(a.stdout, "\n%d. %s\n   $ alicloud-image-family resolve %s\n", i+1, s.title, joinArgs(s.args))
		code := demo.resolve(ctx, args)
		fmt.Fprintf(a.stdout, "   (exit code %d)\n", code)
		if code != exitOK && !(code == exitNotFound && i == 2) {
			worst = code
		}
	}
	fmt.Fprintf(a.stdout, "\nThe emulator answered %d requests (%d DescribeImageFromFamily, %d AssumeRole), each signature verified.\n",
		srv.Requests(""), srv.Requests("DescribeImageFromFamily"), srv.Requests("AssumeRole"))
	if worst != exitOK {
		fmt.Fprintln(a.stderr, "demo: a step failed; see above")
	}
	return worst
}

func joinArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += a
	}
	return out
}
