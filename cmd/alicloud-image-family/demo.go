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

// offlinePipelinesLine ends the demo: the next step for a user with Packer
// templates of their own.
const offlinePipelinesLine = "Next: test your own Packer templates offline, the official alicloud-ecs builder against 'alicloud-image-family emulator': docs/offline-pipelines.md"

// demo runs the real lookup path (credential chain, AssumeRole, request
// signing, TLS, retries, response mapping) and the family lifecycle (a
// copy that resolves nowhere, promote, rollback) against the embedded
// emulator, so a new user sees the tool work without a cloud account.
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
	conn := []string{"--endpoint", srv.Endpoint(), "--sts-endpoint", srv.Endpoint()}
	worst, n := exitOK, 0
	// step runs one command of the demo and says what it exited with; a
	// code other than the one the story expects makes the demo fail.
	step := func(title, cmd string, want int, args ...string) {
		n++
		fmt.Fprintf(a.stdout, "\n%d. %s\n   $ alicloud-image-family %s %s\n", n, title, cmd, joinArgs(args))
		var code int
		switch cmd {
		case "promote":
			code = demo.promote(ctx, append(conn, args...))
		case "rollback":
			code = demo.rollback(ctx, append(conn, args...))
		default:
			code = demo.resolve(ctx, append(conn, args...))
		}
		fmt.Fprintf(a.stdout, "   (exit code %d)\n", code)
		if code != want {
			worst = exitFailure
		}
	}

	step("Newest available image of family web-base in cn-hangzhou (a newer image is still Creating and is skipped):",
		"resolve", exitOK, "--region", "cn-hangzhou", "--image-family", "web-base")
	step("The same lookup after assuming a RAM role (STS AssumeRole, then ECS with the STS keys):",
		"resolve", exitOK, "--region", "cn-hangzhou", "--image-family", "web-base", "--role-arn", demoRoleARN)
	step("Several regions at once, one line per region (app-server exists only in cn-shanghai, so cn-hangzhou reports exit code 3):",
		"resolve", exitNotFound, "--region", "cn-shanghai,cn-hangzhou", "--image-family", "app-server")
	step("The image as JSON, with the API's field names:",
		"resolve", exitOK, "--region", "cn-shanghai", "--image-family", "app-server", "--output", "json")

	// The family lifecycle: a multi-region build copies its image, the copy
	// carries no family, promote fixes that, rollback undoes a release.
	const built = "m-bp1demowebbase000003"
	copied := srv.CopyImage("cn-hangzhou", built, "cn-beijing")
	fmt.Fprintf(a.stdout, "\nA multi-region build: the emulator copied %s from cn-hangzhou to cn-beijing (CopyImage), as Packer's image_copy_regions does.\n"+
		"The copy is %s: it is Creating, and it has no family, because ECS copies never inherit one.\n", built, copied)
	step("So in the copy's region the family resolves to nothing (exit code 3; the hint names promote):",
		"resolve", exitNotFound, "--region", "cn-beijing", "--image-family", "web-base")
	step("promote puts each region's image in the family; the copy is still Creating, so --wait polls it until it is Available:",
		"promote", exitOK, "--image-family", "web-base", "--image-ids", "cn-hangzhou="+built+",cn-beijing="+copied, "--wait", "2m")
	step("Now the family resolves in both regions:",
		"resolve", exitOK, "--region", "cn-hangzhou,cn-beijing", "--image-family", "web-base")
	step("The release turns out bad in cn-hangzhou: rollback deprecates its image, only if the family still resolves to it (compare-and-swap):",
		"rollback", exitOK, "--image-family", "web-base", "--image-ids", "cn-hangzhou="+built)
	step("The family resolves to the previous image (promote of the same id would undo the rollback):",
		"resolve", exitOK, "--region", "cn-hangzhou", "--image-family", "web-base")

	fmt.Fprintf(a.stdout, "\nThe emulator answered %d requests (%d DescribeImageFromFamily, %d DescribeImages, %d ModifyImageAttribute, %d AssumeRole), each signature verified.\n",
		srv.Requests(""), srv.Requests("DescribeImageFromFamily"), srv.Requests("DescribeImages"), srv.Requests("ModifyImageAttribute"), srv.Requests("AssumeRole"))
	if worst != exitOK {
		fmt.Fprintln(a.stderr, "demo: a step did not end as expected; see above")
	}
	fmt.Fprintln(a.stdout, "\n"+offlinePipelinesLine)
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
