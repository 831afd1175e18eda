package action

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzWriteOutputs checks the GITHUB_OUTPUT encoding against a model of the
// runner's reader: for any set of name/value pairs, reading the written file
// the way the runner does gives back exactly those pairs, in order — no
// injected output, no lost or altered value — or writeOutputs refuses with an
// error and leaves the file as it was. scripts/fuzz.sh runs it for a bounded
// time; `go test` runs the seeds below and testdata/fuzz/FuzzWriteOutputs.
//
// predictable makes the "random" delimiter a known sequence (all zero bytes
// first, then a counter), standing for a writer of values who could guess
// it: the value check in delimiterFor is then the only defence.
func FuzzWriteOutputs(f *testing.F) {
	zeroDelim := "ghadelimiter_" + strings.Repeat("00", 16)
	f.Add("image-id", "m-1", "image-name", "web-base-v2", "json", `{"a":"b"}`, false)
	f.Add("image-name", "x\n_GitHubActionsFileCommandDelimeter_\ninjected=1", "found", "true", "os-name", "ghadelimiter_00\r\nimage-id=m-evil", false)
	f.Add("a", "\n"+zeroDelim+"\ninjected=1\n", "b", zeroDelim, "c", "", true)
	f.Add("a", "", "a", "\n", "_", "\r\n\r\n", false)
	f.Add("a", "line\r", "b", "\r", "c", "x\r\ny\r\n", false)
	f.Add("bad name", "v", "ok", "v", "x", "y", false)
	f.Add("n<<EOF", "v", "ok", "v", "x", "y", false)
	f.Add("n=1", "v", "ok", "v", "x", "y", true)
	f.Add("", "v", "ok", "v", "x", "y", false)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3 string, predictable bool) {
		outs := []output{{n1, v1}, {n2, v2}, {n3, v3}}
		for _, o := range outs {
			// The runner reads the file as UTF-8 text; invalid bytes become
			// U+FFFD there whatever we write. Every value the action writes
			// comes from decoded JSON, so it is valid UTF-8.
			if !utf8.ValidString(o.value) {
				return
			}
		}
		if predictable {
			defer func(old func([]byte) (int, error)) { randRead = old }(randRead)
			calls := 0
			randRead = func(b []byte) (int, error) {
				for i := range b {
					b[i] = byte(calls)
				}
				calls++
				return len(b), nil
			}
		}
		validNames := true
		for _, o := range outs {
			validNames = validNames && referenceOutputName(o.name)
		}
		defer func(old string) { runnerOS = old }(runnerOS)
		for _, goos := range []string{"linux", "windows"} {
			runnerOS = goos
			path := filepath.Join(t.TempDir(), "github_output")
			// Earlier steps' commands may already be in the file (the
			// action appends); they must come through untouched.
			const before = "earlier=1\n"
			if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
				t.Fatal(err)
			}
			err := writeOutputs(path, outs)
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err != nil {
				if string(data) != before {
					t.Fatalf("writeOutputs failed (%v) but changed the file:\n%q", err, data)
				}
				if validNames && !predictable {
					t.Fatalf("valid outputs refused: %v", err)
				}
				continue
			}
			if !validNames {
				t.Fatalf("invalid output name accepted: %q", []string{n1, n2, n3})
			}
			want := append([]output{{"earlier", "1"}}, outs...)
			got, perr := runnerOutputs(string(data), goos == "windows")
			if perr != nil {
				t.Fatalf("the %s runner would reject the file: %v\n%q", goos, perr, data)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the %s runner reads other pairs than were written:\n got %q\nwant %q\nfile %q", goos, got, want, data)
			}
		}
	})
}

// referenceOutputName restates what an output id may be (GitHub's rule for
// ids: a letter or '_', then letters, digits, '-' or '_'), independently of
// the writer's regular expression.
func referenceOutputName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !(letter || i > 0 && (r >= '0' && r <= '9' || r == '-')) {
			return false
		}
	}
	return true
}

// runnerOutputs reads a GITHUB_OUTPUT file as the runner does
// (actions/runner, src/Runner.Worker/FileCommandManager.cs: the file command
// reader shared by GITHUB_ENV and GITHUB_OUTPUT). Lines end at "\n"; on
// Windows runners (OS_WINDOWS) at "\r\n" too when that comes first. Empty
// lines are skipped. "NAME=VALUE" when '=' comes before any "<<"; otherwise
// "NAME<<DELIM" starts a value that runs until a line exactly equal to DELIM,
// and the value is the text between, without the last line's terminator.
// Pairs come back in file order (later ones win in the runner's dictionary;
// keeping them all shows an injected duplicate).
func runnerOutputs(text string, windows bool) ([]output, error) {
	index := 0
	readLine := func() (line, newline string, ok bool) {
		if index >= len(text) {
			return "", "", false
		}
		start := index
		lf := strings.IndexByte(text[index:], '\n')
		if lf < 0 {
			index = len(text)
			return text[start:], "", true
		}
		lf += start
		if windows {
			if crlf := strings.Index(text[index:], "\r\n"); crlf >= 0 && crlf+start < lf {
				index = crlf + start + 2
				return text[start : crlf+start], "\r\n", true
			}
		}
		index = lf + 1
		return text[start:lf], "\n", true
	}
	var out []output
	for {
		line, _, ok := readLine()
		if !ok {
			return out, nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			out = append(out, output{line[:eq], line[eq+1:]})
		case hd >= 0:
			name, delim := line[:hd], line[hd+2:]
			if name == "" || delim == "" {
				return nil, errors.New("invalid format " + line)
			}
			start, end := index, index
			for {
				l, nl, ok := readLine()
				if !ok {
					return nil, errors.New("matching delimiter not found " + delim)
				}
				if l == delim {
					break
				}
				end = index - len(nl)
			}
			v := ""
			if end > start {
				v = text[start:end]
			}
			out = append(out, output{name, v})
		default:
			return nil, errors.New("invalid format " + line)
		}
	}
}

// The model itself: the cases the runner's own tests pin down.
func TestRunnerOutputsModel(t *testing.T) {
	for _, c := range []struct {
		text    string
		windows bool
		want    []output
		err     bool
	}{
		{text: "a=b\nc<<EOF\nline 1\nline 2\nEOF\n", want: []output{{"a", "b"}, {"c", "line 1\nline 2"}}},
		{text: "a<<EOF\n\nEOF\n", want: []output{{"a", ""}}},
		{text: "a<<EOF\nEOF\n", want: []output{{"a", ""}}},
		{text: "a<<EOF\r\nx\r\nEOF\r\n", windows: true, want: []output{{"a", "x"}}},
		{text: "a<<EOF\r\nx\r\nEOF\r\n", want: []output{{"a", "x\r"}}}, // on Linux the delimiter is "EOF\r"
		{text: "a<<EOF\nx\r\nEOF\n", want: []output{{"a", "x\r"}}},
		{text: "a<<EOF\nx\r\nEOF\n", windows: true, want: []output{{"a", "x"}}},
		{text: "a=b=c\n\n\nd=\n", want: []output{{"a", "b=c"}, {"d", ""}}},
		{text: "a<<EOF\nx\n", err: true},
		{text: "<<EOF\nx\nEOF\n", err: true},
		{text: "abc\n", err: true},
	} {
		got, err := runnerOutputs(c.text, c.windows)
		if (err != nil) != c.err || !c.err && !reflect.DeepEqual(got, c.want) {
			t.Errorf("runnerOutputs(%q, windows=%v) = %q, %v; want %q (error %v)", c.text, c.windows, got, err, c.want, c.err)
		}
	}
}
