package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/log"
)

// parseLocalAddress checks the address of a local-only endpoint
// (--debug-address, --metrics-address) and returns what to listen on:
// ("", "", nil) when it is empty (the endpoint is off), ("unix", path) for
// "unix:///path" or "/path", ("tcp", host:port) for a loopback host:port
// ("localhost" becomes 127.0.0.1). Anything that could listen on the
// network (a wildcard, another host's or interface's address, a host name)
// is refused: these endpoints hand out profiles, command lines, goroutine
// stacks and the node's workload figures to whoever connects.
func parseLocalAddress(addr string) (network, address string, err error) {
	switch {
	case addr == "":
		return "", "", nil
	case strings.HasPrefix(addr, "unix://") || strings.HasPrefix(addr, "/"):
		path := strings.TrimPrefix(addr, "unix://")
		if !filepath.IsAbs(path) {
			return "", "", fmt.Errorf("unix socket %q: want an absolute path (unix:///path or /path)", addr)
		}
		return "unix", filepath.Clean(path), nil
	case strings.Contains(addr, "://"):
		return "", "", fmt.Errorf("%q: want a loopback host:port (127.0.0.1:6060) or a unix socket (unix:///path)", addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("%q: want a loopback host:port (127.0.0.1:6060) or a unix socket (unix:///path): %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", fmt.Errorf("%q: bad port %q", addr, port)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		return "", "", fmt.Errorf("%q listens on every interface; the endpoint must only listen on loopback (127.0.0.1, [::1]) or a unix socket", addr)
	case ip == nil:
		return "", "", fmt.Errorf("%q: host %q is not an IP address; use 127.0.0.1, [::1] or localhost", addr, host)
	case !ip.IsLoopback():
		return "", "", fmt.Errorf("%q is not a loopback address; the endpoint must never listen on the network (use 127.0.0.1, [::1] or a unix socket)", addr)
	}
	return "tcp", net.JoinHostPort(ip.String(), port), nil
}

// localServer is an HTTP server on a loopback address or a private unix
// socket (see parseLocalAddress): the debug and the metrics endpoints.
type localServer struct {
	srv    *http.Server
	l      net.Listener
	socket string // the unix socket's path, removed by Stop
}

// startLocalServer serves handler on address (see parseLocalAddress); it
// returns nil when address is empty. name says which endpoint it is, in
// errors and logs. The caller must Stop it.
func startLocalServer(ctx context.Context, name, address string, handler http.Handler) (*localServer, error) {
	network, addr, err := parseLocalAddress(address)
	if err != nil || network == "" {
		return nil, err
	}
	d := &localServer{}
	if network == "unix" {
		d.socket = addr
		d.l, err = listenUnixPrivate(addr)
	} else {
		d.l, err = net.Listen(network, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", name, err)
	}
	// No WriteTimeout: /debug/pprof/profile and /trace answer after the
	// seconds they are asked for.
	d.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.srv.Serve(d.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.G(ctx).WithError(err).Errorf("%s server stopped", name)
		}
	}()
	log.G(ctx).WithField("address", d.Addr()).Infof("%s server listening", name)
	return d, nil
}

// listenUnixPrivate listens on a unix socket only root (the daemon's user)
// may connect to: mode 0600 from the start (umask), checked again by chmod.
// A stale socket is replaced; any other file at path is left alone.
func listenUnixPrivate(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	// The umask is process-wide; podshimd sets it at start-up, before it
	// starts anything that creates files.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Addr is where the server listens: host:port or the socket's path.
func (d *localServer) Addr() string {
	if d.socket != "" {
		return d.socket
	}
	return d.l.Addr().String()
}

// Stop closes the server (a running request is cut after 2 s) and removes
// its unix socket. It does nothing on a nil server.
func (d *localServer) Stop() {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.srv.Close()
	}
	d.l.Close() // in case Serve had not started yet
	if d.socket != "" {
		_ = os.Remove(d.socket)
	}
}
