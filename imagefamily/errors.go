package imagefamily

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Sentinel errors. Every error Resolve returns matches exactly one class
// through errors.Is, so fronts can map classes to exit codes and messages
// without string matching.
var (
	// ErrInvalidInput: the request was rejected before anything was sent.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNotFound: the family has no available image in the region.
	ErrNotFound = errors.New("no available image in family")
	// ErrNoCredentials: no credential source was configured.
	ErrNoCredentials = errors.New("no credentials")
	// ErrCredentials: a configured credential source could not produce keys
	// (unreadable profile, STS refused the role, token file missing...).
	ErrCredentials = errors.New("credentials could not be obtained")
	// ErrAccessDenied: the API said the caller lacks permission.
	ErrAccessDenied = errors.New("access denied")
	// ErrRegionNotFound: the API does not know the region.
	ErrRegionNotFound = errors.New("region not found")
	// ErrAuthFailed: the API rejected the credentials themselves (unknown key,
	// wrong secret, bad or expired security token).
	ErrAuthFailed = errors.New("authentication failed")
	// ErrThrottled: throttled on every attempt the retry policy allowed.
	ErrThrottled = errors.New("throttled")
	// ErrTimeout: the deadline passed before an answer arrived.
	ErrTimeout = errors.New("timed out")
	// ErrAPI: any other answer the API gave or a malformed one.
	ErrAPI = errors.New("API error")
	// ErrNetwork: the endpoint could not be reached (DNS, refused, reset, TLS).
	ErrNetwork = errors.New("network error")
	// ErrInternal: a bug, neither the input nor the endpoint's doing: a
	// panic on the lookup path, recovered and returned as an
	// *InternalError. Fronts treat it as "any other failure" (exit code 1),
	// never as bad input (exit code 2, which is also what Go's runtime exits
	// with after an unrecovered panic).
	ErrInternal = errors.New("internal error")
)

// ValidationError names the field, the offending value and the rule it broke.
// It is returned before any network call. Its text is the one format of a
// refusal on every front, "invalid <field> "<value>": <rule>"; a front
// words it with its own names (Names.Refusal). Validate returns every
// problem it finds, each one of these, joined (Problems splits them).
type ValidationError struct {
	Field string // user-facing field name, such as "image family"
	Value string // the offending value, already safe to print
	// Rule is the rule, phrased so the user knows what to change. Another
	// setting it refers to is written {name} (the core's name, such as
	// {wait}), so that each front names it its own way.
	Rule string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, refs(e.Rule, func(string) string { return "" }))
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// NotFoundError says the family has no available image in the region. The
// real API answers this with an empty Image object, not with an error code.
type NotFoundError struct {
	Region    string
	Family    string
	RequestID string

	// Set when the lookup waited (Request.Wait) and the deadline passed.
	NewerThan string
	Waited    time.Duration
	Polls     int
	LastSeen  string // escaped
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("no available image in family %q in region %s", e.Family, e.Region)
	if e.NewerThan != "" {
		msg = fmt.Sprintf("no available image newer than %s in family %q in region %s", e.NewerThan, e.Family, e.Region)
	}
	if e.Polls > 0 {
		polls := "polls"
		if e.Polls == 1 {
			polls = "poll"
		}
		msg += fmt.Sprintf(" after waiting %s (%d %s; last seen: %s)", e.Waited, e.Polls, polls, e.LastSeen)
	}
	if e.RequestID != "" {
		msg += " (RequestId " + e.RequestID + ")"
	}
	if e.NewerThan != "" {
		return msg + "; the image being built may still be Creating, or the build may have failed"
	}
	if owner, _, ok := SharedFamilyParts(e.Family); ok && owner != "" {
		return msg + "; a shared family is seen only when its owner (account " + owner + ") has shared an Available image of it with this account in this region: check the image sharing (or the community image) in the owner's account, and that the owner copied the image to this region and put the copy in the family (copies carry no family)"
	}
	return msg + "; the family may be empty, every image in it may be Creating or UnAvailable, or it may only exist in another region (image families are regional, and copies of an image carry no family: put each region's copy in the family with 'alicloud-image-family promote', " + docsURL + "promotion.md)"
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// APIError is an error answer from ECS or STS, with what the user needs to act.
type APIError struct {
	Service    string // "ECS" or "STS"
	Action     string // API action, such as DescribeImageFromFamily
	Region     string
	Family     string
	Code       string // the API's error code
	HTTPStatus int
	RequestID  string
	Message    string // the API's own message
	Hint       string // what to do about it
	Attempts   int    // how many requests were sent, retries included
	class      error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Service, e.Action)
	if e.Family != "" {
		fmt.Fprintf(&b, " for family %q", e.Family)
	}
	if e.Region != "" {
		fmt.Fprintf(&b, " in region %s", e.Region)
	}
	fmt.Fprintf(&b, " failed: %s", e.Code)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimSpace(e.Message))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [RequestId %s]", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, ". %s", e.Hint)
	}
	return b.String()
}

