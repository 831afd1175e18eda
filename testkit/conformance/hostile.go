package conformance

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// Hostile endpoints: one table of the ways an ECS endpoint (a corporate TLS
// proxy, a captive portal, a compromised or buggy mirror, or just a huge
// error page) can misbehave, and what every front must make of each. The
// core and the CLI binary run every row, the other fronts the rows Sample
// picks for them, each through its front's one runner of table rows (the
// one that runs the fault rows too), so a new hostile behaviour is one row
// here.

// HostileOutcome is what a lookup against the row's endpoint must end in.
type HostileOutcome int

const (
	// HostileFound: the answer is accepted; the image is ImageID.
	HostileFound HostileOutcome = iota
	// HostileNotFound: the API's "no available image" (exit 3).
	HostileNotFound
	// HostileRefused: refused at the trust boundary (*imagefamily.AnswerError, exit 1).
	HostileRefused
	// HostileAPIError: an API error answer (*imagefamily.APIError, exit 1).
	HostileAPIError
	// HostileTimeout: the deadline passed (exit 1); the runner must use a
	// short timeout (HostileTimeoutSetting).
	HostileTimeout
)

// HostileTimeoutSetting is the lookup timeout runners give rows whose
// outcome is HostileTimeout; HostileServer.Timeout says which to use.
const HostileTimeoutSetting = 3 * time.Second

// hostileSlackTimeout is the timeout of every other row: long enough that
// reading an answer at the cap under the race detector on a busy machine
// never turns into a timeout, which the row would not expect.
const hostileSlackTimeout = 60 * time.Second

// HostileMaxAttempts is the attempt budget runners configure, so that
// Requests can be stated exactly.
const HostileMaxAttempts = 2

// HostileImageID is the image id of every answer a row means to be accepted.
const HostileImageID = "m-hostile0000000000001"

// HostileRow is one misbehaving endpoint and what the user must get.
type HostileRow struct {
	Name string
	// Command and Action: "" for a lookup (HostileRows); for the
	// lifecycle's rows (LifecycleHostileRows), the command run and the one
	// call answered by Serve's hostile part (the others are answered
	// honestly). Requests then counts that call's requests.
	Command, Action string
	// Family is the image family the runner asks for; empty means
	// HostileFamily (LookupFamily).
	Family string
	// Serve answers every ECS request. env tells it where the second
	// listener is (the target of redirects).
	Serve func(w http.ResponseWriter, r *http.Request, env HostileEnv)

	Outcome HostileOutcome
	// ExitCode of the CLI and the action: 0 found, 3 not found, 1 otherwise.
	ExitCode int
	// Fragment appears in the error message (CLI stderr, action ::error
	// annotation, Packer diagnostic). "{other}" stands for the second
	// listener's scheme://host.
	Fragment string
	// Requests is how many requests the ECS listener must see with
	// HostileMaxAttempts attempts; the second listener must always see none.
	Requests int
	// Forged lists text the endpoint tries to plant: none of it may start a
	// line of any human output (stdout, stderr, the step log, the Packer UI)
	// or be the value of an output, except inside exact machine outputs (the
	// JSON of an accepted image).
	Forged []string
	// Writes, for the lifecycle's rows: how many writes
	// (ModifyImageAttribute) the honest part of the endpoint must have
	// taken (HostileServer.Writes): 1 where the change was made, 0 where
	// nothing may have changed.
	Writes int
}

// HostileFamily is the family runners ask for unless a row names another.
const HostileFamily = "web-base"

// LookupFamily is the family a runner asks for with this row.
func (r HostileRow) LookupFamily() string {
	if r.Family != "" {
		return r.Family
	}
	return HostileFamily
}

// HostileEnv is what a row's Serve knows about its surroundings.
type HostileEnv struct {
	// Other is the second listener's base URL (plain HTTP), where redirects
	// point. It must never receive a request.
	Other string

	lifecycle *lifecycleState
}

