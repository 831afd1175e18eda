package conformance

import (
	"fmt"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// The fault table: every way a real ECS or STS endpoint fails (throttling,
// 5xx, broken bodies, dropped connections, hangs, bad credentials, STS down
// during OIDC, an untrusted certificate) and what every front must make of
// it. The core and the CLI binary run every row, the action's entry point,
// a real packer build and act the rows Sample picks for them, each through
// its front's one runner of table rows (the core's faults_matrix_test.go;
// rows_test.go, packer_matrix_test.go, act_rows_test.go at the fronts), so
// a new fault is one row here.
//
// The hostile table (hostile.go) is its sibling: endpoints that answer but
// cannot be trusted. Rows here are faults of an honest endpoint.

// FaultOutcome is the class of what a lookup under a row ends in.
type FaultOutcome int

const (
	// FaultFound: the lookup succeeds with the fixture's newest image.
	FaultFound FaultOutcome = iota
	// FaultThrottled: imagefamily.ErrThrottled.
	FaultThrottled
	// FaultAPIError: imagefamily.ErrAPI (an error answer, or one that is
	// not a usable API answer).
	FaultAPIError
	// FaultNetwork: imagefamily.ErrNetwork (no answer: refused, dropped,
	// cut short, certificate not trusted).
	FaultNetwork
	// FaultTimeout: imagefamily.ErrTimeout (the lookup's deadline passed).
	FaultTimeout
	// FaultAuthFailed: imagefamily.ErrAuthFailed (the endpoint refused the
	// credentials).
	FaultAuthFailed
)

func (o FaultOutcome) String() string {
	switch o {
	case FaultFound:
		return "found"
	case FaultThrottled:
		return "throttled"
	case FaultAPIError:
		return "API error"
	case FaultNetwork:
		return "network error"
	case FaultTimeout:
		return "timeout"
	case FaultAuthFailed:
		return "authentication failed"
	case FaultAccessDenied:
		return "access denied"
	}
	return fmt.Sprintf("FaultOutcome(%d)", int(o))
}

// FaultCredentials is what credentials the front is given for a row.
type FaultCredentials int

const (
	// CredKeys: the fixture's access key pair.
	CredKeys FaultCredentials = iota
	// CredWrongSecret: the fixture's key id with FaultWrongSecret.
	CredWrongSecret
	// CredSTSWrongSecret: STS credentials (AssumeRole) whose secret is
	// replaced with FaultWrongSecret; the server's SignatureDoesNotMatch
	// message echoes the string to sign, which holds the security token.
	CredSTSWrongSecret
	// CredSTSExpired: STS credentials whose session the emulator expired
	// (ExpireSessions) after issuing them.
	CredSTSExpired
	// CredSTSOtherToken: the key and secret of one STS session with the
	// security token of another.
	CredSTSOtherToken
	// CredOIDC: a GitHub-shaped ID token for the fixture's OIDC role,
	// exchanged with AssumeRoleWithOIDC at the row's STS endpoint.
	CredOIDC
)

// FaultWrongSecret is the secret the wrong-secret rows give. It is a
// secret like any other: no output may show it.
const FaultWrongSecret = "fault-table-wrong-secret-0001"

// Actions the rows name.
const (
	ActionDescribe       = "DescribeImageFromFamily"
	ActionAssumeRoleOIDC = "AssumeRoleWithOIDC"
)

// FaultRow is one fault and what the user must get.
type FaultRow struct {
	Name string
	// Command is "" for a lookup (FaultRows), CommandPromote or
	// CommandRollback for the lifecycle's rows (LifecycleFaultRows).
	Command string

	// What the endpoint does: the faults injected (Server.Inject, or
	// Control.Fault for an emulator process) after the row's credentials
	// were obtained and before the lookup.
	Faults []ecstest.FaultSpec
	// Credentials the front is given.
	Credentials FaultCredentials
	// STSUnreachable points the front's STS endpoint at a closed port.
	STSUnreachable bool
	// Untrusted: the front trusts no certificate (an empty pool), so the
	// emulator's TLS certificate is not trusted.
	Untrusted bool

	// The front's settings. MaxAttempts is the attempt budget (Packer's
	// max_retries is MaxAttempts-1); Timeout 0 is the front's default.
	MaxAttempts int
	Timeout     time.Duration

	// What the user gets.
	Outcome FaultOutcome
	// DuringCredentials: the failure comes while obtaining credentials, so
	// the error is a credentials error (imagefamily.ErrCredentials) too.
	DuringCredentials bool
	// Fragment appears in the error message (the core's error, the CLI's
	// stderr, the action's ::error annotation, the Packer diagnostic);
	// compared case-sensitively.
	Fragment string
	// Requests the emulator must see, by action; "" is every request.
	Requests map[string]int
	// Retries is how many retries are reported (the core's OnRetry hook,
	// the CLI's "retrying" lines): one before every attempt but the first
	// of each exchange.
	Retries int
	// Within bounds the lookup's wall time, for the rows about deadlines
	// (0: no bound). Runners that start a process add their start-up
	// allowance. Rows with a bound need the real retry waits.
	Within time.Duration

	// The lifecycle's rows only. DryRun: the command runs as a dry run:
	// every write the emulator logs (Server.Writes, RequestCounts.Writes)
	// has DryRun=true, the image is unchanged, and a row that ends well
	// ends in would-promote or would-roll-back, naming the change.
	DryRun bool
	// Unconfirmed: the write went through (the emulator holds the
	// change) but the read back failed: the error says exactly what was
	// changed (UnconfirmedFragment), and machine outputs show the change.
	Unconfirmed bool
}

// UnconfirmedFragment is in the error of a region whose change was made
// but not read back (FaultRow.Unconfirmed).
const UnconfirmedFragment = "but reading back failed"

// ExitCode is the CLI's and the action's exit code for the row (docs/cli.md):
// 0 when found, 1 for every fault.
func (r FaultRow) ExitCode() int {
	if r.Outcome == FaultFound {
		return 0
	}
	return 1
}

// FaultRows is the fault table. Every row states its attempt budget, so the
// request counts are exact whatever a front's default.
func FaultRows() []FaultRow {
	describe := func(kind ecstest.FaultKind, n int) ecstest.FaultSpec {
		return ecstest.FaultSpec{Kind: kind, Action: ActionDescribe, N: n}
	}
	status := func(action string, n, code int) ecstest.FaultSpec {
		return ecstest.FaultSpec{Kind: ecstest.FaultStatus, Action: action, N: n, Status: code}
	}
	const every = 100 // "on every attempt": more than any row's attempt budget
	d := func(n int) map[string]int { return map[string]int{ActionDescribe: n} }
	return []FaultRow{
		{Name: "throttled once then success", Faults: []ecstest.FaultSpec{describe(ecstest.FaultThrottle, 1)},
			MaxAttempts: 5, Requests: d(2), Retries: 1},
		{Name: "throttled (HTTP 429) twice then success", Faults: []ecstest.FaultSpec{describe(ecstest.FaultThrottle429, 2)},
			MaxAttempts: 5, Requests: d(3), Retries: 2},
		{Name: "throttled 4 times then success (attempt limit 5)", Faults: []ecstest.FaultSpec{describe(ecstest.FaultThrottle, 4)},
			MaxAttempts: 5, Requests: d(5), Retries: 4},
		{Name: "throttled as often as the attempt limit", Faults: []ecstest.FaultSpec{describe(ecstest.FaultThrottle, 3)},
			MaxAttempts: 3, Outcome: FaultThrottled, Fragment: "Throttling.User (HTTP 400)", Requests: d(3), Retries: 2},
		{Name: "throttled (HTTP 429) past the attempt limit", Faults: []ecstest.FaultSpec{describe(ecstest.FaultThrottle429, every)},
			MaxAttempts: 3, Outcome: FaultThrottled, Fragment: "after 3 attempts. The API is throttling this account",
			Requests: d(3), Retries: 2},
		// Real waits: x-acs-retry-after 800ms against a 2s deadline allows
		// attempts at 0, 0.8s and 1.6s; the next wait would end past the
		// deadline, so the lookup stops with the throttling error (not a
		// timeout) before the deadline.
		{Name: "throttled forever fails within the deadline",
			Faults:      []ecstest.FaultSpec{{Kind: ecstest.FaultThrottle, Action: ActionDescribe, N: 1000, RetryAfter: 800 * time.Millisecond}},
			MaxAttempts: 5, Timeout: 2 * time.Second,
			Outcome: FaultThrottled, Fragment: "The API is throttling this account", Requests: d(3), Retries: 2,
			Within: 2 * time.Second},
		{Name: "500 once then success", Faults: []ecstest.FaultSpec{status(ActionDescribe, 1, 500)},
			MaxAttempts: 5, Requests: d(2), Retries: 1},
		{Name: "503 twice then success", Faults: []ecstest.FaultSpec{status(ActionDescribe, 2, 503)},
			MaxAttempts: 5, Requests: d(3), Retries: 2},
		{Name: "500 on every attempt", Faults: []ecstest.FaultSpec{status(ActionDescribe, every, 500)},
			MaxAttempts: 3, Outcome: FaultAPIError, Fragment: "InternalError (HTTP 500)", Requests: d(3), Retries: 2},
		{Name: "503 on every attempt", Faults: []ecstest.FaultSpec{status(ActionDescribe, every, 503)},
			MaxAttempts: 2, Outcome: FaultAPIError, Fragment: "ServiceUnavailable (HTTP 503)", Requests: d(2), Retries: 1},
		{Name: "502 from a gateway without an API body", Faults: []ecstest.FaultSpec{status(ActionDescribe, every, 502)},
			MaxAttempts: 2, Outcome: FaultAPIError, Fragment: "HTTP 502", Requests: d(2), Retries: 1},
		// A body that is not JSON is not retried: the same server would
		// most likely answer the same again.
		{Name: "malformed JSON", Faults: []ecstest.FaultSpec{describe(ecstest.FaultMalformed, 1)},
			MaxAttempts: 5, Outcome: FaultAPIError, Fragment: "not valid JSON", Requests: d(1)},
		{Name: "truncated JSON on every attempt", Faults: []ecstest.FaultSpec{describe(ecstest.FaultTruncated, every)},
			MaxAttempts: 2, Outcome: FaultNetwork, Fragment: "EOF (after 2 attempts)", Requests: d(2), Retries: 1},
		{Name: "truncated JSON once then success", Faults: []ecstest.FaultSpec{describe(ecstest.FaultTruncated, 1)},
			MaxAttempts: 5, Requests: d(2), Retries: 1},
		{Name: "empty body", Faults: []ecstest.FaultSpec{describe(ecstest.FaultEmpty, 1)},
			MaxAttempts: 5, Outcome: FaultAPIError, Fragment: "empty body", Requests: d(1)},
		{Name: "connection dropped once then success", Faults: []ecstest.FaultSpec{describe(ecstest.FaultDrop, 1)},
			MaxAttempts: 5, Requests: d(2), Retries: 1},
		{Name: "connection dropped on every attempt", Faults: []ecstest.FaultSpec{describe(ecstest.FaultDrop, every)},
			MaxAttempts: 2, Outcome: FaultNetwork, Fragment: "EOF (after 2 attempts)", Requests: d(2), Retries: 1},
		{Name: "server hangs past the timeout", Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultHang, Action: ActionDescribe}},
			MaxAttempts: 5, Timeout: time.Second,
			Outcome: FaultTimeout, Fragment: "Raise the timeout", Requests: d(1), Within: 3 * time.Second},
		{Name: "server answers after the timeout", Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultDelay, Action: ActionDescribe, Delay: 5 * time.Second}},
			MaxAttempts: 5, Timeout: time.Second,
			Outcome: FaultTimeout, Fragment: "Raise the timeout", Requests: d(1), Within: 3 * time.Second},
		// Not retried, and never retried over plain HTTP: nothing reaches
		// the emulator.
		{Name: "TLS certificate not trusted", Untrusted: true,
			MaxAttempts: 5, Outcome: FaultNetwork, Fragment: "TLS certificate not trusted", Requests: map[string]int{"": 0}},
		{Name: "wrong secret", Credentials: CredWrongSecret,
			MaxAttempts: 5, Outcome: FaultAuthFailed, Fragment: "SignatureDoesNotMatch", Requests: d(1)},
		// The server's SignatureDoesNotMatch message echoes its string to
		// sign, which holds the security token percent-encoded twice:
		// runners scan every output for the token in every encoding.
		{Name: "wrong secret with a security token", Credentials: CredSTSWrongSecret,
			MaxAttempts: 5, Outcome: FaultAuthFailed, Fragment: "secret does not match", Requests: d(1)},
		{Name: "expired security token", Credentials: CredSTSExpired,
			MaxAttempts: 5, Outcome: FaultAuthFailed, Fragment: "InvalidSecurityToken.Expired", Requests: d(1)},
		{Name: "security token of another key", Credentials: CredSTSOtherToken,
			MaxAttempts: 5, Outcome: FaultAuthFailed, Fragment: "InvalidSecurityToken.MismatchWithAccessKey", Requests: d(1)},
		{Name: "STS unreachable during OIDC", Credentials: CredOIDC, STSUnreachable: true,
			MaxAttempts: 2, Outcome: FaultNetwork, DuringCredentials: true, Fragment: "connection refused",
			Requests: map[string]int{"": 0}, Retries: 1},
		{Name: "STS answers 503 during OIDC", Credentials: CredOIDC, Faults: []ecstest.FaultSpec{status(ActionAssumeRoleOIDC, every, 503)},
			MaxAttempts: 2, Outcome: FaultAPIError, DuringCredentials: true,
			Fragment: "STS AssumeRoleWithOIDC failed: ServiceUnavailable",
			Requests: map[string]int{ActionAssumeRoleOIDC: 2, ActionDescribe: 0}, Retries: 1},
		{Name: "STS hangs during OIDC", Credentials: CredOIDC, Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultHang, Action: ActionAssumeRoleOIDC}},
			MaxAttempts: 5, Timeout: time.Second,
			Outcome: FaultTimeout, DuringCredentials: true, Fragment: "Raise the timeout",
			Requests: map[string]int{ActionAssumeRoleOIDC: 1, ActionDescribe: 0}, Within: 3 * time.Second},
		{Name: "STS throttled once during OIDC then success", Credentials: CredOIDC,
			Faults:      []ecstest.FaultSpec{{Kind: ecstest.FaultThrottle, Action: ActionAssumeRoleOIDC, N: 1}},
			MaxAttempts: 5, Requests: map[string]int{ActionAssumeRoleOIDC: 2, ActionDescribe: 1}, Retries: 1},
	}
}
