package logs

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/fifo"
)

// TestCopyFromFIFO copies from a FIFO opened as containerd's cio opens a
// container's stdout (the reader podshim uses for real), through the
// pooled-buffer path: a line arriving in pieces is one record, a long line
// is split, and the writer's close ends the copy.
func TestCopyFromFIFO(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "stdout")
	r, err := fifo.OpenFifo(ctx, path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(syscall.Conn); !ok {
		t.Fatal("a FIFO reader offers no file descriptor: Copy would not use pooled buffers")
	}
	f, _ := Open(context.Background(), filepath.Join(dir, "0.log"))
	f.now = fixedClock()
	done := make(chan error)
	go func() { done <- Copy(f, Stdout, r, 16, nil) }()

	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, piece := range []string{"ab", "c\nde", "fghijklmnopqrstuvwxyz", "\n", "tail"} {
		w.WriteString(piece)
		time.Sleep(5 * time.Millisecond) // separate reads
	}
	w.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Copy did not end when the FIFO's writer closed")
	}
	f.Close()
	data, _ := os.ReadFile(f.Path())
	ts := "2026-11-23T08:00:00.123456789Z"
	want := ts + " stdout F abc\n" + ts + " stdout P defghijklmnopqrs\n" + ts + " stdout F tuvwxyz\n" + ts + " stdout P tail\n"
	if string(data) != want {
		t.Fatalf("log =\n%s\nwant\n%s", data, want)
	}
}

// TestCopyEndsWhenReaderClosed: closing the read side (what podshim does
// once a container's output is drained) ends a Copy blocked waiting for
// data, without an error.
func TestCopyEndsWhenReaderClosed(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	done := make(chan error)
	go func() { done <- Copy(nil, Stdout, pr, 0, nil) }()
	time.Sleep(20 * time.Millisecond)
	pr.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Copy returned %v after its reader was closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Copy did not end when its reader was closed")
	}
}

// TestIdleCopiesHoldNoBuffers: copies waiting on pipes with nothing to read
// hold no read buffer (32 KiB each if they did).
func TestIdleCopiesHoldNoBuffers(t *testing.T) {
	const n = 200
	var writers []*os.File
	done := make(chan error, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		writers = append(writers, pw)
		pw.WriteString("one line\n") // every copy reads once, then idles
		go func() { done <- Copy(nil, Stdout, pr, 0, nil) }()
	}
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	for _, w := range writers {
		w.Close()
	}
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if limit := int64(n * readSize / 4); grown > limit {
		t.Fatalf("%d idle copies grew the heap by %d KiB (limit %d KiB): they hold read buffers", n, grown/1024, limit/1024)
	}
	t.Logf("%d idle copies: heap grew by %d KiB", n, grown/1024)
}