// HostileServer runs one row: ecstest's hostile endpoint answered by the
// row's Serve, with what the row expects of a runner (its timeout, the
// bounds on what a front may output or allocate).
type HostileServer struct {
	*ecstest.HostileServer

	row       HostileRow
	lifecycle *lifecycleState
}

// StartHostile starts a row's listeners on loopback. Close stops them (and
// ends any endless body the row is still sending).
func StartHostile(row HostileRow) *HostileServer {
	gzipBomb()
	h := &HostileServer{row: row, lifecycle: &lifecycleState{}}
	h.HostileServer = ecstest.StartHostile(func(w http.ResponseWriter, r *http.Request, env ecstest.HostileEnv) {
		row.Serve(w, r, HostileEnv{Other: env.Other, lifecycle: h.lifecycle})
	}, row.Action)
	return h
}

// Family is the family a runner asks this server's row for.
func (h *HostileServer) Family() string { return h.row.LookupFamily() }

// Timeout is the lookup timeout a runner gives the row: HostileTimeoutSetting
// when the row's outcome is a timeout, a minute otherwise.
func (h *HostileServer) Timeout() time.Duration {
	if h.row.Outcome == HostileTimeout {
		return HostileTimeoutSetting
	}
	return hostileSlackTimeout
}

// HostileOutputRatio bounds every output a front writes from an answer
// (stdout in each format, the step log, GITHUB_OUTPUT, the summary, the
// Packer UI and attributes), as a multiple of the bytes served plus
// HostileOutputSlack (a front's fixed output). The largest is the CLI's
// indented JSON of an answer of small arrays nested to the client's limit
// ("[0]" at the 12th level: three indented lines for four bytes), about 17
// times the answer.
const (
	HostileOutputRatio = 18
	HostileOutputSlack = 64 << 10
)

// OutputBound is the most output a front may write for what this server
// served.
func (h *HostileServer) OutputBound() int64 {
	return HostileOutputRatio*h.ServedBytes() + HostileOutputSlack
}

// AllocBound is the most a lookup in process may allocate in all (Go's
// TotalAlloc, garbage included) for what this server served: linear in the
// answer, with room for the SDK's own parse, the check, the typed image and
// every output. Memory that grows faster than the answer (a path string per
// nesting level, indentation held whole) exceeds it at the cap.
func (h *HostileServer) AllocBound() uint64 {
	read := min(h.ServedBytes(), int64(h.Requests())<<20) // a client reads at most 1 MiB of each
	return 160*uint64(read) + 48<<20
}

// Writes is how many writes (ModifyImageAttribute) the honest part of a
// lifecycle row's endpoint took: the changes made.
func (h *HostileServer) Writes() int {
	h.lifecycle.mu.Lock()
	defer h.lifecycle.mu.Unlock()
	return h.lifecycle.writes
}

// Fill replaces "{other}" in a row's fragment with this server's second
// listener.
func (h *HostileServer) Fill(fragment string) string {
	return strings.ReplaceAll(fragment, "{other}", h.OtherOrigin())
}

// stopped reports whether the request's client went away or the server is
// closing (ecstest ends the request's context on Close).
func stopped(r *http.Request) bool { return r.Context().Err() != nil }

