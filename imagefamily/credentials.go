package imagefamily

import (
	"context"
	"fmt"
	"os"
	"strings"
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
// and the SDKs' variables, and the variable that names it.
func envProfileName(getenv func(string) string) (name, variable string) {
	for _, v := range []string{"ALIBABA_CLOUD_PROFILE", "ALIBABACLOUD_PROFILE", "ALICLOUD_PROFILE"} {
		if name := getenv(v); name != "" {
			return name, v
		}
	}
	return "", ""
}

// defaultProfileIgnored: the aliyun CLI's ALIBABACLOUD_IGNORE_PROFILE=TRUE
// and credentials-go's ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true keep the
// implicit ~/.aliyun/config.json out of the chain (a profile named
// explicitly is still used).
func defaultProfileIgnored(getenv func(string) string) bool {
	return strings.EqualFold(getenv("ALIBABACLOUD_IGNORE_PROFILE"), "true") ||
		strings.EqualFold(getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED"), "true")
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
	return s.assumeRole(ctx, k, role, roleSettings{}) // which checks the role ARN first
}

// sourceKind is where the credential chain takes its keys from.
type sourceKind int

const (
	noSource sourceKind = iota
	explicitKeys
	explicitOIDC
	profileSource // an aliyun CLI profile: named explicitly, by the environment, or the default file's current one
	explicitECSRole
	envKeysSource
	envOIDCSource
	envECSRole
)

// credSource is the chain's choice, made from the settings and the
// environment alone (and whether the default config file exists): nothing
// is read or sent to make it.
type credSource struct {
	kind    sourceKind
	profile profileRef // profileSource
	env     envKeys    // envKeysSource
}

// source walks the credential order (above) to the first source that is
// set. Every use of the order goes through it: the chain (baseKeys) and the
// offline check of the profile it will read (ValidateProfile).
func (s *session) source() credSource {
	c := s.req.Credentials
	switch {
	case c.AccessKeyID != "":
		return credSource{kind: explicitKeys}
	case c.OIDCRoleARN != "":
		return credSource{kind: explicitOIDC}
	case c.Profile != "" || c.ProfileFile != "":
		return credSource{kind: profileSource, profile: s.explicitProfile()}
	case c.ECSRoleName != "":
		return credSource{kind: explicitECSRole}
	}
	if ek, ok := lookupEnvKeys(s.getenv); ok {
		return credSource{kind: envKeysSource, env: ek}
	}
	if s.getenv("ALIBABA_CLOUD_ROLE_ARN") != "" || s.getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN") != "" || s.getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE") != "" {
		return credSource{kind: envOIDCSource}
	}
	if ref, ok := s.envProfile(); ok {
		return credSource{kind: profileSource, profile: ref}
	}
	if path := s.defaultProfilePath(); path != "" && !defaultProfileIgnored(s.getenv) {
		if _, err := os.Stat(path); err == nil {
			return credSource{kind: profileSource, profile: defaultProfile(path)}
		}
	}
	if s.getenv("ALIBABA_CLOUD_ECS_METADATA") != "" {
		return credSource{kind: envECSRole}
	}
	return credSource{kind: noSource}
}

func (s *session) baseKeys(ctx context.Context) (keys, error) {
	c := s.req.Credentials
	src := s.source()
	switch src.kind {
	case explicitKeys:
		return keys{ID: c.AccessKeyID, Secret: c.AccessKeySecret, Token: c.SecurityToken, Source: "explicit access key"}, nil
	case explicitOIDC:
		return s.oidcKeys(ctx, c.OIDCRoleARN, c.OIDCProviderARN, c.OIDCToken, c.OIDCTokenFile, "explicit OIDC settings", roleSettings{})
	case profileSource:
		return s.profileKeys(ctx, src.profile)
	case explicitECSRole:
		return s.metadataKeys(ctx, c.ECSRoleName)
	case envKeysSource:
		if err := validateEnvKeys(src.env); err != nil {
			return keys{}, err
		}
		return keys{ID: src.env.id, Secret: src.env.secret, Token: src.env.token, Source: "environment (" + src.env.idVar + ")"}, nil
	case envOIDCSource:
		role, provider, file := s.getenv("ALIBABA_CLOUD_ROLE_ARN"), s.getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"), s.getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
		if err := validateEnvOIDC(role, provider, file); err != nil {
			return keys{}, err
		}
		return s.oidcKeys(ctx, role, provider, "", file, "environment (ALIBABA_CLOUD_OIDC_TOKEN_FILE)", roleSettings{})
	case envECSRole:
		return s.metadataKeys(ctx, s.getenv("ALIBABA_CLOUD_ECS_METADATA"))
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
