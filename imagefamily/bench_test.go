package imagefamily

import (
	"context"
	"testing"
	"time"
)

// BenchmarkResolve measures one full lookup (validation, credentials,
// signing, TLS on a warm connection, mapping) against the emulator.
func BenchmarkResolve(b *testing.B) {
	srv := emulator(&testing.T{})
	defer srv.Close()
	r := request(srv)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Resolve(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanOut30 resolves 30 regions against an emulator that adds 100ms
// to every answer; compare its ns/op with one call's 100ms.
func BenchmarkFanOut30(b *testing.B) {
	srv := emulator(&testing.T{})
	defer srv.Close()
	srv.Latency(100 * time.Millisecond)
	regions := manyRegions(srv, 30)
	r := request(srv)
	for b.Loop() {
		if _, err := ResolveRegions(context.Background(), r, regions, 30); err != nil {
			b.Fatal(err)
		}
	}
}
