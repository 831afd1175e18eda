package imagefamily

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// The calls of the family lifecycle (promote.go, rollback.go): DescribeImages
// by id or by family and status, and ModifyImageAttribute. They go the way a
// lookup goes: the session's credentials, a client per call, the transport
// of the trust boundary (caps, no redirects, nesting bounded), our retries
// (throttling and 5xx; a retried ModifyImageAttribute is safe, it sets a
// value), and answers parsed and checked by us.

// imageStatuses are the Status values DescribeImages reports.
var imageStatuses = []string{"Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated"}

// ecsCall sends one ECS request built by newReq (RegionId set) with retries
// to the session's ECS endpoint (the request's, ALIBABA_CLOUD_ECS_ENDPOINT or
// the region's),
// and hands the raw body of a 2xx answer to read. stop, when set, runs before
// every attempt but the first; an error from it ends the call with that
// error, unretried (the rollback's compare-and-swap re-check).
func (s *session) ecsCall(ctx context.Context, op operation, newReq func() requests.AcsRequest, read func(c answerCheck, body []byte) error, stop func(ctx context.Context) error) error {
	if testHookLookup != nil {
		testHookLookup(op.Region)
	}
	k, err := s.credentials(ctx)
	if err != nil {
		return err
	}
	ep := s.ecs
	scheme := "https"
	if ep.Host != "" {
		scheme = ep.Scheme
	}
	tr := s.newTransport()
	client, err := newECSClient(op.Region, sdkConfig(tr, scheme), k)
	if err != nil {
		return &TransportError{Op: op.String(), Err: errors.New(s.scrub.clean(err.Error())), class: ErrNetwork}
	}
	if ep.Host == "" && s.req.VPC {
		client.Network = "vpc"
	}
	attempt := 0
	return invoke(ctx, op, s.req.Retry, tr, s.scrub, func(ctx context.Context, timeout time.Duration) error {
		attempt++
		if attempt > 1 && stop != nil {
			if err := stop(ctx); err != nil {
				return &stopError{err: err}
			}
			tr.bind(ctx)
		}
		r := newReq()
		r.SetScheme(scheme)
		if ep.Host != "" {
			r.SetDomain(ep.Host)
		}
		r.SetReadTimeout(timeout)
		r.SetConnectTimeout(min(timeout, 5*time.Second))
		// A CommonResponse: the SDK keeps the body without parsing it (read
		// parses it once); its own parse into a typed response cost as much
		// as everything else for an answer of many tags.
		resp := responses.NewCommonResponse()
		err := client.DoAction(r, resp)
		var ce *sdkerrors.ClientError
		if err != nil && !(errors.As(err, &ce) && ce.ErrorCode() == sdkerrors.JsonUnmarshalErrorCode && resp.IsSuccess()) {
			return err
		}
		check := answerCheck{op: op, endpoint: tr.origin(), family: op.Family, now: time.Now(), scrub: s.scrub}
		return read(check, resp.GetHttpContentBytes())
	})
}

// stopError ends invoke's retries with err as it is (call.go).
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// checkEnvelope reads the top level of an ECS answer (readEnvelope) and
// keeps its RequestId.
func checkEnvelope(c answerCheck, body []byte) (requestID string, err error) {
	_, requestID, _, err = readEnvelope(c, body)
	return requestID, err
}

// imageState is an image as DescribeImages reports it, checked.
type imageState struct {
	ID, Family, Status, CreationTime, Name, OwnerAlias string
}

// imagesAnswer is a checked DescribeImages answer.
type imagesAnswer struct {
	RequestID string
	Total     int
	Images    []imageState
}

