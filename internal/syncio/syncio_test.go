package syncio

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Lines written from many goroutines at once arrive whole, through a
// Writer and into a Buffer alike.
func TestConcurrentWritesStayWhole(t *testing.T) {
	var under bytes.Buffer
	var buf Buffer
	for name, w := range map[string]interface{ Write([]byte) (int, error) }{"Writer": NewWriter(&under), "Buffer": &buf} {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					fmt.Fprintf(w, "goroutine %d line %03d %s\n", g, i, strings.Repeat("x", 64))
				}
			}()
		}
		wg.Wait()
		out := under.String()
		if name == "Buffer" {
			out = buf.String()
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 800 {
			t.Fatalf("%s: %d lines, want 800", name, len(lines))
		}
		for _, l := range lines {
			var g, i int
			if n, err := fmt.Sscanf(l, "goroutine %d line %d", &g, &i); n != 2 || err != nil || len(l) != len("goroutine 0 line 000 ")+64 {
				t.Fatalf("%s: a line was cut: %q", name, l)
			}
		}
	}
	buf.Reset()
	if buf.String() != "" {
		t.Errorf("after Reset: %q", buf.String())
	}
}

// After Close nothing reaches the wrapped writer, and the Write still
// reports success, so a late writer does not fail on it.
func TestWriterDropsAfterClose(t *testing.T) {
	var under bytes.Buffer
	w := NewWriter(&under)
	fmt.Fprint(w, "before\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("after\n")); n != 6 || err != nil {
		t.Errorf("Write after Close = %d, %v; want 6, nil", n, err)
	}
	if under.String() != "before\n" {
		t.Errorf("wrapped writer holds %q", under.String())
	}
}
