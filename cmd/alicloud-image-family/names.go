package main

import "github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"

// cliNames are the CLI's names for the core's settings, its flags: a
// refusal names the flag to change (imagefamily.Names.FirstRefusal: the
// first problem, one line, as the flag parser's own refusals), and the
// guidance for missing credentials lists only what the CLI offers (no
// flags for keys: secrets are never taken as flags).
var cliNames = imagefamily.Names{Front: imagefamily.FrontCLI, Settings: map[string]string{
	"image family":      "--image-family",
	"region":            "--region",
	"image ids":         "--image-ids",
	"lock file":         "--lock-file",
	"endpoint":          "--endpoint",
	"STS endpoint":      "--sts-endpoint",
	"metadata endpoint": "--metadata-endpoint",
	"timeout":           "--timeout",
	"max attempts":      "--max-attempts",
	"architecture":      "--architecture",
	"os type":           "--os-type",
	"max age":           "--max-age",
	"owners":            "--owners",
	"wait":              "--wait",
	"newer than":        "--newer-than",
	"profile":           "--profile",
	"profile file":      "--profile-file",
	"role ARN":          "--role-arn",
	"role session name": "--role-session-name",
	"ECS RAM role name": "--ram-role-name",
}}
