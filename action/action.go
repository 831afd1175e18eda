// Package action is the GitHub Action front: it reads the step's inputs,
// builds one imagefamily.Request, lets the core resolve it, and turns the
// answer into step outputs, a job summary and annotations. Everything about
// looking images up (validation, credentials, retries, errors and their
// hints) lives in the core; this package only translates.
//
// The release binary serves it as `alicloud-image-family action`; action.yml
// at the repository root starts that binary through action/launcher.sh.
package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// Option adjusts how Run works. The zero set of options is what production
// uses.
type Option func(*config)

type config struct {
	adjust         []func(*imagefamily.Request)
	resolve        func(context.Context, imagefamily.Request) (imagefamily.Image, error)
	resolveRegions func(context.Context, imagefamily.Request, []string, int) ([]imagefamily.Result, error)

	// outputsWritten is set once report has written the step outputs, so
	// that a failure after that point does not write them twice. A failed
	// write leaves it unset: Run then writes the failure outputs.
	outputsWritten bool

	// title heads the annotation of a failure of the whole step: the
	// command's, once the inputs have named one.
	title string

	// secrets are the secret values this step knows of (inputs, the GitHub
	// tokens, keys STS issued), kept out of the message of a panic. Regions'
	// goroutines add to it (OnSecret), hence the lock.
	secretsMu sync.Mutex
	secrets   []string
}

// addSecret records a secret for internalError.
func (c *config) addSecret(v string) {
	if v == "" {
		return
	}
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	c.secrets = append(c.secrets, v)
}

// internalError is the error of a panic recovered in the step's own
// goroutine: its value without any secret of the step or the environment,
// escaped and bounded (imagefamily.NewInternalError), class
// imagefamily.ErrInternal, exit code 1.
func (c *config) internalError(a *githubactions.Action, r any) error {
	c.secretsMu.Lock()
	secrets := append([]string(nil), c.secrets...)
	c.secretsMu.Unlock()
	return imagefamily.NewInternalError("", r, imagefamily.Credentials{Getenv: a.Getenv}, secrets...)
}

// WithRequest lets the caller adjust the request after the inputs have been
// applied, before the GitHub ID token is requested (whose retries follow
// Retry too) and the lookup is sent: tests set Transport (the emulator's),
// Credentials.HomeDir, a Retry.Sleep that does not sleep or a Guards.Now.
// The OIDC credentials are filled in after it.
func WithRequest(f func(*imagefamily.Request)) Option {
	return func(c *config) { c.adjust = append(c.adjust, f) }
}

// Main runs the action with the given environment and standard output and
// returns the process exit code, the CLI's: 0 on success, 2 when the inputs
// were rejected before anything was sent, 3 when a region has no available
// image, 4 when a newest image differs from expected-image-ids and
// fail-on-change is true, 5 when a guard refused an image, 1 for every other
// failure; with several regions the worst wins, 1 over 5 over 3 over 4. It
// is what the `alicloud-image-family action` subcommand calls:
//
//	os.Exit(action.Main(ctx, os.Getenv, os.Stdout))
//
// The GitHub ID-token request goes through the same trust boundary as the
// core's own requests (imagefamily.GuardTransport): a redirect is refused,
// never followed (it would carry the runner's bearer token elsewhere), and a
// body is read up to imagefamily.MaxResponseBytes.
//
// stdout is the step log: Main writes to it through StepLog, so no line holds
// the runner's legacy command prefix "##[".
//
// A panic is exit code 1, never Go's 2 (which means bad input here) and never
// a goroutine dump: Run recovers it as an error like any other (an
// annotation, the failure outputs); this is the last line of defence for a
// panic Run could not handle, one ::error line written here directly.
func Main(ctx context.Context, getenv func(string) string, stdout io.Writer, opts ...Option) (code int) {
	stdout = StepLog(stdout)
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout),
		githubactions.WithHTTPClient(idTokenClient()))
	defer func() {
		if r := recover(); r != nil {
			secrets := []string{getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")}
			for _, name := range secretInputs {
				secrets = append(secrets, input(a, name))
			}
			msg := imagefamily.NewInternalError("", r, imagefamily.Credentials{Getenv: getenv}, secrets...).Error()
			code = 1
			defer func() { _ = recover() }() // stdout itself may be what panicked
			panicAnnotation(stdout, msg)
		}
	}()
	return ExitCode(Run(ctx, a, opts...))
}

// ExitCode is the process exit code for an error returned by Run (see
// Main): the CLI's, from the core's one table (imagefamily.ExitCode), the
// worst region winning; for promote and rollback, from their outcomes
// (imagefamily.RegionOutcome.ExitCode), as the CLI's.
func ExitCode(err error) int {
	var oe *outcomesError
	if errors.As(err, &oe) {
		return oe.code
	}
	return imagefamily.ExitCode(err)
}

