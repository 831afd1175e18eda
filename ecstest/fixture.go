package ecstest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// DemoFixture is testdata/demo-fixture.json, embedded so that the CLI's demo
// can start an emulator without any file on disk. Its dates are relative
// (dates_as_of): loaded, its newest images are a day old or less, so that
// max_age guards and the examples pass whenever it is used.
//
//go:embed testdata/demo-fixture.json
var DemoFixture []byte

// DemoFixtureAsWritten is DemoFixture without its dates_as_of: every
// CreationTime is served exactly as the file writes it (web-base-v3, the
// newest available image of web-base in cn-hangzhou, was created
// 2024-03-14T02:00:00Z). For tests that compare creation times or add images
// dated against the demo ones.
var DemoFixtureAsWritten = withoutDatesAsOf(DemoFixture)

// Fixture is the emulated cloud: who may call, which roles exist, which
// regions exist and which images each region holds.
type Fixture struct {
	Accounts []Account `json:"accounts"`
	Roles    []Role    `json:"roles"`
	Regions  []string  `json:"regions"`
	// Images per region. The SDK's own type is used so the fixture is written
	// with the API's field names and answered back byte-compatible with what
	// the SDK unmarshals.
	Images map[string][]ecs.Image `json:"images"`
	// DatesAsOf makes the images' creation times relative to the time the
	// fixture is loaded: the fixture is written as seen at this instant
	// (such as "2024-03-15T02:00:00Z"), and ParseFixture and LoadFixture
	// move every image's CreationTime forward by the whole seconds elapsed
	// since, then set DatesAsOf to the load time. An image written a day
	// before DatesAsOf is a day old whenever the fixture is loaded, so
	// max_age guards keep passing as the calendar moves on. With it set,
	// every CreationTime must be a UTC time in timestampLayout, no later
	// than DatesAsOf. Empty: times are served as written.
	DatesAsOf string `json:"dates_as_of,omitempty"`
}

// Account is a long-lived AccessKey pair (a RAM user's key).
type Account struct {
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	// Denied: the key authenticates but has no ECS permission
	// (403 InvalidUser.Unauthorized), like a RAM user without a policy.
	Denied bool `json:"denied,omitempty"`
	// Inactive: the key is disabled (400 InvalidAccessKeyId.Inactive).
	Inactive bool `json:"inactive,omitempty"`
	// Actions, when set, are the only ECS actions the key may call (its RAM
	// policy), such as ["ecs:DescribeImageFromFamily"]; others answer 403
	// Forbidden.RAM. Empty means every action.
	Actions []string `json:"actions,omitempty"`
	// AccountID and UserName only shape GetCallerIdentity's answer.
	AccountID string `json:"account_id,omitempty"`
	UserName  string `json:"user_name,omitempty"`
}

// Role is a RAM role that AssumeRole and AssumeRoleWithOIDC can issue STS
// credentials for.
type Role struct {
	ARN string `json:"arn"`
	// TrustedAccounts are the AccessKeyIds that may call AssumeRole on it.
	// STS credentials may always assume it (role chaining), as the brief asks.
	TrustedAccounts []string `json:"trusted_accounts,omitempty"`
	// ExternalID, when set, must be passed by AssumeRole callers.
	ExternalID string `json:"external_id,omitempty"`
	// OIDCProviderARN is the only provider whose tokens AssumeRoleWithOIDC
	// accepts for this role; empty means the role does not trust OIDC.
	OIDCProviderARN string `json:"oidc_provider_arn,omitempty"`
	// OIDCAudience must be one of the token's "aud" values; empty means the
	// conventional "sts.aliyuncs.com".
	OIDCAudience string `json:"oidc_audience,omitempty"`
	// Denied: credentials issued for this role have no ECS permission.
	Denied bool `json:"denied,omitempty"`
	// Actions, as for Account: the only ECS actions the role's credentials
	// may call; empty means every action.
	Actions []string `json:"actions,omitempty"`
	// ECSInstanceRole: the role is attached to the (pretend) instance, so
	// the metadata endpoints hand out its credentials by role name.
	ECSInstanceRole bool `json:"ecs_instance_role,omitempty"`
}

