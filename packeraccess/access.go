//go:generate ../scripts/struct-markdown.sh

// Package packeraccess holds the credential, endpoint and retry attributes
// that the plugin's data source and post-processor share, so that both
// blocks take the same names with the same meaning, and the way they map
// onto the core's Credentials and retry policy.
package packeraccess

import (
	"fmt"
	"log"
	"strconv"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// Config is squashed into each component's own Config.
type Config struct {
	// Access key id. Can also be set with `ALICLOUD_ACCESS_KEY` or
	// `ALIBABA_CLOUD_ACCESS_KEY_ID`.
	AccessKey string `mapstructure:"access_key" required:"false"`
	// Access key secret. Can also be set with `ALICLOUD_SECRET_KEY` or
	// `ALIBABA_CLOUD_ACCESS_KEY_SECRET`. Never printed, not even with
	// `PACKER_LOG=1`.
	SecretKey string `mapstructure:"secret_key" required:"false"`
	// STS security token that goes with a temporary access key. Can also be
	// set with `SECURITY_TOKEN`, `ALICLOUD_SECURITY_TOKEN` or
	// `ALIBABA_CLOUD_SECURITY_TOKEN`. Never printed.
	SecurityToken string `mapstructure:"security_token" required:"false"`
	// Name of an aliyun CLI profile to take credentials from. Can also be set
	// with `ALICLOUD_PROFILE` or `ALIBABA_CLOUD_PROFILE`.
	Profile string `mapstructure:"profile" required:"false"`
	// Path of the aliyun CLI configuration file that holds `profile`.
	// Defaults to `~/.aliyun/config.json`.
	SharedCredentialsFile string `mapstructure:"shared_credentials_file" required:"false"`
	// Name of the RAM role attached to the ECS instance Packer runs on; its
	// temporary credentials are fetched from the instance metadata service.
	// The metadata service is contacted only when this is set.
	RAMRoleName string `mapstructure:"ram_role_name" required:"false"`
	// ARN of a RAM role to assume (STS AssumeRole) with whatever credentials
	// the other settings produced, such as
	// `acs:ram::123456789012:role/packer`.
	RAMRoleARN string `mapstructure:"ram_role_arn" required:"false"`
	// Session name used when assuming `ram_role_arn`. Shows up in
	// ActionTrail. Defaults to a name that identifies this plugin.
	RAMSessionName string `mapstructure:"ram_session_name" required:"false"`
	// ECS endpoint to use instead of `ecs.<region>.aliyuncs.com`: a host, a
	// `host:port` or a URL. HTTPS is used unless the URL starts with
	// `http://`. When it is not set, the `ALIBABA_CLOUD_ECS_ENDPOINT`
	// environment variable sets it, in the same forms and with the same
	// rules (a bad value fails before anything is sent, naming the
	// variable).
	CustomEndpointECS string `mapstructure:"custom_endpoint_ecs" required:"false"`
	// STS endpoint to use instead of `sts.aliyuncs.com`, in the same forms as
	// `custom_endpoint_ecs`. Used for `ram_role_arn` and OIDC.
	STSEndpoint string `mapstructure:"sts_endpoint" required:"false"`
	// How many attempts a throttled, timed out or failed (HTTP 5xx) request
	// gets, with exponential backoff: `1` (no retries) to `20`, as the CLI's
	// `--max-attempts` and the action's `max-attempts`. Defaults to `5`.
	MaxAttempts *int `mapstructure:"max_attempts" required:"false"`
	// Deprecated: use `max_attempts`, which is `max_retries + 1`. The number
	// of retries after the first attempt, `0` (no retries) to `19`; still
	// read, so templates written for it keep working. Setting both is an
	// error.
	MaxRetries *int `mapstructure:"max_retries" required:"false"`
}

// Credentials are the core's credential settings from the attributes.
func (c *Config) Credentials() imagefamily.Credentials {
	return imagefamily.Credentials{
		AccessKeyID:     c.AccessKey,
		AccessKeySecret: c.SecretKey,
		SecurityToken:   c.SecurityToken,
		Profile:         c.Profile,
		ProfileFile:     c.SharedCredentialsFile,
		ECSRoleName:     c.RAMRoleName,
		AssumeRoleARN:   c.RAMRoleARN,
		RoleSessionName: c.RAMSessionName,
		STSEndpoint:     c.STSEndpoint,
	}
}

// Prepare reads the access attributes into req: the credentials, the ECS
// endpoint and the attempt budget. It refuses only what is the attributes'
// own (max_attempts with max_retries, the deprecated count); the rules of
// the settings are the core's, which the component checks with the rest of
// its request in one call.
func (c *Config) Prepare(req *imagefamily.Request) []error {
	req.Credentials = c.Credentials()
	req.Endpoint = c.CustomEndpointECS
	n, err := c.Attempts()
	if err != nil {
		return []error{err}
	}
	req.Retry.MaxAttempts = n
	return nil
}

// Diagnostics is what a component's Configure returns for the problems its
// parts and the core found: nil for none, else one diagnostic per problem,
// in order, each worded by the component's table of names.
func Diagnostics(names imagefamily.Names, problems ...error) error {
	if len(problems) == 0 {
		return nil
	}
	for i, err := range problems {
		problems[i] = names.Refusal(err)
	}
	return &packersdk.MultiError{Errors: problems}
}

// Attributes is a component's table of names for the core's settings
// (imagefamily.Names): the HCL names every HCL front shares
// (imagefamily.AttributeNames: the official alicloud builder's names where it
// has them), with the component's own, extra, over them.
func Attributes(extra map[string]string) imagefamily.Names {
	names := imagefamily.AttributeNames()
	for core, attr := range extra {
		names[core] = attr
	}
	return imagefamily.Names{Front: imagefamily.FrontPacker, Settings: names}
}

// Attempts reads the attempt budget: max_attempts, with the core's rule
// (the CLI's --max-attempts and the action's max-attempts have it too), or
// the deprecated max_retries, which counts the retries after the first
// attempt (max_attempts - 1). Setting both is an error naming both. 0 means
// neither is set: the core's default.
func (c *Config) Attempts() (int, error) {
	maxAttempts, maxRetries := c.MaxAttempts, c.MaxRetries
	switch {
	case maxAttempts != nil && maxRetries != nil:
		return 0, &imagefamily.ValidationError{Field: "max_retries", Value: strconv.Itoa(*maxRetries),
			Rule: fmt.Sprintf("it cannot be set together with max_attempts (%d): max_retries is the deprecated name of max_attempts - 1; keep max_attempts only", *maxAttempts)}
	case maxAttempts != nil:
		return *maxAttempts, imagefamily.ValidateMaxAttempts("max attempts", *maxAttempts)
	case maxRetries != nil:
		n := *maxRetries
		if n < 0 || n+1 > imagefamily.MaxAttempts {
			return 0, &imagefamily.ValidationError{Field: "max_retries", Value: strconv.Itoa(n),
				Rule: fmt.Sprintf("it must be a whole number from 0 (no retries) to %d; max_retries is deprecated: write max_attempts = max_retries + 1 (1 to %d)", imagefamily.MaxAttempts-1, imagefamily.MaxAttempts)}
		}
		log.Printf("[WARN] alicloud-image-family: max_retries is deprecated: write max_attempts = %d instead of max_retries = %d", n+1, n)
		return n + 1, nil
	}
	return 0, nil
}

// UnknownPlaceholder is what Packer puts in a string attribute whose value
// is not known yet: during `packer validate` the outputs of data sources
// are unknown, so `access_key = data.x.y.key` arrives as this string
// (numbers arrive as 0, booleans as false, lists and maps empty). See
// hcl2shim.WriteUnknownPlaceholderValues.
const UnknownPlaceholder = "<unknown>"

// StandIns replaces, in req, every access setting that holds a placeholder
// by a value the core accepts, reporting each attribute it replaced, so
// that what is known is still checked during `packer validate`.
func StandIns(req *imagefamily.Request, mark func(attr string)) {
	sub := func(attr string, v *string, standIn string) {
		if *v == UnknownPlaceholder {
			mark(attr)
			*v = standIn
		}
	}
	sub("custom_endpoint_ecs", &req.Endpoint, "ecs.cn-hangzhou.aliyuncs.com")
	cr := &req.Credentials
	sub("sts_endpoint", &cr.STSEndpoint, "sts.aliyuncs.com")
	sub("ram_role_arn", &cr.AssumeRoleARN, "acs:ram::1000000000000000:role/unknown")
	sub("ram_session_name", &cr.RoleSessionName, "unknown")
	sub("ram_role_name", &cr.ECSRoleName, "unknown")
	sub("access_key", &cr.AccessKeyID, "unknown")
	sub("secret_key", &cr.AccessKeySecret, "unknown")
	sub("security_token", &cr.SecurityToken, "unknown")
	sub("profile", &cr.Profile, "unknown")
	sub("shared_credentials_file", &cr.ProfileFile, "unknown")
}
