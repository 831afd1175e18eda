package imagefamily

// aliyun CLI profiles: ~/.aliyun/config.json read the way the aliyun CLI
// reads it (modes, source profiles, each profile's own STS settings and
// region). The order in which profiles are consulted is in credentials.go.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// ProfileRegion returns the region_id of the aliyun CLI profile that the
// credential settings select (Profile or ProfileFile; else
// ALIBABA_CLOUD_PROFILE, ALICLOUD_PROFILE or ALICLOUD_SHARED_CREDENTIALS_FILE;
// else the current profile of ~/.aliyun/config.json), and where it came
// from, such as `aliyun CLI profile "ci" (/home/u/.aliyun/config.json)`.
// Like the aliyun CLI, the fronts use it as the region when none is given on
// the command line, as an input or as an attribute. It reads only the local
// file. A profile or file that is named (in the settings or the
// environment) but cannot be read, or is not in the file, is a
// *ValidationError naming the setting (readProfile), so that a typo in a
// profile name is reported as such, not as a missing region. With nothing
// named, no file, or a profile without region_id, the result is "" and no
// error.
func ProfileRegion(c Credentials) (region, from string, err error) {
	s := newSession(Request{Credentials: c})
	var ref profileRef
	switch {
	case c.Profile != "" || c.ProfileFile != "":
		ref = s.explicitProfile()
	default:
		var named bool
		if ref, named = s.envProfile(); !named {
			if defaultProfileIgnored(s.getenv) {
				return "", "", nil
			}
			path := s.defaultProfilePath()
			if _, err := os.Stat(path); path == "" || err != nil {
				return "", "", nil // no profile file: nothing to say about regions
			}
			ref = defaultProfile(path)
		}
	}
	cfg, name, err := readProfile(ref)
	if err != nil {
		if ref.fileField == defaultFileField {
			return "", "", nil // reported by the credential chain, if it is used
		}
		return "", "", err
	}
	p := cfg.find(name)
	if p == nil || p.RegionID == "" {
		return "", "", nil
	}
	from = fmt.Sprintf("aliyun CLI profile %q (%s)", name, ref.path)
	if err := ValidateRegion(p.RegionID); err != nil {
		return "", from, fmt.Errorf("region_id of %s: %w", from, err)
	}
	return p.RegionID, from, nil
}

// profileRef is an aliyun CLI profile as the settings select it: its name
// ("" for the file's current profile) and its file, and, for messages, the
// setting that named each (a *ValidationError's field and value).
type profileRef struct {
	name, path           string
	nameField, nameValue string
	fileField, fileValue string
}

// defaultFileField names the default config file in messages when no
// setting named a profile or a file.
const defaultFileField = "aliyun CLI config file"

// explicitProfile is the profile the settings name (Profile, ProfileFile).
func (s *session) explicitProfile() profileRef {
	c := s.req.Credentials
	ref := profileRef{name: c.Profile, path: c.ProfileFile, nameField: "profile", nameValue: c.Profile,
		fileField: "profile file", fileValue: c.ProfileFile}
	if c.ProfileFile == "" {
		// The file is the default one: a problem with it is reported
		// against the profile name that made it be read.
		ref.path = s.defaultProfilePath()
		ref.fileField, ref.fileValue = "profile", c.Profile
	}
	if c.Profile == "" {
		ref.nameField, ref.nameValue = ref.fileField, ref.fileValue
	}
	return ref
}

// envProfile is the profile the environment names (ALIBABA_CLOUD_PROFILE,
// ALIBABACLOUD_PROFILE or ALICLOUD_PROFILE, and
// ALICLOUD_SHARED_CREDENTIALS_FILE); ok is false when it names none.
func (s *session) envProfile() (ref profileRef, ok bool) {
	name, nameVar := envProfileName(s.getenv)
	file := s.getenv("ALICLOUD_SHARED_CREDENTIALS_FILE")
	if name == "" && file == "" {
		return profileRef{}, false
	}
	ref = profileRef{name: name, path: file, nameField: "environment", nameValue: nameVar,
		fileField: "environment", fileValue: "ALICLOUD_SHARED_CREDENTIALS_FILE"}
	if file == "" {
		ref.path = s.defaultProfilePath()
		ref.fileValue = nameVar
	}
	if name == "" {
		ref.nameValue = ref.fileValue
	}
	return ref, true
}

// defaultProfile is the current profile of the default config file, read
// when nothing names another.
func defaultProfile(path string) profileRef {
	return profileRef{path: path, nameField: defaultFileField, nameValue: path, fileField: defaultFileField, fileValue: path}
}

