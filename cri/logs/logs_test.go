package logs

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 123456789, time.UTC)
	return func() time.Time { return t0 }
}

func TestCopyFormatsAndSplits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod", "c", "0.log")
	f, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	f.now = fixedClock()
	long := strings.Repeat("x", 20)
	input := "hello\n\nworld " + long + "\ntail-without-a-newline"
	var teed strings.Builder
	if err := Copy(f, Stdout, strings.NewReader(input), 16, func(b []byte) { teed.Write(b) }); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, _ := os.ReadFile(path)
	ts := "2026-11-23T08:00:00.123456789Z"
	want := strings.Join([]string{
		ts + " stdout F hello",
		ts + " stdout F ",
		ts + " stdout P world xxxxxxxxxx",
		ts + " stdout F xxxxxxxxxx",
		ts + " stdout P tail-without-a-n",
		ts + " stdout P ewline",
	}, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("log =\n%s\nwant\n%s", got, want)
	}
	if teed.String() != input {
		t.Fatalf("tee got %q, want the raw input", teed.String())
	}
}

func TestReopenAfterRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.WriteRecord(Stderr, false, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteRecord(Stderr, false, []byte("after")); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(old), " stderr F before\n") || strings.Contains(string(old), "after") {
		t.Fatalf("rotated file = %q", old)
	}
	if !strings.HasSuffix(string(cur), " stderr F after\n") || strings.Contains(string(cur), "before") {
		t.Fatalf("new file = %q", cur)
	}
}

func TestConcurrentStreamsDoNotInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, _ := Open(context.Background(), path)
	line := strings.Repeat("a", 1000) + "\n"
	done := make(chan struct{})
	for _, s := range []string{Stdout, Stderr} {
		go func(s string) {
			Copy(f, s, strings.NewReader(strings.Repeat(line, 200)), 0, nil)
			done <- struct{}{}
		}(s)
	}
	<-done
	<-done
	f.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("got %d records, want 400", len(lines))
	}
	for _, l := range lines {
		parts := strings.SplitN(l, " ", 4)
		if len(parts) != 4 || parts[2] != "F" || parts[3] != line[:1000] {
			t.Fatalf("malformed record %q", l[:min(len(l), 80)])
		}
	}
}

func BenchmarkCopy(b *testing.B) {
	path := filepath.Join(b.TempDir(), "0.log")
	f, _ := Open(context.Background(), path)
	defer f.Close()
	payload := strings.Repeat(strings.Repeat("y", 120)+"\n", 1000)
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		Copy(f, Stdout, strings.NewReader(payload), 0, nil)
	}
}

// TestTeeGetsOutputBeforeNewline: an attached client sees "echo -n" output
// at once, while the log waits for the line to end.
func TestTeeGetsOutputBeforeNewline(t *testing.T) {
	f, _ := Open(context.Background(), filepath.Join(t.TempDir(), "0.log"))
	defer f.Close()
	pr, pw := io.Pipe()
	teed := make(chan string, 10)
	done := make(chan error)
	go func() { done <- Copy(f, Stdout, pr, 0, func(b []byte) { teed <- string(b) }) }()
	pw.Write([]byte("hello"))
	select {
	case got := <-teed:
		if got != "hello" {
			t.Fatalf("tee got %q", got)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("tee got nothing before the newline")
	}
	if data, _ := os.ReadFile(f.Path()); len(data) != 0 {
		t.Fatalf("log has %q before the line ended", data)
	}
	pw.Write([]byte(" world\n"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f.Path())
	if !strings.HasSuffix(string(data), " stdout F hello world\n") || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("log = %q", data)
	}
}

// TestSplitAcrossReads: a line arriving in pieces is one record; a line
// longer than the maximum spanning reads is split at the maximum.
func TestSplitAcrossReads(t *testing.T) {
	f, _ := Open(context.Background(), filepath.Join(t.TempDir(), "0.log"))
	f.now = fixedClock()
	pr, pw := io.Pipe()
	done := make(chan error)
	go func() { done <- Copy(f, Stderr, pr, 16, nil) }()
	for _, piece := range []string{"ab", "c\nde", "fghijklmnopqrstuvwxyz", "\n"} {
		pw.Write([]byte(piece))
	}
	pw.Close()
	<-done
	f.Close()
	data, _ := os.ReadFile(f.Path())
	ts := "2026-11-23T08:00:00.123456789Z"
	want := ts + " stderr F abc\n" + ts + " stderr P defghijklmnopqrs\n" + ts + " stderr F tuvwxyz\n"
	if string(data) != want {
		t.Fatalf("log =\n%s\nwant\n%s", data, want)
	}
}

type countingCounter struct{ written, dropped int }

func (c *countingCounter) LogWritten(n int) { c.written += n }
func (c *countingCounter) LogDropped(n int) { c.dropped += n }

// TestCounter: written bytes are the file's growth; what arrives after
// Close is counted as dropped.
func TestCounter(t *testing.T) {
	f, _ := Open(context.Background(), filepath.Join(t.TempDir(), "0.log"))
	c := &countingCounter{}
	f.SetCounter(c)
	if err := Copy(f, Stdout, strings.NewReader("one\ntwo\n"), 0, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if c.written != int(fi.Size()) || c.written == 0 || c.dropped != 0 {
		t.Errorf("written %d, dropped %d; file has %d bytes", c.written, c.dropped, fi.Size())
	}
	f.Close()
	if err := Copy(f, Stdout, strings.NewReader("lost\n"), 0, nil); err != nil {
		t.Fatal(err)
	}
	if c.dropped != len("lost") || c.written != int(fi.Size()) {
		t.Errorf("after Close: written %d, dropped %d; want dropped 4", c.written, c.dropped)
	}
}
