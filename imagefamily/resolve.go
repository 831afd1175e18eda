package imagefamily

import (
	"context"
	"errors"
)

// Resolve returns the newest available custom image of req.Family in
// req.Region. It validates the request before any network call, obtains
// credentials, and sends exactly one DescribeImageFromFamily request per
// attempt (retrying only what is worth retrying).
func Resolve(ctx context.Context, req Request) (Image, error) {
	return Image{}, errors.New("imagefamily: Resolve not implemented yet")
}

// ResolveRegions resolves the same family in several regions concurrently,
// at most concurrency at once (0 means 8), one SDK client per goroutine, with
// credentials obtained once and shared. Results come back in the order of
// regions. A validation error of the request as a whole is returned as err
// before anything is sent.
func ResolveRegions(ctx context.Context, req Request, regions []string, concurrency int) ([]Result, error) {
	return nil, errors.New("imagefamily: ResolveRegions not implemented yet")
}

// Validate checks everything that can be checked offline: family, region,
// endpoints, durations and credential settings that contradict each other.
// Packer's Configure and every front call it; Resolve calls it too.
func Validate(req Request) error {
	return errors.New("imagefamily: Validate not implemented yet")
}

// ParseRegions splits a region list as users write it: separated by commas,
// newlines or spaces, blanks dropped, duplicates removed (first kept), each
// validated.
func ParseRegions(s string) ([]string, error) {
	return nil, errors.New("imagefamily: ParseRegions not implemented yet")
}
