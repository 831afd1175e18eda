package imagefamily

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A front words a refusal with its own names, in the one format of every
// front, "invalid <name> "<value>": <rule>", the settings the rule refers
// to included; errors.Is and errors.As still see it.
func TestNamesRefusal(t *testing.T) {
	cli := Names{Front: FrontCLI, Settings: map[string]string{"newer than": "--newer-than", "wait": "--wait"}}
	action := Names{Front: FrontAction, Prefix: "input ", Settings: map[string]string{"newer than": "newer-than", "wait": "wait-timeout"}}
	packer := Names{Front: FrontPacker, Settings: map[string]string{"newer than": "newer_than", "wait": "wait_timeout"}}
	err := Validate(Request{Region: "cn-hangzhou", Family: "web", NewerThan: "m-bp1g7004ksh0oeuc0001"})
	if !strings.Contains(err.Error(), `invalid newer than "m-bp1g7004ksh0oeuc0001": it only has a meaning with wait (`) {
		t.Errorf("the core's own words: %v", err)
	}
	for _, c := range []struct {
		names Names
		want  string
	}{
		{cli, `invalid --newer-than "m-bp1g7004ksh0oeuc0001": it only has a meaning with --wait (how long to wait for an image newer than it): set --wait too`},
		{action, `invalid input newer-than "m-bp1g7004ksh0oeuc0001": it only has a meaning with wait-timeout (how long to wait for an image newer than it): set wait-timeout too`},
		{packer, `invalid newer_than "m-bp1g7004ksh0oeuc0001": it only has a meaning with wait_timeout (how long to wait for an image newer than it): set wait_timeout too`},
	} {
		got := c.names.Refusal(err)
		if got.Error() != c.want {
			t.Errorf("%s: %q\nwant %q", c.names.Front, got, c.want)
		}
		if !IsInputError(got) {
			t.Errorf("%s: no longer an input error", c.names.Front)
		}
		wrapped := c.names.Refusal(fmt.Errorf("checking the block: %w", err))
		var ve *ValidationError
		if wrapped.Error() != "checking the block: "+c.want || !errors.As(wrapped, &ve) || ve.Error() != c.want {
			t.Errorf("%s, wrapped: %q (As: %v)", c.names.Front, wrapped, ve)
		}
	}
	// A setting the front has no name for keeps the core's; other errors
	// pass as they are.
	if got := cli.Refusal(&ValidationError{Field: "environment", Value: "X", Rule: "r"}); got.Error() != `invalid environment "X": r` {
		t.Errorf("unnamed field: %v", got)
	}
	other := errors.New("x")
	if cli.Refusal(other) != other || cli.NoCredentials(other) != other {
		t.Error("an error that is not a refusal was reworded")
	}
}

// The guidance for missing credentials lists the front's own settings and
// no other front's, over several lines (MessageLines); every other error
// is one line.
func TestNamesNoCredentials(t *testing.T) {
	none := &CredentialsError{none: true}
	cli := Names{Front: FrontCLI, Settings: map[string]string{"profile": "--profile", "profile file": "--profile-file", "ECS RAM role name": "--ram-role-name", "role ARN": "--role-arn"}}
	action := Names{Front: FrontAction, Settings: map[string]string{"access key id": "access-key-id", "access key secret": "access-key-secret",
		"security token": "security-token", "OIDC role ARN": "role-to-assume", "OIDC provider ARN": "oidc-provider-arn", "role ARN": "role-to-assume"}}
	for _, c := range []struct {
		names     Names
		want, not []string
	}{
		{cli, []string{"--profile", "--ram-role-name or ALIBABA_CLOUD_ECS_METADATA", "(--role-arn or ALICLOUD_ASSUME_ROLE_ARN)"},
			[]string{"an access key pair", "ram_role_name", "role-to-assume", "Credentials."}},
		{action, []string{"an access key pair: access-key-id + access-key-secret (+ security-token)",
			"OIDC: role-to-assume + oidc-provider-arn, with permissions: id-token: write", "(role-to-assume or ALICLOUD_ASSUME_ROLE_ARN)"},
			[]string{"--", "ram_role", "Credentials."}},
	} {
		err := c.names.NoCredentials(fmt.Errorf("resolving: %w", none))
		if !errors.Is(err, ErrNoCredentials) || !IsInputError(err) {
			t.Errorf("%s: class lost: %v", c.names.Front, err)
		}
		lines := MessageLines(err)
		if len(lines) < 6 || !strings.HasPrefix(lines[0], "resolving: no Alibaba Cloud credentials found") {
			t.Errorf("%s: lines %q", c.names.Front, lines)
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: lacks %q:\n%s", c.names.Front, w, msg)
			}
		}
		for _, n := range c.not {
			if strings.Contains(msg, n) {
				t.Errorf("%s: names %q, which is not its own:\n%s", c.names.Front, n, msg)
			}
		}
	}
	if lines := MessageLines(errors.New("a\nb")); len(lines) != 1 {
		t.Errorf("a server's line break became a line: %q", lines)
	}
}
