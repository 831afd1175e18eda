package main

// Bad input through the real CLI binary against the emulator process: every
// row exits 2 (docs/cli.md), says on stderr which field is wrong and which
// rule it broke, prints nothing on stdout, and the emulator sees no request.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

type badInputRow struct {
	name  string
	env   map[string]string // nil: the demo keys
	args  []string          // after "resolve"; --region cn-hangzhou is added unless given
	frags []string          // the field, then the rule
	// noRegion leaves --region out (the region comes from the environment).
	noRegion bool
	// noEndpoint leaves --endpoint out (the endpoint comes from the
	// environment).
	noEndpoint bool
	// files are written to a temporary directory before the run; "$DIR" in
	// args is that directory.
	files map[string]string
}

// fam runs a family through resolve in cn-hangzhou.
func fam(name, family string, frags ...string) badInputRow {
	return badInputRow{name: "family " + name, args: []string{"--image-family", family}, frags: append([]string{"invalid --image-family "}, frags...)}
}

// ciAndSSO is an aliyun CLI config file with the profiles ci and sso.
const ciAndSSO = `{"current":"ci","profiles":[
 {"name":"ci","mode":"AK","access_key_id":"LTAIPROFILECI","access_key_secret":"ci-secret","region_id":"cn-hangzhou"},
 {"name":"sso","mode":"AK","access_key_id":"LTAIPROFILESSO","access_key_secret":"sso-secret"}]}`

func withFamily(args ...string) []string {
	return append([]string{"--image-family", "web-base"}, args...)
}

