package imagefamily

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// keys are credentials ready to sign with.
type keys struct {
	ID, Secret, Token string
	Source            string // where they came from, for messages (never the values)
}

// Credential order (first match wins). Settings written explicitly beat the
// environment, as with every mature CLI: a --profile flag or an action input
// is a stronger statement than a variable left over in the shell.
//
//	explicit: static keys > OIDC > CLI profile > ECS instance role
//	environment: static keys > OIDC > CLI profile (named, or the config file's
//	current profile when the file exists) > ECS instance role
//
// Any of these may then be exchanged through AssumeRole when a role ARN is
// set. The ECS metadata service is contacted only when a role name is given.

type envKeys struct {
	id, secret, token string
	idVar, secretVar  string
}

// lookupEnvKeys reads static keys from the Alibaba Cloud variables, then the
// names the Packer builder and Terraform provider use.
func lookupEnvKeys(getenv func(string) string) (envKeys, bool) {
	if id, secret := getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"); id != "" || secret != "" {
		return envKeys{id: id, secret: secret, token: getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
			idVar: "ALIBABA_CLOUD_ACCESS_KEY_ID", secretVar: "ALIBABA_CLOUD_ACCESS_KEY_SECRET"}, true
	}
	if id, secret := getenv("ALICLOUD_ACCESS_KEY"), getenv("ALICLOUD_SECRET_KEY"); id != "" || secret != "" {
		token := getenv("ALICLOUD_SECURITY_TOKEN")
		if token == "" {
			token = getenv("SECURITY_TOKEN")
		}
		return envKeys{id: id, secret: secret, token: token, idVar: "ALICLOUD_ACCESS_KEY", secretVar: "ALICLOUD_SECRET_KEY"}, true
	}
	// The aliyun CLI's own names, after the SDK's and Packer's.
	for _, prefix := range []string{"ALIBABACLOUD_", "ALICLOUD_"} {
		idVar, secretVar := prefix+"ACCESS_KEY_ID", prefix+"ACCESS_KEY_SECRET"
		if id, secret := getenv(idVar), getenv(secretVar); id != "" || secret != "" {
			return envKeys{id: id, secret: secret, token: getenv(prefix + "SECURITY_TOKEN"), idVar: idVar, secretVar: secretVar}, true
		}
	}
	return envKeys{}, false
}

// envProfileName is the profile the environment names, in the aliyun CLI's
// and the SDKs' variables.
func envProfileName(getenv func(string) string) string {
	return firstNonEmpty(getenv("ALIBABA_CLOUD_PROFILE"), getenv("ALIBABACLOUD_PROFILE"), getenv("ALICLOUD_PROFILE"))
}

// defaultProfileIgnored: the aliyun CLI's ALIBABACLOUD_IGNORE_PROFILE=TRUE
// and credentials-go's ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true keep the
// implicit ~/.aliyun/config.json out of the chain (a profile named
// explicitly is still used).
func defaultProfileIgnored(getenv func(string) string) bool {
	return strings.EqualFold(getenv("ALIBABACLOUD_IGNORE_PROFILE"), "true") ||
		strings.EqualFold(getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED"), "true")
}

var (
	roleARNPattern     = regexp.MustCompile(`^acs:ram::[0-9]+:role/[A-Za-z0-9._@/+=,-]+$`)
	providerARNPattern = regexp.MustCompile(`^acs:ram::[0-9]+:oidc-provider/[A-Za-z0-9._@/+=,-]+$`)
	sessionNamePattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{2,64}$`)
)

// validateCredentials checks explicit credential settings offline: missing
// halves of a pair, two sources set at once, malformed ARNs and durations.
func validateCredentials(c Credentials) error {
	bad := func(field, value, rule string) error {
		return &ValidationError{Field: field, Value: value, Rule: rule}
	}
	hasStatic := c.AccessKeyID != "" || c.AccessKeySecret != ""
	hasOIDC := c.OIDCProviderARN != "" || c.OIDCTokenFile != "" || c.OIDCToken != "" || c.OIDCRoleARN != ""
	hasProfile := c.Profile != "" || c.ProfileFile != ""
	hasECS := c.ECSRoleName != ""
	switch {
	case c.AccessKeyID != "" && c.AccessKeySecret == "":
		return bad("access key secret", "", "it is required when an access key id is given")
	case c.AccessKeySecret != "" && c.AccessKeyID == "":
		return bad("access key id", "", "it is required when an access key secret is given")
	case c.SecurityToken != "" && !hasStatic:
		return bad("security token", redacted, "it needs the access key id and secret it was issued with")
	}
	sources := []string{}
	for _, s := range []struct {
		on   bool
		name string
	}{{hasStatic, "access key"}, {hasOIDC, "OIDC"}, {hasProfile, "CLI profile"}, {hasECS, "ECS RAM role name"}} {
		if s.on {
			sources = append(sources, s.name)
		}
	}
	if len(sources) > 1 {
		return bad("credentials", strings.Join(sources, " + "), "set only one credential source; "+
			"to exchange keys for a role use the role ARN to assume (AssumeRole) instead of combining sources")
	}
	if hasOIDC {
		switch {
		case c.OIDCRoleARN == "":
			return bad("OIDC role ARN", "", "it is required for OIDC (the role to assume, acs:ram::<account>:role/<name>)")
		case c.OIDCProviderARN == "":
			return bad("OIDC provider ARN", "", "it is required for OIDC (acs:ram::<account>:oidc-provider/<name>)")
		case c.OIDCToken == "" && c.OIDCTokenFile == "":
			return bad("OIDC token file", "", "an OIDC token or a token file is required")
		}
	}
	if c.OIDCRoleARN != "" && !roleARNPattern.MatchString(c.OIDCRoleARN) {
		return bad("OIDC role ARN", c.OIDCRoleARN, "it must look like acs:ram::123456789012:role/role-name")
	}
	if c.OIDCProviderARN != "" && !providerARNPattern.MatchString(c.OIDCProviderARN) {
		return bad("OIDC provider ARN", c.OIDCProviderARN, "it must look like acs:ram::123456789012:oidc-provider/provider-name")
	}
	if c.AssumeRoleARN != "" && !roleARNPattern.MatchString(c.AssumeRoleARN) {
		return bad("role ARN", c.AssumeRoleARN, "it must look like acs:ram::123456789012:role/role-name")
	}
	if c.RoleSessionName != "" && !sessionNamePattern.MatchString(c.RoleSessionName) {
		return bad("role session name", c.RoleSessionName, "it must be 2 to 64 characters: letters, digits, '.', '@', '_' and '-'")
	}
	if d := c.RoleSessionDuration; d != 0 && (d < 15*time.Minute || d > 12*time.Hour) {
		return bad("role session duration", d.String(), "it must be between 15m and 12h (STS limits)")
	}
	if c.ECSRoleName != "" && !regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`).MatchString(c.ECSRoleName) {
		return bad("ECS RAM role name", c.ECSRoleName, "it must be a RAM role name (letters, digits, '.', '_' and '-'), not an ARN")
	}
	if _, err := parseEndpoint("STS endpoint", c.STSEndpoint); err != nil {
		return err
	}
	if _, err := parseEndpoint("metadata endpoint", c.MetadataEndpoint); err != nil {
		return err
	}
	return nil
}

