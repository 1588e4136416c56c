package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/containerd/mount"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestFanOutCopiesToEveryWriter(t *testing.T) {
	data := make([]byte, 3*streamChunk+12345)
	rand.NewChaCha8([32]byte{1}).Read(data)
	var a, b bytes.Buffer
	pool := newChunkPool()
	n, err := fanOut(pool, bytes.NewReader(data), &a, &b)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("fanOut = %d, %v", n, err)
	}
	if !bytes.Equal(a.Bytes(), data) || !bytes.Equal(b.Bytes(), data) {
		t.Fatal("a writer got other bytes")
	}
	if got := pool.size(); got != 2 {
		t.Fatalf("fanOut gave back %d buffers to the pool, want its 2", got)
	}
	if n, err := fanOut(newChunkPool(), bytes.NewReader(nil), &a); n != 0 || err != nil {
		t.Fatalf("empty fanOut = %d, %v", n, err)
	}
}

func TestFanOutStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	var good bytes.Buffer
	bad := &failingWriter{after: 2, err: boom}
	_, err := fanOut(newChunkPool(), bytes.NewReader(make([]byte, 10*streamChunk)), &good, bad)
	if !errors.Is(err, boom) {
		t.Fatalf("fanOut = %v, want %v", err, boom)
	}
	if bad.calls.Load() != 3 || good.Len() != 3*streamChunk {
		t.Fatalf("writes went on after the error: %d calls, %d bytes", bad.calls.Load(), good.Len())
	}

	readErr := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(make([]byte, streamChunk+1)), errReader{readErr})
	if _, err := fanOut(newChunkPool(), r, &good); !errors.Is(err, readErr) {
		t.Fatalf("fanOut of a failing reader = %v", err)
	}
}

// failingWriter fails its write number after+1.
type failingWriter struct {
	after int64
	err   error
	calls atomic.Int64
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.calls.Add(1) > w.after {
		return 0, w.err
	}
	return len(p), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// fakeFetcher serves blobs from memory, counting the bytes read from them.
type fakeFetcher struct {
	blobs map[digest.Digest][]byte
	read  atomic.Int64
	err   error
}

func (f *fakeFetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if f.err != nil {
		return nil, f.err
	}
	return io.NopCloser(&countingReader{r: bytes.NewReader(f.blobs[desc.Digest]), n: &f.read}), nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func blobDesc(t *testing.T, f *fakeFetcher, size int) ocispec.Descriptor {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(size)}).Read(data)
	d := digest.FromBytes(data)
	if f.blobs == nil {
		f.blobs = map[digest.Digest][]byte{}
	}
	f.blobs[d] = data
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: int64(size)}
}

func TestReadAheadIsBoundedAndInOrder(t *testing.T) {
	f := &fakeFetcher{}
	big := 2 * readAheadChunks * streamChunk
	layers := []ocispec.Descriptor{blobDesc(t, f, 1000), blobDesc(t, f, big), blobDesc(t, f, 3000), blobDesc(t, f, 4000)}
	a := newReadAhead(context.Background(), newChunkPool(), f, layers)
	defer a.close()

	first := a.take(0) // starts layers 0 to 2, not 3
	got, err := io.ReadAll(first)
	first.Close()
	if err != nil || !bytes.Equal(got, f.blobs[layers[0].Digest]) {
		t.Fatalf("layer 0: %d bytes, %v", len(got), err)
	}
	// Layer 1 runs ahead by its queue, plus the chunk waiting to be queued.
	want := int64(1000 + (readAheadChunks+1)*streamChunk + 3000)
	waitFor(t, func() bool { return f.read.Load() == want }, "read-ahead to stop at its bound")
	time.Sleep(50 * time.Millisecond)
	if n := f.read.Load(); n != want {
		t.Fatalf("read ahead %d bytes, want %d", n, want)
	}
	if a.downloads[3] != nil {
		t.Fatal("layer 3 started before layer 1 was taken")
	}

	for i := 1; i < len(layers); i++ {
		d := a.take(i)
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil || !bytes.Equal(got, f.blobs[layers[i].Digest]) {
			t.Fatalf("layer %d: %d bytes, %v", i, len(got), err)
		}
	}
}

func TestReadAheadCloseStopsDownloads(t *testing.T) {
	f := &fakeFetcher{}
	big := 4 * readAheadChunks * streamChunk
	layers := []ocispec.Descriptor{blobDesc(t, f, 10), blobDesc(t, f, big)}
	a := newReadAhead(context.Background(), newChunkPool(), f, layers)
	d := a.take(0)
	io.ReadAll(d)
	d.Close()
	a.close() // layer 1 never taken: its download stops, its goroutine ends
	if n := f.read.Load(); n >= int64(big) {
		t.Fatalf("closed download read %d bytes", n)
	}

	fetchErr := errors.New("registry down")
	f.err = fetchErr
	a = newReadAhead(context.Background(), newChunkPool(), f, layers)
	defer a.close()
	if _, err := io.ReadAll(a.take(0)); !errors.Is(err, fetchErr) {
		t.Fatalf("read of a failed download = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestAppliesLocally(t *testing.T) {
	dir := t.TempDir()
	gzip := ocispec.MediaTypeImageLayerGzip
	for _, c := range []struct {
		name      string
		mediaType string
		mounts    []mount.Mount
		want      bool
	}{
		{"bind", gzip, []mount.Mount{{Type: "bind", Source: dir, Options: []string{"rbind", "rw"}}}, true},
		{"overlay", "application/vnd.docker.image.rootfs.diff.tar.gzip", []mount.Mount{{Type: "overlay", Source: "overlay",
			Options: []string{"workdir=/x/work", "upperdir=" + dir, "lowerdir=/x/1:/x/2"}}}, true},
		{"zstd", ocispec.MediaTypeImageLayerZstd, []mount.Mount{{Type: "bind", Source: dir}}, true},
		{"encrypted", gzip + "+encrypted", []mount.Mount{{Type: "bind", Source: dir}}, false},
		{"unseen bind source", gzip, []mount.Mount{{Type: "bind", Source: dir + "/missing"}}, false},
		{"overlay without upperdir", gzip, []mount.Mount{{Type: "overlay", Options: []string{"lowerdir=" + dir}}}, false},
		{"block device", gzip, []mount.Mount{{Type: "ext4", Source: "/dev/mapper/x"}}, false},
		{"two mounts", gzip, []mount.Mount{{Type: "bind", Source: dir}, {Type: "bind", Source: dir}}, false},
	} {
		if got := appliesLocally(c.mediaType, c.mounts); got != c.want {
			t.Errorf("%s: appliesLocally = %v, want %v", c.name, got, c.want)
		}
	}
}
