package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
)

// StreamServer is the HTTP server behind Exec, Attach and PortForward URLs
// (SPDY and websocket, from the streaming library kubelet's runtimes
// share). It listens on loopback only (kubelet proxies the streams) and
// its URLs work once, within a TTL.
type StreamServer struct {
	streaming.Server
	listener net.Listener
	http     *http.Server
	tokens   *tokens
}

// StreamOption changes a StreamServer's defaults.
type StreamOption func(*StreamServer)

// WithTokenTTL sets how long a URL stays usable (DefaultTokenTTL).
func WithTokenTTL(d time.Duration) StreamOption {
	return func(s *StreamServer) { s.tokens.ttl = d }
}

// NewStreamServer listens on addr (a loopback host:port; port 0 picks one)
// and returns the server handing out URLs on the address it really listens
// on.
func NewStreamServer(addr string, rt streaming.Runtime, opts ...StreamOption) (*StreamServer, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for streaming on %s: %w", addr, err)
	}
	cfg := streaming.DefaultConfig
	cfg.Addr = l.Addr().String()
	cfg.BaseURL = &url.URL{Scheme: "http", Host: l.Addr().String()}
	srv, err := streaming.NewServer(cfg, rt)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("create streaming server: %w", err)
	}
	s := &StreamServer{Server: srv, listener: l, tokens: newTokens(DefaultTokenTTL)}
	for _, o := range opts {
		o(s)
	}
	s.http = &http.Server{Handler: s.tokens.guard(srv), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// ServeHTTP serves a streaming request, checking its token first.
func (s *StreamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.http.Handler.ServeHTTP(w, r)
}

// checkLoopback refuses a streaming address that is not on loopback: the
// streams carry a shell into every container.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("stream address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("stream address %q is not on loopback (127.0.0.1, [::1]); the streaming server must not listen on the network", addr)
	}
	return nil
}

// GetExec hands out an exec URL.
func (s *StreamServer) GetExec(r *runtime.ExecRequest) (*runtime.ExecResponse, error) {
	resp, err := s.Server.GetExec(r)
	if err == nil {
		s.tokens.issue(resp.Url)
	}
	return resp, err
}

// GetAttach hands out an attach URL.
func (s *StreamServer) GetAttach(r *runtime.AttachRequest) (*runtime.AttachResponse, error) {
	resp, err := s.Server.GetAttach(r)
	if err == nil {
		s.tokens.issue(resp.Url)
	}
	return resp, err
}

// GetPortForward hands out a port-forward URL.
func (s *StreamServer) GetPortForward(r *runtime.PortForwardRequest) (*runtime.PortForwardResponse, error) {
	resp, err := s.Server.GetPortForward(r)
	if err == nil {
		s.tokens.issue(resp.Url)
	}
	return resp, err
}

// Addr is the address the server listens on.
func (s *StreamServer) Addr() string { return s.listener.Addr().String() }

// Serve serves until ctx ends.
func (s *StreamServer) Serve(ctx context.Context) {
	go func() {
		<-ctx.Done()
		s.http.Close()
	}()
	if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.G(ctx).WithError(err).Error("streaming server stopped")
	}
}
