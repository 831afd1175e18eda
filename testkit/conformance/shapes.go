package conformance

import (
	"fmt"
	"net/http"
	"strings"
)

// Hostile shapes: answers that stay under the client's 1 MiB body cap but
// are built to be expensive in their shape (nesting depth, width, member
// names, members per object, string escapes). Each shape builds an answer
// of about the size asked for, so a test can grow it up to the cap and show
// that the cost of reading it, and the size of every output written from
// it, stays proportionate to its size.

// ShapeCap is the size the table's rows build their answers to: just under
// the client's 1 MiB cap, so the cap itself does not refuse them.
const ShapeCap = 1<<20 - 4<<10

// ShapeMaxDepth and ShapeMaxElements are the nesting and the elements per
// array the client accepts (imagefamily.MaxJSONDepth and its element bound;
// ecstest does not import the client).
const (
	ShapeMaxDepth    = 12
	ShapeMaxElements = 1024
)

// HostileShape is one shape of answer.
type HostileShape struct {
	Name string
	// Status is the HTTP status the answer is sent with (200 unless the
	// shape is an error answer).
	Status int
	// Body returns an answer for family of about size bytes (never more).
	Body func(family string, size int) []byte
	// Refused says a client must refuse the answer (exit 1, nothing on
	// stdout); otherwise it must accept it and find HostileImageID.
	Refused bool
	// Fragment appears in a refusal's message.
	Fragment string
	// Forged is text the accepted answer's Description plants (see
	// HostileRow.Forged).
	Forged []string
}

// shapeHead is a well-formed image's members, without the closing braces;
// a shape appends members to it.
func shapeHead(family string) string {
	return `{"RequestId":"7A6B1E2C-0000-4000-8000-0000000000AA","Image":{"ImageId":"` + HostileImageID +
		`","ImageName":"web-base-v7","ImageFamily":"` + family + `","ImageVersion":"7","CreationTime":"2024-04-16T02:00:00Z",` +
		`"Status":"Available","Architecture":"x86_64","OSType":"linux","Size":40`
}

const shapeTail = `}}`

// fill repeats unit as often as fits in room bytes (at least once).
func fill(unit string, room int) int {
	n := room / len(unit)
	if n < 1 {
		n = 1
	}
	return n
}

