package action

import "github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"

// actionNames are the action's names for the core's settings, its inputs:
// a refusal reads "invalid input <name> ..." (imagefamily.Names.FirstRefusal:
// one annotation, the first problem),
// and the guidance for missing credentials lists only what the action
// offers.
var actionNames = imagefamily.Names{Front: imagefamily.FrontAction, Prefix: "input ", Settings: map[string]string{
	"image family":       "image-family",
	"region":             "region",
	"endpoint":           "endpoint",
	"STS endpoint":       "sts-endpoint",
	"timeout":            "timeout",
	"max attempts":       "max-attempts",
	"architecture":       "architecture",
	"os type":            "os-type",
	"max age":            "max-age",
	"owners":             "owners",
	"wait":               "wait-timeout",
	"newer than":         "newer-than",
	"image ids":          "image-ids",
	"expected image ids": "expected-image-ids",
	"lock file":          "lock-file",
	"access key id":      "access-key-id",
	"access key secret":  "access-key-secret",
	"security token":     "security-token",
	"OIDC role ARN":      "role-to-assume",
	"OIDC provider ARN":  "oidc-provider-arn",
	"role ARN":           "role-to-assume",
	"role session name":  "role-session-name",
}}
