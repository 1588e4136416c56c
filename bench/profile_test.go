package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGoroutineTotal(t *testing.T) {
	n, err := goroutineTotal([]byte("goroutine profile: total 42\n7 @ 0x1 0x2\n"))
	if err != nil || n != 42 {
		t.Errorf("goroutineTotal = %d, %v; want 42", n, err)
	}
	if _, err := goroutineTotal([]byte("404 page not found\n")); err == nil {
		t.Error("goroutineTotal accepted a page that is no goroutine profile")
	}
}

func TestTotalSamples(t *testing.T) {
	for _, tc := range []struct {
		top  string
		want time.Duration
	}{
		{"Type: cpu\nDuration: 12.05s, Total samples = 1.02s ( 8.46%)\n", 1020 * time.Millisecond},
		{"Duration: 3s, Total samples = 990ms (33.00%)\n", 990 * time.Millisecond},
		{"Duration: 300s, Total samples = 1.50mins (30.00%)\n", 90 * time.Second},
	} {
		got, ok := totalSamples(tc.top)
		if !ok || got != tc.want {
			t.Errorf("totalSamples(%q) = %v, %v; want %v", tc.top, got, ok, tc.want)
		}
	}
	if _, ok := totalSamples("Type: inuse_space\nShowing nodes accounting for 5MB\n"); ok {
		t.Error("totalSamples found CPU time in a heap top list")
	}
}

func TestProfileSummary(t *testing.T) {
	p := Profile{Daemon: "podshimd", Kind: "cpu", During: "during workload 1", PodStarts: 10, SampledMS: 1020}
	if s := p.summary(); !strings.Contains(s, "10 pods, 1020 ms sampled = 102.0 ms per pod") {
		t.Errorf("summary = %q", s)
	}
	p = Profile{Daemon: "podshimd", Kind: "goroutine", During: "at steady state", Goroutines: 88, Error: "boom"}
	if s := p.summary(); !strings.Contains(s, "88 goroutines") || !strings.Contains(s, "(boom)") {
		t.Errorf("summary = %q", s)
	}
}

// TestCPURecording drives a recording against a fake pprof endpoint on a
// unix socket: pieces are gathered until Stop, which waits for the running
// one.
func TestCPURecording(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "debug.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("seconds") != "1" {
			http.Error(w, "want seconds=1", http.StatusBadRequest)
			return
		}
		time.Sleep(30 * time.Millisecond)
		fmt.Fprintf(w, "piece %d", served.Add(1))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()

	p := newProfiler("podshimd", "", sock)
	rec := p.startCPU(context.Background())
	time.Sleep(100 * time.Millisecond)
	parts, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 || int(served.Load()) != len(parts) || string(parts[0]) != "piece 1" {
		t.Errorf("got %d pieces (%q...), server served %d", len(parts), parts, served.Load())
	}

	var none *Profiler
	if rec := none.startCPU(context.Background()); rec != nil {
		t.Error("a nil Profiler started a recording")
	}
	if parts, err := (*cpuRecording)(nil).Stop(); parts != nil || err != nil {
		t.Error("stopping a nil recording returned something")
	}

	srv.Close()
	rec = p.startCPU(context.Background())
	if _, err := rec.Stop(); err == nil {
		t.Error("a recording against a closed endpoint reported no error")
	}
}