// HostileShapes is the generator's table: every shape, refused or
// accepted, at any size.
func HostileShapes() []HostileShape {
	deepRefusal := "nested more than 12 deep"
	return []HostileShape{
		{Name: "deep arrays in an unknown member", Refused: true, Fragment: deepRefusal,
			Body: func(family string, size int) []byte {
				head := shapeHead(family) + `,"Nested":`
				n := fill("[]", size-len(head)-len(shapeTail))
				return []byte(head + strings.Repeat("[", n) + strings.Repeat("]", n) + shapeTail)
			}},
		{Name: "deep objects with 100-byte member names", Refused: true, Fragment: deepRefusal,
			Body: func(family string, size int) []byte {
				head := shapeHead(family) + `,"Nested":`
				open := `{"` + strings.Repeat("n", 100) + `":`
				n := fill(open+"}", size-len(head)-len(shapeTail)-1)
				return []byte(head + strings.Repeat(open, n) + "0" + strings.Repeat("}", n) + shapeTail)
			}},
		{Name: "deep arrays in an error answer", Status: 400, Refused: true, Fragment: deepRefusal,
			Body: func(family string, size int) []byte {
				head := `{"RequestId":"7A6B1E2C-0000-4000-8000-0000000000AB","Code":"InvalidParameter","Message":"deep","Detail":`
				n := fill("[]", size-len(head)-1)
				return []byte(head + strings.Repeat("[", n) + strings.Repeat("]", n) + "}")
			}},
		{Name: "one level deeper than the client accepts", Refused: true, Fragment: deepRefusal,
			Body: func(family string, size int) []byte {
				// The answer and the Image are two levels.
				n := ShapeMaxDepth - 2 + 1
				return []byte(shapeHead(family) + `,"Nested":` + strings.Repeat("[", n) + strings.Repeat("]", n) + shapeTail)
			}},
		{Name: "nesting at the limit, wide at the bottom",
			Body: func(family string, size int) []byte {
				// Arrays of ShapeMaxElements zeros at the deepest level.
				return nestedFull(family, size, "0", ShapeMaxDepth-3)
			}},
		{Name: "small arrays nested to the limit",
			Body: func(family string, size int) []byte {
				// [0] at the deepest level: three indented lines each when
				// printed, the most output per byte an accepted answer gives.
				return nestedFull(family, size, "[0]", ShapeMaxDepth-4)
			}},
		{Name: "an array of 1025 numbers", Refused: true, Fragment: "over 1024 elements",
			Body: func(family string, size int) []byte {
				return []byte(shapeHead(family) + `,"Wide":[` + strings.TrimSuffix(strings.Repeat("0,", ShapeMaxElements+1), ",") + "]" + shapeTail)
			}},
		{Name: "empty objects in the disk list", Refused: true, Fragment: "over 1024 elements",
			Body: func(family string, size int) []byte {
				// Three bytes each, a struct and an output object each once read.
				head := shapeHead(family) + `,"DiskDeviceMappings":{"DiskDeviceMapping":[{}`
				tail := "]}" + shapeTail
				m := max(fill(",{}", size-len(head)-len(tail)), ShapeMaxElements)
				return []byte(head + strings.Repeat(",{}", m) + tail)
			}},
		{Name: "a wide error answer", Status: 400, Refused: true, Fragment: "longer than 64 KiB",
			Body: func(family string, size int) []byte {
				head := `{"RequestId":"7A6B1E2C-0000-4000-8000-0000000000AC","Code":"InvalidParameter","Message":"wide","W":[{"":0}`
				m := fill(`,{"":0}`, size-len(head)-2)
				return []byte(head + strings.Repeat(`,{"":0}`, m) + "]}")
			}},
		{Name: "129 tags", Refused: true, Fragment: "at most 128 tags",
			Body: func(family string, size int) []byte {
				var b strings.Builder
				b.WriteString(shapeHead(family) + `,"Tags":{"Tag":[`)
				for i := range 129 {
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `{"TagKey":"k%03d","TagValue":"v"}`, i)
				}
				return []byte(b.String() + "]}" + shapeTail)
			}},
		{Name: "a wide array of numbers", Refused: true, Fragment: "over 1024 elements",
			Body: func(family string, size int) []byte {
				head := shapeHead(family) + `,"Wide":[0`
				tail := "]" + shapeTail
				m := max(fill(",0", size-len(head)-len(tail)), ShapeMaxElements)
				return []byte(head + strings.Repeat(",0", m) + tail)
			}},
		{Name: "objects of 512 members each",
			Body: func(family string, size int) []byte {
				var obj strings.Builder
				obj.WriteString("{")
				for i := range 512 {
					if i > 0 {
						obj.WriteString(",")
					}
					fmt.Fprintf(&obj, `"m%03d":0`, i)
				}
				obj.WriteString("}")
				head := shapeHead(family) + `,"Members":[`
				tail := "]" + shapeTail
				m := fill(obj.String()+",", size-len(head)-len(tail))
				return []byte(head + strings.TrimSuffix(strings.Repeat(obj.String()+",", m), ",") + tail)
			}},
		{Name: "an object of 513 members", Refused: true, Fragment: "over 512 members",
			Body: func(family string, size int) []byte {
				var b strings.Builder
				b.WriteString(shapeHead(family) + `,"Members":{`)
				for i := range 513 {
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `"m%03d":0`, i)
				}
				return []byte(b.String() + "}" + shapeTail)
			}},
		{Name: "long member names",
			Body: func(family string, size int) []byte {
				head := shapeHead(family) + `,"Names":{`
				tail := "}" + shapeTail
				room := size - len(head) - len(tail)
				per := room/4 - 8
				var b strings.Builder
				b.WriteString(head)
				for i := range 4 {
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `"%c%s":%d`, 'a'+i, strings.Repeat("n", max(per, 1)), i)
				}
				return []byte(b.String() + tail)
			}},
		{Name: "string escapes (control characters, line separators, a workflow command)",
			Forged: []string{"::error::x", "##[add-mask]m"},
			Body: func(family string, size int) []byte {
				// The description decodes to 4096 bytes of control
				// characters and commands (the API's limit for free text);
				// an unknown member carries the rest in escapes.
				desc := strings.Repeat(`\u001b`, 512) + strings.Repeat(`\n::error::x##[add-mask]m`, 100)
				head := shapeHead(family) + `,"Description":"` + desc + `","Escaped":"`
				tail := `"` + shapeTail
				m := fill(`\u2028`, size-len(head)-len(tail))
				return []byte(head + strings.Repeat(`\u2028`, m) + tail)
			}},
		{Name: "member names made by escapes", Refused: true, Fragment: "member name",
			Body: func(family string, size int) []byte {
				// "\u0049mageId" is "ImageId": a second ImageId.
				return []byte(shapeHead(family) + `,"\u0049mageId":"m-other000000000000001"` + shapeTail)
			}},
		{Name: "many tags", Refused: true, Fragment: "over 1024 elements",
			Body: func(family string, size int) []byte {
				return manyElements(family, size, `"Tags":{"Tag":[`, `{"TagKey":"k%06d","TagValue":"v##[error]"}`)
			}},
		{Name: "many disk mappings", Refused: true, Fragment: "over 1024 elements",
			Body: func(family string, size int) []byte {
				return manyElements(family, size, `"DiskDeviceMappings":{"DiskDeviceMapping":[`, `{"Device":"/dev/xvd%06d","Size":"40","Type":"data"}`)
			}},
	}
}

