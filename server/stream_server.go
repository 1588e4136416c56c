package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/containerd/log"
	"k8s.io/cri-streaming/pkg/streaming"
)

// StreamServer is the HTTP server behind Exec, Attach and PortForward URLs
// (SPDY and websocket, from the streaming library kubelet's runtimes
// share).
type StreamServer struct {
	streaming.Server
	listener net.Listener
	http     *http.Server
}

// NewStreamServer listens on addr (host:port; port 0 picks one) and returns
// the server handing out URLs on the address it really listens on.
func NewStreamServer(addr string, rt streaming.Runtime) (*StreamServer, error) {
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
	return &StreamServer{Server: srv, listener: l, http: &http.Server{Handler: srv}}, nil
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
