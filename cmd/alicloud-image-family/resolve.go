package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// regionList collects --region, which may repeat and may hold a
// comma-separated list.
type regionList []string

func (r *regionList) String() string     { return strings.Join(*r, ",") }
func (r *regionList) Set(v string) error { *r = append(*r, v); return nil }

type resolveFlags struct {
	regions         regionList
	family          string
	output          string
	endpoint        string
	stsEndpoint     string
	vpc             bool
	profile         string
	profileFile     string
	roleARN         string
	roleSessionName string
	ramRoleName     string
	metadataEP      string
	timeout         timeoutFlag
	maxAttempts     textFlag
	concurrency     textFlag
	debug           bool

	// Release promotion (promote.go): guards, drift and waiting.
	architecture string
	osType       string
	maxAge       string
	owners       string
	expect       string
	expectFile   string
	wait         string
	newerThan    string
}

// timeoutFlag is --timeout as every front reads a duration
// (imagefamily.ParseDuration): a Go duration such as 90s or 2m, or a whole
// number of seconds. Set only records the text, so that a bad value is
// reported after parsing, naming --timeout and the allowed range, like every
// other bad value (not as the flag package's bare "parse error").
type timeoutFlag struct {
	raw string
	set bool
}

func (t *timeoutFlag) String() string { return t.raw }

// textFlag records a flag's text, for values the core parses (so that a bad
// value is refused in the core's words, naming the flag, like every other).
type textFlag struct{ raw string }

func (t *textFlag) String() string { return t.raw }

func (t *textFlag) Set(v string) error { t.raw = v; return nil }

func (t *timeoutFlag) Set(v string) error { t.raw, t.set = v, true; return nil }

// duration is the timeout, or a *imagefamily.ValidationError naming
// --timeout when it is not a duration in [MinTimeout, MaxTimeout].
func (t *timeoutFlag) duration() (time.Duration, error) {
	if !t.set {
		return imagefamily.DefaultTimeout, nil
	}
	return imagefamily.ParseDuration("--timeout", t.raw, imagefamily.MinTimeout, imagefamily.MaxTimeout)
}

// budget is the connection's time and attempt budgets, --max-attempts
// checked first (the core's rule, the same on every front: 1 to 20; the
// core's "0 means the default" is not offered), then --timeout.
func (f *resolveFlags) budget() (timeout time.Duration, maxAttempts int, err error) {
	if maxAttempts, err = imagefamily.ParseMaxAttempts("max attempts", f.maxAttempts.raw); err != nil {
		return 0, 0, err
	}
	if timeout, err = f.timeout.duration(); err != nil {
		return 0, 0, err
	}
	return timeout, maxAttempts, nil
}

