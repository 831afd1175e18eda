package imagefamily

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// defaultAttemptTimeout caps one attempt, so that a server that hangs once
// still leaves time for a retry within the overall deadline.
const defaultAttemptTimeout = 20 * time.Second

// docsURL is where error hints point; every front prints the same text, so
// a URL works in a terminal, a Packer diagnostic and an action annotation.
const docsURL = "https://github.com/imagefamily/packer-plugin-alicloud-image-family/blob/main/docs/"

// operation describes one API call for messages and error mapping.
type operation struct {
	Service string // "ECS" or "STS"
	Action  string
	Region  string
	Family  string
}

func (op operation) String() string {
	s := op.Service + " " + op.Action
	if op.Family != "" {
		s += fmt.Sprintf(" for family %q", op.Family)
	}
	if op.Region != "" {
		s += " in region " + op.Region
	}
	return s
}

// attemptFunc sends one request. It must honour ctx; its error is classified
// by classify.
type attemptFunc func(ctx context.Context, timeout time.Duration) error

// invoke runs attempts under the retry policy until one succeeds, a
// non-retryable error arrives, the attempts run out, or the deadline would
// pass before the next attempt could start.
func invoke(ctx context.Context, op operation, policy RetryPolicy, tr *callTransport, scrub *scrubber, attempt attemptFunc) error {
	attempts := policy.attempts()
	for n := 1; ; n++ {
		timeout := defaultAttemptTimeout
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(dl))
		}
		if tr != nil {
			tr.bind(ctx)
		}
		err := runGuarded(ctx, func() error { return attempt(ctx, timeout) })
		if tr != nil {
			// A refused answer (redirect, oversize body) is reported as it
			// is, whatever the SDK made of the failure it caused, and never
			// retried: the same endpoint would answer the same way.
			if v := tr.bound.take(); v != nil {
				v.Op = op.String()
				return v
			}
		}
		if err == nil {
			return nil
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		var refused *AnswerError
		if errors.As(err, &refused) {
			refused.Op = op.String()
			return refused
		}
		retryable, final := classify(ctx, op, err, scrub)
		setAttempts(final, n)
		if !retryable || n >= attempts {
			return final
		}
		var ra time.Duration
		if tr != nil {
			ra = tr.lastRetryAfter()
		}
		wait := policy.delay(n, ra)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			// Sleeping would only end at the deadline; report the real cause.
			return final
		}
		if policy.OnRetry != nil {
			policy.OnRetry(RetryNotice{Op: op.String(), Region: op.Region, Attempt: n, MaxAttempts: attempts, Reason: retryReason(final), Wait: wait})
		}
		if serr := policy.sleep(ctx, wait); serr != nil {
			return final
		}
	}
}

// runGuarded runs fn so that a panic inside the SDK (it panics on some
// malformed error bodies) becomes an error, and so that the caller returns
// as soon as ctx is done even if the SDK does not. fn runs in a goroutine of
// its own, which no other recover covers: a panic there, also one after the
// caller has given up at the deadline, is recovered here, always. It is
// classified as an answer that could not be read (ErrAPI, exit code 1 in
// every front; the value scrubbed and bounded by classify): the SDK's
// panics come from what the server sent.
func runGuarded(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- &malformedResponse{detail: fmt.Sprint(r)}
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryReason says in a few words why an attempt failed.
func retryReason(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		r := ae.Code
		if ae.HTTPStatus != 0 {
			r += fmt.Sprintf(", HTTP %d", ae.HTTPStatus)
		}
		if ae.RequestID != "" {
			r += ", RequestId " + ae.RequestID
		}
		return r
	}
	var te *TransportError
	if errors.As(err, &te) {
		return safetext.Excerpt(te.Err.Error(), 160)
	}
	return safetext.Excerpt(err.Error(), 160)
}

// Do runs fn under the policy, for HTTP exchanges the core does not make
// itself (the action's GitHub ID-token request): fn reports whether its
// error is worth retrying; waits use the same backoff, honour the context's
// deadline, and are announced to OnRetry with what as the operation.
func (p RetryPolicy) Do(ctx context.Context, what string, fn func(ctx context.Context) (retryable bool, err error)) error {
	attempts := p.attempts()
	for n := 1; ; n++ {
		retryable, err := fn(ctx)
		if err == nil || !retryable || n >= attempts || ctx.Err() != nil {
			return err
		}
		wait := p.delay(n, 0)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			return err
		}
		if p.OnRetry != nil {
			p.OnRetry(RetryNotice{Op: what, Attempt: n, MaxAttempts: attempts, Reason: safetext.Excerpt(err.Error(), 160), Wait: wait})
		}
		if p.sleep(ctx, wait) != nil {
			return err
		}
	}
}

