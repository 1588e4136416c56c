package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsServer(t *testing.T) {
	off, err := startObservability(context.Background(), Config{})
	if err != nil || off.metrics != nil || off.requests != nil || off.phases != nil {
		t.Fatalf("no address: %+v, %v; want everything off", off, err)
	}
	off.Stop()
	if _, err := loadConfig([]string{"--config", "/dev/null", "--metrics-address", "0.0.0.0:9090"}); err == nil || !strings.Contains(err.Error(), "metrics_address") {
		t.Fatalf("a wildcard metrics address: err = %v", err)
	}
	sock := filepath.Join(t.TempDir(), "metrics.sock")
	cfg, err := loadConfig([]string{"--config", "/dev/null", "--metrics-address", "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	o, err := startObservability(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	code, body := get(t, client, "/metrics")
	if code != 200 || !strings.Contains(body, "podshim_cri_requests_in_flight 0") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics: %d %.300q", code, body)
	}
	if code, _ := get(t, client, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("the metrics server serves pprof: %d", code)
	}
}
