package imagefamily

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// How a front words the core's messages. The core names a setting by a
// name of its own ("max age", "wait"); each front has its own name for it
// (--max-age, max-age, max_age) and a table of them, a Names. With it a
// front renders the core's refusals in one format, the same on every front:
//
//	invalid <the front's name> "<value>": <rule>
//
// where the rule names the other settings it refers to in the front's names
// too (a ValidationError's Rule writes them {wait}), and the guidance for
// missing credentials lists the ways that front offers, by its names.

// Names is one front's table of names for the core's settings.
type Names struct {
	Front Front
	// Prefix goes before the name of the refused setting in "invalid
	// <name>": "input " for the action, whose names alone read as words.
	Prefix string
	// Settings maps the core's names of settings (ValidationError.Field,
	// such as "max age"; and for the credential guidance "access key id",
	// "access key secret", "security token", "OIDC role ARN", "OIDC
	// provider ARN", "OIDC token file", "profile", "profile file", "ECS
	// RAM role name", "role ARN") to the front's names. A setting the front
	// does not offer has no entry.
	Settings map[string]string
}

// Name is the front's name of a core setting, "" when it has none.
func (n Names) Name(core string) string { return n.Settings[core] }

// ruleRef is how a Rule refers to another setting: {wait}.
var ruleRef = regexp.MustCompile(`\{([A-Za-z][A-Za-z ]*)\}`)

// refs writes the settings a rule refers to with name (the core's names
// when name has none).
func refs(rule string, name func(string) string) string {
	if !strings.Contains(rule, "{") {
		return rule
	}
	return ruleRef.ReplaceAllStringFunc(rule, func(m string) string {
		core := m[1 : len(m)-1]
		if n := name(core); n != "" {
			return n
		}
		return core
	})
}

