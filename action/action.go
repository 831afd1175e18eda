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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Option adjusts how Run works. The zero set of options is what production
// uses.
type Option func(*config)

type config struct {
	adjust         []func(*imagefamily.Request)
	resolve        func(context.Context, imagefamily.Request) (imagefamily.Image, error)
	resolveRegions func(context.Context, imagefamily.Request, []string, int) ([]imagefamily.Result, error)

	// outputsAttempted is set once report has tried to write the step
	// outputs, so that a failure after that point does not write them twice.
	outputsAttempted bool
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
// returns the process exit code, as the CLI's: 0 on success, 2 when the
// inputs were rejected before anything was sent, 3 when the only failure is
// that the family has no available image (in every region that failed), 1
// for every other failure. It is what the `alicloud-image-family action`
// subcommand calls:
//
//	os.Exit(action.Main(ctx, os.Getenv, os.Stdout))
//
// The GitHub ID-token request goes through the same trust boundary as the
// core's own requests (imagefamily.GuardTransport): a redirect is refused,
// never followed (it would carry the runner's bearer token elsewhere), and a
// body is read up to imagefamily.MaxResponseBytes.
func Main(ctx context.Context, getenv func(string) string, stdout io.Writer, opts ...Option) int {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout),
		githubactions.WithHTTPClient(idTokenClient()))
	return ExitCode(Run(ctx, a, opts...))
}

// ExitCode is the process exit code for an error returned by Run (see Main).
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case imagefamily.IsInputError(err):
		return 2
	case onlyNotFound(err):
		return 3
	default:
		return 1
	}
}

// onlyNotFound reports whether every failure joined in err is "no available
// image": any other failure outranks it, as in the CLI.
func onlyNotFound(err error) bool {
	switch e := err.(type) {
	case *reportedError:
		return onlyNotFound(e.err)
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, c := range errs {
			if !onlyNotFound(c) {
				return false
			}
		}
		return len(errs) > 0
	}
	return errors.Is(err, imagefamily.ErrNotFound)
}

