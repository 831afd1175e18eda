package imagefamily

import (
	"fmt"
	"strings"
	"time"
)

// The credential rules: the settings of Request.Credentials (validate.go
// checks them last, after the request's own parameters), then what the
// environment and the credential chain hand over at lookup time. Every rule
// is here once; the chain (credentials.go, profile.go, sts.go) calls it.

var (
	roleARNPattern     = lazy(`^acs:ram::[0-9]+:role/[A-Za-z0-9._@/+=,-]+$`)
	providerARNPattern = lazy(`^acs:ram::[0-9]+:oidc-provider/[A-Za-z0-9._@/+=,-]+$`)
	sessionNamePattern = bounded(`^[A-Za-z0-9._@-]+$`, 2, 64)
	ecsRoleNamePattern = bounded(`^[A-Za-z0-9._-]+$`, 1, 64)
)

// validateRoleARN is the role-ARN rule, for the OIDC role given as a
// setting and every role ARN to assume (a setting, ALICLOUD_ASSUME_ROLE_ARN
// or an aliyun CLI profile's ram_role_arn). An OIDC role from
// ALIBABA_CLOUD_ROLE_ARN or an OIDC profile goes to STS as given (as it
// always has), and STS refuses a malformed one. field names the setting.
func validateRoleARN(field, arn string) error {
	if !roleARNPattern.MatchString(arn) {
		return &ValidationError{Field: field, Value: arn, Rule: "it must look like acs:ram::123456789012:role/role-name"}
	}
	return nil
}

// validateCredentials checks explicit credential settings offline, every
// problem: missing halves of a pair, two sources set at once, malformed
// ARNs and durations.
func validateCredentials(c Credentials) error {
	var errs []error
	bad := func(field, value, rule string) {
		errs = append(errs, &ValidationError{Field: field, Value: value, Rule: rule})
	}
	hasStatic := c.AccessKeyID != "" || c.AccessKeySecret != ""
	hasOIDC := c.OIDCProviderARN != "" || c.OIDCTokenFile != "" || c.OIDCToken != "" || c.OIDCRoleARN != ""
	switch {
	case c.AccessKeyID != "" && c.AccessKeySecret == "":
		bad("access key secret", "", "it is required when an access key id is given")
	case c.AccessKeySecret != "" && c.AccessKeyID == "":
		bad("access key id", "", "it is required when an access key secret is given")
	case c.SecurityToken != "" && !hasStatic:
		bad("security token", redacted, "it needs the access key id and secret it was issued with")
	}
	if sources := explicitSources(c); len(sources) > 1 {
		bad("credentials", strings.Join(sources, " + "), "set only one credential source; "+
			"to exchange keys for a role, assume it with {role ARN} (AssumeRole) instead of combining sources")
	}
	if hasOIDC {
		switch {
		case c.OIDCRoleARN == "":
			bad("OIDC role ARN", "", "it is required for OIDC (the role to assume, acs:ram::<account>:role/<name>)")
		case c.OIDCProviderARN == "":
			bad("OIDC provider ARN", "", "it is required for OIDC (acs:ram::<account>:oidc-provider/<name>)")
		case c.OIDCToken == "" && c.OIDCTokenFile == "":
			bad("OIDC token file", "", "an OIDC token or a token file is required")
		}
	}
	if c.OIDCRoleARN != "" {
		errs = append(errs, validateRoleARN("OIDC role ARN", c.OIDCRoleARN))
	}
	if c.OIDCProviderARN != "" && !providerARNPattern.MatchString(c.OIDCProviderARN) {
		bad("OIDC provider ARN", c.OIDCProviderARN, "it must look like acs:ram::123456789012:oidc-provider/provider-name")
	}
	if c.AssumeRoleARN != "" {
		errs = append(errs, validateRoleARN("role ARN", c.AssumeRoleARN))
	}
	if c.RoleSessionName != "" && !sessionNamePattern.MatchString(c.RoleSessionName) {
		bad("role session name", c.RoleSessionName, "it must be 2 to 64 characters: letters, digits, '.', '@', '_' and '-'")
	}
	if d := c.RoleSessionDuration; d != 0 && (d < 15*time.Minute || d > 12*time.Hour) {
		bad("role session duration", d.String(), "it must be between 15m and 12h (STS limits)")
	}
	if c.ECSRoleName != "" && !ecsRoleNamePattern.MatchString(c.ECSRoleName) {
		bad("ECS RAM role name", c.ECSRoleName, "it must be a RAM role name (letters, digits, '.', '_' and '-'), not an ARN")
	}
	_, stsErr := parseEndpoint("STS endpoint", c.STSEndpoint)
	_, metadataErr := parseEndpoint("metadata endpoint", c.MetadataEndpoint)
	return joinProblems(append(errs, stsErr, metadataErr)...)
}

