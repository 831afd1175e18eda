package imagefamily

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Front names the tool that made a call; it goes into the User-Agent so that
// server-side logs tell the CLI, the Packer plugin and the action apart.
type Front string

const (
	FrontCLI    Front = "cli"
	FrontPacker Front = "packer"
	FrontAction Front = "action"
	FrontLib    Front = "library"
)

// Request is everything one lookup needs. Only Region and Family are
// required; zero values elsewhere mean the documented defaults.
type Request struct {
	Region string
	Family string

	Credentials Credentials

	// Endpoint overrides the ECS endpoint: "host", "host:port" or a URL.
	// HTTPS is used unless the URL says http:// explicitly. When it is
	// empty (and VPC is false), ALIBABA_CLOUD_ECS_ENDPOINT (EnvECSEndpoint,
	// read through Credentials.Getenv) sets it, with the same rules.
	Endpoint string
	// VPC selects the VPC endpoint (ecs-vpc.<region>.aliyuncs.com) when no
	// Endpoint is given; it wins over ALIBABA_CLOUD_ECS_ENDPOINT.
	VPC bool

	// Timeout bounds the whole lookup, retries and credential exchange
	// included. Zero means DefaultTimeout. A deadline on the context passed
	// to Resolve applies as well; the earlier one wins.
	Timeout time.Duration

	Retry RetryPolicy

	// Wait, when positive, waits up to that long for an image: while the
	// family has no available image, or, with NewerThan, while its newest
	// available image is still NewerThan, the lookup is repeated (each
	// attempt bounded as usual, throttling retried as usual) with a growing
	// pause, and OnProgress is told of each poll. The whole lookup is then
	// bounded by Timeout plus Wait. The pause before a poll never runs past
	// the deadline, and the last poll is made at the deadline, so the wait
	// lasts Wait (plus the last request's own latency). When that poll too
	// finds nothing, the result is a *NotFoundError saying what was last
	// seen.
	Wait      time.Duration
	NewerThan string
	// OnProgress, when set, is told of every poll that did not end the wait;
	// with several regions (ResolveRegions, Promote) it is called from
	// their goroutines at once.
	OnProgress func(WaitProgress)
	// clock is the wait's clock; nil means time.Now. Tests set it together
	// with Retry.Sleep (a fake that moves the clock on), so that no test of
	// the wait's schedule waits in real time.
	clock func() time.Time

	// Guards refuse a resolved image that is not what the caller expects
	// (architecture, OS type, maximum age); a refused image is a
	// *GuardError, in every region it applies to.
	Guards Guards

	// Front and its version go into the User-Agent.
	Front Front

	// Transport, when set, is the base HTTP transport for every request (ECS,
	// STS and metadata). Tests pass the emulator's; nil means a clone of
	// http.DefaultTransport (which honours HTTPS_PROXY/NO_PROXY and
	// SSL_CERT_FILE).
	Transport http.RoundTripper

	// Debug, when set, receives a trace of each HTTP exchange with every
	// secret redacted, one line per write. Writes are serialised (the writer
	// need not be safe for concurrent use) and never happen after Resolve
	// or ResolveRegions returns. The SDK's own DEBUG=sdk trace is switched
	// off because it prints security tokens and writes to stdout.
	Debug io.Writer
}

// DefaultTimeout bounds a lookup when neither Request.Timeout nor the
// context sets a deadline.
const DefaultTimeout = 60 * time.Second

// Credentials says where keys come from. Settings written here explicitly
// win over the environment; see ResolveCredentials for the full order.
type Credentials struct {
	// Static keys.
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string

	// OIDC web identity: AssumeRoleWithOIDC with a token from OIDCTokenFile
	// or, when set, OIDCToken itself (the GitHub Action fetches it).
	OIDCRoleARN     string
	OIDCProviderARN string
	OIDCTokenFile   string
	OIDCToken       string

	// aliyun CLI profile: name, and file (default ~/.aliyun/config.json).
	Profile     string
	ProfileFile string

	// ECS instance RAM role: used only when a name is given. The metadata
	// service address is configurable so tests never reach the real one.
	ECSRoleName      string
	MetadataEndpoint string

	// AssumeRoleARN, when set, is assumed with whatever the chain produced.
	AssumeRoleARN       string
	RoleSessionName     string
	RoleSessionDuration time.Duration // 900s to 3600s; zero means 3600s
	ExternalID          string

	// STSEndpoint overrides sts.aliyuncs.com, in the same forms as Endpoint.
	STSEndpoint string

	// OnSecret, when set, is called with every secret value the core
	// obtains on its own (STS-issued secrets and tokens, metadata tokens), as
	// soon as it has it, so a front can mask it (the action's add-mask).
	OnSecret func(value string)

	// Getenv reads the environment; nil means os.Getenv. Tests inject one.
	Getenv func(string) string
	// HomeDir is where ~/.aliyun lives; empty means the user's home.
	HomeDir string
}

// RetryPolicy bounds retries of throttling, 5xx, ServiceUnavailable, resets
// and timeouts. Other 4xx answers are never retried. Delays use exponential
// backoff with full jitter, and x-acs-retry-after when the server sends it;
// no delay runs past the deadline.
type RetryPolicy struct {
	MaxAttempts int           // total attempts including the first; 0 means 5, 1 disables retries
	BaseDelay   time.Duration // 0 means 200ms
	MaxDelay    time.Duration // cap of one delay; 0 means 5s

	// Sleep waits d or until ctx is done; nil means a real timer. Tests
	// inject a fake so retry tests never sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1); nil means math/rand/v2.
	Jitter func() float64

	// OnRetry, when set, is told of every retry before its wait, so each
	// front can show it (CLI stderr, the step log, the Packer UI).
	OnRetry func(RetryNotice)
}

// WaitProgress is one poll of a wait that goes on.
type WaitProgress struct {
	Region string
	Poll   int
	Seen   string        // "no available image" or the newest image's id and creation time, escaped
	Next   time.Duration // the pause before the next poll: growing, and never past the deadline
	Last   bool          // the next poll is the last one, at the deadline
}

// String is the line every front prints.
func (p WaitProgress) String() string {
	line := fmt.Sprintf("waiting in %s: poll %d saw %s; next poll in %s", p.Region, p.Poll, p.Seen, roundWait(p.Next))
	if p.Last {
		line += " (the last, at the deadline)"
	}
	return line
}

// RetryNotice describes one retry: what failed, why, and how long until the
// next attempt. Its strings are escaped and bounded.
type RetryNotice struct {
	Op          string // such as `ECS DescribeImageFromFamily for family "web" in region cn-hangzhou`
	Region      string
	Attempt     int // the attempt that failed, from 1
	MaxAttempts int
	Reason      string // the code or status and RequestId, or the transport failure
	Wait        time.Duration
}

// String is the line every front prints.
func (n RetryNotice) String() string {
	return fmt.Sprintf("retrying %s: attempt %d of %d failed (%s); next attempt in %s",
		n.Op, n.Attempt, n.MaxAttempts, n.Reason, n.Wait.Round(time.Millisecond))
}

// Result is the outcome for one region of a multi-region lookup.
type Result struct {
	Region string
	Image  Image
	Err    error
}
