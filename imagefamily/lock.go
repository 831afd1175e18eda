package imagefamily

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The lock file pins the image of each family in each region, so that a
// pipeline builds on a reviewed id from git and moves only by a deliberate
// bump (Lock, lock_run.go). Its format is fixed, so that Terraform and
// Packer read it with jsondecode(file(...)):
//
//	{
//	  "families": {
//	    "web-base": {
//	      "cn-hangzhou": {
//	        "creation_time": "2024-03-14T02:00:00Z",
//	        "image_id": "m-bp1demowebbase000003",
//	        "image_name": "web-base-v3"
//	      }
//	    }
//	  },
//	  "version": 1
//	}
//
// Keys sorted at every level, two-space indent, a final newline, nothing of
// the run (no timestamps): the same pins are always the same bytes, and a
// bump is a diff of the entries that moved. Reading is strict: an unknown
// or missing member, a duplicate key, an unknown version, or a family or
// region the lookup would refuse is bad input, naming the file and the
// JSON path.

// LockVersion is the only version of the lock file's format this package
// reads and writes.
const LockVersion = 1

// MaxLockFileSize bounds the lock file read: an entry is about 150 bytes,
// so 4 MiB holds thousands of families in every region.
const MaxLockFileSize = 4 << 20

// LockEntry is one family's pinned image in one region.
type LockEntry struct {
	ImageID      string
	ImageName    string
	CreationTime string
}

// LockFile is a lock file's pins: family -> region -> entry.
type LockFile struct {
	Families map[string]map[string]LockEntry
}

// lockEntryJSON and lockFileJSON are the written shapes, their members in
// sorted order (encoding/json sorts map keys; struct fields are written in
// the order declared).
type lockEntryJSON struct {
	CreationTime string `json:"creation_time"`
	ImageID      string `json:"image_id"`
	ImageName    string `json:"image_name"`
}

type lockFileJSON struct {
	Families map[string]map[string]lockEntryJSON `json:"families"`
	Version  int                                 `json:"version"`
}

// Render writes the lock file in its one form: keys sorted, two-space
// indent, a final newline, no HTML escaping (an image name with "<" stays
// readable in a diff).
func (f LockFile) Render() []byte {
	out := lockFileJSON{Families: map[string]map[string]lockEntryJSON{}, Version: LockVersion}
	for family, regions := range f.Families {
		m := map[string]lockEntryJSON{}
		for region, e := range regions {
			m[region] = lockEntryJSON{CreationTime: e.CreationTime, ImageID: e.ImageID, ImageName: e.ImageName}
		}
		out.Families[family] = m
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err) // strings and an int: encoding cannot fail
	}
	return b.Bytes()
}

// clone is a copy whose maps can be changed without changing f's.
func (f LockFile) clone() LockFile {
	out := LockFile{Families: map[string]map[string]LockEntry{}}
	for family, regions := range f.Families {
		m := make(map[string]LockEntry, len(regions))
		for region, e := range regions {
			m[region] = e
		}
		out.Families[family] = m
	}
	return out
}

// lockPath is a JSON path as the user would write it in Terraform or jq:
// families["web-base"]["cn-hangzhou"].image_id.
func lockPath(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i == 0:
			b.WriteString(p)
		case i < 3:
			b.WriteString("[" + strconv.Quote(p) + "]")
		default:
			b.WriteString("." + p)
		}
	}
	return b.String()
}

