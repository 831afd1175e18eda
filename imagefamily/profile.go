package imagefamily

// aliyun CLI profiles: ~/.aliyun/config.json read the way the aliyun CLI
// reads it (modes, source profiles, each profile's own STS settings and
// region). The order in which profiles are consulted is in credentials.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProfileRegion returns the region_id of the aliyun CLI profile that the
// credential settings select (Profile or ProfileFile; else
// ALIBABA_CLOUD_PROFILE, ALICLOUD_PROFILE or ALICLOUD_SHARED_CREDENTIALS_FILE;
// else the current profile of ~/.aliyun/config.json), and where it came
// from, such as `aliyun CLI profile "ci" (/home/u/.aliyun/config.json)`.
// Like the aliyun CLI, the fronts use it as the region when none is given on
// the command line, as an input or as an attribute. It reads only the local
// file; no profile, or a profile without region_id, gives "" and no error.
func ProfileRegion(c Credentials) (region, from string, err error) {
	s := newSession(Request{Credentials: c})
	name, path := c.Profile, c.ProfileFile
	if name == "" {
		name = envProfileName(s.getenv)
	}
	if path == "" {
		path = s.getenv("ALICLOUD_SHARED_CREDENTIALS_FILE")
	}
	if path == "" && name == "" && defaultProfileIgnored(s.getenv) {
		return "", "", nil
	}
	if path == "" {
		path = s.defaultProfilePath()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", nil // no profile file: nothing to say about regions
	}
	var cfg cliConfig
	if json.Unmarshal(data, &cfg) != nil {
		return "", "", nil // reported by the credential chain, if it is used
	}
	if name == "" {
		name = firstNonEmpty(cfg.Current, "default")
	}
	for _, p := range cfg.Profiles {
		if p.Name != name || p.RegionID == "" {
			continue
		}
		from = fmt.Sprintf("aliyun CLI profile %q (%s)", name, path)
		if err := ValidateRegion(p.RegionID); err != nil {
			return "", from, fmt.Errorf("region_id of %s: %w", from, err)
		}
		return p.RegionID, from, nil
	}
	return "", "", nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (s *session) defaultProfilePath() string {
	home := s.req.Credentials.HomeDir
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return ""
		}
	}
	return filepath.Join(home, ".aliyun", "config.json")
}

// cliConfig is the aliyun CLI's ~/.aliyun/config.json.
type cliConfig struct {
	Current  string       `json:"current"`
	Profiles []cliProfile `json:"profiles"`
}

type cliProfile struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	StsToken        string `json:"sts_token"`
	RAMRoleName     string `json:"ram_role_name"`
	RAMRoleARN      string `json:"ram_role_arn"`
	RAMSessionName  string `json:"ram_session_name"`
	SourceProfile   string `json:"source_profile"`
	OIDCProviderARN string `json:"oidc_provider_arn"`
	OIDCTokenFile   string `json:"oidc_token_file"`
	ExpiredSeconds  int    `json:"expired_seconds"`
	STSEndpoint     string `json:"sts_endpoint"`
	STSRegion       string `json:"sts_region"`
	RegionID        string `json:"region_id"`
}

// roleSettings are the profile's own STS settings, used like the aliyun CLI
// uses them for the role modes.
func (p *cliProfile) roleSettings() (roleSettings, error) {
	if err := validateExpiredSeconds(p.ExpiredSeconds); err != nil {
		return roleSettings{}, err
	}
	return roleSettings{sessionName: p.RAMSessionName, expiredSeconds: p.ExpiredSeconds,
		stsEndpoint: p.STSEndpoint, stsRegion: p.STSRegion, source: fmt.Sprintf("CLI profile %q", p.Name)}, nil
}

func (s *session) profileKeys(ctx context.Context, name, path string, explicit bool) (keys, error) {
	if path == "" {
		path = s.defaultProfilePath()
	}
	fail := func(err error) (keys, error) {
		return keys{}, &CredentialsError{Source: "CLI profile file " + path, Err: err}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("the file does not exist; create it with `aliyun configure` or point to it with shared_credentials_file / ALICLOUD_SHARED_CREDENTIALS_FILE"))
		}
		return fail(err)
	}
	var cfg cliConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fail(fmt.Errorf("it is not valid JSON: %v", err))
	}
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		name = "default"
	}
	return s.keysFromProfile(ctx, cfg, name, path, 0)
}

func (s *session) keysFromProfile(ctx context.Context, cfg cliConfig, name, path string, depth int) (keys, error) {
	fail := func(err error) (keys, error) {
		return keys{}, &CredentialsError{Source: fmt.Sprintf("CLI profile %q in %s", name, path), Err: err}
	}
	if depth > 5 {
		return fail(errors.New("source_profile chain is longer than 5 or loops"))
	}
	var p *cliProfile
	names := []string{}
	for i := range cfg.Profiles {
		names = append(names, cfg.Profiles[i].Name)
		if cfg.Profiles[i].Name == name {
			p = &cfg.Profiles[i]
		}
	}
	if p == nil {
		return fail(fmt.Errorf("no such profile; the file has: %s", strings.Join(names, ", ")))
	}
	source := fmt.Sprintf("CLI profile %q", name)
	static := func() (keys, error) {
		if p.AccessKeyID == "" || p.AccessKeySecret == "" {
			return fail(errors.New("access_key_id and access_key_secret are required in this mode"))
		}
		k := keys{ID: p.AccessKeyID, Secret: p.AccessKeySecret, Source: source}
		s.scrub.add(k.Secret)
		return k, nil
	}
	switch p.Mode {
	case "", "AK":
		return static()
	case "StsToken":
		k, err := static()
		k.Token = p.StsToken
		s.scrub.add(k.Token)
		return k, err
	case "RamRoleArn":
		rs, err := p.roleSettings()
		if err != nil {
			return fail(err)
		}
		k, err := static()
		if err != nil {
			return k, err
		}
		return s.assumeRole(ctx, k, p.RAMRoleARN, rs)
	case "ChainableRamRoleArn":
		rs, err := p.roleSettings()
		if err != nil {
			return fail(err)
		}
		k, err := s.keysFromProfile(ctx, cfg, p.SourceProfile, path, depth+1)
		if err != nil {
			return k, err
		}
		return s.assumeRole(ctx, k, p.RAMRoleARN, rs)
	case "EcsRamRole":
		return s.metadataKeys(ctx, p.RAMRoleName)
	case "OIDC":
		rs, err := p.roleSettings()
		if err != nil {
			return fail(err)
		}
		return s.oidcKeys(ctx, p.RAMRoleARN, p.OIDCProviderARN, "", p.OIDCTokenFile, source, rs)
	}
	return fail(fmt.Errorf("mode %q is not supported; use AK, StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole or OIDC", p.Mode))
}
