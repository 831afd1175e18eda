package imagefamily

import (
	"errors"
	"fmt"
	"testing"
)

// One table of exit codes for the CLI and the action: each class, and the
// worst of several regions' (1 over 5 over 3 over 4 over 0; bad input,
// which holds for every region alike, over all).
func TestExitCode(t *testing.T) {
	nf := &NotFoundError{Region: "cn-hangzhou", Family: "web"}
	guard := &GuardError{Guard: "architecture"}
	api := &APIError{Code: "Forbidden.RAM", class: ErrAccessDenied}
	changed := fmt.Errorf("cn-hangzhou moved: %w", ErrChanged)
	bad := &ValidationError{Field: "region", Value: "X"}
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{bad, ExitUsage},
		{&CredentialsError{none: true}, ExitUsage},
		{nf, ExitNotFound},
		{guard, ExitGuard},
		{changed, ExitChanged},
		{api, ExitFailure},
		{&InternalError{Value: "boom"}, ExitFailure},
		{errors.New("anything"), ExitFailure},
		{errors.Join(nf, guard), ExitGuard},
		{errors.Join(nf, changed), ExitNotFound},
		{errors.Join(changed, guard, nf), ExitGuard},
		{errors.Join(guard, api), ExitFailure},
		{fmt.Errorf("2 of 2 regions failed: %w; %w", nf, nf), ExitNotFound},
		{fmt.Errorf("wrapped: %w", errors.Join(changed)), ExitChanged},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if WorseExit(ExitFailure, ExitUsage) != ExitUsage || WorseExit(ExitOK, ExitChanged) != ExitChanged || WorseExit(ExitGuard, ExitNotFound) != ExitGuard {
		t.Error("WorseExit does not rank 2 > 1 > 5 > 3 > 4 > 0")
	}
}

// The single-image outputs of every front describe the first region, in
// the order asked, that has an image.
func TestFirstFound(t *testing.T) {
	nf := &NotFoundError{Region: "cn-hangzhou", Family: "web"}
	results := []Result{{Region: "cn-hangzhou", Err: nf}, {Region: "cn-beijing", Err: &GuardError{}},
		{Region: "cn-shanghai", Image: Image{ImageID: "m-sh"}}, {Region: "cn-shenzhen", Image: Image{ImageID: "m-sz"}}}
	if r, ok := FirstFound(results); !ok || r.Region != "cn-shanghai" || r.Image.ImageID != "m-sh" {
		t.Errorf("FirstFound = %+v, %v; want cn-shanghai", r, ok)
	}
	if r, ok := FirstFound(results[:2]); ok || r.Region != "" {
		t.Errorf("FirstFound of no image = %+v, %v", r, ok)
	}
}
