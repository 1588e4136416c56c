package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
)

// startOwnPodshimd starts a podshimd beside the suite's, on the suite's
// containerd, CNI network and registry but with its own dir (root, state,
// socket, netns dir) and containerd namespace ("podshim-"+name), so that
// neither daemon sees the other's pods. Its pods are removed and it is
// stopped when t ends.
func startOwnPodshimd(t *testing.T, name string, extraArgs ...string) *testenv.Podshimd {
	t.Helper()
	dir := filepath.Join(env.dir, "own-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartPodshimd(context.Background(), dir, testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: env.containerd.Address,
		CNIConfDir:        env.cniConfDir,
		RegistryConfigDir: env.registryConfigDir,
		ExtraArgs:         append([]string{"--containerd-namespace", "podshim-" + name}, extraArgs...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := callCtx()
		defer cancel()
		if resp, err := p.Runtime.ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{}); err == nil {
			for _, pod := range resp.Items {
				if _, err := p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: pod.Id}); err != nil {
					t.Errorf("cleanup: StopPodSandbox %s: %v", pod.Id, err)
				}
				if _, err := p.Runtime.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: pod.Id}); err != nil {
					t.Errorf("cleanup: RemovePodSandbox %s: %v", pod.Id, err)
				}
			}
		} else {
			t.Errorf("cleanup: ListPodSandbox: %v", err)
		}
		if t.Failed() {
			t.Logf("podshimd %s log:\n%s", name, p.LogTail(6000))
		}
		p.Stop()
	})
	return p
}
