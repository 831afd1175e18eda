package action

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/sethvargo/go-githubactions"
)

// DefaultAudience is the client id Alibaba Cloud's RAM OIDC providers use by
// convention; the GitHub ID token must carry it as its "aud" claim.
const DefaultAudience = "sts.aliyuncs.com"

// inputs is what the step's `with:` block says, read once and checked before
// any network call.
type inputs struct {
	// command is the command input's (resolve when empty), cmd its row of
	// the command table.
	command string
	cmd     command

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
	// maxAttempts is the attempt budget (0: the core's default, 5).
	maxAttempts int

	// Guards: architecture, os-type, max-age, owners.
	guards imagefamily.Guards

	// Drift: expected-image-ids (nil when not given) and fail-on-change.
	expected     map[string]string
	failOnChange bool

	// Waiting: wait-timeout (0: no waiting) and newer-than.
	wait      time.Duration
	newerThan string

	// The family lifecycle (promote, rollback): image-ids, dry-run and
	// allow-empty.
	images     map[string]string
	dryRun     bool
	allowEmpty bool

	// The lock file (lock): its path (lock-file resolved against the
	// workspace), the input as written (for messages), and check.
	lockFile      string
	lockFileInput string
	check         bool
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
// caller can tell input mistakes from lookup failures; the core's settings
// are named by the core's names, which the caller renders with the
// action's table (actionNames).
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

	// The command first: it decides which inputs have a meaning, and an
	// input given to a command that does not read it is refused.
	name, cmd, err := readCommand(a)
	if err != nil {
		return nil, err
	}
	in.command, in.cmd = name, cmd

	// The family's rule is the core's (the lookup's, or the stricter one
	// of a family set on images); asking it here, first, reports a bad
	// family before the action's own inputs, and before an ID token is
	// minted for nothing. Every other rule of the request is checked by the
	// core when the request is complete.
	if err := cmd.family(in.family); err != nil {
		return nil, err
	}

	// Static keys come as a pair (the core's rule); a lone half is always a
	// mistake (usually a secret that is not available to this workflow, such
	// as in a pull request from a fork), and silently falling back to the
	// environment chain would hide it. The error names the inputs.
	keys := imagefamily.Credentials{AccessKeyID: in.accessKeyID, AccessKeySecret: in.accessKeySecret, SecurityToken: in.securityToken}
	if err := imagefamily.ValidateSettings(imagefamily.Request{Credentials: keys}); err != nil {
		return nil, keyInputError(err)
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

	if v := input(a, "timeout"); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			return nil, err
		}
		in.timeout = d
	}

	if v := input(a, "max-attempts"); v != "" {
		n, err := imagefamily.ParseMaxAttempts("max attempts", v)
		if err != nil {
			return nil, err
		}
		in.maxAttempts = n
	}

	if err := cmd.read(a, in); err != nil {
		return nil, err
	}
	return in, nil
}

// readResolveInputs reads the lookup's own inputs: the regions, what to do
// when one has no image, the guards, drift and waiting.
func readResolveInputs(a *githubactions.Action, in *inputs) error {
	region := input(a, "region")
	if region == "" {
		return &imagefamily.ValidationError{Field: "input region", Value: "", Rule: "it is required; give one region id such as cn-hangzhou, or several separated by commas or newlines"}
	}
	regions, err := imagefamily.ParseRegions(region)
	if err != nil {
		return err
	}
	in.regions = regions

	in.failIfNotFound = true
	if err := readBool(a, "fail-if-not-found", &in.failIfNotFound); err != nil {
		return err
	}
	if err := readGuards(a, in); err != nil {
		return err
	}
	if err := readDrift(a, in); err != nil {
		return err
	}
	return readWait(a, in)
}

// readLifecycleInputs reads promote's and rollback's own inputs: image-ids
// (the image-ids output's shape, a JSON object region -> image id),
// dry-run, allow-empty and wait-timeout. The command table has refused the
// ones the command does not take; the core checks the rest of the request
// (ValidatePromote, ValidateRollback).
func readLifecycleInputs(a *githubactions.Action, in *inputs) error {
	v := input(a, "image-ids")
	if strings.TrimSpace(v) == "" {
		return &imagefamily.ValidationError{Field: "input image-ids", Value: "",
			Rule: `it is required with command ` + in.command + `: a JSON object of region to image id, such as {"cn-hangzhou":"m-bp1g7004ksh0oeuc0001"}`}
	}
	images, err := readImageIDs("image ids", v)
	if err != nil {
		return err
	}
	in.images = images
	if err := readBool(a, "dry-run", &in.dryRun); err != nil {
		return err
	}
	if err := readBool(a, "allow-empty", &in.allowEmpty); err != nil {
		return err
	}
	return readWait(a, in)
}

