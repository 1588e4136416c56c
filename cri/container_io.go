package cri

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/cio"
	"github.com/containerd/log"

	"github.com/podshim/podshim/cri/logs"
)

// containerIO connects a container's stdio FIFOs to its log file and to
// attach clients. The FIFOs live in the container's volatile dir, so a
// restarted podshim opens them again and logging goes on.
type containerIO struct {
	dio  *cio.DirectIO
	log  *logs.File
	done chan struct{} // closed when stdout and stderr reached EOF

	mu      sync.Mutex
	stdin   io.WriteCloser
	outSubs map[*subscriber]struct{}
}

type subscriber struct {
	stdout, stderr io.Writer
}

// fifoSet returns the FIFO paths of a container.
func fifoSet(dir string, stdin, tty bool) *cio.FIFOSet {
	cfg := cio.Config{
		Terminal: tty,
		Stdout:   filepath.Join(dir, "stdout"),
	}
	if !tty {
		cfg.Stderr = filepath.Join(dir, "stderr")
	}
	if stdin {
		cfg.Stdin = filepath.Join(dir, "stdin")
	}
	return cio.NewFIFOSet(cfg, nil)
}

// openIO opens (creating when needed) the FIFOs in dir and starts copying
// output to the log file at logPath ("" for none), counting its bytes into
// counter.
func openIO(ctx context.Context, dir, logPath string, stdin, tty bool, counter logs.Counter) (*containerIO, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	dio, err := cio.NewDirectIO(ctx, fifoSet(dir, stdin, tty))
	if err != nil {
		return nil, err
	}
	ci := &containerIO{dio: dio, done: make(chan struct{}), outSubs: map[*subscriber]struct{}{}}
	if logPath != "" {
		if ci.log, err = logs.Open(ctx, logPath); err != nil {
			dio.Cancel()
			dio.Close()
			return nil, err
		}
		ci.log.SetCounter(counter)
	}
	ci.stdin = dio.Stdin
	var wg sync.WaitGroup
	copyStream := func(stream string, r io.Reader) {
		defer wg.Done()
		if err := logs.Copy(ci.log, stream, r, 0, ci.tee(stream)); err != nil {
			log.G(ctx).WithError(err).Warnf("copy container %s", stream)
		}
	}
	wg.Add(1)
	go copyStream(logs.Stdout, dio.Stdout)
	if !tty && dio.Stderr != nil {
		wg.Add(1)
		go copyStream(logs.Stderr, dio.Stderr)
	}
	go func() {
		wg.Wait()
		close(ci.done)
	}()
	return ci, nil
}

// tee returns the function that hands a stream's raw output to attach
// clients.
func (c *containerIO) tee(stream string) func([]byte) {
	return func(b []byte) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for s := range c.outSubs {
			w := s.stdout
			if stream == logs.Stderr {
				w = s.stderr
			}
			if w != nil {
				_, _ = w.Write(b)
			}
		}
	}
}

// closeStdin closes the container's stdin (stdin_once after the first
// attach); later attaches get no input through.
func (c *containerIO) closeStdin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stdin != nil {
		c.stdin.Close()
		c.stdin = nil
	}
}

// waitOutput waits until the output streams are drained, at most timeout:
// a process that left children holding stdout open would block forever.
func (c *containerIO) waitOutput(timeout time.Duration) {
	select {
	case <-c.done:
	case <-time.After(timeout):
	}
}

// close stops copying and closes the FIFOs and the log file.
func (c *containerIO) close() {
	c.dio.Cancel()
	c.dio.Close()
	if c.log != nil {
		c.log.Close()
	}
}

// creator returns the cio.Creator that hands the task these FIFOs.
func (c *containerIO) creator() cio.Creator {
	return func(string) (cio.IO, error) { return c.dio, nil }
}

// attacher returns the cio.Attach for reconnecting to a running task.
func (c *containerIO) attacher() cio.Attach {
	return func(*cio.FIFOSet) (cio.IO, error) { return c.dio, nil }
}
