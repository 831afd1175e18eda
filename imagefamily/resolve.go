package imagefamily

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// Resolve returns the newest available custom image of req.Family in
// req.Region. It validates the request before any network call, obtains
// credentials, and sends one DescribeImageFromFamily request per attempt
// (retrying only what is worth retrying).
//
// A panic on the way (a bug, in the core or in a hook of the request such as
// OnRetry) is returned as an *InternalError (class ErrInternal), not
// propagated.
func Resolve(ctx context.Context, req Request) (img Image, err error) {
	if err := Validate(req); err != nil {
		return Image{}, err
	}
	ctx, cancel := withTimeout(ctx, lookupDeadline(req))
	defer cancel()
	s := newSession(req)
	defer s.end()
	defer s.recoverLookup(req.Region, &img, &err)
	return s.resolve(ctx, req.Region)
}

// recoverLookup turns a panic in region's lookup, in the goroutine it is
// deferred in, into that lookup's error: an *InternalError with the panic
// value scrubbed of every secret the session knows, escaped and bounded.
// A panic in a goroutine is not caught by a recover in another one: every
// goroutine the core starts on the lookup path defers this (a region's
// lookup) or its own recover (runGuarded, the SDK call).
func (s *session) recoverLookup(region string, img *Image, err *error) {
	r := recover()
	if r == nil {
		return
	}
	op := operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: region, Family: s.req.Family}
	*img, *err = Image{}, internalError(op.String(), r, s.scrub)
}

// testHookLookup, when set, runs at the start of every lookup attempt of a
// region (each poll of a wait), in the goroutine that does it. It is nil in
// production; tests set it to make a lookup panic (and a build with the tag
// imagefamily_testpanic sets it, for the end-to-end tests of the binaries).
var testHookLookup func(region string)

// ResolveRegions resolves the same family in several regions concurrently,
// at most concurrency at once (0 means DefaultConcurrency: every region in
// one wave, up to 32), one SDK client per goroutine, with
// credentials obtained once and shared. Results come back in the order of
// regions; each carries its own error. A request that fails validation is
// returned as err before anything is sent. req.Region is ignored. A panic in
// a region's lookup is that region's *InternalError (class ErrInternal).
func ResolveRegions(ctx context.Context, req Request, regions []string, concurrency int) ([]Result, error) {
	if err := validateRegions(req, regions); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx, lookupDeadline(req))
	defer cancel()
	s := newSession(req)
	defer s.end()
	targets := make([]target, len(regions))
	for i, region := range regions {
		targets[i] = target{req.Family, region}
	}
	return s.resolveEach(ctx, targets, concurrency), nil
}

// target is one family in one region.
type target struct{ family, region string }

// resolveEach resolves every target concurrently, at most concurrency at
// once (0: every target in one wave, up to DefaultConcurrency), with the
// session's credentials; results in the order of targets.
func (s *session) resolveEach(ctx context.Context, targets []target, concurrency int) []Result {
	if concurrency <= 0 {
		concurrency = min(len(targets), DefaultConcurrency)
	}
	results := make([]Result, len(targets))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i].Region = t.region
		fs := s
		if t.family != s.req.Family {
			fs = s.forFamily(t.family)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic in one region's lookup is that region's error (an
			// *InternalError), not a crash of the process: the fronts'
			// recover runs in their own goroutine, not in this one.
			defer fs.recoverLookup(t.region, &results[i].Image, &results[i].Err)
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				_, results[i].Err = classify(ctx, operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: t.region, Family: t.family}, ctx.Err(), fs.scrub)
				return
			}
			results[i].Image, results[i].Err = fs.resolve(ctx, t.region)
		}()
	}
	wg.Wait()
	return results
}

// DefaultConcurrency caps how many regions are resolved at once when the
// caller does not say: ECS has about 30 regions, so a release pipeline that
// promotes to all of them pays about one round trip, while the cap keeps a
// typo'd region list from opening hundreds of connections.
const DefaultConcurrency = 32

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// lookupDeadline is how long a whole lookup may take: the timeout, plus the
// wait when the caller waits for an image (each poll is a lookup of its own).
func lookupDeadline(req Request) time.Duration {
	d := req.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	return d + req.Wait
}

// resolveOnce does one region's lookup with a client of its own: SDK clients are
// not safe for concurrent use.
func (s *session) resolveOnce(ctx context.Context, region string) (Image, error) {
	op := operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: region, Family: s.req.Family}
	var img Image
	var answerErr error
	err := s.ecsCall(ctx, op, func() requests.AcsRequest {
		r := ecs.CreateDescribeImageFromFamilyRequest()
		r.RegionId = region
		r.ImageFamily = s.req.Family
		return r
	}, func(check answerCheck, body []byte) error {
		// A 2xx answer, parsed by us rather than trusted as the SDK read
		// it: the trust boundary's answer checks (answer.go). An error
		// answer or a refusal ends the attempt (classify decides on the
		// code, as for any error answer); "not found" is an answer.
		img, _, answerErr = checkImageAnswer(check, body)
		var api *APIError
		if errors.As(answerErr, &api) {
			return api
		}
		var refused *AnswerError
		if errors.As(answerErr, &refused) {
			return refused
		}
		return nil
	}, nil)
	if err != nil {
		return Image{}, err
	}
	if answerErr != nil {
		return Image{}, answerErr
	}
	if err := s.req.Guards.Check(img, region, s.req.Family); err != nil {
		return Image{}, err
	}
	return img, nil
}

func describeBody(b string) string {
	switch {
	case strings.TrimSpace(b) == "":
		return "empty body"
	case len(b) > 80:
		return "body starts " + strconv.Quote(b[:80])
	}
	return "body " + strconv.Quote(b)
}

// clientInit serialises SDK client construction: it lazily fills
// process-wide endpoint tables without synchronisation (a data race that
// -race finds as soon as two regions are resolved at once). Construction is
// cheap; the requests themselves still run concurrently.
var clientInit sync.Mutex

func newECSClient(region string, cfg *sdk.Config, k keys) (*ecs.Client, error) {
	clientInit.Lock()
	defer clientInit.Unlock()
	return ecs.NewClientWithOptions(region, cfg, k.credential())
}
