package testimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is an in-process OCI distribution registry (go-containerregistry's
// pkg/registry, blobs in memory) serving plain http on 127.0.0.1 at a random
// port. It records every request it serves.
type Registry struct {
	addr     string
	server   *http.Server
	done     chan error
	mu       sync.Mutex
	requests []string

	closeOnce sync.Once
	closeErr  error
}

// StartRegistry starts a registry on 127.0.0.1:<random port>. It stops when
// Close is called (ctx only bounds the start-up).
func StartRegistry(ctx context.Context) (*Registry, error) {
	return StartRegistryAt(ctx, "127.0.0.1:0")
}

// StartRegistryAt starts a registry listening on addr, which must be a
// loopback address ("127.0.0.1:0" picks a free port).
func StartRegistryAt(ctx context.Context, addr string) (*Registry, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("registry address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("registry address %q: only loopback addresses are allowed", addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for registry on %s: %w", addr, err)
	}
	r := &Registry{addr: ln.Addr().String(), done: make(chan error, 1)}
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.server = &http.Server{
		Handler:           r.record(handler),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		err := r.server.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	return r, nil
}

// record wraps h to log "METHOD /path" of every request.
func (r *Registry) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// Addr returns the registry's host:port, for example "127.0.0.1:41234".
func (r *Registry) Addr() string {
	return r.addr
}

// Push uploads img as repoTag (a repository path with a tag, such as
// "library/busybox:1.36") to this registry, that is as
// "<Addr()>/library/busybox:1.36".
func (r *Registry) Push(repoTag string, img v1.Image) error {
	return r.PushContext(context.Background(), repoTag, img)
}

// PushContext is Push bounded by ctx.
func (r *Registry) PushContext(ctx context.Context, repoTag string, img v1.Image) error {
	ref, err := name.NewTag(r.addr+"/"+repoTag, name.Insecure)
	if err != nil {
		return fmt.Errorf("push %s: %w", repoTag, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// Requests returns the requests served so far, oldest first, each as
// "METHOD /path" (for example "GET /v2/library/busybox/manifests/1.36").
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// ResetRequests forgets the requests recorded so far.
func (r *Registry) ResetRequests() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = nil
}

// Close stops the registry and waits for its server to finish. Calling it
// again returns the first call's result.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		// Shutdown waits for requests in flight, but also up to 5 s for a
		// connection a client opened and never sent a request on (Go's
		// transport dials such spares): after a grace period the rest is
		// closed.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := r.server.Shutdown(ctx); err != nil {
			if cerr := r.server.Close(); cerr != nil {
				r.closeErr = fmt.Errorf("stop registry %s: %w", r.addr, cerr)
				return
			}
		}
		if err := <-r.done; err != nil {
			r.closeErr = fmt.Errorf("registry %s: %w", r.addr, err)
		}
	})
	return r.closeErr
}
