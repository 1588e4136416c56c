package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestStopPodSandbox stops pods the way kubelet does (containers first,
// or already exited, then the sandbox) and checks that StopPodSandbox
// succeeds every time, leaves the pod NOTREADY with its containers EXITED,
// and tears the network down at Stop, before Remove. Each case runs a few
// times: the pause exit races with the stop.
func TestStopPodSandbox(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, podID string, pod *criapi.PodSandboxConfig)
	}{
		{"NoContainers", func(*testing.T, string, *criapi.PodSandboxConfig) {}},
		{"ContainerExitedByItself", func(t *testing.T, podID string, pod *criapi.PodSandboxConfig) {
			id := runContainer(t, podID, pod, containerConfig(pod, "short", "sh", "-c", "exit 0"))
			waitExited(t, id, 20*time.Second)
		}},
		{"ContainerStoppedFirst", func(t *testing.T, podID string, pod *criapi.PodSandboxConfig) {
			id := runContainer(t, podID, pod, containerConfig(pod, "long", "sleep", "3600"))
			stopContainer(t, id, 1)
		}},
		{"ContainerStillRunning", func(t *testing.T, podID string, pod *criapi.PodSandboxConfig) {
			runContainer(t, podID, pod, containerConfig(pod, "long", "sleep", "3600"))
		}},
	}
	const rounds = 2
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < rounds; i++ {
				pod := podConfig(t)
				podID := runPod(t, pod)
				_, info := podStatus(t, podID)
				tc.prepare(t, podID, pod)

				ctx, cancel := callCtx()
				_, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID})
				cancel()
				if err != nil {
					t.Errorf("round %d: StopPodSandbox: %v", i+1, err)
					continue
				}
				st, _ := podStatus(t, podID)
				if st.State != criapi.PodSandboxState_SANDBOX_NOTREADY {
					t.Errorf("round %d: pod is %v after StopPodSandbox, want NOTREADY", i+1, st.State)
				}
				ctx, cancel = callCtx()
				list, err := rt().ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{PodSandboxId: podID}})
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range list.Containers {
					if c.State != criapi.ContainerState_CONTAINER_EXITED {
						t.Errorf("round %d: container %s is %v after StopPodSandbox", i+1, c.Metadata.Name, c.State)
					}
				}
				if _, err := os.Stat(info.NetNSPath); !os.IsNotExist(err) {
					t.Errorf("round %d: netns %s still exists after StopPodSandbox (%v)", i+1, info.NetNSPath, err)
				}
				if ips := reservedIPs(podID); len(ips) > 0 {
					t.Errorf("round %d: IPs %v still reserved after StopPodSandbox", i+1, ips)
				}
				if processAlive(info.Pid) {
					t.Errorf("round %d: pause pid %d still alive after StopPodSandbox", i+1, info.Pid)
				}
				ctx, cancel = callCtx()
				if _, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
					t.Errorf("round %d: second StopPodSandbox: %v", i+1, err)
				}
				cancel()
				removePod(t, podID)
			}
		})
	}
}

// reservedIPs returns the host-local reservations held by a pod.
func reservedIPs(podID string) []string {
	var out []string
	for _, ip := range dirEntries(hostLocalDir) {
		data, _ := os.ReadFile(filepath.Join(hostLocalDir, ip))
		if strings.Contains(string(data), podID) {
			out = append(out, ip)
		}
	}
	return out
}

// TestStopPodSandboxesConcurrently stops several pods whose containers have
// exited at the same time, as kubelet does when a node drains: every stop
// must succeed.
func TestStopPodSandboxesConcurrently(t *testing.T) {
	const pods = 6
	ids := make([]string, pods)
	for i := range ids {
		pod := podConfig(t)
		ids[i] = runPod(t, pod)
		c := runContainer(t, ids[i], pod, containerConfig(pod, "short", "sh", "-c", "exit 0"))
		waitExited(t, c, 20*time.Second)
	}
	errs := make(chan error, pods)
	for _, id := range ids {
		go func(id string) {
			ctx, cancel := callCtx()
			defer cancel()
			_, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: id})
			if err != nil {
				err = fmt.Errorf("StopPodSandbox %s: %w", id, err)
			}
			errs <- err
		}(id)
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, id := range ids {
		if st, _ := podStatus(t, id); st.State != criapi.PodSandboxState_SANDBOX_NOTREADY {
			t.Errorf("pod %s is %v after StopPodSandbox", id, st.State)
		}
	}
}