// hostileImage is a well-formed image of the family asked for; rows change
// one member.
func hostileImage(r *http.Request) map[string]any {
	return map[string]any{
		"ImageId": HostileImageID, "ImageName": "web-base-v7", "ImageFamily": r.URL.Query().Get("ImageFamily"),
		"ImageVersion": "7", "CreationTime": "2024-04-16T02:00:00Z", "Status": "Available",
		"Architecture": "x86_64", "OSType": "linux", "OSName": "Alibaba Cloud Linux 3", "Platform": "Aliyun",
		"Size": 40, "ImageOwnerAlias": "self", "Description": "hostile-row image",
		"Tags":               map[string]any{"Tag": []any{map[string]any{"TagKey": "team", "TagValue": "platform"}}},
		"DiskDeviceMappings": map[string]any{"DiskDeviceMapping": []any{map[string]any{"Device": "/dev/xvda", "Size": "40", "Type": "system"}}},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// answerWith serves the good image with one member changed.
func answerWith(change func(img map[string]any)) func(http.ResponseWriter, *http.Request, HostileEnv) {
	return func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
		img := hostileImage(r)
		change(img)
		writeJSON(w, 200, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000001", "Image": img})
	}
}

func set(key string, value any) func(map[string]any) {
	return func(img map[string]any) { img[key] = value }
}

// stream writes chunk until the client goes away, the server closes, or
// limit bytes or a minute have passed: an "endless" body that still stops by
// itself.
func stream(w http.ResponseWriter, r *http.Request, chunk []byte, limit int64, every time.Duration) {
	flusher, _ := w.(http.Flusher)
	deadline := time.Now().Add(time.Minute)
	var sent int64
	for sent < limit && time.Now().Before(deadline) && !stopped(r) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		sent += int64(len(chunk))
		if flusher != nil {
			flusher.Flush()
		}
		if every > 0 {
			time.Sleep(every)
		}
	}
}

var (
	bombOnce sync.Once
	bomb     []byte
)

// gzipBomb is 16 MiB of JSON-looking padding compressed to about 16 KiB:
// sixteen times the client's cap once inflated. StartHostile builds it
// before serving, so no request waits for the compression.
func gzipBomb() []byte {
	bombOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write([]byte(`{"RequestId":"7A6B1E2C-0000-4000-8000-000000000001","Padding":"`))
		zeros := bytes.Repeat([]byte("0"), 1<<20)
		for range 16 {
			zw.Write(zeros)
		}
		zw.Write([]byte(`"}`))
		zw.Close()
		bomb = buf.Bytes()
	})
	return bomb
}