func cliBadInputs() []badInputRow {
	long := "a" + strings.Repeat("b", 128) // 129 characters
	keys := demoEnv
	return []badInputRow{
		// Family names at and beyond every rule.
		{name: "family missing", args: []string{}, frags: []string{"--image-family", "required"}},
		{name: "family empty", args: []string{"--image-family", ""}, frags: []string{"--image-family", "required"}},
		fam("of 1 character", "a", `"a"`, "2 to 128 characters long (it has 1)"),
		fam("of 129 characters", long, "2 to 128 characters long (it has 129)"),
		fam("with a leading digit", "1web", "start with a letter"),
		fam("with a leading underscore", "_web", "start with a letter"),
		fam("with a leading colon", ":web", "start with a letter"),
		fam("with a leading hyphen", "-web", "start with a letter"),
		fam("with a slash", "web/base", `may contain only letters, digits, ':', '_' and '-' (found "/")`),
		fam("with a dot", "web.base", `(found ".")`),
		fam("with a space", "web base", `(found " ")`),
		fam("with a non-ASCII letter", "wéb-base", `(found "é")`),
		fam("with trailing white space", "web-base\t", "white space"),
		fam("starting with http://", "http://web-base", "not a URL"),
		fam("starting with https://", "https://web-base", "http:// or https://"),
		fam("a RAM ARN instead of a family", "acs:ram::123456789012:role/x", "RAM ARN"),
		fam("acs: with a non-numeric owner", "acs:owner:web-base", "acs:<owner account id>:<family>"),
		fam("acs: with an empty family", "acs:123456789012:", "acs:<owner account id>:<family>"),
		fam("starting with aliyun", "aliyun-web", `must not start with "aliyun"`),
		fam("equal to aliyun", "aliyun", `must not start with "aliyun"`),
		// Regions.
		{name: "region upper case", args: withFamily("--region", "CN-HANGZHOU"), frags: []string{"region", `lower case; use "cn-hangzhou"`}},
		{name: "region with underscore", args: withFamily("--region", "cn_hangzhou"), frags: []string{`region "cn_hangzhou"`, "hyphen-separated"}},
		{name: "region without hyphen", args: withFamily("--region", "hangzhou"), frags: []string{`region "hangzhou"`, "region id"}},
		{name: "region of 64 characters", args: withFamily("--region", "cn-"+strings.Repeat("a", 61)), frags: []string{"region", "at most 63 characters"}},
		{name: "region list with a bad entry", args: withFamily("--region", "cn-hangzhou,xx_bad"), frags: []string{`region "xx_bad"`, "region id"}},
		{name: "region empty", args: withFamily("--region", ""), frags: []string{"region", "at least one region is required"}},
		{name: "region from the environment", env: with(keys, "ALICLOUD_REGION", "Cn-Hangzhou"), args: withFamily(), noRegion: true,
			frags: []string{"region", "lower case"}},
		// Endpoints.
		{name: "endpoint with a path", args: withFamily("--endpoint", "https://ecs.example.com/api"), frags: []string{"endpoint", "must not have a path"}},
		{name: "endpoint with another scheme", args: withFamily("--endpoint", "ftp://ecs.example.com"), frags: []string{"endpoint", "scheme must be https:// or http://"}},
		{name: "endpoint port 0", args: withFamily("--endpoint", "ecs.example.com:0"), frags: []string{"endpoint", "port must be a number from 1 to 65535"}},
		{name: "endpoint port 70000", args: withFamily("--endpoint", "ecs.example.com:70000"), frags: []string{"endpoint", "1 to 65535"}},
		{name: "endpoint with credentials", args: withFamily("--endpoint", "https://LTAIKEY:pw-secret-123@ecs.example.com"), frags: []string{"endpoint", "user information"}},
		{name: "endpoint host with credentials", args: withFamily("--endpoint", "LTAIKEY:pw-secret-123@ecs.example.com"), frags: []string{"endpoint", "give a host, host:port or a URL"}},
		{name: "endpoint with a query", args: withFamily("--endpoint", "https://ecs.example.com?x=1"), frags: []string{"endpoint", "query"}},
		{name: "endpoint with white space", args: withFamily("--endpoint", "ecs example.com"), frags: []string{"endpoint", "white space"}},
		{name: "endpoint host name", args: withFamily("--endpoint", "-ecs-.example.com"), frags: []string{"endpoint", "host name is not valid"}},
		{name: "ECS endpoint from the environment", env: with(keys, "ALIBABA_CLOUD_ECS_ENDPOINT", "ftp://ecs.example.com"), args: withFamily(), noEndpoint: true,
			frags: []string{`invalid ALIBABA_CLOUD_ECS_ENDPOINT "ftp://ecs.example.com"`, "scheme must be https:// or http://"}},
		{name: "ECS endpoint from the environment, with a role to assume", env: with(keys, "ALIBABA_CLOUD_ECS_ENDPOINT", "https://ecs.example.com/api"),
			args: withFamily("--role-arn", "acs:ram::123456789012:role/image-reader"), noEndpoint: true,
			frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "must not have a path"}},
		{name: "ECS endpoint from the environment with credentials", env: with(keys, "ALIBABA_CLOUD_ECS_ENDPOINT", "https://LTAIKEY:pw-secret-123@ecs.example.com"),
			args: withFamily(), noEndpoint: true, frags: []string{"ALIBABA_CLOUD_ECS_ENDPOINT", "user information"}},
		{name: "STS endpoint", args: withFamily("--sts-endpoint", "ftp://sts.example.com"), frags: []string{`invalid --sts-endpoint "ftp://sts.example.com"`, "scheme"}},
		{name: "STS endpoint from the environment", env: with(keys, "ALIBABA_CLOUD_STS_ENDPOINT", "https://sts.example.com/x"),
			args: withFamily("--role-arn", "acs:ram::123456789012:role/image-reader"), frags: []string{"STS endpoint", "path"}},
		// Durations and numbers.
		// --timeout: 100ms to 1h (imagefamily.MinTimeout, MaxTimeout); every
		// refusal names the flag and the rule.
		{name: "timeout not a duration", args: withFamily("--timeout", "soon"), frags: []string{`--timeout "soon"`, "a duration such as 90s"}},
		{name: "timeout negative", args: withFamily("--timeout", "-1s"), frags: []string{"--timeout", "between 100ms and 1h"}},
		{name: "timeout zero", args: withFamily("--timeout", "0s"), frags: []string{"--timeout", "between 100ms and 1h"}},
		{name: "timeout under 100ms", args: withFamily("--timeout", "50ms"), frags: []string{"--timeout", "between 100ms and 1h"}},
		{name: "timeout over 1h", args: withFamily("--timeout", "2h"), frags: []string{`--timeout "2h"`, "between 100ms and 1h"}},
		{name: "timeout just over 1h", args: withFamily("--timeout", "1h0m0.001s"), frags: []string{"--timeout", "between 100ms and 1h"}},
		{name: "timeout of 3601 bare seconds", args: withFamily("--timeout", "3601"), frags: []string{"--timeout", "a bare number counts seconds"}},
		// Too large for a time.Duration (flag.Duration would wrap or fail
		// with a bare "parse error"): still exit 2, naming the flag.
		{name: "timeout overflowing a duration", args: withFamily("--timeout", "99999999999h"), frags: []string{`--timeout "99999999999h"`}},
		{name: "timeout overflowing as seconds", args: withFamily("--timeout", "18446744074"), frags: []string{"--timeout", "between 100ms and 1h"}},
		{name: "timeout with a control character", args: withFamily("--timeout", "1s\x1b[2J"), frags: []string{"--timeout", `\x1b[2J`}},
		{name: "max attempts 0", args: withFamily("--max-attempts", "0"), frags: []string{`--max-attempts "0"`, "from 1 (no retries) to 20"}},
		{name: "max attempts 21", args: withFamily("--max-attempts", "21"), frags: []string{`--max-attempts "21"`, "from 1 (no retries) to 20"}},
		{name: "max attempts not a number", args: withFamily("--max-attempts", "five"), frags: []string{`--max-attempts "five"`, "a whole number"}},
		{name: "concurrency 65", args: withFamily("--concurrency", "65"), frags: []string{`invalid --concurrency "65"`, "from 1 to 64"}},
		{name: "concurrency negative", args: withFamily("--concurrency", "-1"), frags: []string{"--concurrency", "or 0 for every region at once"}},
		{name: "output format", args: withFamily("--output", "xml"), frags: []string{`invalid --output "xml"`, "id, json, text or dotenv"}},
		// Credential settings.
		{name: "two credential sources", args: withFamily("--profile", "ci", "--ram-role-name", "reader"), frags: []string{"credentials", "set only one credential source", "assume it with --role-arn"}},
		// The aliyun CLI profile, read before the region is looked for
		// (the region may come from it): a profile or file that is not
		// there is reported as such, not as a missing --region.
		{name: "profile not in the file, no region", args: withFamily("--profile-file", "$DIR/config.json", "--profile", "nope"), noRegion: true,
			files: map[string]string{"config.json": ciAndSSO}, frags: []string{`--profile "nope"`, "there is no such profile in", "the file has: ci, sso"}},
		{name: "profile not in the file", args: withFamily("--profile-file", "$DIR/config.json", "--profile", "nope"),
			files: map[string]string{"config.json": ciAndSSO}, frags: []string{`--profile "nope"`, "there is no such profile in", "the file has: ci, sso"}},
		{name: "profile without a config file", args: withFamily("--profile", "ci"), noRegion: true,
			frags: []string{`--profile "ci"`, ".aliyun/config.json does not exist"}},
		{name: "profile file missing", args: withFamily("--profile-file", "$DIR/none.json"), files: map[string]string{}, noRegion: true,
			frags: []string{"--profile-file", "none.json does not exist"}},
		{name: "profile file not JSON", args: withFamily("--profile-file", "$DIR/config.json", "--profile", "ci"), files: map[string]string{"config.json": `{"profiles":[`},
			frags: []string{"--profile-file", "is not valid JSON"}},
		{name: "profile file a directory", args: withFamily("--profile-file", "$DIR"), files: map[string]string{},
			frags: []string{"--profile-file", "cannot be read: is a directory"}},
		{name: "role ARN of another cloud", args: withFamily("--role-arn", "arn:aws:iam::123456789012:role/x"), frags: []string{`invalid --role-arn "arn:aws:iam::123456789012:role/x"`, "acs:ram::"}},
		{name: "role session name too short", args: withFamily("--role-session-name", "a"), frags: []string{`invalid --role-session-name "a"`, "2 to 64 characters"}},
		{name: "ECS role name given as an ARN", args: withFamily("--ram-role-name", "acs:ram::1:role/x"), frags: []string{`invalid --ram-role-name "acs:ram::1:role/x"`, "not an ARN"}},
		{name: "key id without secret", env: map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": demoAccessKeyID}, args: withFamily(),
			frags: []string{"environment", "ALIBABA_CLOUD_ACCESS_KEY_SECRET is empty or unset"}},
		{name: "secret without key id", env: map[string]string{"ALICLOUD_SECRET_KEY": demoSecret}, args: withFamily(),
			frags: []string{"environment", "ALICLOUD_ACCESS_KEY is empty or unset"}},
		{name: "OIDC variables incomplete", env: map[string]string{"ALIBABA_CLOUD_ROLE_ARN": oidcRoleARN}, args: withFamily(),
			frags: []string{"ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "OIDC needs all three variables"}},
		{name: "role ARN from the environment", env: with(keys, "ALICLOUD_ASSUME_ROLE_ARN", "image-reader"), args: withFamily(),
			frags: []string{"role ARN", "acs:ram::123456789012:role/role-name"}},
		{name: "no credentials", env: map[string]string{}, args: withFamily(), frags: []string{"no Alibaba Cloud credentials found", "ALIBABA_CLOUD_ACCESS_KEY_ID"}},
		// Guards (--architecture, --os-type, --max-age): unknown values and
		// ages that are not positive durations or day counts.
		{name: "architecture unknown", args: withFamily("--architecture", "sparc"), frags: []string{`--architecture "sparc"`, "x86_64, arm64, i386"}},
		{name: "architecture misspelled", args: withFamily("--architecture", "amd64"), frags: []string{`--architecture "amd64"`, "one the API reports"}},
		{name: "architecture with escapes", args: withFamily("--architecture", "x86_64\x1b[2J"), frags: []string{"--architecture", `\x1b[2J`}},
		{name: "os type unknown", args: withFamily("--os-type", "freebsd"), frags: []string{`--os-type "freebsd"`, "linux, windows"}},
		{name: "os type given as a platform", args: withFamily("--os-type", "Ubuntu"), frags: []string{`--os-type "Ubuntu"`, "one the API reports"}},
		{name: "max age without a unit", args: withFamily("--max-age", "30"), frags: []string{`--max-age "30"`, `a number of days such as "30d"`}},
		{name: "max age in weeks", args: withFamily("--max-age", "4w"), frags: []string{`--max-age "4w"`, `a duration such as "720h"`}},
		{name: "max age of fractional days", args: withFamily("--max-age", "1.5d"), frags: []string{"--max-age", `a number of days such as "30d"`}},
		{name: "max age zero", args: withFamily("--max-age", "0d"), frags: []string{`--max-age "0d"`, "it must be positive"}},
		{name: "max age negative", args: withFamily("--max-age", "-1h"), frags: []string{`--max-age "-1h"`, "it must be positive"}},
		{name: "max age empty", args: withFamily("--max-age="), frags: []string{`--max-age ""`, "it is empty: give a value, or leave --max-age out"}},
		{name: "architecture empty", args: withFamily("--architecture", ""), frags: []string{`--architecture ""`, "it is empty"}},
		{name: "max age of too many days", args: withFamily("--max-age", "999999999d"), frags: []string{"--max-age", "it must be at most 106751d"}},
		{name: "max age overflowing a duration", args: withFamily("--max-age", "99999999999h"), frags: []string{"--max-age", `a duration such as "720h"`}},
		{name: "owners unknown alias", args: withFamily("--owners", "self,me"), frags: []string{`invalid --owners "me"`, "self, system, others or marketplace"}},
		{name: "owners account id zero", args: withFamily("--owners", "0"), frags: []string{`invalid --owners "0"`, "account id"}},
		{name: "owners account id over an int64", args: withFamily("--owners", "99999999999999999999"), frags: []string{`invalid --owners "99999999999999999999"`}},
		{name: "owners only separators", args: withFamily("--owners", ", ,"), frags: []string{`invalid --owners ", ,"`}},
		{name: "owners empty", args: withFamily("--owners="), frags: []string{`--owners ""`, "it is empty: give a value, or leave --owners out"}},
		// Drift (--expect, --expect-file).
		{name: "expect empty", args: withFamily("--expect", ""), frags: []string{`--expect ""`, "it is empty: give a value, or leave --expect out"}},
		{name: "expect only separators", args: withFamily("--expect", " , "), frags: []string{"--expect", "give REGION=IMAGE_ID pairs"}},
		{name: "expect without =", args: withFamily("--expect", "cn-hangzhou"), frags: []string{`--expect "cn-hangzhou"`, "each pair is REGION=IMAGE_ID"}},
		{name: "expect without an id", args: withFamily("--expect", "cn-hangzhou="), frags: []string{"--expect", "the image id for cn-hangzhou is not an image id"}},
		{name: "expect with a malformed id", args: withFamily("--expect", "cn-hangzhou=m-1;rm -rf"), frags: []string{`--expect "m-1"`, "is not an image id"}},
		{name: "expect with a pair that is not one", args: withFamily("--expect", "cn-hangzhou=m-bp1demowebbase000003;rm -rf"), frags: []string{`--expect "rm"`, "each pair is REGION=IMAGE_ID"}},
		// A family pasted for an image id is bad input, not a change
		// (exit 4).
		{name: "expect a family for an id", args: withFamily("--expect", "cn-hangzhou=web-base"),
			frags: []string{`--expect "web-base"`, "the image id for cn-hangzhou is not an image id: a custom image's id is m- and 8 to 30 lower-case letters or digits", "ending in .vhd", "an image family's name is not an image id"}},
		{name: "expect an id too short", args: withFamily("--expect", "cn-hangzhou=m-bp1"), frags: []string{`--expect "m-bp1"`, "is not an image id"}},
		{name: "expect file with a family for an id", args: withFamily("--expect-file", "$DIR/ids.json"), files: map[string]string{"ids.json": `{"cn-hangzhou":"web-base"}`},
			frags: []string{`--expect-file "web-base"`, "the image id for cn-hangzhou is not an image id"}},
		{name: "expect with a bad region", args: withFamily("--expect", "CN-HANGZHOU=m-bp1demowebbase000003"), frags: []string{`--expect "CN-HANGZHOU"`, "not a region id"}},
		{name: "expect a region twice", args: withFamily("--expect", "cn-hangzhou=m-bp1demowebbase000003,cn-hangzhou=m-bp1demowebbase000002"),
			frags: []string{`--expect "cn-hangzhou"`, "listed twice with different image ids"}},
		{name: "expect a region not looked up", args: withFamily("--expect", "cn-shanghai=m-uf6demoappserver00001"),
			frags: []string{`--expect "cn-shanghai"`, "not being looked up (cn-hangzhou)"}},
		{name: "expect one region of two not looked up", args: withFamily("--region", "cn-hangzhou,cn-shanghai", "--expect", "cn-hangzhou=m-bp1demowebbase000003,cn-beijing=m-2zea00000000000001"),
			frags: []string{`--expect "cn-beijing"`, "not being looked up (cn-hangzhou, cn-shanghai)"}},
		{name: "expect with escapes", args: withFamily("--expect", "cn-hangzhou=m-\x1b]0;x\x07"), frags: []string{"--expect", `m-\x1b]0`, "not an image id"}},
		{name: "wait empty", args: withFamily("--wait", ""), frags: []string{`--wait ""`, "it is empty"}},
		{name: "expect and expect file together", args: withFamily("--expect", "cn-hangzhou=m-bp1demowebbase000003", "--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003"}`}, frags: []string{"--expect", "--expect or --expect-file, not both"}},
		{name: "expect file missing", args: withFamily("--expect-file", "$DIR/none.json"), files: map[string]string{},
			frags: []string{"--expect-file", "none.json", "it cannot be read: no such file or directory"}},
		{name: "expect file empty path", args: withFamily("--expect-file", ""), frags: []string{`--expect-file ""`, "it is empty"}},
		{name: "expect file a directory", args: withFamily("--expect-file", "$DIR"), files: map[string]string{}, frags: []string{"--expect-file", "it is a directory"}},
		{name: "expect file empty", args: withFamily("--expect-file", "$DIR/ids.json"), files: map[string]string{"ids.json": ""},
			frags: []string{"--expect-file", "JSON object of region to image id"}},
		{name: "expect file not JSON", args: withFamily("--expect-file", "$DIR/ids.json"), files: map[string]string{"ids.json": "cn-hangzhou=m-bp1demowebbase000003\n"},
			frags: []string{"--expect-file", "JSON object of region to image id", "the action's image-ids output"}},
		{name: "expect file an array", args: withFamily("--expect-file", "$DIR/ids.json"), files: map[string]string{"ids.json": `["m-bp1demowebbase000003"]`},
			frags: []string{"--expect-file", "JSON object of region to image id"}},
		{name: "expect file the action's json output", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":{"ImageId":"m-bp1demowebbase000003"}}`}, frags: []string{"--expect-file", "JSON object of region to image id"}},
		{name: "expect file with an unknown region", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003","cn-shenzhen":"m-wz9a00000000000001"}` + "\n"},
			frags: []string{`--expect-file "cn-shenzhen"`, "not being looked up (cn-hangzhou)"}},
		{name: "expect file with text after the object", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003"}` + "\n" + `{"cn-shanghai":"m-uf6demoappserver00001"}` + "\n"},
			frags: []string{"--expect-file", "one JSON object of region to image id"}},
		{name: "expect file with a region twice", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003","cn-hangzhou":"m-bp1demowebbase000002"}`},
			frags: []string{`--expect-file "cn-hangzhou"`, "listed twice"}},
		{name: "expect file with a bad region", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn hangzhou":"m-bp1demowebbase000003"}`}, frags: []string{"--expect-file", "not a region id"}},
		{name: "expect file with a bad id", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1\n::error::x"}`}, frags: []string{"--expect-file", `\n::error::x`, "is not an image id"}},
		{name: "expect file too large", args: withFamily("--expect-file", "$DIR/ids.json"),
			files: map[string]string{"ids.json": `{"cn-hangzhou":"m-bp1demowebbase000003"` + strings.Repeat(" ", 1<<20) + "}"}, frags: []string{"--expect-file", "larger than 1024 KiB"}},
		// Waiting (--wait, --newer-than): 0 to 6h.
		{name: "wait negative", args: withFamily("--wait", "-1s"), frags: []string{`--wait "-1s"`, "between 0s and 6h0m0s"}},
		{name: "wait over 6h", args: withFamily("--wait", "6h0m1s"), frags: []string{`--wait "6h0m1s"`, "between 0s and 6h0m0s"}},
		{name: "wait huge", args: withFamily("--wait", "99999999999h"), frags: []string{`--wait "99999999999h"`, "between 0s and 6h0m0s"}},
		{name: "wait of 21601 bare seconds", args: withFamily("--wait", "21601"), frags: []string{"--wait", "a bare number counts seconds"}},
		{name: "wait negative bare seconds", args: withFamily("--wait", "-5"), frags: []string{"--wait", "between 0s and 6h0m0s"}},
		{name: "wait not a duration", args: withFamily("--wait", "forever"), frags: []string{`--wait "forever"`, "a duration such as 90s"}},
		{name: "wait in days", args: withFamily("--wait", "1d"), frags: []string{`--wait "1d"`, "a duration such as 90s"}},
		{name: "newer than without wait", args: withFamily("--newer-than", "m-bp1demowebbase000003"), frags: []string{`invalid --newer-than "m-bp1demowebbase000003"`, "it only has a meaning with --wait (how long to wait for an image newer than it): set --wait too"}},
		{name: "newer than with wait 0", args: withFamily("--newer-than", "m-bp1demowebbase000003", "--wait", "0"), frags: []string{"--newer-than", "only has a meaning with --wait"}},
		{name: "newer than not an image id", args: withFamily("--wait", "1m", "--newer-than", "web-base v3"), frags: []string{`--newer-than "web-base v3"`, "it must be an image id"}},
		// Usage.
		{name: "unknown flag", args: withFamily("--regionn", "cn-hangzhou"), frags: []string{"-regionn", "flag provided but not defined"}},
		{name: "stray argument", args: withFamily("web-base"), frags: []string{"unexpected argument", `"web-base"`}},
		{name: "unknown flag with escapes", args: withFamily("--\x1b]0;title\x07x"), frags: []string{"flag provided but not defined", `\x1b]0;title\x07x`}},
	}
}

func TestBadInputCLI(t *testing.T) {
	e := startEmulator(t)
	rows := cliBadInputs()
	if len(rows) < 40 {
		t.Fatalf("only %d rows", len(rows))
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if err := e.Control.ResetCounts(); err != nil {
				t.Fatal(err)
			}
			env := row.env
			if env == nil {
				env = demoEnv
			}
			args := []string{"resolve"}
			if row.noEndpoint {
				env = offline(env) // a lookup that misses the emulator stays on loopback
			} else {
				args = append(args, "--endpoint", e.Endpoint)
			}
			if _, ok := env["ALIBABA_CLOUD_STS_ENDPOINT"]; !ok {
				args = append(args, "--sts-endpoint", e.Endpoint)
			}
			if !row.noRegion && !slices.Contains(row.args, "--region") {
				args = append(args, "--region", "cn-hangzhou")
			}
			dir := ""
			if row.files != nil {
				dir = t.TempDir()
				for name, content := range row.files {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, a := range row.args {
				args = append(args, strings.ReplaceAll(a, "$DIR", dir))
			}
			r := runCLI(t, e, env, args...)
			if r.code != exitUsage || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing on stdout", r.code, r.stdout)
			}
			for _, f := range row.frags {
				if !strings.Contains(r.stderr, f) {
					t.Errorf("stderr lacks %q", f)
				}
			}
			// What the user typed is echoed escaped: nothing but text, line
			// breaks and the usage's tab indentation reaches the terminal.
			for i, c := range []byte(r.stderr) {
				if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
					t.Errorf("stderr holds control byte %#x at %d", c, i)
					break
				}
			}
			// An endpoint pasted with credentials must not echo them.
			secretscan.Check(t, "stderr", r.stderr, "pw-secret-123")
			counts, err := e.Control.Requests()
			if err != nil || counts.All != 0 {
				t.Errorf("the emulator saw %v requests (%v); want none", counts, err)
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", r.stderr)
			}
		})
	}
}

// The limits themselves are accepted: a family of exactly 2 and exactly 128
// characters reaches the emulator (which has no such family: exit 3).
func TestBadInputCLILimitsAccepted(t *testing.T) {
	e := startEmulator(t)
	for _, family := range []string{"ab", "a" + strings.Repeat("b", 127), "a:b_c-9", "Web-Base"} {
		e.Control.ResetCounts()
		r := runCLI(t, e, demoEnv, resolveArgs(e, "--image-family", family)...)
		counts, _ := e.Control.Requests()
		if r.code != exitNotFound || counts.ByAction[describeAction] != 1 {
			t.Errorf("family of %d characters: exit %d, %v requests, stderr %q", len(family), r.code, counts, r.stderr)
		}
	}
}