// shortDuration writes d without zero trailing units: 1h, not 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") || strings.HasSuffix(s, "h0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func newResolveFlagSet(f *resolveFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("alicloud-image-family resolve", flag.ContinueOnError)
	// The flag package echoes what it could not parse (an unknown flag name
	// unquoted): escape it like every other message.
	stderr = escapingWriter{w: stderr, keepTabs: true}
	fs.SetOutput(stderr)
	fs.Var(&f.regions, "region", "region id; repeat or comma-separate for several (default $ALICLOUD_REGION or $ALIBABA_CLOUD_REGION_ID)")
	fs.StringVar(&f.family, "image-family", "", "image family name (required)")
	fs.StringVar(&f.output, "output", "id", "id: the image id (region<TAB>id per line for several regions); json: the image with the API's field names;\n"+
		"text: a header line of column names ("+strings.Join(textColumns()[:3], ", ")+", ..., the image's one-line fields), then a tab-separated line per region;\n"+
		"dotenv: KEY=value lines for GitLab's artifacts:reports:dotenv (IMAGE_ID=..., the one-line fields in upper snake case; with several\n"+
		"regions also CN_HANGZHOU_IMAGE_ID=... per region, the unprefixed keys describing the first region found)")
	addConnectionFlags(fs, f)
	f.concurrency.raw = "0"
	fs.Var(&f.concurrency, "concurrency", fmt.Sprintf("the `number` of regions resolved at once, 1 to %d; 0 resolves every region at once, up to %d", maxConcurrency, imagefamily.DefaultConcurrency))
	addGuardFlags(fs, f)
	fs.StringVar(&f.expect, "expect", "", "the image ids you expect, as REGION=ID `pairs` separated by commas; a region whose newest image differs is reported on stderr\n"+
		"(\"region: old -> new (created ...)\") and the exit code is 4; stdout holds the new ids as usual")
	fs.StringVar(&f.expectFile, "expect-file", "", "like --expect, from a JSON `file` of region to image id (the GitHub Action's image-ids output)")
	fs.StringVar(&f.wait, "wait", "0", fmt.Sprintf("wait up to this `duration` (0, no waiting, to %s; a bare number counts seconds) for an available image, polling;\n"+
		"one progress line per poll on stderr; at the deadline exit 3 saying what was last seen", shortDuration(imagefamily.MaxWait)))
	fs.StringVar(&f.newerThan, "newer-than", "", "with --wait: wait for a newest image other than this `image-id` (the one the last build used)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: alicloud-image-family resolve --region R --image-family F [flags]

Prints the id of the newest available custom image of family F in region R.
Credentials come from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, ALICLOUD_ACCESS_KEY/SECRET_KEY,
OIDC variables), an aliyun CLI profile, or an ECS instance role; secrets are never taken as flags.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExit codes: 0 found; 2 invalid usage or input (nothing was sent); 3 no available image (or none newer\n"+
			"before the --wait deadline); 4 found, but an image differs from --expect/--expect-file; 5 found, but refused by\n"+
			"--architecture, --os-type, --max-age or --owners; 1 any other failure (an API error, a network failure, a timeout, an\n"+
			"answer refused as malformed or unsafe, or an internal error). With several regions the worst wins: 1, then 5,\n"+
			"then 3, then 4, then 0.\n")
	}
	return fs
}

// addGuardFlags registers the guards, shared by resolve and lock.
func addGuardFlags(fs *flag.FlagSet, f *resolveFlags) {
	fs.StringVar(&f.architecture, "architecture", "", "guard: refuse (exit 5) an image whose architecture is not this one: "+strings.Join(imagefamily.Architectures, ", "))
	fs.StringVar(&f.osType, "os-type", "", "guard: refuse (exit 5) an image whose OS type is not this one: "+strings.Join(imagefamily.OSTypes, ", "))
	fs.StringVar(&f.maxAge, "max-age", "", "guard: refuse (exit 5) an image older than this `age`: whole days (30d) or a duration (720h)")
	fs.StringVar(&f.owners, "owners", "", "guard: refuse (exit 5) an image not owned by one of these `owners`, comma-separated: "+strings.Join(imagefamily.OwnerAliases, ", ")+"\n"+
		"(the API's ImageOwnerAlias) or account ids (ImageOwnerId); default any owner")
}