// obtainKeys walks the credential order and returns the first keys found,
// exchanged through AssumeRole when a role ARN is set.
func (s *session) obtainKeys(ctx context.Context) (keys, error) {
	k, err := s.baseKeys(ctx)
	if err != nil {
		return keys{}, err
	}
	s.scrub.add(k.Secret)
	s.scrub.add(k.Token)
	c := s.req.Credentials
	role := c.AssumeRoleARN
	if role == "" {
		role = s.getenv("ALICLOUD_ASSUME_ROLE_ARN")
	}
	if role == "" {
		return k, nil
	}
	if !roleARNPattern.MatchString(role) {
		return keys{}, &ValidationError{Field: "role ARN", Value: role, Rule: "it must look like acs:ram::123456789012:role/role-name"}
	}
	return s.assumeRole(ctx, k, role, roleSettings{})
}

func (s *session) baseKeys(ctx context.Context) (keys, error) {
	c := s.req.Credentials
	switch {
	case c.AccessKeyID != "":
		return keys{ID: c.AccessKeyID, Secret: c.AccessKeySecret, Token: c.SecurityToken, Source: "explicit access key"}, nil
	case c.OIDCRoleARN != "":
		return s.oidcKeys(ctx, c.OIDCRoleARN, c.OIDCProviderARN, c.OIDCToken, c.OIDCTokenFile, "explicit OIDC settings", roleSettings{})
	case c.Profile != "" || c.ProfileFile != "":
		return s.profileKeys(ctx, c.Profile, c.ProfileFile, true)
	case c.ECSRoleName != "":
		return s.metadataKeys(ctx, c.ECSRoleName)
	}

	if ek, ok := lookupEnvKeys(s.getenv); ok {
		if ek.id == "" || ek.secret == "" {
			missing := ek.idVar
			if ek.id != "" {
				missing = ek.secretVar
			}
			return keys{}, &ValidationError{Field: "environment", Value: missing, Rule: missing + " is empty or unset while its pair is set; set both"}
		}
		return keys{ID: ek.id, Secret: ek.secret, Token: ek.token, Source: "environment (" + ek.idVar + ")"}, nil
	}
	if role, provider, file := s.getenv("ALIBABA_CLOUD_ROLE_ARN"), s.getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"), s.getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE"); role != "" || provider != "" || file != "" {
		if role == "" || provider == "" || file == "" {
			return keys{}, &ValidationError{Field: "environment", Value: "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE",
				Rule: "OIDC needs all three variables; some are unset"}
		}
		return s.oidcKeys(ctx, role, provider, "", file, "environment (ALIBABA_CLOUD_OIDC_TOKEN_FILE)", roleSettings{})
	}
	profile := envProfileName(s.getenv)
	file := s.getenv("ALICLOUD_SHARED_CREDENTIALS_FILE")
	if profile != "" || file != "" {
		return s.profileKeys(ctx, profile, file, true)
	}
	if path := s.defaultProfilePath(); path != "" && !defaultProfileIgnored(s.getenv) {
		if _, err := os.Stat(path); err == nil {
			return s.profileKeys(ctx, "", path, false)
		}
	}
	if role := s.getenv("ALIBABA_CLOUD_ECS_METADATA"); role != "" {
		return s.metadataKeys(ctx, role)
	}
	return keys{}, &CredentialsError{none: true}
}

func (s *session) oidcKeys(ctx context.Context, role, provider, token, tokenFile, source string, rs roleSettings) (keys, error) {
	if token == "" {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			return keys{}, &CredentialsError{Source: source, Err: fmt.Errorf("reading the OIDC token file: %v", err)}
		}
		token = strings.TrimSpace(string(data))
		if token == "" {
			return keys{}, &CredentialsError{Source: source, Err: fmt.Errorf("the OIDC token file %s is empty", tokenFile)}
		}
	}
	s.scrub.add(token)
	return s.assumeRoleWithOIDC(ctx, role, provider, token, rs)
}
