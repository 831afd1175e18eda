package imagefamily

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The shape half of the trust boundary. A body under MaxResponseBytes can
// still be expensive in its shape: ten thousand nested arrays in 20 KB, or
// nested objects whose member names are long. Every check here is one pass
// over the bytes with memory bounded by the body's size, and nesting is
// bounded before anything (the SDK's own parser included) builds on it.

// MaxJSONDepth is how deeply the containers (objects and arrays) of any
// answer may nest, the top-level object counting as one. The deepest member
// of a DescribeImageFromFamily answer is 5 levels down
// (Image.DiskDeviceMappings.DiskDeviceMapping[i].Size), of DescribeImages 7;
// 12 leaves room for members the API adds and keeps every output of an
// accepted answer within a small multiple of its size (indentation grows
// with depth).
const MaxJSONDepth = 12

// deepRule is the message of a refused deep answer.
var deepRule = fmt.Sprintf("containers (objects and arrays) are nested more than %d deep (MaxJSONDepth); a real answer nests at most 7", MaxJSONDepth)

// depthGuard follows the nesting of a JSON text fed to it in pieces, as the
// body streams past the transport: constant memory, one pass. A body whose
// first non-space byte is not '{' or '[' is not JSON (an HTML error page, a
// metadata token) and is not followed.
type depthGuard struct {
	max      int
	started  bool
	off      bool // not JSON: nothing to follow
	inString bool
	escaped  bool
	depth    int
}

// feed reads the next piece of the body and reports whether the nesting is
// still within max.
func (g *depthGuard) feed(p []byte) bool {
	if g.off {
		return true
	}
	for _, c := range p {
		if !g.started {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			case '{', '[':
				g.started = true
			default:
				g.off = true
				return true
			}
		}
		if g.inString {
			switch {
			case g.escaped:
				g.escaped = false
			case c == '\\':
				g.escaped = true
			case c == '"':
				g.inString = false
			}
			continue
		}
		switch c {
		case '"':
			g.inString = true
		case '{', '[':
			g.depth++
			if g.depth > g.max {
				return false
			}
		case '}', ']':
			g.depth--
		}
	}
	return true
}

// shapeProblem is why a body's shape was refused, and where.
type shapeProblem struct {
	path string // such as .Image.Tags.Tag[3]; "" for the top level
	name string // the offending member name, when a member is at fault
	rule string
}

// seg is one step of the path to the value being read: a member name, or an
// array index when name is "" and index >= 0.
type seg struct {
	name  string
	index int
}

// checkShape walks a valid JSON text (json.Valid first) once and refuses: nesting deeper than
// MaxJSONDepth; an object with more than maxMembers members or an array
// with more than maxElements elements; two members
// of one object whose names are equal under Unicode case folding
// ("ImageId" and "imageId", or "Status" and "ſtatus"), which
// encoding/json reads as one (the last) and jq, Python and JavaScript as
// two, so the checked image and the JSON written to outputs (Image.Raw)
// would disagree; and, inside the top-level Image object, a member whose
// name matches one of the API's only by case folding, for the same reason.
// Time and memory are linear in the body: member names are compared through
// their folded forms (a map past a few members), and the path to the value
// is kept as steps, written out only for the message.
func checkShape(body []byte) *shapeProblem {
	w := shapeWalker{b: body, known: imageMemberFolds()}
	p := w.value(0, false)
	return p
}

type shapeWalker struct {
	b     []byte
	i     int
	path  []seg
	known map[string]string // folded name -> the API's Image member name
	// names is one reusable list of folded member names per depth, for
	// the duplicate check of small objects.
	names [MaxJSONDepth + 1][]string
}

func (w *shapeWalker) problem(name, rule string) *shapeProblem {
	var b strings.Builder
	for _, s := range w.path {
		if s.name == "" && s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		} else {
			b.WriteString("." + s.name)
		}
	}
	return &shapeProblem{path: b.String(), name: name, rule: rule}
}

func (w *shapeWalker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// value reads one value at nesting depth (the number of containers around
// it).
func (w *shapeWalker) value(depth int, inImage bool) *shapeProblem {
	w.space()
	if w.i >= len(w.b) {
		return nil // malformed JSON is reported elsewhere
	}
	switch w.b[w.i] {
	case '{':
		if depth+1 > MaxJSONDepth {
			return w.problem("", deepRule)
		}
		return w.object(depth+1, inImage)
	case '[':
		if depth+1 > MaxJSONDepth {
			return w.problem("", deepRule)
		}
		return w.array(depth + 1)
	case '"':
		w.skipString()
	default:
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return nil
			}
			w.i++
		}
	}
	return nil
}