// addConnectionFlags registers the flags every command that calls ECS
// shares (resolve, promote, rollback): endpoints, credentials, timeout,
// retries and the debug trace.
func addConnectionFlags(fs *flag.FlagSet, f *resolveFlags) {
	fs.StringVar(&f.endpoint, "endpoint", "", "ECS endpoint: host, host:port or URL (https unless http:// is written; default $ALIBABA_CLOUD_ECS_ENDPOINT, else the region's)")
	fs.StringVar(&f.stsEndpoint, "sts-endpoint", "", "STS endpoint for AssumeRole and OIDC (default sts.aliyuncs.com)")
	fs.BoolVar(&f.vpc, "vpc", false, "use the VPC endpoint ecs-vpc.<region>.aliyuncs.com (wins over $ALIBABA_CLOUD_ECS_ENDPOINT)")
	fs.StringVar(&f.profile, "profile", "", "aliyun CLI profile name (~/.aliyun/config.json)")
	fs.StringVar(&f.profileFile, "profile-file", "", "aliyun CLI config file (default ~/.aliyun/config.json)")
	fs.StringVar(&f.roleARN, "role-arn", "", "RAM role to assume (AssumeRole) with the credentials found")
	fs.StringVar(&f.roleSessionName, "role-session-name", "", "session name for the assumed role")
	fs.StringVar(&f.ramRoleName, "ram-role-name", "", "ECS instance RAM role name (reads the instance metadata service)")
	fs.StringVar(&f.metadataEP, "metadata-endpoint", "", "instance metadata service address for --ram-role-name (default http://100.100.100.200, or $ALIBABA_CLOUD_ECS_METADATA_ENDPOINT)")
	f.timeout.raw = shortDuration(imagefamily.DefaultTimeout)
	fs.Var(&f.timeout, "timeout", fmt.Sprintf("deadline for the whole lookup, retries included: a `duration` from %s to %s (a bare number counts seconds)",
		shortDuration(imagefamily.MinTimeout), shortDuration(imagefamily.MaxTimeout)))
	f.maxAttempts.raw = strconv.Itoa(imagefamily.DefaultMaxAttempts)
	fs.Var(&f.maxAttempts, "max-attempts", fmt.Sprintf("the `number` of attempts per request for throttling, 5xx and network errors: 1 (no retries) to %d", imagefamily.MaxAttempts))
	fs.BoolVar(&f.debug, "debug", false, "trace HTTP exchanges to stderr, secrets redacted")
}

// request is what every command that calls ECS asks of the core from the
// connection flags: retries and polls are one line each on stderr, so a
// slow run says why.
func (a *app) request(f *resolveFlags, creds imagefamily.Credentials, timeout time.Duration, maxAttempts int, wait time.Duration) imagefamily.Request {
	req := imagefamily.Request{
		Family:   f.family,
		Endpoint: f.endpoint,
		VPC:      f.vpc,
		Timeout:  timeout,
		Retry: imagefamily.RetryPolicy{
			MaxAttempts: maxAttempts,
			OnRetry:     func(n imagefamily.RetryNotice) { a.note("%s", n.String()) },
		},
		Wait:        wait,
		Front:       imagefamily.FrontCLI,
		Credentials: creds,
		Transport:   a.transport,
	}
	if wait > 0 {
		req.OnProgress = func(p imagefamily.WaitProgress) { a.note("%s", p.String()) }
	}
	if f.debug {
		req.Debug = escapingWriter{w: a.stderr}
	}
	return req
}

// credentials are the credential settings the connection flags give.
func (f *resolveFlags) credentials(getenv func(string) string) imagefamily.Credentials {
	return imagefamily.Credentials{
		Profile: f.profile, ProfileFile: f.profileFile,
		AssumeRoleARN: f.roleARN, RoleSessionName: f.roleSessionName,
		ECSRoleName: f.ramRoleName, MetadataEndpoint: f.metadataEP, STSEndpoint: f.stsEndpoint,
		Getenv: getenv, HomeDir: getenv("HOME"),
	}
}

// maxConcurrency bounds --concurrency: more connections at once than
// regions exist is a typo.
const maxConcurrency = 64

// parseFlags parses the command line. -h prints the whole help (exit 0);
// any other mistake (an unknown flag, a value the flag package cannot
// read) is a usage error like every other: one line and the hint, not the
// flag package's message followed by the whole help.
func (a *app) parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	return a.parseFlagsAs("resolve", fs, args)
}

// parseFlagsAs is parseFlags for the command cmd (resolve, promote,
// rollback), whose name the usage line and its hint carry.
func (a *app) parseFlagsAs(cmd string, fs *flag.FlagSet, args []string) (code int, ok bool) {
	help, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = help
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		help()
		return exitOK, false
	case err != nil:
		return a.commandUsage(cmd, "%s", err.Error()), false
	}
	return exitOK, true
}