// Refusal renders an error of the offline checks (Validate, the Parse
// functions) in the front's names: the refused setting as Prefix + its
// name, and the settings its rule refers to. It returns a
// *ValidationError when err is one, else an error with err's text, the
// refusal reworded, that still unwraps to err (errors.As finds the
// reworded *ValidationError). A setting the front has no name for keeps
// the core's. Errors of the lookup itself (a role ARN from the environment
// refused at lookup time) are not the front's settings: leave them as they
// are.
//
// Several problems joined (Validate's) are each reworded and joined again;
// refusals lists them.
func (n Names) Refusal(err error) error {
	if problems := Problems(err); len(problems) > 1 {
		return joinProblems(n.refusals(err)...)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	named := *ve
	if name := n.Name(ve.Field); name != "" {
		named.Field = n.Prefix + name
	}
	named.Rule = refs(ve.Rule, n.Name)
	if err == error(ve) {
		return &named
	}
	return &reworded{err: err, text: strings.Replace(err.Error(), ve.Error(), named.Error(), 1), ve: &named}
}

// refusals is Refusal of each problem in err (Problems), in order: the
// problems of a joined refusal, each reworded.
func (n Names) refusals(err error) []error {
	problems := Problems(err)
	out := make([]error, len(problems))
	for i, p := range problems {
		out[i] = n.Refusal(p)
	}
	return out
}

// FirstRefusal is the Refusal of the first problem in err (Problems): the
// one line of a front whose refusals are one line, as its flag or input
// parser's own are (the CLI's usage errors, the action's).
func (n Names) FirstRefusal(err error) error {
	if problems := Problems(err); len(problems) > 1 {
		return n.Refusal(problems[0])
	}
	return n.Refusal(err)
}

// NoCredentials returns err with the guidance of "no credentials found"
// (class ErrNoCredentials) listing the ways this front offers by its names;
// any other error is returned as it is. The guidance spans several lines
// (MessageLines).
func (n Names) NoCredentials(err error) error {
	var ce *CredentialsError
	if !errors.As(err, &ce) || !ce.none {
		return err
	}
	named := *ce
	named.guide = credentialsGuide(n)
	if err == error(ce) {
		return &named
	}
	return &reworded{err: err, text: strings.Replace(err.Error(), ce.Error(), named.Error(), 1)}
}

// reworded is an error whose text a front reworded: errors.Is and errors.As
// see the original, except that As finds the reworded *ValidationError.
type reworded struct {
	err  error
	text string
	ve   *ValidationError
}

func (r *reworded) Error() string { return r.text }
func (r *reworded) Unwrap() error { return r.err }
func (r *reworded) As(target any) bool {
	if p, ok := target.(**ValidationError); ok && r.ve != nil {
		*p = r.ve
		return true
	}
	return false
}

// MessageLines is an error's message as the lines a front prints: the
// core's own multi-line guidance (no credentials found, class
// ErrNoCredentials, which holds no text from any server) keeps its line
// breaks; any other message is one line, in which a front's escaping shows
// a line break as \n. Each line is still to be escaped for its sink
// (safetext).
func MessageLines(err error) []string {
	msg := err.Error()
	if errors.Is(err, ErrNoCredentials) {
		return strings.Split(msg, "\n")
	}
	return []string{msg}
}

// AttributeNames are the snake_case names of the core's settings that the
// HCL fronts share: the Packer data source's attributes (the official
// alicloud builder's names where it has the setting) and the query keys of
// the CLI's terraform-external, so that one set of variables feeds Packer
// and Terraform. Like the field table's Name (fields.go), they are kept
// once, here. A fresh copy each call.
func AttributeNames() map[string]string {
	return map[string]string{
		"image family":      "image_family",
		"region":            "region",
		"endpoint":          "custom_endpoint_ecs",
		"STS endpoint":      "sts_endpoint",
		"timeout":           "timeout",
		"max attempts":      "max_attempts",
		"access key id":     "access_key",
		"access key secret": "secret_key",
		"security token":    "security_token",
		"profile":           "profile",
		"profile file":      "shared_credentials_file",
		"role ARN":          "ram_role_arn",
		"role session name": "ram_session_name",
		"ECS RAM role name": "ram_role_name",
		"architecture":      "architecture",
		"os type":           "os_type",
		"max age":           "max_age",
		"owners":            "owners",
		"wait":              "wait_timeout",
		"newer than":        "newer_than",
	}
}

// libraryNames name the settings of a Request, for callers of the package
// (and for the fronts' settings they have no name for).
var libraryNames = Names{Front: FrontLib, Settings: map[string]string{
	"access key id":     "Credentials.AccessKeyID",
	"access key secret": "Credentials.AccessKeySecret",
	"security token":    "Credentials.SecurityToken",
	"OIDC role ARN":     "Credentials.OIDCRoleARN",
	"OIDC provider ARN": "Credentials.OIDCProviderARN",
	"OIDC token file":   "Credentials.OIDCTokenFile (or OIDCToken)",
	"profile":           "Credentials.Profile",
	"profile file":      "Credentials.ProfileFile",
	"ECS RAM role name": "Credentials.ECSRoleName",
	"role ARN":          "Credentials.AssumeRoleARN",
}}

// credentialsGuide is the message of "no credentials found" for a front:
// the credential chain's ways in its order, each explicit one by the
// front's names, and none the front does not offer.
func credentialsGuide(n Names) string {
	// or lists the names given (a front's may be ""): "a", "a or b",
	// "a, b or c".
	or := func(names ...string) string {
		var kept []string
		for _, s := range names {
			if s != "" {
				kept = append(kept, s)
			}
		}
		if len(kept) < 2 {
			return strings.Join(kept, "")
		}
		return strings.Join(kept[:len(kept)-1], ", ") + " or " + kept[len(kept)-1]
	}
	var ways []string
	if id, secret := n.Name("access key id"), n.Name("access key secret"); id != "" && secret != "" {
		w := "an access key pair: " + id + " + " + secret
		if tok := n.Name("security token"); tok != "" {
			w += " (+ " + tok + ")"
		}
		ways = append(ways, w)
	}
	if role, provider := n.Name("OIDC role ARN"), n.Name("OIDC provider ARN"); role != "" && provider != "" {
		w := "OIDC: " + role + " + " + provider
		if file := n.Name("OIDC token file"); file != "" {
			w += " + " + file
		}
		if n.Front == FrontAction {
			w += ", with permissions: id-token: write"
		}
		ways = append(ways, w)
	}
	ways = append(ways,
		"environment: ALIBABA_CLOUD_ACCESS_KEY_ID + ALIBABA_CLOUD_ACCESS_KEY_SECRET (+ ALIBABA_CLOUD_SECURITY_TOKEN),\n"+
			"     or ALICLOUD_ACCESS_KEY + ALICLOUD_SECRET_KEY (+ ALICLOUD_SECURITY_TOKEN or SECURITY_TOKEN)",
		"OIDC from the environment: ALIBABA_CLOUD_ROLE_ARN + ALIBABA_CLOUD_OIDC_PROVIDER_ARN + ALIBABA_CLOUD_OIDC_TOKEN_FILE",
		"an aliyun CLI profile: the one named by "+or(n.Name("profile"), "ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE")+
			", else the current one, in "+or(n.Name("profile file"), "ALICLOUD_SHARED_CREDENTIALS_FILE", "~/.aliyun/config.json"),
		"the ECS instance RAM role, when a role name is given ("+or(n.Name("ECS RAM role name"), "ALIBABA_CLOUD_ECS_METADATA")+")",
	)
	var b strings.Builder
	b.WriteString("no Alibaba Cloud credentials found. Provide them in one of these ways (first match wins):")
	for i, w := range ways {
		end := ";"
		if i == len(ways)-1 {
			end = "."
		}
		fmt.Fprintf(&b, "\n  %d. %s%s", i+1, w, end)
	}
	b.WriteString("\nAny of these can be followed by assuming a RAM role (" + or(n.Name("role ARN"), "ALICLOUD_ASSUME_ROLE_ARN") + ").")
	return b.String()
}