func (e *APIError) Is(target error) bool { return target == e.class }

// Class reports the sentinel this error matches.
func (e *APIError) Class() error { return e.class }

// TransportError wraps a failure below the API: no answer, a reset, a TLS
// failure, a timeout, a body that is not JSON.
type TransportError struct {
	Op       string // what we were doing, such as "ECS DescribeImageFromFamily in region cn-hangzhou"
	Attempts int
	Err      error // underlying error, already scrubbed of secrets
	class    error
	hint     string // what to do, when more is known than the class says
}

func (e *TransportError) Error() string {
	msg := e.Op + ": " + e.Err.Error()
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.hint != "" {
		return msg + ". " + e.hint
	}
	switch e.class {
	case ErrTimeout:
		msg += ". Raise the timeout, or check that the endpoint is reachable from here"
	case ErrNetwork:
		msg += ". Check the endpoint, proxy settings (HTTPS_PROXY/NO_PROXY) and that its TLS certificate is trusted"
	}
	return msg
}

func (e *TransportError) Unwrap() error { return e.Err }

func (e *TransportError) Is(target error) bool { return target == e.class }

// InternalError is a panic recovered on the lookup path: in a region's
// goroutine (ResolveRegions), in Resolve, while obtaining credentials, or in
// a front (NewInternalError). It is an ordinary error of class ErrInternal.
// A panic inside the SDK call itself (the SDK panics on some malformed error
// bodies) is the answer's doing instead: an ErrAPI error saying the
// response could not be read.
type InternalError struct {
	Op    string // what was being done, such as "ECS DescribeImageFromFamily for family "x" in region y"; may be empty
	Value string // the panic value: every known secret removed, escaped, at most maxInternalBytes
}

func (e *InternalError) Error() string {
	msg := "internal error: " + e.Value + "; this is a bug, please report it"
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

func (e *InternalError) Is(target error) bool { return target == ErrInternal }

// maxInternalBytes bounds the panic value quoted in an InternalError.
const maxInternalBytes = 300

// NewInternalError is the error of a panic a front recovered itself, with
// the value recovered: fmt.Sprint of it, with every secret c holds or its
// Getenv supplies (the environment's secret variables; os.Getenv when
// Getenv is nil) and every one of extra removed in every encoding the core scrubs, then
// escaped and bounded (safetext.Excerpt). op may be empty.
func NewInternalError(op string, recovered any, c Credentials, extra ...string) *InternalError {
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := &scrubber{}
	for _, v := range append(credentialSecrets(c, getenv), extra...) {
		s.add(v)
	}
	// Every secret variable of the chain, not only the pair it would use.
	for _, name := range secretEnv {
		s.add(getenv(name))
	}
	return internalError(op, recovered, s)
}

// secretEnv are the environment variables that hold secrets the chain reads.
var secretEnv = []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
	"ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN", "SECURITY_TOKEN"}

// internalError is the InternalError of a recovered panic value, scrubbed
// with s.
func internalError(op string, recovered any, s *scrubber) *InternalError {
	return &InternalError{Op: op, Value: safetext.Excerpt(s.clean(fmt.Sprint(recovered)), maxInternalBytes)}
}

// CredentialsError says why no credentials could be produced.
type CredentialsError struct {
	Source string // such as "OIDC (ALIBABA_CLOUD_OIDC_TOKEN_FILE)"
	Err    error
	none   bool
	guide  string // for none: the guidance in a front's names (Names.NoCredentials)
}

func (e *CredentialsError) Error() string {
	if e.none {
		if e.guide != "" {
			return e.guide
		}
		return credentialsGuide(libraryNames)
	}
	return fmt.Sprintf("credentials from %s: %v", e.Source, e.Err)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

func (e *CredentialsError) Is(target error) bool {
	if e.none {
		return target == ErrNoCredentials || target == ErrInvalidInput
	}
	return target == ErrCredentials
}

// IsInputError reports whether err means the input was rejected before any
// request was sent (the CLI's exit code 2).
func IsInputError(err error) bool { return errors.Is(err, ErrInvalidInput) }