type malformedResponse struct{ detail string }

func (m *malformedResponse) Error() string {
	return "the response could not be read as an API answer (" + m.detail + ")"
}

func setAttempts(err error, n int) {
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Attempts = n
	}
	var te *TransportError
	if errors.As(err, &te) {
		te.Attempts = n
	}
}

// classify turns an SDK or transport error into one of ours, and says
// whether it is worth retrying.
func classify(ctx context.Context, op operation, err error, scrub *scrubber) (retryable bool, classified error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return false, &TransportError{Op: op.String(), Err: fmt.Errorf("deadline exceeded before an answer arrived: %w", context.DeadlineExceeded), class: ErrTimeout}
		}
		return false, &TransportError{Op: op.String(), Err: fmt.Errorf("cancelled: %w", ctxErr), class: ErrNetwork}
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return apiError(op, se.HttpStatus(), se.ErrorCode(), se.RequestId(), se.Message(), scrub)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return isRetryableCode(ae.HTTPStatus, ae.Code), ae
	}
	var mr *malformedResponse
	if errors.As(err, &mr) {
		return false, &TransportError{Op: op.String(), Err: errors.New(safetext.Excerpt(scrub.clean(mr.Error()), maxMessageBytes)), class: ErrAPI}
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		cause := ce.OriginError()
		if cause == nil {
			cause = errors.New(ce.Message())
		}
		if ce.ErrorCode() == sdkerrors.JsonUnmarshalErrorCode || strings.Contains(ce.ErrorCode(), "Unmarshal") {
			return false, &TransportError{Op: op.String(), Err: errors.New("the response body is not valid JSON: " + safetext.Excerpt(scrub.clean(cause.Error()), maxMessageBytes)), class: ErrAPI}
		}
		return transportError(op, cause, scrub)
	}
	var je *json.SyntaxError
	if errors.As(err, &je) {
		return false, &TransportError{Op: op.String(), Err: errors.New("the response body is not valid JSON: " + safetext.Excerpt(je.Error(), maxMessageBytes)), class: ErrAPI}
	}
	return transportError(op, err, scrub)
}

func transportError(op operation, err error, scrub *scrubber) (retryable bool, classified error) {
	msg := safetext.Excerpt(scrub.clean(withoutQuery(err)), maxMessageBytes)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), strings.Contains(msg, "Client.Timeout"), strings.Contains(msg, "timeout"):
		return true, &TransportError{Op: op.String(), Err: errors.New("no answer in time: " + msg), class: ErrTimeout}
	case errors.Is(err, http.ErrSchemeMismatch) || strings.Contains(msg, http.ErrSchemeMismatch.Error()):
		// A plain-HTTP server (the emulator without --tls, a local test
		// server) given as host:port, which means HTTPS. Never retried and
		// never downgraded: plain HTTP is used only when written out.
		return false, &TransportError{Op: op.String(), Err: errors.New(msg), class: ErrNetwork, hint: schemeMismatchHint(err)}
	case isCertError(err):
		// Never retried and never downgraded to HTTP: an untrusted
		// certificate is a configuration problem or an attack.
		return false, &TransportError{Op: op.String(), Err: errors.New("TLS certificate not trusted: " + msg), class: ErrNetwork}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "broken pipe"):
		return true, &TransportError{Op: op.String(), Err: errors.New(msg), class: ErrNetwork}
	}
	return false, &TransportError{Op: op.String(), Err: errors.New(msg), class: ErrNetwork}
}

// schemeMismatchHint says what to write when an endpoint answered HTTPS with
// plain HTTP: the same host and port, with http:// written out.
func schemeMismatchHint(err error) string {
	hostPort := "HOST:PORT"
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			hostPort = safetext.Excerpt(u.Host, 260)
		}
	}
	return "The endpoint speaks plain HTTP, not HTTPS: if that is intended (a local emulator or test server), write it as http://" +
		hostPort + " (plain HTTP is used only when http:// is written out; see " + docsURL + "security.md)"
}

// withoutQuery is err's message without the query of the request URL that
// net/http puts in it: that query is the signed request (Signature, nonce,
// AccessKeyId, token), replayable until its timestamp expires if the server
// never saw it, and no help to the reader.
func withoutQuery(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
			short := *ue
			short.URL = ue.URL[:i]
			return strings.Replace(err.Error(), ue.Error(), short.Error(), 1)
		}
	}
	return err.Error()
}

