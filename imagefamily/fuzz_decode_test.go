package imagefamily

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/rpcencode"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// Fuzz targets for what comes back from the wire: error bodies through the
// SDK and classify, whole answers through Resolve, and the emulator's
// signature check against the SDK's signer. `go test` runs their seeds (and
// testdata/fuzz/); scripts/fuzz.sh runs each for a bounded time.

// fuzzSecret is the access key secret in these targets; no error may show it
// in any encoding the scrubber knows.
const fuzzSecret = "fuzz-secret-MUST-NOT-LEAK-0001"

// errorClasses are the sentinels a server answer can map to. Input errors and
// missing credentials are decided before anything is sent, so an answer can
// never produce them.
var errorClasses = []error{ErrNotFound, ErrCredentials, ErrAccessDenied, ErrRegionNotFound, ErrAuthFailed, ErrThrottled, ErrTimeout, ErrAPI, ErrNetwork}

// oneClass reports the single class err belongs to, failing the test when it
// has none, several, or an input/no-credentials class.
func oneClass(t *testing.T, err error) error {
	t.Helper()
	var found []error
	for _, c := range errorClasses {
		if errors.Is(err, c) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("error %q (%T) has classes %v, want exactly one", err, err, found)
	}
	if IsInputError(err) || errors.Is(err, ErrNoCredentials) {
		t.Fatalf("a server answer became an input or no-credentials error: %v", err)
	}
	return found[0]
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, v := range []string{fuzzSecret, rpcencode.Encode(fuzzSecret), rpcencode.Encode(rpcencode.Encode(fuzzSecret))} {
		for from := 0; ; {
			i := strings.Index(msg[from:], v)
			if i < 0 {
				break
			}
			i += from
			// The secret starts with 'f', a hex digit: an escape written
			// for a control byte the server sent (DEL is \x7f) followed by
			// "uzz-secret..." spells it without the server ever having it
			// (found by FuzzClassifyErrorBody). That is not a leak.
			if !(i >= 3 && msg[i-3:i-1] == `\x`) && !(i >= 5 && msg[i-5:i-3] == `\u`) {
				t.Fatalf("the secret appears in the error: %q", msg)
			}
			from = i + 1
		}
	}
}

// FuzzClassifyErrorBody feeds arbitrary error bodies through the SDK's
// error decoding (which panics on a non-string Code, RequestId, Message...)
// and classify, exactly as invoke does: a panic must be recovered, every
// answer must get one class, and a well-formed string Code must survive.
func FuzzClassifyErrorBody(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{400, `{"RequestId":"r-1","HostId":"ecs.aliyuncs.com","Code":"Throttling.User","Message":"Request was denied due to user flow control.","Recommend":"x"}`},
		{404, `{"RequestId":"r-2","Code":"InvalidRegionId.NotFound","Message":"The RegionId provided does not exist."}`},
		{400, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeySecret%3D` + fuzzSecret + `"}`},
		{403, `{"Code":"Forbidden.RAM","Message":"secret ` + fuzzSecret + ` echoed"}`},
		{400, `{"Code":42}`},
		{400, `{"Code":null,"RequestId":["x"]}`},
		{500, `{"AccessDeniedDetail":"not an object"}`},
		{503, `<html>Service Unavailable</html>`},
		{502, ``},
		{429, `[1,2,3]`},
		{400, `{"Code":"","Message":""}`},
		{599, `"` + fuzzSecret + `"`},
	} {
		f.Add(seed.status, seed.body)
	}
	scrub := &scrubber{}
	scrub.add(fuzzSecret)
	op := operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web-base"}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 400 || status > 599 {
			// The SDK makes a ServerError only for non-2xx answers; the
			// 2xx path is FuzzResolveAnswer's.
			status = 400 + (status%200+200)%200
		}
		raw := runGuarded(context.Background(), func() error {
			return sdkerrors.NewServerError(status, body, "")
		})
		retry, err := classify(context.Background(), op, raw, scrub)
		if err == nil {
			t.Fatal("classify returned nil")
		}
		class := oneClass(t, err)
		assertNoSecret(t, err)
		if errors.Is(err, ErrNotFound) {
			t.Fatalf("an error answer became not-found: %v", err)
		}

		var doc map[string]any
		jsonErr := json.Unmarshal([]byte(body), &doc)
		code, codeIsString := doc["Code"].(string)
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if jsonErr == nil && doc != nil && allStrings(doc, "RequestId", "HostId", "Code", "Recommend", "Message") && objectOrAbsent(doc, "AccessDeniedDetail") {
			// A well-formed error document: the code (scrubbed, then
			// escaped and bounded like any echoed text) and status come
			// through as they were sent.
			if !isAPI {
				t.Fatalf("well-formed error body gave %T %v", err, err)
			}
			if codeIsString && code != "" && ae.Code != safetext.Excerpt(scrub.clean(code), maxCodeBytes) {
				t.Fatalf("code %q became %q", code, ae.Code)
			}
			if ae.HTTPStatus != status {
				t.Fatalf("status %d became %d", status, ae.HTTPStatus)
			}
		}
		if isAPI && retry != isRetryableCode(ae.HTTPStatus, ae.Code) {
			t.Fatalf("retry=%v for %d %s", retry, ae.HTTPStatus, ae.Code)
		}
		if status >= 500 && isAPI && !retry {
			t.Fatalf("a %d answer is not retried", status)
		}
		// A 5xx is retried whatever its code says (the status says the
		// server failed); below 500 these classes are final.
		if retry && status < 500 && (class == ErrAuthFailed || class == ErrAccessDenied || class == ErrRegionNotFound || class == ErrCredentials) {
			t.Fatalf("a %v error is retried: %v", class, err)
		}
	})
}