func (a *app) resolve(ctx context.Context, args []string) int {
	var f resolveFlags
	fs := newResolveFlagSet(&f, a.stderr)
	if code, ok := a.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return a.usageError("unexpected argument %q (flags go before nothing else; did you forget --image-family?)", fs.Arg(0))
	}
	if f.output != "id" && f.output != "json" && f.output != "text" && f.output != "dotenv" {
		return a.usageError("%v", &imagefamily.ValidationError{Field: "--output", Value: f.output, Rule: "it must be id, json, text or dotenv"})
	}
	concurrency, err := strconv.Atoi(strings.TrimSpace(f.concurrency.raw))
	if err != nil || concurrency < 0 || concurrency > maxConcurrency {
		return a.usageError("%v", &imagefamily.ValidationError{Field: "--concurrency", Value: f.concurrency.raw,
			Rule: fmt.Sprintf("it must be a whole number from 1 to %d, or 0 for every region at once (up to %d)", maxConcurrency, imagefamily.DefaultConcurrency)})
	}
	timeout, maxAttempts, err := f.budget()
	if err != nil {
		return a.usageError("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	promo, err := f.promotion(fs, set)
	if err != nil {
		return a.usageError("%v", err)
	}
	if f.family == "" {
		return a.usageError("%v", imagefamily.ValidateFamily(f.family))
	}
	creds := f.credentials(a.getenv)
	// The aliyun CLI profile the credentials will come from is read before
	// the region is looked for, since the region may come from it: a typo
	// in --profile is reported as such (exit 2), not as a missing region.
	if err := imagefamily.ValidateProfile(creds); err != nil {
		return a.fail(cliNames.FirstRefusal(err))
	}
	rawRegions := strings.Join(f.regions, ",")
	if len(f.regions) == 0 {
		rawRegions = imagefamily.EnvRegion(a.getenv)
		if rawRegions == "" {
			// Like the aliyun CLI: the selected profile's region_id.
			region, from, err := imagefamily.ProfileRegion(imagefamily.Credentials{
				Profile: f.profile, ProfileFile: f.profileFile, Getenv: a.getenv, HomeDir: a.getenv("HOME")})
			if err != nil {
				return a.fail(cliNames.FirstRefusal(err))
			}
			if region == "" {
				return a.usageError("--region is required (or set ALICLOUD_REGION, or region_id in your aliyun CLI profile)")
			}
			a.note("region %s from %s", region, from)
			rawRegions = region
		}
	}
	regions, err := imagefamily.ParseRegions(rawRegions)
	if err != nil {
		return a.usageError("%v", err)
	}
	expected, err := f.expectation(set, regions)
	if err != nil {
		return a.usageError("%v", err)
	}

	req := a.request(&f, creds, timeout, maxAttempts, promo.wait)
	req.Guards = promo.guards
	req.NewerThan = f.newerThan
	req.Region = regions[0]
	if err := imagefamily.Validate(req); err != nil {
		return a.usageError("%v", err)
	}

	var results []imagefamily.Result
	code := exitOK
	if len(regions) == 1 {
		img, err := imagefamily.Resolve(ctx, req)
		if err != nil {
			return a.fail(err)
		}
		switch f.output {
		case "json":
			if c := a.printJSON(img); c != exitOK {
				return c
			}
		case "text":
			io.WriteString(a.stdout, textHeader()+textLine(req.Region, img))
		case "dotenv":
			if c := a.printDotenv([]imagefamily.Result{{Region: req.Region, Image: img}}); c != exitOK {
				return c
			}
		default:
			fmt.Fprintln(a.stdout, img.ImageID)
		}
		results = []imagefamily.Result{{Region: req.Region, Image: img}}
	} else {
		results, err = imagefamily.ResolveRegions(ctx, req, regions, concurrency)
		if err != nil {
			return a.fail(err)
		}
		code = a.printResults(results, f.output)
	}
	return worse(code, a.reportChanges(expected, results))
}

// printResults writes every found image in the order asked, reports each
// failure on stderr, and picks the exit code: the worst of the regions'
// (worse).
func (a *app) printResults(results []imagefamily.Result, output string) int {
	code := exitOK
	var b strings.Builder
	found := 0
	credentialsReported := false
	for _, r := range results {
		if errors.As(r.Err, new(*imagefamily.CredentialsError)) {
			// Credentials are obtained once for every region: one
			// failure, reported once (with its guidance, over lines).
			if !credentialsReported {
				credentialsReported = true
				a.fail(r.Err)
			}
			code = worse(code, exitCode(r.Err))
			continue
		}
		if r.Err != nil {
			a.reportf("alicloud-image-family: %s: %v", r.Region, r.Err)
			code = worse(code, exitCode(r.Err))
			continue
		}
		switch output {
		case "dotenv":
			// Written whole below, or not at all.
		case "id":
			fmt.Fprintf(&b, "%s\t%s\n", r.Region, r.Image.ImageID)
		case "text":
			if found == 0 {
				b.WriteString(textHeader())
			}
			b.WriteString(textLine(r.Region, r.Image))
		default:
			img, _ := json.Marshal(r.Image)
			key, _ := json.Marshal(r.Region)
			if found > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n  %s: %s", key, img)
		}
		found++
	}
	// stdout carries results only: when no region was found there is none
	// to print, not even an empty JSON object.
	if found == 0 {
		return code
	}
	if output == "dotenv" {
		return worse(code, a.printDotenv(results))
	}
	if output == "json" {
		io.WriteString(a.stdout, "{"+noLegacyJSON(b.String())+"\n}\n")
	} else {
		io.WriteString(a.stdout, b.String())
	}
	return code
}

// printDotenv writes the dotenv lines of results, or reports the value
// that cannot be written (exit 1) and writes nothing.
func (a *app) printDotenv(results []imagefamily.Result) int {
	text, err := dotenvLines(results)
	if err != nil {
		return a.fail(err)
	}
	io.WriteString(a.stdout, text)
	return exitOK
}

// printJSON writes v as json.MarshalIndent would, indenting as it writes:
// an accepted answer nested to the limit indents to many times its size,
// and that text is never held in memory whole.
func (a *app) printJSON(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return a.fail(err)
	}
	w := bufio.NewWriter(a.stdout)
	writeIndented(w, []byte(noLegacyJSON(string(b))), "  ")
	w.WriteByte('\n')
	w.Flush()
	return exitOK
}