// checkImagesAnswer reads a DescribeImages answer: its RegionId, when
// there, is the region asked; every image's id has an image id's shape, its Status is one of the API's, its family is the one
// filtered on (when there was a filter), and its ids are among those asked
// for (when there was an id filter).
func checkImagesAnswer(c answerCheck, body []byte, ids []string, statuses []string) (imagesAnswer, error) {
	requestID, err := checkEnvelope(c, body)
	if err != nil {
		return imagesAnswer{}, err
	}
	var a struct {
		RegionId   *string `json:"RegionId"`
		TotalCount *int    `json:"TotalCount"`
		Images     *struct {
			Image []json.RawMessage `json:"Image"`
		} `json:"Images"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return imagesAnswer{}, c.refuseUnquoted("body", "it does not match the API reference of DescribeImages: "+err.Error(), requestID)
	}
	if a.TotalCount == nil || a.Images == nil {
		return imagesAnswer{}, c.refuseUnquoted("body", "a DescribeImages answer has TotalCount and Images.Image", requestID)
	}
	// An answer for another region is about other images: a proxy or
	// mirror that mixes regions up must not decide what is changed here.
	if a.RegionId != nil && *a.RegionId != c.op.Region {
		return imagesAnswer{}, c.refuse("RegionId", *a.RegionId, "the answer is for another region than the one asked for, "+c.op.Region, requestID)
	}
	out := imagesAnswer{RequestID: requestID, Total: *a.TotalCount}
	check := c
	check.anyStatus = true
	for i, raw := range a.Images.Image {
		var in ecs.Image
		if err := json.Unmarshal(raw, &in); err != nil {
			return imagesAnswer{}, c.refuseUnquoted(fmt.Sprintf("Images.Image[%d]", i), "it does not match the API reference of DescribeImages", requestID)
		}
		if err := check.checkImage(&in, requestID); err != nil {
			return imagesAnswer{}, err
		}
		if !slices.Contains(imageStatuses, in.Status) || (len(statuses) > 0 && !slices.Contains(statuses, in.Status)) {
			return imagesAnswer{}, c.refuse("Status", in.Status, "DescribeImages reports "+strings.Join(statuses, ", ")+" here, as asked", requestID)
		}
		if len(ids) > 0 && !slices.Contains(ids, in.ImageId) {
			return imagesAnswer{}, c.refuse("ImageId", in.ImageId, "the answer holds an image that was not asked for", requestID)
		}
		out.Images = append(out.Images, imageState{ID: in.ImageId, Family: in.ImageFamily, Status: in.Status,
			CreationTime: in.CreationTime, Name: in.ImageName, OwnerAlias: in.ImageOwnerAlias})
	}
	return out, nil
}

// describeImage is one image by id, in any status: found is false when the
// region has no such image of this account.
func (s *session) describeImage(ctx context.Context, region, id string) (img imageState, requestID string, found bool, err error) {
	op := operation{Service: "ECS", Action: "DescribeImages", Region: region}
	var a imagesAnswer
	err = s.ecsCall(ctx, op, func() requests.AcsRequest {
		r := ecs.CreateDescribeImagesRequest()
		r.RegionId, r.ImageId, r.Status = region, id, strings.Join(imageStatuses, ",")
		return r
	}, func(c answerCheck, body []byte) error {
		c.anyFamily = true
		var err error
		a, err = checkImagesAnswer(c, body, []string{id}, nil)
		return err
	}, nil)
	if err != nil || len(a.Images) == 0 {
		return imageState{}, a.RequestID, false, err
	}
	return a.Images[0], a.RequestID, true, nil
}

// availableInFamily lists the caller's Available images of the family,
// newest first (at most 100: enough to know whether another remains).
func (s *session) availableInFamily(ctx context.Context, region, family string) (imagesAnswer, error) {
	op := operation{Service: "ECS", Action: "DescribeImages", Region: region, Family: family}
	var a imagesAnswer
	err := s.ecsCall(ctx, op, func() requests.AcsRequest {
		r := ecs.CreateDescribeImagesRequest()
		r.RegionId, r.ImageFamily, r.Status, r.ImageOwnerAlias = region, family, "Available", "self"
		r.PageSize = "100"
		return r
	}, func(c answerCheck, body []byte) error {
		var err error
		a, err = checkImagesAnswer(c, body, nil, []string{"Available"})
		return err
	}, nil)
	return a, err
}

// modifyImage sends ModifyImageAttribute with the family and/or status
// given (empty: unchanged). With dryRun, the API's DryRun=true: the answer
// DryRunOperation means the call would have succeeded, and is returned as
// nil.
func (s *session) modifyImage(ctx context.Context, region, id, family, status string, dryRun bool, stop func(context.Context) error) (requestID string, err error) {
	op := operation{Service: "ECS", Action: "ModifyImageAttribute", Region: region, Family: s.req.Family}
	err = s.ecsCall(ctx, op, func() requests.AcsRequest {
		r := ecs.CreateModifyImageAttributeRequest()
		r.RegionId, r.ImageId, r.ImageFamily, r.Status = region, id, family, status
		if dryRun {
			// This SDK version has no DryRun field on the request.
			r.QueryParams["DryRun"] = "true"
		}
		return r
	}, func(c answerCheck, body []byte) error {
		var err error
		requestID, err = checkEnvelope(c, body)
		return err
	}, stop)
	var ae *APIError
	if dryRun && errors.As(err, &ae) && ae.Code == "DryRunOperation" {
		return ae.RequestID, nil
	}
	if dryRun && err == nil {
		return requestID, &AnswerError{Op: op.String(), Field: "body", Rule: "a DryRun=true call answers DryRunOperation, not success: the endpoint may have made the change", RequestID: requestID}
	}
	return requestID, err
}
