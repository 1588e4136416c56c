package image

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/containerd/remotes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layer downloads: a pull reads at most maxConcurrentDownloads layers from
// the registry at once (containerd's CRI default), the one being unpacked
// and the next ones, which run ahead by up to readAheadChunks chunks each.
const (
	maxConcurrentDownloads = 3
	streamChunk            = 1 << 20
	readAheadChunks        = 16
)

// readAhead downloads the layers of one image for unpackLayers, which takes
// them bottom first: taking a layer starts its download, unless it runs
// already, and those of the next layers, so that a layer's bytes come
// while the layers below it are unpacked. Only the goroutine unpacking the
// image uses a readAhead.
type readAhead struct {
	ctx       context.Context
	chunks    *chunkPool
	fetcher   remotes.Fetcher
	layers    []ocispec.Descriptor
	downloads []*download // started and not taken yet
}

func newReadAhead(ctx context.Context, chunks *chunkPool, fetcher remotes.Fetcher, layers []ocispec.Descriptor) *readAhead {
	return &readAhead{ctx: ctx, chunks: chunks, fetcher: fetcher, layers: layers, downloads: make([]*download, len(layers))}
}

// take returns the download of layer i, which the caller reads and closes.
func (a *readAhead) take(i int) io.ReadCloser {
	for j := i; j < len(a.layers) && j < i+maxConcurrentDownloads; j++ {
		if a.downloads[j] == nil {
			a.downloads[j] = startDownload(a.ctx, a.chunks, a.fetcher, a.layers[j])
		}
	}
	d := a.downloads[i]
	a.downloads[i] = nil
	return d
}

// close stops the downloads nobody took (layers found unpacked meanwhile,
// or a failed pull).
func (a *readAhead) close() {
	for i, d := range a.downloads {
		if d != nil {
			d.Close()
			a.downloads[i] = nil
		}
	}
}

// download is one layer's registry response, read by a goroutine of its
// own into a bounded queue of chunks. It is an io.ReadCloser for one
// reader.
type download struct {
	pool   *chunkPool
	chunks chan []byte
	err    error // why the download ended early; read once chunks is closed
	cancel context.CancelFunc
	cur    []byte
	buf    *[streamChunk]byte // backs cur
}

func startDownload(ctx context.Context, pool *chunkPool, fetcher remotes.Fetcher, desc ocispec.Descriptor) *download {
	ctx, cancel := context.WithCancel(ctx)
	d := &download{pool: pool, chunks: make(chan []byte, readAheadChunks), cancel: cancel}
	go func() {
		defer close(d.chunks)
		d.err = d.run(ctx, fetcher, desc)
	}()
	return d
}

// run reads the layer's desc.Size bytes into the queue.
func (d *download) run(ctx context.Context, fetcher remotes.Fetcher, desc ocispec.Descriptor) error {
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	r := io.LimitReader(rc, desc.Size)
	for {
		buf := d.pool.get()
		n, err := io.ReadFull(r, buf[:])
		if n > 0 {
			select {
			case d.chunks <- buf[:n]:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil // the reader finds out whether all bytes came
		case err != nil:
			return fmt.Errorf("read %s: %w", desc.Digest, err)
		}
	}
}

func (d *download) Read(p []byte) (int, error) {
	for len(d.cur) == 0 {
		d.recycle()
		chunk, ok := <-d.chunks
		if !ok {
			if d.err != nil {
				return 0, d.err
			}
			return 0, io.EOF
		}
		d.cur, d.buf = chunk, (*[streamChunk]byte)(chunk[:streamChunk])
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

// recycle returns the chunk read last to the pool.
func (d *download) recycle() {
	if d.buf != nil {
		d.pool.put(d.buf)
		d.buf = nil
	}
}

// Close stops the download and drops what it read ahead.
func (d *download) Close() error {
	d.cancel()
	d.recycle()
	for chunk := range d.chunks {
		d.pool.put((*[streamChunk]byte)(chunk[:streamChunk]))
	}
	return nil
}

// fanOut copies r to every writer in ws: each chunk goes to all writers at
// once, and the next chunk is read meanwhile. A writer is never called by
// two goroutines at a time. Its two buffers come from chunks. It returns
// the bytes copied.
func fanOut(chunks *chunkPool, r io.Reader, ws ...io.Writer) (int64, error) {
	b0, b1 := chunks.get(), chunks.get()
	// Every return below comes after wait: no writer holds a buffer then.
	defer chunks.put(b1)
	defer chunks.put(b0)
	bufs := [2][]byte{b0[:], b1[:]}
	errs := make([]error, len(ws))
	done := make(chan struct{}, len(ws))
	pending := 0
	wait := func() error {
		for ; pending > 0; pending-- {
			<-done
		}
		return errors.Join(errs...)
	}
	var total int64
	for i := 0; ; i ^= 1 {
		n, rerr := io.ReadFull(r, bufs[i])
		if err := wait(); err != nil {
			return total, err
		}
		if n > 0 {
			chunk := bufs[i][:n]
			for j, w := range ws {
				pending++
				go func() {
					_, errs[j] = w.Write(chunk)
					done <- struct{}{}
				}()
			}
			total += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return total, wait()
		}
		if rerr != nil {
			return total, errors.Join(rerr, wait())
		}
	}
}