// ParseLock reads a lock file's bytes strictly; name is the file's name for
// messages. Every refusal is a *ValidationError (bad input) whose field is
// "lock file" and whose rule starts with the JSON path at fault.
func ParseLock(name string, b []byte) (LockFile, error) {
	bad := func(path, rule string) (LockFile, error) {
		if path != "" {
			rule = path + ": " + rule
		}
		return LockFile{}, &ValidationError{Field: "lock file", Value: name, Rule: rule}
	}
	if len(b) > MaxLockFileSize {
		return bad("", fmt.Sprintf("it is larger than %d MiB; a lock file pins a few ids", MaxLockFileSize>>20))
	}
	if !utf8.Valid(b) {
		return bad("", "it is not UTF-8 text")
	}
	var syntax any
	if err := json.Unmarshal(b, &syntax); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
			return bad("", fmt.Sprintf("it is not JSON: line %d: %v", line, se))
		}
		return bad("", "it is not JSON: "+err.Error())
	}
	top, err := lockMembers(b, "the top level")
	if err != nil {
		return bad("", err.Error())
	}
	var version, families json.RawMessage
	for _, m := range top {
		switch m.key {
		case "version":
			version = m.value
		case "families":
			families = m.value
		default:
			return bad(strconv.Quote(m.key), "unknown member; a lock file has version and families")
		}
	}
	switch v := string(version); {
	case version == nil:
		return bad("version", "it is missing; this format is version 1")
	case v != "1":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return bad("version", "it must be the number 1, not "+safeJSONExcerpt(version))
		}
		return bad("version", "unknown version "+v+"; this alicloud-image-family reads version 1 (a newer release may read it)")
	}
	if families == nil {
		return bad("families", "it is missing; write {} for no pins")
	}
	out := LockFile{Families: map[string]map[string]LockEntry{}}
	fams, err := lockMembers(families, "families")
	if err != nil {
		return bad("", err.Error())
	}
	for _, fm := range fams {
		fpath := lockPath("families", fm.key)
		if err := ValidateFamily(fm.key); err != nil {
			return bad(fpath, lockRule(err))
		}
		regions, err := lockMembers(fm.value, fpath)
		if err != nil {
			return bad("", err.Error())
		}
		if len(regions) == 0 {
			return bad(fpath, "a family pins at least one region; remove the family instead")
		}
		out.Families[fm.key] = map[string]LockEntry{}
		for _, rm := range regions {
			rpath := lockPath("families", fm.key, rm.key)
			if err := ValidateRegion(rm.key); err != nil {
				return bad(rpath, lockRule(err))
			}
			e, err := parseLockEntry(rm.value, rpath)
			if err != nil {
				return bad("", err.Error())
			}
			out.Families[fm.key][rm.key] = e
		}
	}
	return out, nil
}

// lockRule is a core refusal's rule, for a lock file's message.
func lockRule(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return fmt.Sprintf("invalid %s %q: %s", ve.Field, ve.Value, refs(ve.Rule, func(string) string { return "" }))
	}
	return err.Error()
}

func parseLockEntry(raw json.RawMessage, path string) (LockEntry, error) {
	members, err := lockMembers(raw, path)
	if err != nil {
		return LockEntry{}, err
	}
	var e LockEntry
	seen := map[string]bool{}
	for _, m := range members {
		mpath := path + "." + m.key
		var dst *string
		switch m.key {
		case "image_id":
			dst = &e.ImageID
		case "image_name":
			dst = &e.ImageName
		case "creation_time":
			dst = &e.CreationTime
		default:
			return LockEntry{}, fmt.Errorf("%s: unknown member; an entry has image_id, image_name and creation_time", path+"["+strconv.Quote(m.key)+"]")
		}
		if len(m.value) == 0 || m.value[0] != '"' {
			return LockEntry{}, fmt.Errorf("%s: it must be a string, not %s", mpath, safeJSONExcerpt(m.value))
		}
		if err := json.Unmarshal(m.value, dst); err != nil {
			return LockEntry{}, fmt.Errorf("%s: %v", mpath, err)
		}
		seen[m.key] = true
	}
	for _, k := range []string{"image_id", "image_name", "creation_time"} {
		if !seen[k] {
			return LockEntry{}, fmt.Errorf("%s.%s: it is missing; an entry has image_id, image_name and creation_time", path, k)
		}
	}
	// The answer's rule (answer.go), not the stricter one of typed-in ids:
	// every id a lookup accepts, and so lock writes, reads back.
	if !imageIDPattern.MatchString(e.ImageID) {
		return LockEntry{}, fmt.Errorf("%s.image_id: %q is not an image id: 2 to 128 letters, digits, '.', '_' or '-', such as m-bp1g7004ksh0oeuc0001", path, e.ImageID)
	}
	if e.CreationTime != "" {
		if _, ok := parseAPITime(e.CreationTime); !ok {
			return LockEntry{}, fmt.Errorf("%s.creation_time: %q is not a time such as 2024-08-19T06:37:48Z", path, e.CreationTime)
		}
	}
	return e, nil
}

type lockMember struct {
	key   string
	value json.RawMessage
}

// lockMembers are a JSON object's members in the order written; a value
// that is not an object, or a key written twice (which encoding/json
// would take silently, the last one winning), is refused.
func lockMembers(raw json.RawMessage, path string) ([]lockMember, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, fmt.Errorf("%s: it must be a JSON object, not %s", path, safeJSONExcerpt(raw))
	}
	var out []lockMember
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("%s: the key %q is written twice", path, key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, lockMember{key: key, value: v})
	}
	return out, nil
}

// safeJSONExcerpt is a JSON value, shortened, for a message.
func safeJSONExcerpt(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