// noLegacyJSON writes every "##[" in JSON text as "##\u005b": the same JSON
// value, but no GitHub runner reads it as a legacy workflow command when the
// JSON is printed to a run: step's log. "#" occurs in JSON text only inside
// strings, so every "##[" is inside one, where "\u005b" is "[".
func noLegacyJSON(s string) string {
	return strings.ReplaceAll(s, "##[", `##\u005b`)
}

// note tells the user, on stderr, a choice made for them.
func (a *app) note(format string, args ...any) {
	a.reportf("alicloud-image-family: "+format, args...)
}

func (a *app) usageError(format string, args ...any) int {
	return a.commandUsage("resolve", format, args...)
}

// commandUsage is a usage error of the command cmd: one line, then the
// hint, exit 2. An error among args is the core's refusal, worded by the
// CLI's table of names (the first problem: one line).
func (a *app) commandUsage(cmd, format string, args ...any) int {
	for i, arg := range args {
		if err, ok := arg.(error); ok {
			args[i] = cliNames.FirstRefusal(err)
		}
	}
	a.report(fmt.Sprintf("alicloud-image-family "+cmd+": "+format, args...), "Run 'alicloud-image-family "+cmd+" -h' for usage.")
	return exitUsage
}

// fail reports err as one escaped line and maps its class to the exit code:
// 2 only for input refused before anything was sent; 3 for not found; 5 for
// an image refused by a guard; 1 for everything else, an answer refused at
// the trust boundary included.
func (a *app) fail(err error) int {
	err = cliNames.NoCredentials(err)
	lines := imagefamily.MessageLines(err)
	lines[0] = "alicloud-image-family: " + lines[0]
	a.reportLines(lines)
	return exitCode(err)
}

// exitCode maps an error's class to the exit code (docs/cli.md), with the
// core's table, which the action shares.
func exitCode(err error) int { return imagefamily.ExitCode(err) }

// worse is the exit code of several outcomes: 1 (any other failure) over 5
// (refused by a guard) over 3 (not found) over 4 (changed) over 0
// (imagefamily.WorseExit, which the action's exit code follows too).
func worse(a, b int) int { return imagefamily.WorseExit(a, b) }
