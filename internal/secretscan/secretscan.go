// Package secretscan is the one helper every test suite of this repository
// uses to prove that no secret leaked: it scans captured stdout, stderr, log
// files, GITHUB_OUTPUT, step summaries and Packer logs for the access key
// secret, security token and OIDC token a test used.
//
// A plain substring search is not enough. Server messages echo signed
// strings (SignatureDoesNotMatch repeats the string to sign, in which every
// parameter is percent-encoded once and the whole string once more), debug
// traces print URLs (query-escaped), and anything that ends up inside a
// token, a header or a JSON document may be base64- or JSON-escaped. So each
// secret is looked for in every form those paths produce; see Forms.
//
// Reports never print a secret: they name it by its first characters and
// length, the form it was found in, and the line, with the match redacted.
package secretscan

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"
)

// TB is the part of testing.TB the checks use, so they also work with a
// fake in the package's own tests.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Form is one encoding of a secret.
type Form struct {
	Name  string // such as "percent-encoded twice"
	Value string
}

// minEmbedded is the shortest base64 run taken from the middle of an
// encoding: shorter runs would match ordinary text by chance.
const minEmbedded = 8

// Forms lists the encodings a secret is searched in: as is; percent-encoded
// the RPC-signature way (RFC 3986, upper-case hex) once and twice, and with
// lower-case hex; query-escaped once and twice (spaces as '+'); path-escaped;
// JSON-string-escaped; base64 (standard and URL alphabets, with and without
// padding); and the three runs of base64 that appear whenever the secret is
// part of a longer base64-encoded text, whatever its offset. Forms equal to
// an earlier one are left out.
func Forms(secret string) []Form {
	if secret == "" {
		return nil
	}
	once := rpcencode.Encode(secret)
	q := url.QueryEscape(secret)
	js, _ := json.Marshal(secret)
	forms := []Form{
		{"as is", secret},
		{"percent-encoded once", once},
		{"percent-encoded twice", rpcencode.Encode(once)},
		{"percent-encoded with lower-case hex", lowerHex(once)},
		{"query-escaped once", q},
		{"query-escaped twice", url.QueryEscape(q)},
		{"path-escaped", url.PathEscape(secret)},
		{"JSON-escaped", string(js[1 : len(js)-1])},
		{"base64", base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64 without padding", base64.RawStdEncoding.EncodeToString([]byte(secret))},
		{"base64url", base64.URLEncoding.EncodeToString([]byte(secret))},
		{"base64url without padding", base64.RawURLEncoding.EncodeToString([]byte(secret))},
	}
	// Inside a longer base64 text the secret starts at some offset; the
	// characters that depend on its bytes alone are those of the whole
	// 3-byte groups it covers. Skipping 0, 1 or 2 leading bytes lines one of
	// the three candidates up with the groups, whatever the offset.
	for skip := 0; skip < 3 && skip < len(secret); skip++ {
		b := []byte(secret[skip:])
		b = b[:len(b)/3*3]
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if s := enc.EncodeToString(b); len(s) >= minEmbedded {
				forms = append(forms, Form{fmt.Sprintf("inside base64 (offset %d mod 3)", (3-skip)%3), s})
			}
		}
	}
	seen := map[string]bool{}
	out := forms[:0]
	for _, f := range forms {
		if !seen[f.Value] {
			seen[f.Value] = true
			out = append(out, f)
		}
	}
	return out
}

// lowerHex rewrites the hex digits after each '%' in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if b[j] >= 'A' && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
		}
	}
	return string(b)
}

// formOf is one form of one secret.
type formOf struct {
	secret, name, value string
}

// Leak is one secret found in one form on one line.
type Leak struct {
	Secret string // the secret named safely: first characters and length
	Form   string
	Line   int    // 1-based
	Text   string // the line with every form of every secret redacted, shortened
}

func (l Leak) String() string {
	return fmt.Sprintf("secret %s %s on line %d: %s", l.Secret, l.Form, l.Line, l.Text)
}

