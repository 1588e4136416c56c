package main

import (
	"context"
	"net/http"
	"net/http/pprof"
	"runtime"
)

// Sampling rates of the mutex and block profiles while the debug server
// runs: one in mutexProfileFraction contention events, and blocking
// events of blockProfileRate ns or more (shorter ones sampled in
// proportion), so that /debug/pprof/mutex and /debug/pprof/block show
// what concurrent requests wait on at a cost too small to see.
const (
	mutexProfileFraction = 10
	blockProfileRate     = 100_000 // 100 µs
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
	if address != "" {
		runtime.SetMutexProfileFraction(mutexProfileFraction)
		runtime.SetBlockProfileRate(blockProfileRate)
	}
	return startLocalServer(ctx, "debug (net/http/pprof)", address, debugMux())
}
