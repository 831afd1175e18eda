package imagefamily

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// Resolve returns the newest available custom image of req.Family in
// req.Region. It validates the request before any network call, obtains
// credentials, and sends one DescribeImageFromFamily request per attempt
// (retrying only what is worth retrying).
func Resolve(ctx context.Context, req Request) (Image, error) {
	if err := Validate(req); err != nil {
		return Image{}, err
	}
	ctx, cancel := withTimeout(ctx, lookupDeadline(req))
	defer cancel()
	s := newSession(req)
	defer s.end()
	return s.resolve(ctx, req.Region)
}

// ResolveRegions resolves the same family in several regions concurrently,
// at most concurrency at once (0 means DefaultConcurrency: every region in
// one wave, up to 32), one SDK client per goroutine, with
// credentials obtained once and shared. Results come back in the order of
// regions; each carries its own error. A request that fails validation is
// returned as err before anything is sent. req.Region is ignored.
func ResolveRegions(ctx context.Context, req Request, regions []string, concurrency int) ([]Result, error) {
	if err := validateRegions(req, regions); err != nil {
		return nil, err
	}
	if concurrency <= 0 {
		concurrency = min(len(regions), DefaultConcurrency)
	}
	ctx, cancel := withTimeout(ctx, lookupDeadline(req))
	defer cancel()
	s := newSession(req)
	defer s.end()
	results := make([]Result, len(regions))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, region := range regions {
		results[i].Region = region
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic in one region's lookup is that region's error, not
			// a crash of the process (the fronts recover only their own
			// goroutine).
			defer func() {
				if r := recover(); r != nil {
					results[i].Err = &TransportError{Op: operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: region, Family: req.Family}.String(),
						Err: errors.New("internal error: " + safetext.Excerpt(fmt.Sprint(r), 300)), class: ErrAPI}
				}
			}()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i].Err, _ = classify(ctx, operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: region, Family: req.Family}, ctx.Err(), s.scrub)
				return
			}
			results[i].Image, results[i].Err = s.resolve(ctx, region)
		}()
	}
	wg.Wait()
	return results, nil
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

// resolve does one region's lookup with a client of its own: SDK clients are
// not safe for concurrent use.
func (s *session) resolveOnce(ctx context.Context, region string) (Image, error) {
	k, err := s.credentials(ctx)
	if err != nil {
		return Image{}, err
	}
	ep, _ := parseEndpoint("endpoint", s.req.Endpoint) // validated already
	scheme := "https"
	if ep.Host != "" {
		scheme = ep.Scheme
	}
	op := operation{Service: "ECS", Action: "DescribeImageFromFamily", Region: region, Family: s.req.Family}
	tr := s.newTransport()
	client, err := newECSClient(region, sdkConfig(tr, scheme), k)
	if err != nil {
		return Image{}, &TransportError{Op: op.String(), Err: errors.New(s.scrub.clean(err.Error())), class: ErrNetwork}
	}
	if ep.Host == "" && s.req.VPC {
		client.Network = "vpc"
	}
	var img Image
	var answerErr error
	err = invoke(ctx, op, s.req.Retry, tr, s.scrub, func(ctx context.Context, timeout time.Duration) error {
		r := ecs.CreateDescribeImageFromFamilyRequest()
		r.Scheme = scheme
		if ep.Host != "" {
			r.Domain = ep.Host
		}
		r.RegionId = region
		r.ImageFamily = s.req.Family
		r.SetReadTimeout(timeout)
		r.SetConnectTimeout(minDuration(timeout, 5*time.Second))
		resp := ecs.CreateDescribeImageFromFamilyResponse()
		err := client.DoAction(r, resp)
		var ce *sdkerrors.ClientError
		if err != nil && !(errors.As(err, &ce) && ce.ErrorCode() == sdkerrors.JsonUnmarshalErrorCode && resp.IsSuccess()) {
			return err
		}
		// A 2xx answer, parsed by us rather than trusted as the SDK read it:
		// the trust boundary's answer checks (answer.go).
		check := answerCheck{op: op, endpoint: tr.origin(), family: s.req.Family, now: time.Now(), scrub: s.scrub}
		var retry bool
		img, answerErr, retry = checkImageAnswer(check, resp.GetHttpContentBytes())
		var api *APIError
		if errors.As(answerErr, &api) {
			_ = retry // classify decides on the code, as for any error answer
			return api
		}
		var refused *AnswerError
		if errors.As(answerErr, &refused) {
			return refused
		}
		return nil
	})
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
