package action

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// idToken mints a GitHub OIDC ID token for audience from the runner's token
// service (ACTIONS_ID_TOKEN_REQUEST_URL with the bearer
// ACTIONS_ID_TOKEN_REQUEST_TOKEN) and masks it before returning. The request
// is bounded by the timeout input (imagefamily.DefaultTimeout when it is
// zero) as well as by the Action's HTTP client (see Main).
func idToken(ctx context.Context, a *githubactions.Action, audience string, timeout time.Duration) (string, error) {
	// The request token is a credential too; the runner masks it, but a
	// self-hosted or local runner may not.
	mask(a, a.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))

	if timeout <= 0 {
		timeout = imagefamily.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	token, err := a.GetIDToken(ctx, audience)
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
		return "", fmt.Errorf("%w: GitHub refused to mint an ID token for audience %q (HTTP %d): %s",
			imagefamily.ErrCredentials, audience, failed.StatusCode, safetext.Excerpt(failed.Body, 300))
	case errors.As(err, &refused):
		// A redirect or an oversized body, refused at the trust boundary;
		// the bearer token went nowhere but the configured URL.
		return "", fmt.Errorf("%w: requesting a GitHub ID token for audience %q: %w", imagefamily.ErrCredentials, audience, refused)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("%w: the GitHub ID-token service did not answer within %s (the timeout input)", imagefamily.ErrCredentials, timeout)
	case err != nil:
		return "", fmt.Errorf("%w: requesting a GitHub ID token for audience %q: %s", imagefamily.ErrCredentials, audience, safetext.Excerpt(err.Error(), 500))
	case token == "":
		return "", fmt.Errorf("%w: the GitHub token service answered without a token for audience %q", imagefamily.ErrCredentials, audience)
	}
	return token, nil
}

// jwtShape is a compact JWS: three base64url parts (the signature may be
// empty only in unsigned tokens, which STS refuses anyway).
var jwtShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)

// credentialsInputError is a configuration mistake found before anything was
// sent to Alibaba Cloud; it counts as an input error (exit code 2).
type credentialsInputError struct{ msg string }

func (e *credentialsInputError) Error() string        { return e.msg }
func (e *credentialsInputError) Is(target error) bool { return target == imagefamily.ErrInvalidInput }