func isCertError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate") || strings.Contains(msg, "tls: ")
}

// isRetryableCode: throttling, ServiceUnavailable and 5xx are worth another
// try; every other 4xx will answer the same again.
func isRetryableCode(status int, code string) bool {
	return status >= 500 || status == 429 || strings.HasPrefix(code, "Throttling") ||
		code == "ServiceUnavailable" || code == "InternalError"
}

// Bounds of server text quoted in an APIError.
const (
	maxCodeBytes    = 128
	maxMessageBytes = 512
)

// apiError maps an error answer into an *APIError with a class and a hint.
func apiError(op operation, status int, code, requestID, message string, scrub *scrubber) (retryable bool, classified error) {
	// SignatureDoesNotMatch echoes the server's string to sign, which holds
	// every request parameter; it helps no user and may hold a token.
	if i := strings.Index(message, "server string to sign is:"); i >= 0 {
		message = strings.TrimSpace(message[:i])
	}
	if code == "" {
		// A proxy or load balancer answered with a body that is not an API
		// error document.
		code = fmt.Sprintf("HTTP%d", status)
	}
	e := &APIError{
		Service: op.Service, Action: op.Action, Region: op.Region, Family: op.Family,
		// Code and RequestId are echoed from the body like Message, so they
		// are scrubbed too (a server may echo a secret in any of them); the
		// class is decided on the code as sent.
		// Every server string is escaped for a terminal and bounded: a
		// 64 MiB error page or an escape sequence in a Message must not
		// reach a terminal, a log or an annotation as it is.
		Code: safetext.Excerpt(scrub.clean(code), maxCodeBytes), HTTPStatus: status,
		RequestID: safetext.Excerpt(scrub.clean(requestID), maxCodeBytes),
		Message:   safetext.Excerpt(scrub.clean(message), maxMessageBytes),
	}
	e.Hint, e.class = codeClass(op, status, code)
	return isRetryableCode(status, code), e
}

func codeClass(op operation, status int, code string) (hint string, class error) {
	switch {
	case strings.HasPrefix(code, "Throttling") || status == 429:
		return "The API is throttling this account; lower the request rate or concurrency, or retry later", ErrThrottled
	case code == "InvalidRegionId.NotFound" || code == "InvalidRegionId.Malformed":
		return fmt.Sprintf("Region %q is not known to ECS; check the region id (for example cn-hangzhou, ap-southeast-1)", op.Region), ErrRegionNotFound
	case code == "SignatureDoesNotMatch" || code == "IncompleteSignature":
		return "The access key secret does not match the access key id; check for a wrong, truncated or rotated secret", ErrAuthFailed
	case strings.HasPrefix(code, "InvalidAccessKeyId"):
		return "The access key id is unknown or disabled; check which key is configured and that it is active in RAM", ErrAuthFailed
	case strings.HasPrefix(code, "InvalidSecurityToken"):
		return "The security token is expired, malformed or belongs to another access key; obtain fresh STS credentials", ErrAuthFailed
	case strings.HasPrefix(code, "InvalidTimeStamp"):
		return "The request timestamp was rejected; check that this machine's clock is correct", ErrAuthFailed
	case code == "InvalidUser.Unauthorized" || strings.HasPrefix(code, "Forbidden") || code == "NoPermission" || status == 403:
		if op.Service == "STS" {
			return "The caller may not assume this role; check the role's trust policy and that the caller has sts:AssumeRole", ErrAccessDenied
		}
		if op.Action != "DescribeImageFromFamily" && op.Action != "" {
			// The family lifecycle's writes and listings need the promote
			// policy, not the read-only one.
			return "The caller needs the RAM permission ecs:" + op.Action + " (promote and rollback need ecs:ModifyImageAttribute, ecs:DescribeImages and ecs:DescribeImageFromFamily); attach the promote policy (" + docsURL + "promotion.md#ram-policies)", ErrAccessDenied
		}
		return "The caller needs the RAM permission ecs:DescribeImageFromFamily; attach a policy granting it (" + docsURL + "credentials.md#a-minimal-ram-policy)", ErrAccessDenied
	case strings.HasPrefix(code, "EntityNotExist"):
		return "The role does not exist; check the role ARN", ErrCredentials
	case strings.HasPrefix(code, "AuthenticationFail"):
		return "STS rejected the OIDC token; check the audience, the OIDC provider ARN and the role's trust condition", ErrCredentials
	case code == "ServiceUnavailable" || code == "InternalError" || status >= 500:
		return "The service had a temporary failure; retry later", ErrAPI
	}
	return "", ErrAPI
}