// Run performs one step: mask secrets, read inputs, obtain a GitHub ID token
// when OIDC is configured, run the command (resolve every region, or
// promote or roll back the images named; command.go), write outputs and the
// job summary. Every failure is reported as an ::error annotation before Run
// returns it, and every output is written (with the values of a step that
// found nothing, when GITHUB_OUTPUT is set), so the caller only needs to turn
// the error into an exit code (ExitCode). That includes a panic anywhere in
// the step: it is returned as an *imagefamily.InternalError (exit code 1);
// the core returns a panic in a region's goroutine as that region's error.
//
// The Action must have been created with the step's environment
// (githubactions.WithGetenv) and standard output wrapped by StepLog
// (githubactions.WithWriter(action.StepLog(os.Stdout))); its HTTP client
// (githubactions.WithHTTPClient) fetches the ID token.
func Run(ctx context.Context, a *githubactions.Action, opts ...Option) (err error) {
	c := &config{resolve: imagefamily.Resolve, resolveRegions: imagefamily.ResolveRegions}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	defer func() {
		// A panic while reporting a failure (below): still an error, and
		// still the failure outputs if they are not written yet.
		if r := recover(); r != nil {
			err = c.internalError(a, r)
			c.writeFailureOutputs(a)
		}
	}()
	err = c.runRecovering(ctx, a)
	var r *reportedError
	if err != nil && !errors.As(err, &r) {
		title := c.title
		if title == "" {
			title = defaultTitle
		}
		annotate(a, title, err)
	}
	if err != nil {
		c.writeFailureOutputs(a)
	}
	return err
}

// runRecovering is run, with a panic in it (in this goroutine: reading
// inputs, the ID-token request, report) returned as an internal error.
func (c *config) runRecovering(ctx context.Context, a *githubactions.Action) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.internalError(a, r)
		}
	}()
	return c.run(ctx, a)
}

// writeFailureOutputs writes every output with the values of a step that
// found nothing, unless report wrote the outputs already or there is no
// GITHUB_OUTPUT file. docs/action.md promises every output on every run: a
// later step reading steps.<id>.outputs.found gets "false", not an absent
// value, also after an input error (exit code 2) or a panic (exit code 1).
func (c *config) writeFailureOutputs(a *githubactions.Action) {
	if c.outputsWritten || a.Getenv("GITHUB_OUTPUT") == "" {
		return
	}
	c.outputsWritten = true
	if werr := writeOutputs(a.Getenv("GITHUB_OUTPUT"), failureOutputs()); werr != nil {
		warn(a, "", werr.Error())
	}
}

// idTokenService names the GitHub ID-token service in refused answers.
const idTokenService = "GitHub ID-token service"

// idTokenClientTimeout bounds one ID-token request whatever the timeout
// input says; the token service answers in well under a second.
const idTokenClientTimeout = 30 * time.Second

// idTokenClient is the HTTP client of the GitHub ID-token request: the core's
// trust boundary (no redirects, bounded bodies) and a timeout.
func idTokenClient() *http.Client {
	return &http.Client{
		Transport:     imagefamily.GuardTransport(nil, idTokenService),
		CheckRedirect: imagefamily.NoRedirects,
		Timeout:       idTokenClientTimeout,
	}
}

// reportedError marks an error whose annotations were already written.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

