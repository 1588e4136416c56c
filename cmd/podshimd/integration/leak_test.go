package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/namespaces"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// assertPodGone checks, for a pod podshimd removed, each resource it had:
// netns, IP reservation, CNI cache and rules, containerd objects, cgroups,
// dirs and its shim.
func assertPodGone(t *testing.T, podID string, info sandboxInfo, containerIDs []string) {
	t.Helper()
	if info.NetNSPath == "" {
		t.Fatalf("pod %s had no netns path in its verbose status", podID)
	}
	if _, err := os.Stat(info.NetNSPath); !os.IsNotExist(err) {
		t.Errorf("netns %s still exists (%v)", info.NetNSPath, err)
	}
	for _, ip := range reservedIPs(podID) {
		t.Errorf("host-local still reserves %s for the pod", ip)
	}
	for _, r := range iptablesRules(podID) {
		t.Errorf("iptables nat rule of the pod left: %s", r)
	}
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	for _, id := range append([]string{podID}, containerIDs...) {
		if _, err := env.ctrd.LoadContainer(ctx, id); err == nil {
			t.Errorf("containerd container %s still exists", id)
		}
		if _, err := env.ctrd.SnapshotService("overlayfs").Stat(ctx, id); err == nil {
			t.Errorf("snapshot %s still exists", id)
		}
		for _, d := range []string{"root/sandboxes", "state/sandboxes", "root/containers", "state/containers"} {
			if _, err := os.Stat(filepath.Join(env.podshimd.Dir, d, id)); err == nil {
				t.Errorf("%s/%s still exists", d, id)
			}
		}
	}
	if info.CgroupsPath != "" {
		for _, ctl := range []string{"memory", "cpu", "pids"} {
			p := filepath.Join("/sys/fs/cgroup", ctl, info.CgroupsPath)
			if _, err := os.Stat(p); err == nil {
				t.Errorf("cgroup %s still exists", p)
			}
		}
	}
	waitFor(t, 10*time.Second, "the pod's shim to exit", func() (bool, string) {
		for _, s := range shimProcesses() {
			if s.id == podID {
				return false, fmt.Sprintf("shim pid %d", s.pid)
			}
		}
		return true, ""
	})
}

// TestNoLeaksAfterStopAndRemove runs a pod with a running and an exited
// container and a hostPort, removes it, and checks nothing is left.
func TestNoLeaksAfterStopAndRemove(t *testing.T) {
	before := takeResources(context.Background())
	pod := podConfig(t)
	pod.PortMappings = []*criapi.PortMapping{{Protocol: criapi.Protocol_TCP, ContainerPort: 80, HostPort: int32(freeLoopbackPort(t)), HostIp: "127.0.0.1"}}
	podID := runPod(t, pod)
	_, info := podStatus(t, podID)
	running := runContainer(t, podID, pod, containerConfig(pod, "running", "sleep", "3600"))
	exited := runContainer(t, podID, pod, containerConfig(pod, "exited", "sh", "-c", "echo bye"))
	created := createContainer(t, podID, pod, containerConfig(pod, "created", "sleep", "1"))
	waitExited(t, exited, 20*time.Second)

	// While the pod exists, the checks see its resources (so they can see
	// a leak at all).
	during := takeResources(context.Background()).newSince(before)
	for _, kind := range []string{kindNetNS, kindIPs, kindVeths, kindMounts, kindContainers, kindTasks, kindSnapshots, kindShims, kindDirs, kindCNICache, kindIptables} {
		if !hasKind(during, kind) {
			t.Errorf("a running pod shows no new %s; the leak check could not see it leak", kind)
		}
	}

	removePod(t, podID)
	removePod(t, podID) // idempotent
	assertPodGone(t, podID, info, []string{running, exited, created})
	assertNoNewResources(t, before, "StopPodSandbox + RemovePodSandbox")
	if _, err := os.Stat(filepath.Join(pod.LogDirectory, "exited", "0.log")); err != nil {
		t.Errorf("the log file of a removed container is gone (kubelet owns and removes it): %v", err)
	}
}

func hasKind(items []string, kind string) bool {
	for _, it := range items {
		if strings.HasPrefix(it, kind+": ") {
			return true
		}
	}
	return false
}

// writeCNIConfig puts a conflist in the shared podshimd's CNI conf dir, as
// the first (and so the used) one, until t ends.
func writeCNIConfig(t *testing.T, content string) {
	t.Helper()
	path := filepath.Join(env.cniConfDir, "00-itest-injected.conflist")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("remove injected CNI config: %v", err)
		}
	})
}

