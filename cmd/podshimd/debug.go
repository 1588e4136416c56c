package main

import (
	"context"
	"net/http"
	"net/http/pprof"
)

// debugMux routes /debug/pprof/ to net/http/pprof on a mux of its own:
// whatever else registers on http.DefaultServeMux is never served here.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startDebugServer serves net/http/pprof, and nothing else, on address: a
// loopback host:port or a unix socket (see parseLocalAddress). It returns
// nil when address is empty. The caller must Stop it.
func startDebugServer(ctx context.Context, address string) (*localServer, error) {
	return startLocalServer(ctx, "debug (net/http/pprof)", address, debugMux())
}
