package imagefamily

import "errors"

// Exit codes: the CLI's and the GitHub Action's, one table for both
// (docs/options.md, "Outcomes"). The data source has no exit code: any of
// these but ExitOK fails the build.
const (
	ExitOK       = 0 // found, in every region asked for
	ExitFailure  = 1 // anything else: denied, throttled, a refused answer, a panic, ...
	ExitUsage    = 2 // the input was refused before anything was sent
	ExitNotFound = 3 // no available image (also after a wait)
	ExitChanged  = 4 // found, but not the expected image (drift)
	ExitGuard    = 5 // found, but refused by a guard (architecture, OS type, age)
)

// ErrChanged: a region's newest image is not the one expected (drift), and
// the front reports that as a failure (the CLI always, with exit code 4;
// the action with fail-on-change). Changes themselves are Changes'.
var ErrChanged = errors.New("the newest image is not the expected one")

// ExitCode is the exit code of an outcome: 0 for nil, else the code of the
// error's class. Several errors joined (errors.Join, or fmt.Errorf with
// several %w), one per region, give the worst of their codes (WorseExit),
// so the CLI and the action rank the regions of one run alike.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if errs := joined(err); errs != nil {
		code := ExitOK
		for _, e := range errs {
			code = WorseExit(code, ExitCode(e))
		}
		return code
	}
	switch {
	case errors.Is(err, ErrInternal):
		return ExitFailure // a bug is never "bad input", whatever it wraps
	case IsInputError(err):
		return ExitUsage
	case errors.Is(err, ErrGuard):
		return ExitGuard
	case errors.Is(err, ErrNotFound):
		return ExitNotFound
	case errors.Is(err, ErrChanged):
		return ExitChanged
	}
	return ExitFailure
}

// joined finds, along err's chain of single wrappers, the first error that
// joins several; nil when there is none.
func joined(err error) []error {
	for err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			return j.Unwrap()
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// WorseExit is the exit code of two outcomes together: 2 (bad input, which
// holds for every region alike) over 1 (any other failure) over 5 (refused
// by a guard) over 3 (not found) over 4 (changed) over 0. A failure says
// the least about the image, a refusal (an image exists, but not one you may
// use) more than an absence, and a change is still a success whose new ids
// are printed.
func WorseExit(a, b int) int {
	if exitRank(b) > exitRank(a) {
		return b
	}
	return a
}

func exitRank(code int) int {
	switch code {
	case ExitOK:
		return 0
	case ExitChanged:
		return 1
	case ExitNotFound:
		return 2
	case ExitGuard:
		return 3
	case ExitUsage:
		return 5
	}
	return 4 // ExitFailure, and any code this table does not know
}
