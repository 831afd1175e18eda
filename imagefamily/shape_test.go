package imagefamily

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The generator of hostile shapes (conformance.HostileShapes), grown from 4 KiB
// to the cap: per shape and size, the refusal class (at the transport's
// streaming guard and in the answer check), the cost of reading it (what
// was allocated, per byte of answer, must not grow with the size), the size
// of every rendering of an accepted image, and that no rendering for a
// human carries a runner command.

var shapeSizes = []int{4 << 10, 64 << 10, conformance.ShapeCap}

func shapeCheck() answerCheck {
	return answerCheck{op: operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: hangzhou, Family: webBase},
		family: webBase, now: time.Now(), scrub: &scrubber{}}
}

// allocated runs f and returns what it allocated (garbage included).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileShapesAtEverySize(t *testing.T) {
	for _, shape := range conformance.HostileShapes() {
		t.Run(shape.Name, func(t *testing.T) {
			var perByte []float64
			for _, size := range shapeSizes {
				body := shape.Body(webBase, size)
				if len(body) > size && size >= 64<<10 { // a few shapes need more than 4 KiB
					t.Fatalf("the generator built %d bytes for %d", len(body), size)
				}
				// The transport's guard, fed as a body streams.
				g := depthGuard{max: MaxJSONDepth}
				streamedOK := true
				for chunk := range slicesOf(body, 4096) {
					if !g.feed(chunk) {
						streamedOK = false
						break
					}
				}
				deep := strings.Contains(shape.Fragment, "nested")
				if streamedOK == deep {
					t.Errorf("%d bytes: the streaming guard let it pass = %v, want %v", len(body), streamedOK, !deep)
				}

				var img Image
				var err error
				cost := allocated(func() { img, _, err = checkImageAnswer(shapeCheck(), body) })
				perByte = append(perByte, float64(cost)/float64(len(body)))
				if shape.Status != 0 && shape.Status != 200 {
					continue // an error answer: only the transport sees its body
				}
				if shape.Refused {
					var refused *AnswerError
					if !errors.As(err, &refused) || !strings.Contains(err.Error(), shape.Fragment) {
						t.Errorf("%d bytes: err = %.300v, want a refusal with %q", len(body), err, shape.Fragment)
						continue
					}
					if errors.Is(err, ErrInvalidInput) {
						t.Errorf("a server answer became an input error")
					}
					if msg := err.Error(); len(msg) > 2048 || !safetext.IsClean(msg) {
						t.Errorf("the refusal is not one bounded printable line (%d bytes)", len(msg))
					}
					continue
				}
				if err != nil {
					t.Fatalf("%d bytes: %.300v", len(body), err)
				}
				checkRenderings(t, img, len(body))
			}
			// Linear: reading the answer at the cap costs, per byte, no more
			// than twice what it costs at 64 KiB (a per-level copy would cost
			// hundreds of times more).
			if perByte[2] > 2*perByte[1]+8 {
				t.Errorf("allocations per answer byte grow with the size: %.1f at 64 KiB, %.1f at the cap", perByte[1], perByte[2])
			}
			if perByte[2] > 96 {
				t.Errorf("reading the answer at the cap allocated %.0f bytes per byte", perByte[2])
			}
		})
	}
}

// checkRenderings renders an accepted image the ways the fronts do (its
// JSON, indented as the CLI prints it, and every named field as text, as
// is and escaped for a terminal) and bounds each by the answer's size.
func checkRenderings(t *testing.T, img Image, answer int) {
	t.Helper()
	bound := conformance.HostileOutputRatio*answer + conformance.HostileOutputSlack
	raw, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	if indented.Len() > bound {
		t.Errorf("indented JSON is %d bytes for a %d-byte answer", indented.Len(), answer)
	}
	total := 0
	for _, f := range Fields() {
		text := f.Text(img)
		human := safetext.Terminal(text)
		total += len(text) + len(human)
		if strings.Contains(human, "##[") {
			t.Errorf("field %s, escaped for a terminal, still holds a legacy runner command", f.Name)
		}
		for _, line := range strings.Split(human, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
				t.Errorf("field %s, escaped for a terminal, starts a line with a workflow command", f.Name)
			}
		}
	}
	if total > bound {
		t.Errorf("the fields' text is %d bytes for a %d-byte answer", total, answer)
	}
}

