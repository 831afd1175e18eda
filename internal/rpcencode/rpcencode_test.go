package rpcencode

import "testing"

func TestEncode(t *testing.T) {
	cases := map[string]string{
		"":                 "",
		"AZaz09-_.~":       "AZaz09-_.~",
		"a b*~é/+=&":       "a%20b%2A~%C3%A9%2F%2B%3D%26",
		"2024-01-01T00:00": "2024-01-01T00%3A00",
	}
	for in, want := range cases {
		if got := Encode(in); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
	}
}