// LoadFixture reads and checks a fixture file.
func LoadFixture(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ecstest: read fixture: %w", err)
	}
	f, err := ParseFixture(b)
	if err != nil {
		return nil, fmt.Errorf("ecstest: fixture %s: %w", path, err)
	}
	return f, nil
}

// ParseFixture decodes a fixture. Unknown fields are errors, so that a typo in
// a hand-written fixture fails loudly instead of silently emulating less.
func ParseFixture(b []byte) (*Fixture, error) {
	var f Fixture
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("ecstest: parse fixture: %w", err)
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	if err := f.relativeDates(time.Now()); err != nil {
		return nil, err
	}
	return &f, nil
}

// relativeDates moves every CreationTime by now - DatesAsOf (whole seconds)
// and sets DatesAsOf to now, when DatesAsOf is set.
func (f *Fixture) relativeDates(now time.Time) error {
	if f.DatesAsOf == "" {
		return nil
	}
	asOf, err := time.Parse(timestampLayout, f.DatesAsOf)
	if err != nil {
		return fmt.Errorf("ecstest: dates_as_of %q: it must be a UTC time such as 2024-03-15T02:00:00Z", f.DatesAsOf)
	}
	now = now.UTC().Truncate(time.Second)
	shift := now.Sub(asOf)
	for region, imgs := range f.Images {
		for i := range imgs {
			img := &imgs[i]
			created, err := time.Parse(timestampLayout, img.CreationTime)
			if err != nil {
				return fmt.Errorf("ecstest: images[%s][%d]: CreationTime %q: with dates_as_of it must be a UTC time such as 2024-03-14T02:00:00Z", region, i, img.CreationTime)
			}
			if created.After(asOf) {
				return fmt.Errorf("ecstest: images[%s][%d]: CreationTime %s is after dates_as_of %s", region, i, img.CreationTime, f.DatesAsOf)
			}
			img.CreationTime = created.Add(shift).Format(timestampLayout)
		}
	}
	f.DatesAsOf = now.Format(timestampLayout)
	return nil
}

// withoutDatesAsOf is a fixture's JSON without its dates_as_of member.
func withoutDatesAsOf(b []byte) []byte {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		panic("ecstest: " + err.Error())
	}
	delete(members, "dates_as_of")
	out, err := json.MarshalIndent(members, "", "  ")
	if err != nil {
		panic("ecstest: " + err.Error())
	}
	return append(out, '\n')
}

func (f *Fixture) check() error {
	seen := map[string]bool{}
	for i, a := range f.Accounts {
		if a.AccessKeyID == "" || a.AccessKeySecret == "" {
			return fmt.Errorf("ecstest: accounts[%d]: access_key_id and access_key_secret are required", i)
		}
		if strings.HasPrefix(a.AccessKeyID, stsKeyPrefix) {
			return fmt.Errorf("ecstest: accounts[%d]: access_key_id must not start with %q (reserved for issued STS keys)", i, stsKeyPrefix)
		}
		if seen[a.AccessKeyID] {
			return fmt.Errorf("ecstest: accounts[%d]: duplicate access_key_id %s", i, a.AccessKeyID)
		}
		seen[a.AccessKeyID] = true
	}
	for i, r := range f.Roles {
		if !roleARNPattern.MatchString(r.ARN) {
			return fmt.Errorf("ecstest: roles[%d]: arn %q is not of the form acs:ram::<account>:role/<name>", i, r.ARN)
		}
	}
	for region, imgs := range f.Images {
		for i, img := range imgs {
			if img.ImageId == "" {
				return fmt.Errorf("ecstest: images[%s][%d]: ImageId is required", region, i)
			}
		}
	}
	return nil
}

// clone deep-copies the fixture so the server never shares slices with the
// caller (mutators and the caller's own edits must not race).
func (f *Fixture) clone() *Fixture {
	b, err := json.Marshal(f)
	if err != nil {
		panic("ecstest: cannot copy fixture: " + err.Error())
	}
	var c Fixture
	if err := json.Unmarshal(b, &c); err != nil {
		panic("ecstest: cannot copy fixture: " + err.Error())
	}
	return &c
}
