// Package syncio has a writer and a buffer that several goroutines may
// write at once: each Write is whole, never cut by another goroutine's, and
// a reader may look at the buffer while others write.
package syncio

import (
	"bytes"
	"io"
	"sync"
)

// Writer passes Writes on to the writer it wraps one at a time, until it is
// closed; after that it drops them.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes p to the wrapped writer in one Write, while no other Write
// is in progress. Once the Writer is closed it writes nothing and reports
// p written.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	return w.w.Write(p)
}

// Close waits for a Write in progress and drops every later one, so the
// owner of the wrapped writer is free to read or reuse it. The wrapped
// writer itself is not closed.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	return nil
}

// Buffer is a bytes.Buffer for concurrent use; its zero value is empty and
// ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Reset empties the buffer.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}