// readProfile reads the profile ref selects, offline: the file must exist
// and be JSON, and it must hold the profile (the current one, or "default"
// when it names none and no name is given) and every profile that
// profile's source_profile chain names. Each failure is a
// *ValidationError naming the setting to change: nothing has been sent, and
// the fix is in the settings or the file. It returns the file and the
// profile's name.
func readProfile(ref profileRef) (cliConfig, string, error) {
	bad := func(field, value, rule string) (cliConfig, string, error) {
		return cliConfig{}, "", &ValidationError{Field: field, Value: value, Rule: rule}
	}
	if ref.path == "" {
		return bad(ref.fileField, ref.fileValue, "there is no home directory to find ~/.aliyun/config.json in; name the aliyun CLI config file")
	}
	data, err := os.ReadFile(ref.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return bad(ref.fileField, ref.fileValue, fmt.Sprintf("the aliyun CLI config file %s does not exist; create it with `aliyun configure`, or name the file the profile is in", ref.path))
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return bad(ref.fileField, ref.fileValue, fmt.Sprintf("the aliyun CLI config file %s cannot be read: %v", ref.path, err))
	}
	var cfg cliConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return bad(ref.fileField, ref.fileValue, fmt.Sprintf("the aliyun CLI config file %s is not valid JSON: %v", ref.path, err))
	}
	name := ref.name
	field, value := ref.nameField, ref.nameValue
	if name == "" {
		name = cmp.Or(cfg.Current, "default")
		field, value = ref.fileField, ref.fileValue
	}
	p := cfg.find(name)
	if p == nil {
		which := fmt.Sprintf("there is no profile %q in %s", name, ref.path)
		switch {
		case ref.name != "" && ref.name == value:
			which = "there is no such profile in " + ref.path
		case ref.name == "" && cfg.Current != "":
			which = fmt.Sprintf("its current profile %q is not in %s", name, ref.path)
		case ref.name == "":
			which = fmt.Sprintf("%s names no current profile and has no profile \"default\"", ref.path)
		}
		return bad(field, value, which+"; "+cfg.profileList())
	}
	// The source_profile chain, as far as it goes without looping (a loop
	// is the chain's to report: it cannot be followed at all).
	for depth := 0; p.Mode == "ChainableRamRoleArn" && depth < maxSourceProfileDepth; depth++ {
		src := cfg.find(p.SourceProfile)
		if src == nil {
			return bad(field, value, fmt.Sprintf("profile %q takes its keys from source_profile %q, which is not in %s; %s", p.Name, p.SourceProfile, ref.path, cfg.profileList()))
		}
		p = src
	}
	return cfg, name, nil
}

// maxSourceProfileDepth bounds a source_profile chain.
const maxSourceProfileDepth = 5

func (cfg *cliConfig) find(name string) *cliProfile {
	for i := range cfg.Profiles {
		if cfg.Profiles[i].Name == name {
			return &cfg.Profiles[i]
		}
	}
	return nil
}

// profileList says which profiles the file has, for messages.
func (cfg *cliConfig) profileList() string {
	if len(cfg.Profiles) == 0 {
		return "the file has no profiles"
	}
	names := make([]string, len(cfg.Profiles))
	for i, p := range cfg.Profiles {
		names[i] = safetext.Excerpt(p.Name, 64)
	}
	return "the file has: " + strings.Join(names, ", ")
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

// profileKeys obtains keys from the profile ref selects; readProfile has
// checked, offline, everything but what the profile's mode does.
func (s *session) profileKeys(ctx context.Context, ref profileRef) (keys, error) {
	cfg, name, err := readProfile(ref)
	if err != nil {
		return keys{}, err
	}
	return s.keysFromProfile(ctx, cfg, name, ref.path, 0)
}

func (s *session) keysFromProfile(ctx context.Context, cfg cliConfig, name, path string, depth int) (keys, error) {
	fail := func(err error) (keys, error) {
		return keys{}, &CredentialsError{Source: fmt.Sprintf("CLI profile %q in %s", name, path), Err: err}
	}
	if depth > maxSourceProfileDepth {
		return fail(errors.New("source_profile chain is longer than 5 or loops"))
	}
	p := cfg.find(name)
	if p == nil {
		// readProfile checked the chain; a file read again could differ.
		return fail(fmt.Errorf("no such profile; %s", cfg.profileList()))
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

// regionEnv are the environment variables that give the region when none
// is set, in order: the alicloud provider's and builder's, then the
// Alibaba Cloud SDKs'.
var regionEnv = []string{"ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID"}

// EnvRegion is the region the environment gives (regionEnv, through getenv;
// os.Getenv when nil), "" for none. Every front takes it when no region is
// set, before the aliyun CLI profile's (ProfileRegion).
func EnvRegion(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, name := range regionEnv {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return ""
}