// Scanner holds the secrets of one test. Secrets learnt while the test runs
// (STS-issued keys, a minted ID token) are added with Add. It is safe for
// concurrent use.
type Scanner struct {
	mu      sync.Mutex
	secrets []string
	ignore  []string
}

// New returns a scanner for the given secrets; empty strings are skipped,
// so a test can pass optional values without checking them.
func New(secrets ...string) *Scanner {
	s := &Scanner{}
	s.Add(secrets...)
	return s
}

// Add adds secrets; empty ones and duplicates are skipped.
func (s *Scanner) Add(secrets ...string) *Scanner {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if v != "" && !slices.Contains(s.secrets, v) {
			s.secrets = append(s.secrets, v)
		}
	}
	return s
}

// IgnoreLines makes the scanner skip lines that start with prefix (after
// leading white space). The action's "::add-mask::" commands must carry the
// very secrets they register with the runner.
func (s *Scanner) IgnoreLines(prefix string) *Scanner {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignore = append(s.ignore, prefix)
	return s
}

// Secrets returns the secrets scanned for.
func (s *Scanner) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// Find returns every leak in text, in line order.
func (s *Scanner) Find(text string) []Leak {
	s.mu.Lock()
	secrets := append([]string(nil), s.secrets...)
	ignore := append([]string(nil), s.ignore...)
	s.mu.Unlock()

	var all []formOf
	for _, sec := range secrets {
		for _, f := range Forms(sec) {
			all = append(all, formOf{sec, f.Name, f.Value})
		}
	}
	// Longest first, so that redacting a line for the report removes a
	// whole encoding before a shorter one that is part of it.
	sort.SliceStable(all, func(i, j int) bool { return len(all[i].value) > len(all[j].value) })

	var leaks []Leak
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " \t")
		skip := false
		for _, p := range ignore {
			skip = skip || strings.HasPrefix(trimmed, p)
		}
		if skip {
			continue
		}
		reported := map[string]bool{}
		for _, f := range all {
			if reported[f.secret] || !strings.Contains(line, f.value) {
				continue
			}
			reported[f.secret] = true
			leaks = append(leaks, Leak{Secret: name(f.secret), Form: f.name, Line: n, Text: redact(line, all)})
		}
	}
	return leaks
}

// Check reports, through t.Errorf, every leak in text; what names the
// stream ("stdout of resolve", "GITHUB_OUTPUT"). It returns whether the
// text was clean.
func (s *Scanner) Check(t TB, what, text string) bool {
	t.Helper()
	leaks := s.Find(text)
	for _, l := range leaks {
		t.Errorf("%s: %s", what, l)
	}
	return len(leaks) == 0
}

// CheckFile scans a file; a file that does not exist is clean (a step may
// legitimately never create its summary), any other read error fails.
func (s *Scanner) CheckFile(t TB, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return true
	}
	if err != nil {
		t.Errorf("secretscan: reading %s: %v", path, err)
		return false
	}
	return s.Check(t, path, string(b))
}

// Check is New(secrets...).Check(t, what, text), for one-off scans.
func Check(t TB, what, text string, secrets ...string) bool {
	t.Helper()
	return New(secrets...).Check(t, what, text)
}

// name identifies a secret in a report without revealing it.
func name(secret string) string {
	n := 4
	if len(secret) < 12 {
		n = 2
	}
	return fmt.Sprintf("%q... (%d bytes)", secret[:min(n, len(secret))], len(secret))
}

// redact replaces every form of every secret in line and shortens it, so a
// report can show where the leak is without repeating it.
func redact(line string, forms []formOf) string {
	for _, f := range forms {
		line = strings.ReplaceAll(line, f.value, "[SECRET]")
	}
	if len(line) > 300 {
		i := strings.Index(line, "[SECRET]")
		start := max(0, i-120)
		end := min(len(line), start+300)
		line = "..." + line[start:end] + "..."
	}
	return line
}
