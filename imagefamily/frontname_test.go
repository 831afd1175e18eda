package imagefamily

import (
	"fmt"
	"testing"
)

func TestFrontName(t *testing.T) {
	names := map[string]string{"max age": "--max-age"}
	ve := &ValidationError{Field: "max age", Value: "0s", Rule: "it must be positive"}
	if got, name, ok := FrontName(fmt.Errorf("wrapped: %w", ve), names); got != ve || name != "--max-age" || !ok {
		t.Errorf("wrapped ValidationError: %v %q %v", got, name, ok)
	}
	other := &ValidationError{Field: "region", Value: "", Rule: "at least one region is required"}
	if got, name, ok := FrontName(other, names); got != other || name != "" || ok {
		t.Errorf("field without a front name: %v %q %v", got, name, ok)
	}
	if got, name, ok := FrontName(ErrNotFound, names); got != nil || name != "" || ok {
		t.Errorf("not a ValidationError: %v %q %v", got, name, ok)
	}
}
