// Package logs writes container output in the CRI log format that kubelet
// and `crictl logs` read:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>
//
// F marks the last chunk of a line, P a chunk of a line longer than the
// maximum line size, continued by the next record.
package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/log"
)

// Stream names as they appear in the log.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// DefaultMaxLineSize is the longest chunk written as one record; longer
// lines are split into P records (containerd's CRI uses the same size).
const DefaultMaxLineSize = 16 * 1024

// File is one container's log file, shared by its stdout and stderr
// copiers. Records are written whole under a lock, so the two streams never
// interleave inside a record. Reopen swaps the file (kubelet rotates logs
// by renaming the file and calling ReopenContainerLog).
type File struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	buf     []byte
	now     func() time.Time
	counter Counter
	failing error // the error of the first failed write since the last one that succeeded
	dropped int   // bytes dropped since then
	log     *log.Entry
}

// Counter counts the bytes of log records written and dropped (records
// that could not be written: the file is closed or the write failed).
// metrics.Metrics implements it; it must not block.
type Counter interface {
	LogWritten(n int)
	LogDropped(n int)
}

type noCounter struct{}

func (noCounter) LogWritten(int) {}
func (noCounter) LogDropped(int) {}

// Open opens (creating it and its directory if needed) the log file at path
// for appending. Write failures are logged with ctx's logger (its fields
// name the container).
func Open(ctx context.Context, path string) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f, now: time.Now, counter: noCounter{}, log: log.G(ctx)}, nil
}

func openAppend(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create log dir for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	return f, nil
}

// SetCounter makes the file count the bytes it writes and drops into c
// (nil: not counted). Call it before the first write.
func (l *File) SetCounter(c Counter) {
	if c == nil {
		c = noCounter{}
	}
	l.mu.Lock()
	l.counter = c
	l.mu.Unlock()
}

// Path is the file's path.
func (l *File) Path() string { return l.path }

// Reopen closes the current file and opens the path again, creating a new
// file if the old one was moved away.
func (l *File) Reopen() error {
	f, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Close closes the file. Later writes are dropped.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// WriteRecord writes one CRI log record for stream; partial marks a chunk
// that the next record continues. content must not contain a newline. A
// record that cannot be written (the file is closed, the file system is
// full) is dropped and counted (see drop), and nil is returned: the
// copier goes on draining the container's output.
func (l *File) WriteRecord(stream string, partial bool, content []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		l.counter.LogDropped(len(content))
		return nil
	}
	tag := " F "
	if partial {
		tag = " P "
	}
	b := l.buf[:0]
	b = l.now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, tag...)
	b = append(b, content...)
	b = append(b, '\n')
	l.buf = b
	n, err := l.f.Write(b)
	if err == nil {
		l.counter.LogWritten(n)
		if l.failing != nil {
			l.log.WithFields(log.Fields{"path": l.path, "droppedBytes": l.dropped}).Info("container log writable again: logging resumes")
			l.failing, l.dropped = nil, 0
		}
		return nil
	}
	l.drop(b, n, err)
	return nil
}

// drop accounts for record b of which a failed write (a full file system,
// an I/O error) wrote n bytes: the n bytes are cut off again, so that the
// next record does not continue a torn one, and the whole record counts as
// dropped. The container's output is still drained (WriteRecord does not
// fail), so the container never blocks on a full pipe; logging resumes
// with the first write that succeeds. The first failure of a run is
// logged, and the recovery with what was dropped meanwhile.
func (l *File) drop(b []byte, n int, err error) {
	if n > 0 {
		if st, serr := l.f.Stat(); serr == nil && st.Size() >= int64(n) {
			if terr := l.f.Truncate(st.Size() - int64(n)); terr != nil {
				l.counter.LogWritten(n) // the torn bytes stay
			}
		}
	}
	l.counter.LogDropped(len(b))
	l.dropped += len(b)
	if l.failing == nil {
		l.failing = err
		l.log.WithError(err).WithField("path", l.path).Warn("container log not writable: dropping its records until writes succeed again (counted in podshim_container_log_bytes_dropped_total)")
	}
}