// HostileRows is the table. Every row's second listener must see no request.
func HostileRows() []HostileRow {
	refused := func(name, fragment string, serve func(http.ResponseWriter, *http.Request, HostileEnv), forged ...string) HostileRow {
		return HostileRow{Name: name, Serve: serve, Outcome: HostileRefused, ExitCode: 1, Fragment: fragment, Requests: 1, Forged: forged}
	}
	rows := []HostileRow{
		{Name: "well-formed answer (baseline)", Serve: answerWith(func(map[string]any) {}),
			Outcome: HostileFound, ExitCode: 0, Requests: 1},

		// 1. Bounded reads.
		refused("Content-Length of 2 GiB", "body of 2147483648 bytes (Content-Length)",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				w.Header().Set("Content-Length", "2147483648")
				w.WriteHeader(200)
				w.Write([]byte(`{"RequestId":"x"`))
			}),
		refused("endless chunked 200 body", "longer than 1024 KiB",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(200)
				w.Write([]byte(`{"RequestId":"7A6B1E2C-0000-4000-8000-000000000001","Image":{"Description":"`))
				stream(w, r, bytes.Repeat([]byte("A"), 64<<10), 8<<30, 0)
			}),
		refused("64 MiB HTML error page", "longer than 64 KiB",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				w.Write([]byte("<html><body><h1>502 Bad Gateway</h1>"))
				stream(w, r, bytes.Repeat([]byte("<p>proxy error \x1b[31m</p>\n"), 2048), 64<<20, 0)
			}),
		refused("gzip bomb (16 MiB in 16 KiB)", "refused the answer",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(200)
				w.Write(gzipBomb())
			}),
		{Name: "slow drip (one byte every 200ms)", Outcome: HostileTimeout, ExitCode: 1, Fragment: "Raise the timeout", Requests: 1,
			Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(200)
				stream(w, r, []byte(" "), 1<<20, 200*time.Millisecond)
			}},

		// 2. No redirects, whatever the status and target.
		refused("302 to another host, echoing the signed query", "redirect HTTP 302 to {other}",
			func(w http.ResponseWriter, r *http.Request, env HostileEnv) {
				http.Redirect(w, r, env.Other+"/steal?"+r.URL.RawQuery, http.StatusFound)
			}),
		refused("307 to plain http on another host", "redirect HTTP 307 to {other}",
			func(w http.ResponseWriter, r *http.Request, env HostileEnv) {
				http.Redirect(w, r, env.Other+"/?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			}),
		refused("308 to plain http on the same host", "redirect HTTP 308 to http://",
			func(w http.ResponseWriter, r *http.Request, env HostileEnv) {
				http.Redirect(w, r, "http://"+r.Host+"/?"+r.URL.RawQuery, http.StatusPermanentRedirect)
			}),
		refused("301 to another path on the same host", "redirect HTTP 301",
			func(w http.ResponseWriter, r *http.Request, env HostileEnv) {
				http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			}),

		// 3. Checked answers.
		refused("ImageId with a newline and a workflow command", "ImageId",
			answerWith(set("ImageId", "m-aaaa\n::warning::forged-by-endpoint")), "::warning::forged-by-endpoint"),
		refused("ImageId forging another region's output line", "ImageId",
			answerWith(set("ImageId", "m-aaaa\ncn-shanghai\tm-forged")), "cn-shanghai\tm-forged", "m-forged"),
		refused("ImageId with terminal escapes", "ImageId",
			answerWith(set("ImageId", "\x1b]0;pwned\x07\x1b[2Jm-aaaa")), "\x1b"),
		refused("ImageId with shell metacharacters", "ImageId",
			answerWith(set("ImageId", "m-aaaa;touch /tmp/pwned;$(id)")), "touch /tmp/pwned"),
		refused("ImageId of 1 MB", "ImageId",
			answerWith(set("ImageId", "m-"+strings.Repeat("a", 1000000)))),
		refused("blank ImageId", "ImageId", answerWith(set("ImageId", "   "))),
		refused("ImageId of the wrong JSON type", "Image.ImageId", answerWith(set("ImageId", 12345))),
		refused("answer for another family", "ImageFamily", answerWith(set("ImageFamily", "someone-elses-family"))),
		refused("Status other than Available", "Status", answerWith(set("Status", "Creating"))),
		{Name: "shared family answered with another account's image", Family: "acs:210987654321:golden-base",
			Outcome: HostileRefused, ExitCode: 1, Fragment: "names its owner, account 210987654321", Requests: 1,
			Serve: answerWith(func(img map[string]any) {
				img["ImageOwnerAlias"], img["ImageOwnerId"] = "others", int64(999999999999)
			})},
		refused("negative Size", "Size", answerWith(set("Size", -1))),
		refused("absurd Size", "Size", answerWith(set("Size", 1<<40))),
		refused("CreationTime not a time", "CreationTime", answerWith(set("CreationTime", "yesterday"))),
		refused("CreationTime far in the future", "CreationTime", answerWith(set("CreationTime", "2999-01-01T00:00:00Z"))),
		refused("ImageName planting add-mask", "ImageName",
			answerWith(set("ImageName", "ok\n::add-mask::m-hostile0000000000001")), "::add-mask::"),
		refused("ImageName with terminal escapes", "ImageName",
			answerWith(set("ImageName", "web\x1b[1;31m-red")), "\x1b"),
		refused("RequestId with a line break", "RequestId",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 200, map[string]any{"RequestId": "R1\n::error::forged-request-id", "Image": hostileImage(r)})
			}, "::error::forged-request-id"),
		refused("captive portal HTML in a 200", "not valid JSON",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(200)
				w.Write([]byte("<html><body>Please log in to the guest Wi-Fi\n::error::forged-portal</body></html>"))
			}, "::error::forged-portal"),
		refused("200 without a RequestId", "without a RequestId",
			func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 200, map[string]any{"Image": hostileImage(r)})
			}),
		{Name: "empty Image object (the API's not found)", Outcome: HostileNotFound, ExitCode: 3, Fragment: "no available image", Requests: 1,
			Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 200, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000001", "Image": map[string]any{}})
			}},
		{Name: "Throttling code in an HTTP 200", Outcome: HostileAPIError, ExitCode: 1, Fragment: "Throttling", Requests: HostileMaxAttempts,
			Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 200, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000002", "Code": "Throttling", "Message": "Request was denied due to request throttling."})
			}},
		{Name: "error code in an HTTP 200 beside an image", Outcome: HostileAPIError, ExitCode: 1, Fragment: "InvalidRegionId.NotFound", Requests: 1,
			Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 200, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000003", "Code": "InvalidRegionId.NotFound", "Message": "The specified region does not exist.", "Image": hostileImage(r)})
			}},

		// 4. Server text escaped wherever it is printed.
		{Name: "error Message with escapes and a workflow command", Outcome: HostileAPIError, ExitCode: 1, Fragment: "Forbidden.Hostile", Requests: 1,
			Forged: []string{"::error::forged-message", "\x1b"},
			Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 403, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000004", "Code": "Forbidden.Hostile",
					"Message": "denied\x1b[2J\x1b]0;title\x07\n::error::forged-message\r\n::add-mask::x " + strings.Repeat("long ", 10000)})
			}},
		{Name: "description with a workflow command (accepted, kept exact in JSON)", Outcome: HostileFound, ExitCode: 0, Requests: 1,
			Forged: []string{"::error::forged-description"},
			Serve:  answerWith(set("Description", "line one\n::error::forged-description\n\x1b[31mred"))},

		// 5. Legacy runner commands. A GitHub runner also parses
		// "##[command]data", looking for "##[" anywhere in a line, so a
		// Forged string holding "##[" must not appear as it is anywhere in
		// a line of human output (only in exact machine outputs).
		{Name: "labels planting legacy runner commands (accepted, kept exact in outputs)", Outcome: HostileFound, ExitCode: 0, Requests: 1,
			Forged: []string{legacyError, legacyMask, legacyStop},
			Serve: answerWith(func(img map[string]any) {
				img["ImageName"] = "web" + legacyError
				img["ImageVersion"] = "7" + legacyMask
				img["Description"] = "legacy " + legacyStop + " " + legacyError + " " + legacyMask
			})},
		{Name: "error Code and Message planting legacy runner commands (retried)", Outcome: HostileAPIError, ExitCode: 1,
			Fragment: "Throttling.Hostile", Requests: HostileMaxAttempts,
			Forged: []string{legacyError, legacyMask, legacyStop},
			Serve: func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
				writeJSON(w, 400, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000005",
					"Code": "Throttling.Hostile" + legacyError, "Message": "denied " + legacyMask + " " + legacyStop + " ##"})
			}},
		refused("Status planting legacy runner commands", "Status",
			answerWith(set("Status", "Creating "+legacyStop+" "+legacyError)), legacyStop, legacyError),
	}
	// 5. Shapes: answers under the cap built to be expensive (shapes.go).
	return append(rows, shapeRows()...)
}

// Legacy runner commands the rows of block 5 plant: an annotation, a mask of
// the image id (which would hide it in the log), and a stop of all command
// processing.
const (
	legacyError = "##[error]forged-legacy"
	legacyMask  = "##[add-mask]" + HostileImageID
	legacyStop  = "##[stop-commands]forged-legacy-stop"
)

// String names an outcome in test output.
func (o HostileOutcome) String() string {
	switch o {
	case HostileFound:
		return "found"
	case HostileNotFound:
		return "not found"
	case HostileRefused:
		return "refused"
	case HostileAPIError:
		return "API error"
	case HostileTimeout:
		return "timeout"
	}
	return fmt.Sprintf("HostileOutcome(%d)", int(o))
}