// maxElements bounds the elements of one JSON array in an answer.
const maxElements = 1024

// smallObject is how many members are compared pairwise before an object's
// folded names go into a map.
const smallObject = 16

func (w *shapeWalker) object(depth int, inImage bool) *shapeProblem {
	w.i++ // '{'
	names := w.names[depth][:0]
	var many map[string]struct{}
	count := 0
	for {
		w.space()
		if w.i >= len(w.b) || w.b[w.i] == '}' {
			w.i++
			w.names[depth] = names[:0]
			return nil
		}
		if w.b[w.i] == ',' {
			w.i++
			w.space()
		}
		start := w.i
		w.skipString()
		key := decodeName(w.b[start:w.i])
		count++
		if count > maxMembers {
			// A real object has at most a few dozen members.
			return w.problem(key, fmt.Sprintf("an object has over %d members", maxMembers))
		}
		folded := foldName(key)
		dup := false
		if many != nil {
			_, dup = many[folded]
			many[folded] = struct{}{}
		} else {
			for _, n := range names {
				if n == folded {
					dup = true
					break
				}
			}
			names = append(names, folded)
			if len(names) > smallObject {
				many = make(map[string]struct{}, 2*smallObject)
				for _, n := range names {
					many[n] = struct{}{}
				}
			}
		}
		if dup {
			return w.problem(key, "two members have the same name but for letter case (JSON readers disagree on which one counts)")
		}
		if inImage {
			if api, ok := w.known[folded]; ok && api != key {
				return w.problem(key, fmt.Sprintf("the member differs from the API's name %q only by case (JSON readers disagree on which one counts)", api))
			}
		}
		w.space()
		w.i++ // ':'
		w.path = append(w.path, seg{name: key, index: -1})
		if p := w.value(depth, depth == 1 && key == "Image"); p != nil {
			return p
		}
		w.path = w.path[:len(w.path)-1]
		w.space()
		if w.i < len(w.b) && w.b[w.i] == ',' {
			w.i++
		}
	}
}

func (w *shapeWalker) array(depth int) *shapeProblem {
	w.i++ // '['
	for n := 0; ; n++ {
		w.space()
		if w.i >= len(w.b) || w.b[w.i] == ']' {
			w.i++
			return nil
		}
		if n >= maxElements {
			// The API's arrays (tags, disks) hold a few dozen; each element
			// of a typed one becomes a struct many times its bytes.
			return w.problem("", fmt.Sprintf("an array has over %d elements", maxElements))
		}
		w.path = append(w.path, seg{index: n})
		at := w.i
		if p := w.value(depth, false); p != nil {
			return p
		}
		if w.i == at && w.b[w.i] != ',' {
			return nil // not JSON; reported elsewhere
		}
		w.path = w.path[:len(w.path)-1]
		w.space()
		if w.i < len(w.b) && w.b[w.i] == ',' {
			w.i++
		}
	}
}

// skipString moves past a JSON string starting at w.i (its opening quote).
func (w *shapeWalker) skipString() {
	w.i++
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case '\\':
			w.i += 2
			continue
		case '"':
			w.i++
			return
		}
		w.i++
	}
}

// decodeName returns a member name as encoding/json reads it: escapes
// decoded, invalid UTF-8 replaced. Plain ASCII names are taken as they are.
func decodeName(quoted []byte) string {
	if len(quoted) < 2 {
		return ""
	}
	inner := quoted[1 : len(quoted)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(inner)
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return string(inner)
	}
	return s
}

// foldName maps a name to one representative of its case-folding class:
// each rune becomes the smallest rune of its simple-folding orbit, so two
// names are equal under strings.EqualFold exactly when their folded forms
// are equal.
func foldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The smallest of 'k', 'K' and U+212A is 'K': ASCII folds to upper
		// case (non-ASCII members of an ASCII letter's orbit fold there too).
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return b.String()
}

// imageMemberFolds maps the folded form of each of the API's Image member
// names to the name, built on first use.
var imageMemberFolds = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, n := range imageMemberNames() {
		m[foldName(n)] = n
	}
	return m
})
