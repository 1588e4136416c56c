package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/network"
)

// conditions returns the RuntimeReady and NetworkReady conditions.
func conditions(t *testing.T, c criapi.RuntimeServiceClient) (runtimeReady, networkReady *criapi.RuntimeCondition) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := c.Status(ctx, &criapi.StatusRequest{})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for _, cond := range resp.GetStatus().GetConditions() {
		switch cond.Type {
		case criapi.RuntimeReady:
			runtimeReady = cond
		case criapi.NetworkReady:
			networkReady = cond
		}
	}
	if runtimeReady == nil || networkReady == nil {
		t.Fatalf("Status lacks RuntimeReady or NetworkReady: %v", resp.Status)
	}
	return runtimeReady, networkReady
}

// TestStatusNetworkReadyFollowsCNIConfig runs a second podshimd (own dirs,
// own containerd namespace) on an empty CNI conf dir: NetworkReady is false
// with a reason until a config is written, then true without a restart.
func TestStatusNetworkReadyFollowsCNIConfig(t *testing.T) {
	dir := filepath.Join(env.dir, "podshimd-status")
	confDir := filepath.Join(dir, "net.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testenv.StartPodshimd(ctx, dir, testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: env.containerd.Address,
		CNIConfDir:        confDir,
		RegistryConfigDir: env.registryConfigDir,
		// Its own namespace: it must not see (and recover) the shared
		// daemon's pods.
		ExtraArgs: []string{"--containerd-namespace", "podshim-itest-status"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		testenv.UnmountBelow(dir)
	})

	rr, nr := conditions(t, p.Runtime)
	if !rr.Status {
		t.Errorf("RuntimeReady = false (%s: %s) with containerd up", rr.Reason, rr.Message)
	}
	if nr.Status || nr.Reason == "" || nr.Message == "" {
		t.Errorf("NetworkReady with an empty CNI conf dir = %v reason %q message %q; want false with a reason and message", nr.Status, nr.Reason, nr.Message)
	}

	if _, err := network.WriteBridgeConfig(confDir, networkName, bridgeName, podSubnet); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "NetworkReady after writing a CNI config", func() (bool, string) {
		_, nr := conditions(t, p.Runtime)
		return nr.Status, nr.Reason + ": " + nr.Message
	})
	if _, nr := conditions(t, p.Runtime); nr.Reason != "" || nr.Message != "" {
		t.Errorf("NetworkReady true still carries reason %q message %q", nr.Reason, nr.Message)
	}
	// The shared daemon is ready on both counts.
	rr, nr = conditions(t, rt())
	if !rr.Status || !nr.Status {
		t.Errorf("shared podshimd: RuntimeReady %v, NetworkReady %v (%s)", rr.Status, nr.Status, nr.Message)
	}
}