// slicesOf yields b in pieces of at most n bytes.
func slicesOf(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			k := min(n, len(b))
			if !yield(b[:k]) {
				return
			}
			b = b[k:]
		}
	}
}

// The depth guard and checkShape agree with encoding/json's tokens on what
// the nesting is, whatever the strings hold.
func TestDepthGuardFollowsStrings(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`, true},
		{`{"a":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`, true},
		{`{"a":"\\","b":` + strings.Repeat("[", 12) + strings.Repeat("]", 12) + `}`, false},
		{strings.Repeat("[", 12) + strings.Repeat("]", 12), true},
		{strings.Repeat("[", 13) + strings.Repeat("]", 13), false},
		{"<html>" + strings.Repeat("[", 40), true}, // not JSON: not followed
		{"  \n" + strings.Repeat("{\"a\":", 13) + "1" + strings.Repeat("}", 13), false},
	} {
		g := depthGuard{max: MaxJSONDepth}
		if got := g.feed([]byte(tc.body)); got != tc.ok {
			t.Errorf("%.50s: feed = %v, want %v", tc.body, got, tc.ok)
		}
	}
}

// FuzzAnswerShape: for any body, the answer check returns (never panics),
// allocates in proportion to the body (a memory ceiling: a path string per
// level or a pairwise comparison per member would break it), and
// checkShape's verdict on member names and depth is the reference model's:
// encoding/json's tokens, strings.EqualFold, and a depth count.
func FuzzAnswerShape(f *testing.F) {
	for _, s := range conformance.HostileShapes() {
		f.Add(s.Body(webBase, 2<<10))
	}
	f.Add([]byte(`{"RequestId":"R1","Image":{"ImageId":"m-a0000000","ſtatus":"x"}}`))
	f.Add([]byte(`{"RequestId":"R1","Image":{"ImageId":"m-a0000000","\u0053tatus":"Available","Status":"x"}}`))
	f.Add([]byte(`[{"a":1,"A":2}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			return
		}
		cost := allocated(func() { checkImageAnswer(shapeCheck(), body) })
		if limit := 200*uint64(len(body)) + 1<<20; cost > limit {
			t.Fatalf("the check allocated %d bytes for a %d-byte body (limit %d)", cost, len(body), limit)
		}
		if !json.Valid(body) {
			return
		}
		if g := (depthGuard{max: MaxJSONDepth}); !g.feed(body) {
			if referenceDepth(body) <= MaxJSONDepth {
				t.Fatalf("the guard refused a body nested %d deep", referenceDepth(body))
			}
			return
		}
		if d := referenceDepth(body); d > MaxJSONDepth {
			t.Fatalf("the guard passed a body nested %d deep", d)
		}
		got := checkShape(body) == nil
		if want := referenceNames(body); got != want {
			t.Fatalf("checkShape accepts = %v, the reference model says %v", got, want)
		}
	})
}

// referenceDepth is the nesting of a valid JSON text, by encoding/json's
// tokens.
func referenceDepth(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// referenceNames is the member-name rule (and the bounds on members and
// elements) written the obvious way
// (quadratic, and fine for fuzz-sized bodies).
func referenceNames(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	known := imageMemberNames()
	var walk func(top, inImage bool) bool
	walk = func(top, inImage bool) bool {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		switch tok {
		case json.Delim('{'):
			var seen []string
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return true
				}
				k, _ := kt.(string)
				if len(seen) >= maxMembers {
					return false
				}
				for _, s := range seen {
					if strings.EqualFold(s, k) {
						return false
					}
				}
				seen = append(seen, k)
				if inImage {
					for _, n := range known {
						if n != k && strings.EqualFold(n, k) {
							return false
						}
					}
				}
				if !walk(false, top && k == "Image") {
					return false
				}
			}
			dec.Token()
		case json.Delim('['):
			for n := 0; dec.More(); n++ {
				if n >= maxElements || !walk(false, false) {
					return false
				}
			}
			dec.Token()
		}
		return true
	}
	return walk(true, false)
}
