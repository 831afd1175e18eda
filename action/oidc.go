package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// idToken mints a GitHub OIDC ID token for audience from the runner's token
// service (ACTIONS_ID_TOKEN_REQUEST_URL with the bearer
// ACTIONS_ID_TOKEN_REQUEST_TOKEN) and masks it before returning. The request
// is bounded by the timeout input (imagefamily.DefaultTimeout when it is
// zero), retries included, as well as by the Action's HTTP client (see Main).
//
// It is retried under policy, the request's retry policy (the same attempts
// and backoff as the ECS and STS calls, and the same OnRetry line), when the
// service answers 5xx or the connection is reset, refused or times out; a
// 4xx answer, a refused answer (redirect, oversized body), a body that is not
// JSON or a value that is not a JWT are not retried: they would come back
// the same.
func idToken(ctx context.Context, a *githubactions.Action, audience string, timeout time.Duration, policy imagefamily.RetryPolicy) (string, error) {
	// The request token is a credential too; the runner masks it, but a
	// self-hosted or local runner may not.
	mask(a, a.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))

	if timeout <= 0 {
		timeout = imagefamily.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var token string
	attempts := 0
	err := policy.Do(ctx, fmt.Sprintf("GitHub ID-token request for audience %q", audience), func(ctx context.Context) (bool, error) {
		attempts++
		t, err := a.GetIDToken(ctx, audience)
		token = t
		if err == nil {
			return false, nil
		}
		reason, retry := tokenRetry(ctx, err)
		return retry, &tokenAttemptError{err: err, reason: reason}
	})
	// From here on, the error of the last attempt as GetIDToken gave it.
	var last *tokenAttemptError
	if errors.As(err, &last) {
		err = last.err
	}
	after := ""
	if attempts > 1 {
		after = fmt.Sprintf(" after %d attempts", attempts)
	}
	if err == nil && token != "" && !jwtShape.MatchString(token) {
		// Not a JWT: a line break in it would register one mask per line
		// (a mask of "e" stars out the rest of the job log). Not masked,
		// not used, not shown.
		return "", fmt.Errorf("%w: the GitHub ID-token service answered with a value that is not a JWT (three base64url parts separated by dots); it was not used", imagefamily.ErrCredentials)
	}
	mask(a, token)
	var missing *githubactions.EnvMissingError
	var failed *githubactions.RequestFailedError
	var refused *imagefamily.AnswerError
	switch {
	case errors.As(err, &missing):
		return "", &credentialsInputError{fmt.Sprintf(
			"role-to-assume and oidc-provider-arn are set, but this job cannot request a GitHub OIDC ID token (%s is not set). "+
				"Add `permissions: id-token: write` to the job or the workflow (with contents: read if the job checks out code). "+
				"Workflows triggered by pull requests from forks never get an ID token; use static keys from secrets there, or skip the step",
			missing.Name)}
	case errors.As(err, &failed):
		// The body is the service's text: escaped and bounded.
		return "", fmt.Errorf("%w: GitHub refused to mint an ID token for audience %q (HTTP %d%s): %s",
			imagefamily.ErrCredentials, audience, failed.StatusCode, after, safetext.Excerpt(failed.Body, 300))
	case errors.As(err, &refused):
		// A redirect or an oversized body, refused at the trust boundary;
		// the bearer token went nowhere but the configured URL.
		return "", fmt.Errorf("%w: requesting a GitHub ID token for audience %q: %w", imagefamily.ErrCredentials, audience, refused)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("%w: the GitHub ID-token service did not answer within %s (the timeout input%s)", imagefamily.ErrCredentials, timeout, strings.Replace(after, " after", ";", 1))
	case err != nil:
		return "", fmt.Errorf("%w: requesting a GitHub ID token for audience %q%s: %s", imagefamily.ErrCredentials, audience, after, safetext.Excerpt(err.Error(), 500))
	case token == "":
		return "", fmt.Errorf("%w: the GitHub token service answered without a token for audience %q", imagefamily.ErrCredentials, audience)
	}
	return token, nil
}

// tokenAttemptError is one failed ID-token request: the error as
// GetIDToken returned it (what idToken reports at the end) and a short,
// escaped reason for the retry line (no URL, no body).
type tokenAttemptError struct {
	err    error
	reason string
}

func (e *tokenAttemptError) Error() string { return e.reason }
func (e *tokenAttemptError) Unwrap() error { return e.err }

// tokenRetry says why an ID-token request failed, in a few words, and
// whether another attempt may succeed: 5xx answers, resets, refused
// connections, a connection closed mid-answer and timeouts, as the core
// retries them for ECS and STS. 4xx answers are never retried.
func tokenRetry(ctx context.Context, err error) (string, bool) {
	var failed *githubactions.RequestFailedError
	var refused *imagefamily.AnswerError
	var missing *githubactions.EnvMissingError
	var ne net.Error
	switch {
	case errors.As(err, &refused), errors.As(err, &missing):
		return safetext.Excerpt(err.Error(), 160), false
	case errors.As(err, &failed):
		return fmt.Sprintf("HTTP %d", failed.StatusCode), failed.StatusCode >= 500
	case ctx.Err() != nil:
		// The deadline (the timeout input) passed: no time for another.
		return "no answer in time", false
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer in time: " + safetext.Excerpt(transportCause(err), 160), true
	}
	cause := transportCause(err)
	msg := strings.ToLower(cause)
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		strings.Contains(msg, "connection reset"), strings.Contains(msg, "connection refused"),
		strings.Contains(msg, "broken pipe"), strings.Contains(msg, "eof"):
		return safetext.Excerpt(cause, 160), true
	}
	return safetext.Excerpt(cause, 160), false
}

// transportCause is the network error without the request URL that
// net/http puts around it.
func transportCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// jwtShape is a compact JWS: three base64url parts (the signature may be
// empty only in unsigned tokens, which STS refuses anyway).
var jwtShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)

// credentialsInputError is a configuration mistake found before anything was
// sent to Alibaba Cloud; it counts as an input error (exit code 2).
type credentialsInputError struct{ msg string }

func (e *credentialsInputError) Error() string        { return e.msg }
func (e *credentialsInputError) Is(target error) bool { return target == imagefamily.ErrInvalidInput }