// manyElements is an answer whose Image opens a list with open (a
// member and its object, as written: `"Tags":{"Tag":[`) holding elements,
// each elem with its index (elem's %06d), as many as fill size and always
// over ShapeMaxElements.
func manyElements(family string, size int, open, elem string) []byte {
	head := shapeHead(family) + "," + open
	tail := "]}" + shapeTail
	m := max(fill(fmt.Sprintf(elem, 0)+",", size-len(head)-len(tail)), ShapeMaxElements+1)
	var b strings.Builder
	b.WriteString(head)
	for i := range m {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, elem, i)
	}
	return []byte(b.String() + tail)
}

// nestedFull is an answer whose Image has an unknown member of n nested
// arrays holding as many arrays of ShapeMaxElements copies of elem as fit
// (at most ShapeMaxElements): as wide as the client allows at every level.
func nestedFull(family string, size int, elem string, n int) []byte {
	leaf := "[" + strings.TrimSuffix(strings.Repeat(elem+",", ShapeMaxElements), ",") + "]"
	head := shapeHead(family) + `,"Nested":` + strings.Repeat("[", n)
	tail := strings.Repeat("]", n) + shapeTail
	m := min(fill(leaf+",", size-len(head)-len(tail)), ShapeMaxElements)
	return []byte(head + strings.TrimSuffix(strings.Repeat(leaf+",", m), ",") + tail)
}

// ServeShape answers every request with the shape's body at size bytes.
func ServeShape(s HostileShape, size int) func(http.ResponseWriter, *http.Request, HostileEnv) {
	return func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
		status := s.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		w.Write(s.Body(r.URL.Query().Get("ImageFamily"), size))
	}
}

// shapeRows are the hostile table's rows for the shapes, each at ShapeCap.
func shapeRows() []HostileRow {
	var rows []HostileRow
	for _, s := range HostileShapes() {
		row := HostileRow{Name: "shape: " + s.Name, Serve: ServeShape(s, ShapeCap), Requests: 1, Forged: s.Forged}
		if s.Refused {
			row.Outcome, row.ExitCode, row.Fragment = HostileRefused, 1, s.Fragment
		} else {
			row.Outcome, row.ExitCode = HostileFound, 0
		}
		rows = append(rows, row)
	}
	return rows
}