// Run performs one step: mask secrets, read inputs, obtain a GitHub ID token
// when OIDC is configured, resolve every region, write outputs and the job
// summary. Every failure is reported as an ::error annotation before Run
// returns it, and every output is written (with the values of a step that
// found nothing, when GITHUB_OUTPUT is set), so the caller only needs to turn
// the error into an exit code (ExitCode).
//
// The Action must have been created with the step's environment
// (githubactions.WithGetenv) and standard output (githubactions.WithWriter);
// its HTTP client (githubactions.WithHTTPClient) fetches the ID token.
func Run(ctx context.Context, a *githubactions.Action, opts ...Option) error {
	c := config{resolve: imagefamily.Resolve, resolveRegions: imagefamily.ResolveRegions}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	err := c.run(ctx, a)
	var r *reportedError
	if err != nil && !errors.As(err, &r) {
		annotate(a, "Image family lookup failed", err)
	}
	if err != nil && !c.outputsAttempted && a.Getenv("GITHUB_OUTPUT") != "" {
		// docs/action.md promises every output on every run: a later step
		// reading steps.<id>.outputs.found gets "false", not an absent
		// value, also after an input error (exit code 2).
		if werr := writeOutputs(a.Getenv("GITHUB_OUTPUT"), failureOutputs()); werr != nil {
			a.Warningf("%s", safetext.Terminal(werr.Error()))
		}
	}
	return err
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

// annotate writes an ::error annotation. go-githubactions escapes '%', '\r'
// and '\n' in the message (and also ':' and ',' in properties such as the
// title), so the annotation stays one line; safetext.Terminal escapes what
// that leaves (other controls, escape sequences, bidi overrides, Unicode line
// separators), whatever the core already escaped.
func annotate(a *githubactions.Action, title string, err error) {
	a.WithFieldsMap(map[string]string{"title": safetext.Terminal(title)}).Errorf("%s", safetext.Terminal(err.Error()))
}

func (c *config) run(ctx context.Context, a *githubactions.Action) error {
	// Masks first: the runner hides a value only in lines printed after its
	// add-mask command, so nothing may be printed before these.
	for _, name := range secretInputs {
		mask(a, input(a, name))
	}

	in, err := readInputs(a)
	if err != nil {
		return err
	}

	log := &stepLog{a: a}
	req := imagefamily.Request{
		Region:    in.regions[0],
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
		Retry:      imagefamily.RetryPolicy{OnRetry: func(n imagefamily.RetryNotice) { log.info(n.String()) }},
		Credentials: imagefamily.Credentials{
			AccessKeyID:     in.accessKeyID,
			AccessKeySecret: in.accessKeySecret,
			SecurityToken:   in.securityToken,
			RoleSessionName: in.roleSessionName,
			STSEndpoint:     in.stsEndpoint,
			Getenv:          a.Getenv,
			// STS-issued keys and tokens never reach this code, but the
			// runner must know them to mask them in any later log line.
			OnSecret: func(v string) { mask(a, v) },
		},
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
		// Everything that can be checked offline is checked before a token
		// is requested: invalid input must not send anything anywhere.
		probe := req
		probe.Credentials.OIDCRoleARN, probe.Credentials.OIDCProviderARN = in.roleToAssume, in.oidcProviderARN
		probe.Credentials.OIDCToken = "not-requested-yet"
		if err := imagefamily.Validate(probe); err != nil {
			return err
		}
		token, err := idToken(ctx, a, in.audience, in.timeout, req.Retry)
		if err != nil {
			return err
		}
		req.Credentials.OIDCRoleARN = in.roleToAssume
		req.Credentials.OIDCProviderARN = in.oidcProviderARN
		req.Credentials.OIDCToken = token
	case in.roleToAssume != "":
		// With static keys, or with whatever the environment chain finds
		// (an earlier credentials step), assume the role on top.
		req.Credentials.AssumeRoleARN = in.roleToAssume
	}

	var results []imagefamily.Result
	if len(in.regions) == 1 {
		img, err := c.resolve(ctx, req)
		results = []imagefamily.Result{{Region: req.Region, Image: img, Err: err}}
	} else {
		// Concurrency 0: every region in one wave, up to
		// imagefamily.DefaultConcurrency.
		results, err = c.resolveRegions(ctx, req, in.regions, 0)
		if err != nil {
			return explain(err, in)
		}
	}
	return c.report(a, in, results)
}

// stepLog prints whole lines to the step log from any goroutine: the
// lookups of several regions report retries and polls concurrently, and
// their lines must not interleave.
type stepLog struct {
	mu sync.Mutex
	a  *githubactions.Action
}

// info prints one line, escaped (its parts came from servers).
func (l *stepLog) info(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.Infof("%s", safetext.Terminal(line))
}

// debug prints one ::debug:: line, escaped.
func (l *stepLog) debug(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.Debugf("%s", safetext.Terminal(line))
}

// report prints what was found, writes outputs and summary, and annotates
// each failed region. Every server-provided string printed to the step log
// passes through safetext.Terminal, so none can end the line and start a
// workflow command of its own; outputs and JSON stay exact.
func (c *config) report(a *githubactions.Action, in *inputs, results []imagefamily.Result) error {
	var failures []error
	images := map[string]imagefamily.Image{}
	for _, r := range results {
		switch {
		case r.Err == nil:
			images[r.Region] = r.Image
			a.Infof("%s: the newest image in family %s is %s (%s, version %s, created %s)",
				safetext.Terminal(r.Region), safetext.Terminal(in.family), safetext.Terminal(r.Image.ImageID),
				safetext.Terminal(orDash(r.Image.ImageName)), safetext.Terminal(orDash(r.Image.ImageVersion)),
				safetext.Terminal(orDash(r.Image.CreationTime)))
		case errors.Is(r.Err, imagefamily.ErrNotFound) && !in.failIfNotFound:
			a.WithFieldsMap(map[string]string{"title": "No image in family " + safetext.Terminal(in.family)}).
				Warningf("%s (fail-if-not-found is false, so the step succeeds with found=false)", safetext.Terminal(r.Err.Error()))
		case errors.Is(r.Err, imagefamily.ErrGuard):
			annotate(a, fmt.Sprintf("Image refused by a guard in %s", r.Region), r.Err)
			failures = append(failures, r.Err)
		default:
			err := explain(r.Err, in)
			annotate(a, fmt.Sprintf("Image family lookup failed in %s", r.Region), err)
			failures = append(failures, err)
		}
	}

	// Drift: one annotation per region whose newest image is not the
	// expected one, a warning, or an error that fails the step with
	// fail-on-change. The outputs hold the new ids either way.
	changes := imagefamily.Changes(in.expected, results)
	for _, ch := range changes {
		title := map[string]string{"title": "Newest image changed in " + safetext.Terminal(ch.Region)}
		if in.failOnChange {
			a.WithFieldsMap(title).Errorf("%s", safetext.Terminal(ch.String()))
		} else {
			a.WithFieldsMap(title).Warningf("%s", safetext.Terminal(ch.String()))
		}
	}
	if len(changes) > 0 && in.failOnChange {
		failures = append(failures, &changedError{changes})
	}

	outs, err := outputsFor(in, results, images, len(changes) > 0)
	if err != nil {
		return err
	}
	c.outputsAttempted = true
	if err := writeOutputs(a.Getenv("GITHUB_OUTPUT"), outs); err != nil {
		return err
	}
	if err := appendSummary(a.Getenv("GITHUB_STEP_SUMMARY"), summary(in, results, changes)); err != nil {
		// The summary is a convenience; losing it must not fail a lookup
		// whose outputs were written.
		a.Warningf("%s", safetext.Terminal(err.Error()))
	}
	if len(failures) > 0 {
		return &reportedError{errors.Join(failures...)}
	}
	return nil
}

// changedError fails a step whose newest images differ from
// expected-image-ids while fail-on-change is true (exit code 1).
type changedError struct{ changes []imagefamily.Change }

func (e *changedError) Error() string {
	lines := make([]string, len(e.changes))
	for i, ch := range e.changes {
		lines[i] = ch.String()
	}
	return "the newest image differs from expected-image-ids (fail-on-change is true): " + strings.Join(lines, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// outputsFor lists every output, including empty ones: an output that is
// always written reads as an empty string rather than being absent when nothing is found.
func outputsFor(in *inputs, results []imagefamily.Result, images map[string]imagefamily.Image, changed bool) ([]output, error) {
	first, found1 := images[results[0].Region]
	found := len(images) == len(results)

	ids := map[string]string{}
	for region, img := range images {
		ids[region] = img.ImageID
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}

	var whole []byte
	switch {
	case len(results) > 1:
		// Several regions: an object region -> image (regions with no
		// image left out), so fromJSON(...)[region] works in a matrix.
		whole, err = json.Marshal(images)
	case found1:
		whole, err = json.Marshal(first)
	}
	if err != nil {
		return nil, err
	}

	// Every field of the image's table is an output, named and written as
	// every front names and writes it (imagefamily.Fields); empty when the
	// first region has no image.
	var outs []output
	for _, f := range imagefamily.Fields() {
		v := ""
		if found1 {
			v = f.Text(first)
		}
		outs = append(outs, output{f.ActionName(), v})
	}
	return append(outs,
		output{"found", strconv.FormatBool(found)},
		output{"json", string(whole)},
		output{"image-ids", string(idsJSON)},
		output{"changed", strconv.FormatBool(changed)},
	), nil
}

// failureOutputs is every output of a step that found nothing usable: an
// input error, a failed ID-token request, a lookup that failed as a whole.
// The names and order are those of outputsFor: every field of the table
// empty, then found, json, image-ids and changed.
func failureOutputs() []output {
	var outs []output
	for _, f := range imagefamily.Fields() {
		outs = append(outs, output{f.ActionName(), ""})
	}
	return append(outs,
		output{"found", "false"},
		output{"json", ""},
		output{"image-ids", "{}"},
		output{"changed", "false"},
	)
}

// summary renders the job summary table, one row per region in input order,
// and the drift check when expected-image-ids was given.
func summary(in *inputs, results []imagefamily.Result, changes []imagefamily.Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Alibaba Cloud image family `%s`\n\n", codeSpan(in.family))
	b.WriteString("| Region | Image ID | Name | Version | Created | Architecture | OS |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		switch {
		case r.Err == nil:
			img := r.Image
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s |\n",
				mdCell(r.Region), codeSpan(img.ImageID), mdCell(img.ImageName), mdCell(img.ImageVersion),
				mdCell(img.CreationTime), mdCell(img.Architecture), mdCell(img.OSName))
		case errors.Is(r.Err, imagefamily.ErrNotFound):
			fmt.Fprintf(&b, "| %s | not found | | | | | |\n", mdCell(r.Region))
		default:
			fmt.Fprintf(&b, "| %s | failed: %s | | | | | |\n", mdCell(r.Region), mdCell(errorClass(r.Err)))
		}
	}
	b.WriteString("\n")
	switch {
	case in.expected == nil:
	case len(changes) == 0:
		b.WriteString("Unchanged: every region compared with `expected-image-ids` has the expected image.\n\n")
	default:
		verdict := "so `changed` is `true`"
		if in.failOnChange {
			verdict = "and `fail-on-change` is `true`, so the step fails"
		}
		fmt.Fprintf(&b, "**Changed** since `expected-image-ids` (%s):\n\n", verdict)
		for _, ch := range changes {
			fmt.Fprintf(&b, "- %s\n", mdCell(ch.String()))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// errorClass names the sentinel an error matches, for the short summary cell;
// the full message is in the annotation.
func errorClass(err error) string {
	for _, s := range []error{
		imagefamily.ErrGuard, imagefamily.ErrInvalidInput, imagefamily.ErrNoCredentials, imagefamily.ErrCredentials,
		imagefamily.ErrAccessDenied, imagefamily.ErrRegionNotFound, imagefamily.ErrAuthFailed,
		imagefamily.ErrThrottled, imagefamily.ErrTimeout, imagefamily.ErrNetwork, imagefamily.ErrAPI,
	} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "error"
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

// minMaskedLine is the shortest line of a multi-line secret that is masked
// on its own.
const minMaskedLine = 6

// mask registers a secret with the runner. A multi-line value is masked line
// by line too, because the runner matches masks against single log lines.
func mask(a *githubactions.Action, secret string) {
	if strings.TrimSpace(secret) == "" {
		return
	}
	a.AddMask(secret)
	if strings.ContainsAny(secret, "\r\n") {
		for _, line := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\r' || r == '\n' }) {
			// A short line ("e", ":") would star out that text in every
			// later log line; no real secret has a line that short.
			if len(strings.TrimSpace(line)) >= minMaskedLine {
				a.AddMask(line)
			}
		}
	}
}

// debugWriter turns the core's trace into ::debug:: lines, which the runner
// shows only with step debug logging on. It is safe for the concurrent
// lookups of several regions.
type debugWriter struct {
	mu  sync.Mutex
	log *stepLog
	buf bytes.Buffer
}

func (w *debugWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			// Incomplete line: keep it for the next write.
			w.buf.Reset()
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.log.debug(strings.TrimRight(line, "\r\n"))
	}
}

func (w *debugWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.log.debug(w.buf.String())
		w.buf.Reset()
	}
}