// allStrings: each named field is absent, null, or a string (what the SDK's
// type assertions survive).
func allStrings(doc map[string]any, names ...string) bool {
	for _, n := range names {
		if v, ok := doc[n]; ok && v != nil {
			if _, ok := v.(string); !ok {
				return false
			}
		}
	}
	return true
}

func objectOrAbsent(doc map[string]any, name string) bool {
	v, ok := doc[name]
	if !ok || v == nil {
		return true
	}
	_, ok = v.(map[string]any)
	return ok
}

// answerServer is a loopback HTTP server that answers every request with
// the status and body of the current fuzz input. Fuzz inputs run one at a
// time in a worker, so one server serves them all.
type answerServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	body   []byte
}

func newAnswerServer(tb testing.TB) *answerServer {
	a := &answerServer{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		status, body := a.status, a.body
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		w.Write(body)
	}))
	tb.Cleanup(a.srv.Close)
	return a
}

func (a *answerServer) set(status int, body []byte) {
	a.mu.Lock()
	a.status, a.body = status, body
	a.mu.Unlock()
}

// FuzzResolveAnswer runs the whole lookup against a server answering an
// arbitrary status and body: whatever arrives, Resolve returns (no panic, no
// hang), success only with a 2xx answer naming an image, and every error has
// one class and no secret.
func FuzzResolveAnswer(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, `{"RequestId":"r-1","Image":{"ImageId":"m-1","ImageName":"web-base-v1","Tags":{"Tag":[{"TagKey":"a","TagValue":"b"}]},"DiskDeviceMappings":{"DiskDeviceMapping":[{"Size":"40"}]},"Size":40}}`},
		{200, `{"RequestId":"r-2","Image":{}}`},
		{200, `{"RequestId":"r-3"}`},
		{200, `{}`},
		{200, ``},
		{200, `{"RequestId":"r-4","Image":{"ImageId":"m-1","Size":"forty"}}`},
		{200, `{"RequestId":"r-5","Image":<html>`},
		{200, `{"RequestId":7,"Image":{"ImageId":"m-1"}}`},
		{204, ``},
		{400, `{"Code":42,"Message":"` + fuzzSecret + `"}`},
		{400, `{"RequestId":"r-6","Code":"Throttling.User","Message":"flow control"}`},
		{403, `{"RequestId":"r-7","Code":"InvalidUser.Unauthorized","Message":"x"}`},
		{500, `not json ` + fuzzSecret},
		{302, ``},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	a := newAnswerServer(f)
	// No proxy: the server is on loopback and the fuzzer must never leave it.
	transport := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}
	f.Cleanup(transport.CloseIdleConnections)
	req := Request{
		Region: "cn-hangzhou", Family: "web-base",
		Endpoint:    "http://" + a.srv.Listener.Addr().String(),
		Credentials: Credentials{AccessKeyID: "LTAIFUZZKEY0001", AccessKeySecret: fuzzSecret, Getenv: func(string) string { return "" }},
		Timeout:     5 * time.Second,
		Retry:       RetryPolicy{MaxAttempts: 1},
		Transport:   transport,
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		// Statuses 200-599; 1xx are interim answers, not answers.
		status = 200 + (status%400+400)%400
		a.set(status, body)
		start := time.Now()
		img, err := Resolve(context.Background(), req)
		if time.Since(start) > 4*time.Second {
			t.Fatalf("Resolve took %v on an immediate answer", time.Since(start))
		}
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("HTTP %d accepted as an answer: %+v", status, img)
			}
			if img.ImageID == "" || img.RequestID == "" {
				t.Fatalf("success without an image id or request id: %+v", img)
			}
			if img.Tags == nil || img.DiskDeviceMappings == nil {
				t.Fatalf("nil tags or mappings: %+v", img)
			}
			assertCheckedImage(t, img, req.Family)
			return
		}
		class := oneClass(t, err)
		assertNoSecret(t, err)
		assertPrintable(t, "error message", err.Error())
		if class == ErrNotFound && (status < 200 || status > 299) {
			t.Fatalf("HTTP %d became not-found: %v", status, err)
		}
		if class == ErrTimeout || class == ErrNetwork {
			// The server answered at once; the answer itself was the
			// problem, so it must not be blamed on the network.
			t.Fatalf("an immediate HTTP %d answer became %v: %v", status, class, err)
		}
	})
}