func (c *config) run(ctx context.Context, a *githubactions.Action) error {
	// Masks first: the runner hides a value only in lines printed after its
	// add-mask command, so nothing may be printed before these.
	for _, name := range secretInputs {
		mask(a, input(a, name))
		c.addSecret(input(a, name))
	}
	c.addSecret(a.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))

	// A failure is titled by the command, also when a later input is bad.
	if cmd, ok := commands[input(a, "command")]; ok {
		c.title = cmd.title
	}
	in, err := readInputs(a)
	if err != nil {
		return actionNames.FirstRefusal(err)
	}

	log := &stepLog{a: a}
	req := imagefamily.Request{
		Family:    in.family,
		Endpoint:  in.endpoint,
		Timeout:   in.timeout,
		Front:     imagefamily.FrontAction,
		Guards:    in.guards,
		Wait:      in.wait,
		NewerThan: in.newerThan,
		// One line per poll of a wait and per retry, whichever region's
		// goroutine reports it; stepLog keeps the lines whole.
		OnProgress: func(p imagefamily.WaitProgress) { log.info(p.String()) },
		Retry: imagefamily.RetryPolicy{MaxAttempts: in.maxAttempts,
			OnRetry: func(n imagefamily.RetryNotice) { log.info(n.String()) }},
		Credentials: imagefamily.Credentials{
			AccessKeyID:     in.accessKeyID,
			AccessKeySecret: in.accessKeySecret,
			SecurityToken:   in.securityToken,
			RoleSessionName: in.roleSessionName,
			STSEndpoint:     in.stsEndpoint,
			Getenv:          a.Getenv,
			// STS-issued keys and tokens never reach this code, but the
			// runner must know them to mask them in any later log line.
			OnSecret: func(v string) { mask(a, v); c.addSecret(v) },
		},
	}
	if len(in.regions) > 0 {
		req.Region = in.regions[0]
	}
	if req.Credentials.RoleSessionName == "" && in.roleToAssume != "" {
		req.Credentials.RoleSessionName = defaultSessionName(a.Getenv)
	}
	// Step debug logging (re-run with debug, or the ACTIONS_STEP_DEBUG
	// secret) sets RUNNER_DEBUG=1. The core's trace is already redacted; the
	// values it could leak are masked above anyway.
	if a.Getenv("RUNNER_DEBUG") == "1" {
		dw := &debugWriter{log: log}
		defer dw.flush()
		req.Debug = dw
	}
	// The caller's adjustments come before the GitHub ID token is requested:
	// that request runs under the request's retry policy too.
	for _, f := range c.adjust {
		f(&req)
	}

	switch {
	case in.oidc():
		req.Credentials.OIDCRoleARN = in.roleToAssume
		req.Credentials.OIDCProviderARN = in.oidcProviderARN
	case in.roleToAssume != "":
		// With static keys, or with whatever the environment chain finds
		// (an earlier credentials step), assume the role on top.
		req.Credentials.AssumeRoleARN = in.roleToAssume
	}
	// Everything that can be checked offline is checked before anything is
	// sent (the GitHub ID token included: invalid input must not send
	// anything anywhere), and a refusal names the input to change.
	probe := req
	if in.oidc() {
		probe.Credentials.OIDCToken = "not-requested-yet"
	}
	if err := in.cmd.validate(in, probe); err != nil {
		return actionNames.FirstRefusal(err)
	}
	if in.oidc() {
		token, err := idToken(ctx, a, in.audience, in.timeout, req.Retry)
		if err != nil {
			return err
		}
		req.Credentials.OIDCToken = token
		c.addSecret(token)
	}

	return in.cmd.run(c, ctx, a, in, req)
}

// runResolve looks the family up in every region of the region input.
func (c *config) runResolve(ctx context.Context, a *githubactions.Action, in *inputs, req imagefamily.Request) error {
	var results []imagefamily.Result
	if len(in.regions) == 1 {
		img, err := c.resolve(ctx, req)
		results = []imagefamily.Result{{Region: req.Region, Image: img, Err: err}}
	} else {
		// Concurrency 0: every region in one wave, up to
		// imagefamily.DefaultConcurrency.
		var err error
		results, err = c.resolveRegions(ctx, req, in.regions, 0)
		if err != nil {
			return explain(err, in)
		}
	}
	return c.report(a, in, results)
}

// explain adds what only the action knows to a core error: which audience
// the GitHub ID token was minted for, when STS refused it.
func explain(err error, in *inputs) error {
	if !in.oidc() {
		return err
	}
	var api *imagefamily.APIError
	isSTS := errors.As(err, &api) && api.Service == "STS"
	if !isSTS && !errors.Is(err, imagefamily.ErrCredentials) {
		return err
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "audience") || strings.Contains(msg, "aud ") || strings.Contains(msg, "aud.") || strings.Contains(msg, "audnotmatch") {
		return fmt.Errorf("%w. The GitHub ID token was requested with audience %q; it must equal a client ID of the OIDC provider %s (set the audience input to that client ID, or add %q to the provider's client IDs)",
			err, in.audience, in.oidcProviderARN, in.audience)
	}
	return fmt.Errorf("%w. (The GitHub ID token was requested with audience %q for role %s and OIDC provider %s.)",
		err, in.audience, in.roleToAssume, in.oidcProviderARN)
}

// defaultSessionName names the STS session after the workflow run, so that
// ActionTrail shows which run assumed the role. Session names allow letters,
// digits and ".@-_", 2 to 64 characters.
func defaultSessionName(getenv func(string) string) string {
	name := "github-actions"
	if id := getenv("GITHUB_RUN_ID"); id != "" {
		name += "-" + id
		if at := getenv("GITHUB_RUN_ATTEMPT"); at != "" {
			name += "-" + at
		}
	}
	clean := strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '@' || r == '-' || r == '_' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return r
		}
		return -1
	}, name)
	if len(clean) > 64 {
		clean = clean[:64]
	}
	return clean
}
