// What every generated list shares: the outputs that are not fields of
// the image, how a kind is written as text, and wrapping prose.

package main

import (
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

// extra is an output of one front that is not a field of the image.
type extra struct {
	name        string // as the front spells it
	example     string
	description string // Markdown
}

// The front-specific outputs, declared once.
var (
	// datasourceRegion is the data source's region attribute.
	datasourceRegion = extra{name: "region", example: "cn-hangzhou",
		description: "The region the image was resolved in: `region`, or with several regions the first one (in the order of `region`, then `regions`) that has an image; every other attribute but `image_ids` describes that region's image."}
	// datasourceImageIDs is the data source's map of every resolved region.
	datasourceImageIDs = extra{name: "image_ids", example: `{ "cn-hangzhou" = "m-…" }`,
		description: "Region → image id for every region resolved (`region` and `regions`; one entry for a single region), such as `data.alicloud-image-family.base.image_ids[\"cn-shanghai\"]`: one block can feed a matrix of `source` blocks. Never null; regions left out with `ignore_missing_regions` are absent."}
	// cliRegion is the first column of the CLI's text output.
	cliRegion = extra{name: "REGION", example: "cn-hangzhou",
		description: "The region the line is for: the image was resolved in it."}
	// actionExtras are the action's outputs after the image's fields, in
	// the order action/action.go writes them.
	actionExtras = []extra{
		{name: "found", example: "true",
			description: "`true` when every listed region has an available image, else `false`. With `promote` and `rollback`: when the family resolves to an image in every region of `image-ids` after the step. With `lock`: when every entry looked up resolved to an image the guards accept."},
		{name: "json", example: `{"ImageId":"m-…","Tags":{"Tag":[…]},…}`,
			description: "The whole image with the API's own field names and nesting (as in `aliyun ecs DescribeImageFromFamily` output's `.Image`). With several regions: an object region → image, regions without an image left out. Empty when not found, and with `promote`, `rollback` and `lock` (see `results`, `changes`)."},
		{name: "image-ids", example: `{"cn-hangzhou":"m-…","cn-shanghai":"m-…"}`,
			description: "JSON object region → image id, for every region that has an image (also with one region). With `promote` and `rollback`: what the family resolves to in each region after the step (read back; a dry run changed nothing), regions that resolve to nothing or failed before the read back left out. `{}` with `lock` (the lock file holds the ids)."},
		{name: "changed", example: "false",
			description: "`true` when `expected-image-ids` was given and a region's newest image differs from it, else `false`. With `promote` and `rollback`: `true` when an image was changed (never in a dry run). With `lock`: `true` when an entry of the lock file changed (with `check`: would change; nothing is written)."},
		{name: "changes", example: "- web-base cn-hangzhou: m-… -> m-… (created …, named …)",
			description: "With `lock`: a Markdown list for a pull request's body, one line per entry that changed (with `check`: would change), `family region: old -> new (created …, named …)`, every server string escaped for Markdown; empty when nothing changed, and with the other commands."},
		{name: "results", example: `[{"region":"cn-hangzhou","image_id":"m-…","outcome":"promoted",…}]`,
			description: "With `promote` and `rollback`: a JSON array, one object per region in the order of the regions' names, as the CLI's `--output json`: `region`, `image_id`, `outcome` (`promoted`, `already`, `superseded`, `would-promote`, `rolled-back`, `would-roll-back`, `moved`, `refused`, `failed`), `changes` (made, or that would be made in a dry run), `resolves` (what the family resolves to after the step; with `would-roll-back`, what it would resolve to), `request_id` and `error`. `[]` with `resolve` and `lock`."},
	}
	// actionNotes are added to the description of an image output of the
	// action, by field Name.
	actionNotes = map[string]string{
		"image_id": "With several regions: of the first region listed that has an image (empty only when none has), as every image output, and as the data source's `image_id`.",
	}
)

// kindNote says how the action and the CLI write a value of the kind as
// text (imagefamily.Field.Text); HCL has typed values and needs no note.
func kindNote(k imagefamily.FieldKind) string {
	switch k {
	case imagefamily.KindInt:
		return "A whole number, in decimal."
	case imagefamily.KindBool:
		return "`true` or `false`."
	case imagefamily.KindTags:
		return "As text: a JSON object, keys sorted (`{}` when none)."
	case imagefamily.KindDiskMappings:
		var names []string
		for _, f := range imagefamily.DiskMappingFields() {
			names = append(names, "`"+f.API+"`")
		}
		return "As text: a JSON array of objects with the API's member names (" + strings.Join(names, ", ") + ")."
	}
	return ""
}

// wrap breaks text into lines of at most width bytes where it can (a word
// longer than width gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	var cur string
	for _, w := range strings.Fields(text) {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

func joinSentences(parts ...string) string {
	var s []string
	for _, p := range parts {
		if p != "" {
			s = append(s, p)
		}
	}
	return strings.Join(s, " ")
}