// brokenChain returns a conflist of the suite's network (same name, bridge
// and subnet) whose chain ends in lastPlugin, which fails ADD after the
// bridge plugin made the veth and host-local reserved an IP.
func brokenChain(lastPlugin string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    %s
  ]
}
`, networkName, bridgeName, podSubnet, lastPlugin)
}

// runPodExpectingFailure runs a pod that must fail, then checks that it
// left nothing and that its name was released.
func runPodExpectingFailure(t *testing.T, pod *criapi.PodSandboxConfig, before resources) error {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})
	if err == nil {
		removePod(t, resp.PodSandboxId)
		t.Fatalf("RunPodSandbox succeeded; the injected failure did not happen")
	}
	t.Logf("RunPodSandbox failed as intended: %v", err)
	list, lerr := rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{})
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, p := range list.Items {
		if p.Metadata.GetUid() == pod.Metadata.Uid {
			t.Errorf("the failed pod is listed: %v", p)
		}
	}
	assertNoNewResources(t, before, "a RunPodSandbox that failed part way")
	return err
}

// TestNoLeaksAfterRunPodSandboxFailures injects failures into the middle of
// RunPodSandbox, without test code in the daemon, and checks that every
// step already done is undone.
func TestNoLeaksAfterRunPodSandboxFailures(t *testing.T) {
	t.Run("CNIPluginFailsAfterIPAllocated", func(t *testing.T) {
		// tuning exists but cannot set a sysctl that does not exist: ADD
		// fails after bridge and host-local did their part; DEL works.
		writeCNIConfig(t, brokenChain(`{"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.podshim_no_such_knob": "1"}}`))
		before := takeResources(context.Background())
		pod := podConfig(t)
		runPodExpectingFailure(t, pod, before)
	})
	t.Run("CNIPluginMissingAtEndOfChain", func(t *testing.T) {
		// The last plugin of the chain does not exist: ADD fails after
		// bridge allocated an IP and a veth.
		writeCNIConfig(t, brokenChain(`{"type": "podshim-itest-no-such-plugin"}`))
		before := takeResources(context.Background())
		pod := podConfig(t)
		runPodExpectingFailure(t, pod, before)
	})
	t.Run("PauseFailsToStart", func(t *testing.T) {
		// runc cannot set a sysctl that does not exist: the pause task fails
		// after the netns, the network (set up in parallel), the shm mount
		// and the pause container were made.
		before := takeResources(context.Background())
		pod := podConfig(t)
		pod.Linux.Sysctls = map[string]string{"net.ipv4.podshim_no_such_sysctl": "1"}
		runPodExpectingFailure(t, pod, before)

		// The name was released: the same pod without the bad sysctl runs.
		pod.Linux.Sysctls = nil
		podID := runPod(t, pod)
		if st, _ := podStatus(t, podID); st.State != criapi.PodSandboxState_SANDBOX_READY {
			t.Errorf("the retried pod is %v", st.State)
		}
	})
	// The daemon is healthy afterwards: a normal pod works on the normal
	// network.
	pod := podConfig(t)
	podID := runPod(t, pod)
	id := runContainer(t, podID, pod, containerConfig(pod, "after", "sh", "-c", "exit 0"))
	if st := waitExited(t, id, 20*time.Second); st.ExitCode != 0 {
		t.Errorf("a container after the failures exited %d", st.ExitCode)
	}
}

// TestNoLeaksAfterCreateContainerFailures checks that failed
// CreateContainer calls leave no containerd container, snapshot, dir or
// log file, and release the container's name.
func TestNoLeaksAfterCreateContainerFailures(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	cases := []struct {
		name   string
		mutate func(*criapi.ContainerConfig)
	}{
		{"UnknownImage", func(c *criapi.ContainerConfig) { c.Image.Image = "docker.io/library/podshim-never-pulled:1" }},
		{"UnknownUser", func(c *criapi.ContainerConfig) {
			c.Linux.SecurityContext.RunAsUsername = "podshim-no-such-user"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := takeResources(context.Background())
			cfg := containerConfig(pod, strings.ToLower(tc.name), "sleep", "3600")
			tc.mutate(cfg)
			ctx, cancel := callCtx()
			defer cancel()
			resp, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
			if err == nil {
				t.Fatalf("CreateContainer succeeded (id %s), want an error", resp.ContainerId)
			}
			t.Logf("CreateContainer failed as intended: %v", err)
			assertNoNewResources(t, before, "a failed CreateContainer")
			if _, err := os.Stat(filepath.Join(pod.LogDirectory, cfg.LogPath)); err == nil {
				t.Errorf("the failed container's log file %s exists", cfg.LogPath)
			}
			list, err := rt().ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{PodSandboxId: podID}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range list.Containers {
				if c.Metadata.GetName() == cfg.Metadata.Name {
					t.Errorf("the failed container is listed: %v", c)
				}
			}
			// The name is free again.
			good := containerConfig(pod, cfg.Metadata.Name, "sh", "-c", "exit 0")
			id := createContainer(t, podID, pod, good)
			startContainer(t, id)
			waitExited(t, id, 20*time.Second)
		})
	}
}