// explicitSources names the credential sources the settings set: more than
// one is a contradiction (validateCredentials).
func explicitSources(c Credentials) []string {
	var sources []string
	for _, s := range []struct {
		on   bool
		name string
	}{
		{c.AccessKeyID != "" || c.AccessKeySecret != "", "access key"},
		{c.OIDCProviderARN != "" || c.OIDCTokenFile != "" || c.OIDCToken != "" || c.OIDCRoleARN != "", "OIDC"},
		{c.Profile != "" || c.ProfileFile != "", "CLI profile"},
		{c.ECSRoleName != "", "ECS RAM role name"},
	} {
		if s.on {
			sources = append(sources, s.name)
		}
	}
	return sources
}

// ValidateProfile checks, offline, the aliyun CLI profile the credential
// chain will read for these settings, if it reads one: the one named by
// Profile or ProfileFile; else, when no other source comes first (keys or
// OIDC in the environment), the one ALIBABA_CLOUD_PROFILE, ALICLOUD_PROFILE
// or ALICLOUD_SHARED_CREDENTIALS_FILE names; else the current profile of
// ~/.aliyun/config.json when that file exists. The file must be readable
// JSON and hold the profile and its source_profile chain; a failure is a
// *ValidationError naming the setting ("profile", "profile file", or
// "environment" with the variable as the value; "aliyun CLI config file"
// for the default file). Validate checks it before the region, since the
// region may come from the profile (ProfileRegion): a typo in a profile
// name is then reported as such, not as a missing region. Settings that
// name several sources are left to validateCredentials to refuse.
func ValidateProfile(c Credentials) error {
	if len(explicitSources(c)) > 1 {
		return nil
	}
	s := newSession(Request{Credentials: c})
	src := s.source()
	if src.kind != profileSource {
		return nil
	}
	_, _, err := readProfile(src.profile)
	return err
}

// validateEnvKeys: static keys from the environment come as a pair; a lone
// half names the variable that is missing.
func validateEnvKeys(ek envKeys) error {
	if ek.id != "" && ek.secret != "" {
		return nil
	}
	missing := ek.idVar
	if ek.id != "" {
		missing = ek.secretVar
	}
	return &ValidationError{Field: "environment", Value: missing, Rule: missing + " is empty or unset while its pair is set; set both"}
}

// validateEnvOIDC: OIDC from the environment needs all three variables.
func validateEnvOIDC(role, provider, tokenFile string) error {
	if role == "" || provider == "" || tokenFile == "" {
		return &ValidationError{Field: "environment", Value: "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE",
			Rule: "OIDC needs all three variables; some are unset"}
	}
	return nil
}

// validateExpiredSeconds: an aliyun CLI profile's expired_seconds (0: not
// set) is a session length STS issues.
func validateExpiredSeconds(n int) error {
	if n != 0 && (n < 900 || n > 3600) {
		return fmt.Errorf("expired_seconds %d is out of range: STS issues credentials for 900 to 3600 seconds", n)
	}
	return nil
}
