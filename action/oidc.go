package action

import (
	"context"
	"errors"
	"fmt"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// idToken mints a GitHub OIDC ID token for audience from the runner's token
// service (ACTIONS_ID_TOKEN_REQUEST_URL with the bearer
// ACTIONS_ID_TOKEN_REQUEST_TOKEN) and masks it before returning.
func idToken(ctx context.Context, a *githubactions.Action, audience string) (string, error) {
	// The request token is a credential too; the runner masks it, but a
	// self-hosted or local runner may not.
	mask(a, a.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))

	token, err := a.GetIDToken(ctx, audience)
	mask(a, token)
	var missing *githubactions.EnvMissingError
	var failed *githubactions.RequestFailedError
	switch {
	case errors.As(err, &missing):
		return "", &credentialsInputError{fmt.Sprintf(
			"role-to-assume and oidc-provider-arn are set, but this job cannot request a GitHub OIDC ID token (%s is not set). "+
				"Add `permissions: id-token: write` to the job or the workflow (with contents: read if the job checks out code). "+
				"Workflows triggered by pull requests from forks never get an ID token; use static keys from secrets there, or skip the step",
			missing.Name)}
	case errors.As(err, &failed):
		return "", fmt.Errorf("%w: GitHub refused to mint an ID token for audience %q (HTTP %d): %s",
			imagefamily.ErrCredentials, audience, failed.StatusCode, truncate(failed.Body, 300))
	case err != nil:
		return "", fmt.Errorf("%w: requesting a GitHub ID token for audience %q: %v", imagefamily.ErrCredentials, audience, err)
	case token == "":
		return "", fmt.Errorf("%w: the GitHub token service answered without a token for audience %q", imagefamily.ErrCredentials, audience)
	}
	return token, nil
}

// credentialsInputError is a configuration mistake found before anything was
// sent to Alibaba Cloud; it counts as an input error (exit code 2).
type credentialsInputError struct{ msg string }

func (e *credentialsInputError) Error() string        { return e.msg }
func (e *credentialsInputError) Is(target error) bool { return target == imagefamily.ErrInvalidInput }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