// FuzzEmulatorVerifiesSDKSignature signs requests with the SDK's own signer
// (through a real ecs.Client, whose transport hands the request straight to
// the emulator's handler, no network) with arbitrary parameter values and
// secrets: the emulator must accept every correctly signed request, and for
// a wrong secret must answer SignatureDoesNotMatch with a string to sign
// identical to the SDK's (the SDK then recommends checking the secret rather
// than reporting an SDK bug).
func FuzzEmulatorVerifiesSDKSignature(f *testing.F) {
	f.Add("web-base", "cn-hangzhou", "secret")
	f.Add("a b+c*d~e%20f", "cn-hangzhou", "s&e=c+r/e t")
	f.Add("中文-family", "x y", "秘密")
	f.Add("", "", "x")
	f.Add("\x00\xff\n\r", "cn-hangzhou;x=1", "\xff")
	f.Add("server string to sign is:", "&Signature=x", "%41")
	emu := ecstest.NewServer(&ecstest.Fixture{Regions: []string{"cn-hangzhou"}})
	f.Cleanup(emu.Close)
	inProcess := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		return rec.Result(), nil
	})
	const keyID = "LTAIFUZZSIGNKEY0001"
	client := func(secret string) *ecs.Client {
		cfg := sdk.NewConfig().WithScheme("HTTP").WithAutoRetry(false).WithMaxRetryTime(0)
		cfg.Transport = inProcess
		clientInit.Lock() // the SDK's global endpoint tables, see newECSClient
		defer clientInit.Unlock()
		c, err := ecs.NewClientWithOptions("cn-hangzhou", cfg, sdkcredentials.NewAccessKeyCredential(keyID, secret))
		if err != nil {
			f.Fatal(err)
		}
		return c
	}
	call := func(c *ecs.Client, family, region string) error {
		r := ecs.CreateDescribeImageFromFamilyRequest()
		r.Scheme = "http"
		r.Domain = "ecs.emulator.invalid" // never dialled: the transport is in-process
		r.ImageFamily = family
		r.RegionId = region
		_, err := c.DescribeImageFromFamily(r)
		return err
	}
	// Answers that come after a successful signature check.
	afterAuth := map[string]bool{"InvalidRegionId.NotFound": true, "MissingRegionId": true, "MissingImageFamily": true, "InvalidImageFamily.Malformed": true}
	f.Fuzz(func(t *testing.T, family, region, secret string) {
		if secret == "" {
			return // no account can have an empty secret
		}
		emu.AddAccount(ecstest.Account{AccessKeyID: keyID, AccessKeySecret: secret})
		err := runGuarded(context.Background(), func() error { return call(client(secret), family, region) })
		var se *sdkerrors.ServerError
		if err != nil && (!errors.As(err, &se) || !afterAuth[se.ErrorCode()]) {
			t.Fatalf("correctly signed request (family %q, region %q, secret %q) refused: %v", family, region, secret, err)
		}
		err = runGuarded(context.Background(), func() error { return call(client(secret+"x"), family, region) })
		if !errors.As(err, &se) || se.ErrorCode() != "SignatureDoesNotMatch" {
			t.Fatalf("wrong secret not refused with SignatureDoesNotMatch: %v", err)
		}
		if !strings.HasPrefix(se.Recommend(), "InvalidAccessKeySecret") {
			t.Fatalf("the emulator's string to sign differs from the SDK's (family %q, region %q): %s", family, region, se.Message())
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// assertPrintable fails when a message meant for people holds a control byte
// (an escape sequence, a line break that could start a workflow command).
func assertPrintable(t *testing.T, what, msg string) {
	t.Helper()
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 || c == 0x7f {
			t.Fatalf("%s holds control byte %#x at %d: %q", what, c, i, msg)
		}
	}
	if !safetext.IsClean(msg) {
		t.Fatalf("%s is not clean printable text: %q", what, msg)
	}
}

// assertCheckedImage: an accepted image is one every front may print as it
// is: an id of the documented shape, the family asked for, Available, and
// one-line labels.
func assertCheckedImage(t *testing.T, img Image, family string) {
	t.Helper()
	if !imageIDPattern.MatchString(img.ImageID) {
		t.Fatalf("accepted image id %q", img.ImageID)
	}
	if img.ImageFamily != "" && !familyAgrees(family, img.ImageFamily) {
		t.Fatalf("accepted family %q for %q", img.ImageFamily, family)
	}
	if img.Status != "" && img.Status != "Available" {
		t.Fatalf("accepted status %q", img.Status)
	}
	for _, s := range []string{img.ImageName, img.ImageVersion, img.CreationTime, img.Architecture, img.OSType, img.OSName, img.Platform, img.RequestID} {
		assertPrintable(t, "accepted label", s)
	}
	if img.Size < 0 || img.Size > maxImageSizeGiB {
		t.Fatalf("accepted size %d", img.Size)
	}
}

// FuzzCheckImageAnswer is the answer half of the trust boundary on raw
// bytes: whatever a 2xx body holds, the result is a checked image or one
// typed error (*AnswerError, *APIError, *NotFoundError) whose message is
// bounded printable text without the secret; never a panic.
func FuzzCheckImageAnswer(f *testing.F) {
	for _, s := range []string{
		`{"RequestId":"r-1","Image":{"ImageId":"m-bp1g7004ksh0oeuc0001","ImageFamily":"web-base","Status":"Available","Size":40,"CreationTime":"2024-08-19T06:37:48Z"}}`,
		`{"RequestId":"r-2","Image":{}}`,
		`{"RequestId":"r-3","Code":"Throttling","Message":"x\n::error::y"}`,
		`{"RequestId":"r-4","Image":{"ImageId":"m-1\n::warning::x"}}`,
		`{"RequestId":"r-5","Image":{"ImageId":"m-1","ImageName":"\u001b[31m"}}`,
		`{"RequestId":"r-6","Image":{"ImageId":"m-1","ImageFamily":"other"}}`,
		`{"RequestId":"r-7","Image":[]}`,
		`{"RequestId":"r\n","Image":{"ImageId":"m-1"}}`,
		`{"Code":7,"Message":"` + fuzzSecret + `"}`,
		`<html>` + fuzzSecret,
		`{"RequestId":"r-8","Image":{"ImageId":"m-1","Tags":{"Tag":[{"TagKey":"\u202e","TagValue":"v"}]}}}`,
		`{"RequestId":"r-9","Image":{"ImageId":"m-1","DiskDeviceMappings":{"DiskDeviceMapping":[{"Size":"-4"}]}}}`,
		``,
	} {
		f.Add([]byte(s))
	}
	sc := &scrubber{}
	sc.add(fuzzSecret)
	c := answerCheck{
		op:       operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: "cn-hangzhou", Family: "web-base"},
		endpoint: "https://ecs.cn-hangzhou.aliyuncs.com", family: "web-base", now: time.Now(), scrub: sc,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		img, _, err := checkImageAnswer(c, body)
		if err == nil {
			assertCheckedImage(t, img, "web-base")
			if img.RequestID == "" {
				t.Fatal("accepted an answer without a RequestId")
			}
			return
		}
		var refused *AnswerError
		var api *APIError
		var nf *NotFoundError
		if !errors.As(err, &refused) && !errors.As(err, &api) && !errors.As(err, &nf) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		oneClass(t, err)
		assertNoSecret(t, err)
		assertPrintable(t, "error message", err.Error())
		if len(err.Error()) > 2048 {
			t.Fatalf("error message of %d bytes", len(err.Error()))
		}
	})
}
