package logs

import (
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// readSize is how much is read at a time.
const readSize = 32 * 1024

// readBuffers are the buffers readChunks reads file descriptors into.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, readSize); return &b }}

// readChunks calls fn with every chunk read from r, until r ends (io.EOF)
// or fn fails. fn must not keep the chunk.
//
// A reader that gives access to its file descriptor (syscall.Conn, as the
// FIFOs of a container's output do) is waited on without a buffer: a buffer
// is taken from a pool only once data is there and returned after fn. An
// idle container's two streams then hold no memory but their goroutines,
// where a buffer each would be 64 KiB per container. Other readers get a
// buffer of their own.
func readChunks(r io.Reader, fn func([]byte) error) error {
	if sc, ok := r.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return readRaw(rc, fn)
		}
	}
	buf := make([]byte, readSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if ferr := fn(buf[:n]); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return err
		}
	}
}

// readRaw is readChunks for a non-blocking file descriptor registered with
// Go's poller.
func readRaw(rc syscall.RawConn, fn func([]byte) error) error {
	for {
		var buf *[]byte
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			b := readBuffers.Get().(*[]byte)
			for {
				n, rerr = unix.Read(int(fd), *b)
				if rerr != unix.EINTR {
					break
				}
			}
			if rerr == unix.EAGAIN {
				readBuffers.Put(b)
				return false // wait until readable
			}
			buf = b
			return true
		})
		if err != nil { // closed under us
			return os.ErrClosed
		}
		if rerr != nil || n == 0 {
			readBuffers.Put(buf)
			if rerr != nil {
				return &os.PathError{Op: "read", Path: "fifo", Err: rerr}
			}
			return io.EOF
		}
		ferr := fn((*buf)[:n])
		readBuffers.Put(buf)
		if ferr != nil {
			return ferr
		}
	}
}
