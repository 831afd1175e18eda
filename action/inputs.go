package action

import (
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/sethvargo/go-githubactions"
)

// DefaultAudience is the client id Alibaba Cloud's RAM OIDC providers use by
// convention; the GitHub ID token must carry it as its "aud" claim.
const DefaultAudience = "sts.aliyuncs.com"

// inputs is what the step's `with:` block says, read once and checked before
// any network call.
type inputs struct {
	regions []string
	family  string

	accessKeyID     string
	accessKeySecret string
	securityToken   string

	roleToAssume    string
	oidcProviderARN string
	audience        string
	roleSessionName string

	endpoint    string
	stsEndpoint string

	failIfNotFound bool
	timeout        time.Duration
}

// oidc reports whether the credentials come from a GitHub ID token.
func (in *inputs) oidc() bool { return in.oidcProviderARN != "" }

// input reads one action input. JavaScript actions receive INPUT_IMAGE-FAMILY
// (hyphen kept); our composite action.yml passes INPUT_IMAGE_FAMILY because a
// hyphen in an environment name is awkward in shells. Both are accepted so the
// runtime works whichever way it is started.
func input(a *githubactions.Action, name string) string {
	if v := a.GetInput(name); v != "" {
		return v
	}
	return a.GetInput(strings.ReplaceAll(name, "-", "_"))
}

// secretInputs are the inputs whose values must be masked before anything is
// printed, in the order they are read.
var secretInputs = []string{"access-key-secret", "security-token"}

// readInputs parses and checks the inputs. Every error it returns is an
// *imagefamily.ValidationError or wraps imagefamily.ErrInvalidInput, so the
// caller can tell input mistakes from lookup failures.
func readInputs(a *githubactions.Action) (*inputs, error) {
	in := &inputs{
		family:          input(a, "image-family"),
		accessKeyID:     input(a, "access-key-id"),
		accessKeySecret: input(a, "access-key-secret"),
		securityToken:   input(a, "security-token"),
		roleToAssume:    input(a, "role-to-assume"),
		oidcProviderARN: input(a, "oidc-provider-arn"),
		audience:        input(a, "audience"),
		roleSessionName: input(a, "role-session-name"),
		endpoint:        input(a, "endpoint"),
		stsEndpoint:     input(a, "sts-endpoint"),
	}

	bad := func(field, value, rule string) error {
		return &imagefamily.ValidationError{Field: field, Value: value, Rule: rule}
	}

	// The family is checked by the core as well; checking it here first
	// gives the error before an ID token is minted for nothing.
	if err := imagefamily.ValidateFamily(in.family); err != nil {
		return nil, err
	}

	region := input(a, "region")
	if region == "" {
		return nil, bad("input region", "", "it is required; give one region id such as cn-hangzhou, or several separated by commas or newlines")
	}
	regions, err := imagefamily.ParseRegions(region)
	if err != nil {
		return nil, err
	}
	if len(regions) == 0 {
		return nil, bad("input region", region, "it lists no region; give one region id such as cn-hangzhou, or several separated by commas or newlines")
	}
	in.regions = regions

	// Static keys come as a pair; a lone half is always a mistake (usually a
	// secret that is not available to this workflow, such as in a pull
	// request from a fork), and silently falling back to the environment
	// chain would hide it.
	switch {
	case in.accessKeyID != "" && in.accessKeySecret == "":
		return nil, bad("input access-key-secret", "", "access-key-id is set but access-key-secret is empty; set both (secrets are not passed to workflows triggered from forks)")
	case in.accessKeyID == "" && in.accessKeySecret != "":
		return nil, bad("input access-key-id", "", "access-key-secret is set but access-key-id is empty; set both")
	case in.securityToken != "" && in.accessKeyID == "":
		return nil, bad("input security-token", "(hidden)", "a security token is only used together with access-key-id and access-key-secret")
	}

	if in.oidcProviderARN != "" && in.roleToAssume == "" {
		return nil, bad("input role-to-assume", "", "oidc-provider-arn is set, so role-to-assume must name the RAM role to assume with the GitHub ID token")
	}
	if in.oidcProviderARN != "" && in.accessKeyID != "" {
		return nil, bad("input oidc-provider-arn", in.oidcProviderARN, "it cannot be combined with access-key-id/access-key-secret: OIDC needs no keys; remove one of the two")
	}
	if in.audience == "" {
		in.audience = DefaultAudience
	}

	in.failIfNotFound = true
	if v := input(a, "fail-if-not-found"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return nil, bad("input fail-if-not-found", v, "it must be true or false")
		}
		in.failIfNotFound = b
	}

	if v := input(a, "timeout"); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			return nil, err
		}
		in.timeout = d
	}
	return in, nil
}

// parseBool accepts what the Actions toolkit's getBooleanInput accepts (the
// YAML 1.2 core schema), so the input behaves like every other action's.
func parseBool(v string) (bool, bool) {
	switch v {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// parseTimeout takes a Go duration ("90s", "2m") or a whole number of
// seconds, between imagefamily.MinTimeout and imagefamily.MaxTimeout (100ms
// to 1h). The core's parser is overflow-safe: "18446744074" (seconds) is out
// of range, not a wrapped-around fraction of a second. Its error is a
// *imagefamily.ValidationError naming "input timeout" (exit code 2).
func parseTimeout(v string) (time.Duration, error) {
	return imagefamily.ParseDuration("input timeout", v, imagefamily.MinTimeout, imagefamily.MaxTimeout)
}