// readBool reads a boolean input into to, which keeps its value when the
// input is empty.
func readBool(a *githubactions.Action, name string, to *bool) error {
	v := input(a, name)
	if v == "" {
		return nil
	}
	b, ok := parseBool(v)
	if !ok {
		return &imagefamily.ValidationError{Field: "input " + name, Value: v, Rule: "it must be true or false"}
	}
	*to = b
	return nil
}

// readImageIDs reads an object of region -> image id given as one input
// (expected-image-ids, image-ids): the whole input must be the one object.
func readImageIDs(field, v string) (map[string]string, error) {
	if !json.Valid([]byte(v)) {
		// ParseExpectedJSON reads the first JSON value and ignores what
		// follows it ({"cn-hangzhou":"m-1"} junk, or two objects pasted
		// together); the whole input must be the one object.
		return nil, &imagefamily.ValidationError{Field: field, Value: safetext.Excerpt(v, 80),
			Rule: `it must be one JSON object of region to image id, such as {"cn-hangzhou":"m-bp1g7004ksh0oeuc0001"} (the image-ids output of an earlier run), and nothing else`}
	}
	return imagefamily.ParseExpectedJSON(field, []byte(v))
}

// readGuards reads architecture, os-type, max-age and owners (a list,
// separated by commas or newlines like region). The architecture and the
// OS type are the core's to check, with the rest of the request
// (command.validate).
func readGuards(a *githubactions.Action, in *inputs) error {
	in.guards.Architecture = input(a, "architecture")
	in.guards.OSType = input(a, "os-type")
	if v := input(a, "max-age"); v != "" {
		d, err := imagefamily.ParseMaxAge("max age", v)
		if err != nil {
			return err
		}
		in.guards.MaxAge = d
	}
	if v := input(a, "owners"); strings.TrimSpace(v) != "" {
		owners, err := imagefamily.ParseOwners(v)
		if err != nil {
			return err
		}
		in.guards.Owners = owners
	}
	return nil
}

// readDrift reads expected-image-ids (the image-ids output's shape: a JSON
// object region -> image id) and fail-on-change. Every region in it must be
// one being looked up: a typo there would otherwise never be compared.
func readDrift(a *githubactions.Action, in *inputs) error {
	if v := input(a, "expected-image-ids"); strings.TrimSpace(v) != "" {
		exp, err := readImageIDs("expected image ids", v)
		if err != nil {
			return err
		}
		if err := imagefamily.CheckExpectedRegions("expected image ids", exp, in.regions); err != nil {
			return err
		}
		in.expected = exp
	}
	if err := readBool(a, "fail-on-change", &in.failOnChange); err != nil {
		return err
	}
	if in.failOnChange && in.expected == nil {
		// Nothing to compare would pass every run: an empty
		// expected-image-ids is most often a file or an earlier output that
		// is missing, which must not read as "unchanged".
		return &imagefamily.ValidationError{Field: "input fail-on-change", Value: "true",
			Rule: "it needs expected-image-ids (the image-ids output of an earlier run) to compare with, and expected-image-ids is empty; check the file or output it is read from"}
	}
	return nil
}

// readWait reads wait-timeout (a duration or a whole number of seconds, 0 to
// imagefamily.MaxWait; 0 means no waiting) and newer-than (an image id, only
// with a wait: the core's rules, checked with the rest of the request).
func readWait(a *githubactions.Action, in *inputs) error {
	if v := input(a, "wait-timeout"); v != "" {
		d, err := imagefamily.ParseDuration("wait", v, 0, imagefamily.MaxWait)
		if err != nil {
			return err
		}
		in.wait = d
	}
	in.newerThan = input(a, "newer-than")
	return nil
}

// keyInputError words the core's refusal of the static keys for the
// inputs that set them.
func keyInputError(err error) error {
	var ve *imagefamily.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	switch ve.Field {
	case "access key secret":
		return &imagefamily.ValidationError{Field: "input access-key-secret", Value: "", Rule: "access-key-id is set but access-key-secret is empty; set both (secrets are not passed to workflows triggered from forks)"}
	case "access key id":
		return &imagefamily.ValidationError{Field: "input access-key-id", Value: "", Rule: "access-key-secret is set but access-key-id is empty; set both"}
	case "security token":
		return &imagefamily.ValidationError{Field: "input security-token", Value: "(hidden)", Rule: "a security token is only used together with access-key-id and access-key-secret"}
	}
	return err
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
// *imagefamily.ValidationError naming "timeout" (exit code 2).
func parseTimeout(v string) (time.Duration, error) {
	return imagefamily.ParseDuration("timeout", v, imagefamily.MinTimeout, imagefamily.MaxTimeout)
}
