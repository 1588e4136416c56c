package main

import (
	"context"
	"net"
	"net/http"
	"os"
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

func TestLoadConfigTracing(t *testing.T) {
	cfg, err := loadConfig([]string{"--config", "/dev/null"})
	if err != nil || cfg.OTLPEndpoint != "" || cfg.TracingSamplingRatio != 1 {
		t.Fatalf("default: endpoint %q ratio %v, err %v; want off and 1", cfg.OTLPEndpoint, cfg.TracingSamplingRatio, err)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("otlp_endpoint = \"http://127.0.0.1:4317\"\ntracing_sampling_ratio = 0.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = loadConfig([]string{"--config", path})
	if err != nil || cfg.OTLPEndpoint != "http://127.0.0.1:4317" || cfg.TracingSamplingRatio != 0.25 {
		t.Fatalf("from the file: %q %v, err %v", cfg.OTLPEndpoint, cfg.TracingSamplingRatio, err)
	}
	cfg, err = loadConfig([]string{"--config", path, "--tracing-sampling-ratio", "0"})
	if err != nil || cfg.TracingSamplingRatio != 0 {
		t.Fatalf("flag over file: ratio %v, err %v", cfg.TracingSamplingRatio, err)
	}
	if _, err := loadConfig([]string{"--config", "/dev/null", "--tracing-sampling-ratio", "1.5"}); err == nil || !strings.Contains(err.Error(), "tracing_sampling_ratio") {
		t.Fatalf("ratio 1.5: err = %v", err)
	}
	o, err := startObservability(context.Background(), Config{OTLPEndpoint: "http://127.0.0.1:1", TracingSamplingRatio: 1})
	if err != nil || o.tracing == nil || len(o.containerdOptions()) != 1 {
		t.Fatalf("tracing on: %+v, %v", o, err)
	}
	o.Stop()
}
