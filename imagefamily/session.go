package imagefamily

import (
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

// session holds what one Resolve or ResolveRegions call shares: the
// request, the credentials once obtained, the secrets to scrub.
type session struct {
	req    Request
	getenv func(string) string
	base   http.RoundTripper
	scrub  *scrubber
	ua     string
	// ecs is where ECS calls go (ecsEndpoint: the request's endpoint or
	// ALIBABA_CLOUD_ECS_ENDPOINT, read once here); the zero endpoint means
	// the SDK's regional default.
	ecs endpoint

	// cred is shared with the sessions forFamily makes: one run obtains
	// its credentials once, however many families it looks up.
	cred *credentialCache

	// debug is Request.Debug behind a gate: an SDK call that outlives its
	// deadline (the SDK cannot be cancelled) may still finish a trace line
	// after Resolve returned, and the caller must be free to read its
	// writer then. Writes are serialised, and dropped once the session ends.
	debug *syncio.Writer
}

type credentialCache struct {
	once sync.Once
	keys keys
	err  error
}

// forFamily is the session for another family of the same run (Lock looks
// up several families in one wave): the credentials, the secrets to scrub
// and the debug gate are shared.
func (s *session) forFamily(family string) *session {
	c := *s
	c.req.Family = family
	return &c
}

// end closes the gate: nothing is written to Request.Debug after the call
// that made the session returns.
func (s *session) end() {
	if s.debug != nil {
		s.debug.Close()
	}
}

func newSession(req Request) *session {
	getenv := req.Credentials.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	base := req.Transport
	if base == nil {
		base = defaultTransport()
	}
	c := req.Credentials
	s := &session{req: req, getenv: getenv, base: base, scrub: &scrubber{}, ua: userAgent(req.Front), cred: &credentialCache{}}
	s.ecs, _ = ecsEndpoint(req, getenv) // validated already (Validate)
	if req.Debug != nil {
		s.debug = syncio.NewWriter(req.Debug)
	}
	for _, secret := range credentialSecrets(c, getenv) {
		s.scrub.add(secret)
	}
	// Secrets the caller gave are already known to it; from here on, tell it
	// of the ones the core obtains itself.
	s.scrub.onSecret = c.OnSecret
	return s
}

// credentialSecrets are the secrets known before any exchange: those the
// credential settings hold and those the environment's keys hold.
func credentialSecrets(c Credentials, getenv func(string) string) []string {
	secrets := []string{c.AccessKeySecret, c.SecurityToken, c.OIDCToken}
	if ek, ok := lookupEnvKeys(getenv); ok {
		secrets = append(secrets, ek.secret, ek.token)
	}
	return secrets
}

var (
	transportOnce sync.Once
	sharedBase    http.RoundTripper
)

// defaultTransport is one clone of http.DefaultTransport for the process, so
// concurrent lookups share connections (TLS handshakes are the costly part)
// without sharing SDK clients, which are not safe for concurrent use.
func defaultTransport() http.RoundTripper {
	transportOnce.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		t.MaxResponseHeaderBytes = maxResponseHeaderBytes
		sharedBase = t
	})
	return sharedBase
}

func userAgent(front Front) string {
	if front == "" {
		front = FrontLib
	}
	return "packer-plugin-alicloud-image-family/" + version.String() + " (" + string(front) + "; " +
		runtime.GOOS + "; " + runtime.GOARCH + ") Go/" + strings.TrimPrefix(runtime.Version(), "go") +
		" alibaba-cloud-sdk-go/" + sdk.Version
}

// credentials returns the keys, obtaining them once per session. A panic
// while obtaining them is the error every region gets: sync.Once counts a
// panicking call as done, and the other regions must not go on with no keys
// and no error.
func (s *session) credentials(ctx context.Context) (keys, error) {
	c := s.cred
	c.once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				c.keys, c.err = keys{}, internalError("obtaining credentials", r, s.scrub)
			}
		}()
		c.keys, c.err = s.obtainKeys(ctx)
	})
	return c.keys, c.err
}

// newTransport gives each call its own context-binding wrapper over the
// shared base transport.
func (s *session) newTransport() *callTransport {
	var debug io.Writer
	if s.debug != nil {
		debug = s.debug
	}
	return &callTransport{base: s.base, debug: debug, scrub: s.scrub, ua: s.ua}
}

// sdkConfig is the SDK configuration every client uses: no SDK retries (ours
// are better), our transport, HTTPS unless the endpoint says otherwise.
func sdkConfig(tr *callTransport, scheme string) *sdk.Config {
	cfg := sdk.NewConfig().WithAutoRetry(false).WithMaxRetryTime(0).WithScheme(strings.ToUpper(scheme))
	cfg.Transport = tr
	return cfg
}

func (k keys) credential() auth.Credential {
	if k.Token != "" {
		return credentials.NewStsTokenCredential(k.ID, k.Secret, k.Token)
	}
	return credentials.NewAccessKeyCredential(k.ID, k.Secret)
}
