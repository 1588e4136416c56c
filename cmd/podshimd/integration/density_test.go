package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/sandbox/shimproc"
)

// TestDensityShimGroups runs a podshimd in density mode (3 pods per shim)
// and checks the grouping, the lifetime rule, the blast radius and the
// clean-up:
//   - pods 1-3 run (pauses and containers) under one shim, pod 4 under a
//     second one;
//   - a group is never joined once it may empty: pod 4's group closes when
//     pod 4 is stopped, so pod 5 gets a shim of its own;
//   - killing the first group's shim takes pods 1-3: every container
//     reports exited, every sandbox NotReady, while pod 5 stays ready;
//   - Stop and Remove of everything leave no shim, record, mount or dir.
//
// It logs the shims' PSS per pod (smaps_rollup), the figure density mode
// is for.
func TestDensityShimGroups(t *testing.T) {
	const ns = "podshim-density"
	p := startOwnPodshimd(t, "density", "--shim-group-size", "3")
	take := func(ctx context.Context) resources { return takeResourcesOf(ctx, p.Dir, ns) }
	before := take(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}}); err != nil {
		t.Fatal(err)
	}
	type pod struct{ id, ctr string }
	run := func() pod {
		cfg := podConfig(t)
		resp, err := p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			t.Fatalf("RunPodSandbox: %v", err)
		}
		return pod{resp.PodSandboxId, runOwnContainer(t, p, resp.PodSandboxId, cfg, "c")}
	}
	var pods []pod
	for i := 0; i < 4; i++ {
		pods = append(pods, run())
	}
	shimOf := func(pd pod) (pause, ctr int) {
		t.Helper()
		st, err := p.Runtime.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: pd.id, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		var info sandboxInfo
		if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil {
			t.Fatal(err)
		}
		cs, err := p.Runtime.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: pd.ctr, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		var cinfo struct {
			Pid int `json:"pid"`
		}
		if err := json.Unmarshal([]byte(cs.GetInfo()["info"]), &cinfo); err != nil {
			t.Fatal(err)
		}
		pause, _ = parentPid(info.Pid)
		ctr, _ = parentPid(cinfo.Pid)
		return pause, ctr
	}
	shimPids := make([]int, len(pods))
	for i, pd := range pods {
		pause, ctr := shimOf(pd)
		if pause != ctr || pause == 0 {
			t.Fatalf("pod %d: pause under pid %d, container under %d: not one shim", i+1, pause, ctr)
		}
		shimPids[i] = pause
	}
	if shimPids[0] != shimPids[1] || shimPids[0] != shimPids[2] || shimPids[3] == shimPids[0] {
		t.Fatalf("shims of pods 1-4: %v, want pods 1-3 on one shim and pod 4 on another", shimPids)
	}
	shims := densityShims(ns)
	if len(shims) != 2 {
		t.Fatalf("%d shims for 4 pods in groups of 3, want 2: %v", len(shims), shims)
	}
	t.Logf("density mode, groups of 3: 4 pods on %d shims, shims' PSS %d KiB in all, %d KiB per pod",
		len(shims), pssKiB(t, shims...), pssKiB(t, shims...)/4)

	// Lifetime: pod 4 is being stopped, so its group takes no new pod.
	if _, err := p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: pods[3].id}); err != nil {
		t.Fatal(err)
	}
	p5 := run()
	pause5, _ := shimOf(p5)
	if pause5 == shimPids[3] || pause5 == shimPids[0] {
		t.Fatalf("pod 5 joined an existing shim (%d) although groups 1 (full) and 2 (a member stopped) are closed", pause5)
	}
	t.Logf("a shim serving one pod (pod 5): PSS %d KiB", pssKiB(t, pause5))

	// Blast radius: the first group's shim takes its three pods.
	if err := syscall.Kill(shimPids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i, pd := range pods[:3] {
		waitFor(t, 30*time.Second, fmt.Sprintf("pod %d's container to exit and its sandbox to be NotReady", i+1), func() (bool, string) {
			cs, err := p.Runtime.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: pd.ctr})
			ss, err2 := p.Runtime.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: pd.id})
			if err != nil || err2 != nil {
				return false, fmt.Sprint(err, err2)
			}
			return cs.GetStatus().GetState() == criapi.ContainerState_CONTAINER_EXITED && ss.GetStatus().GetState() == criapi.PodSandboxState_SANDBOX_NOTREADY,
				fmt.Sprint(cs.GetStatus().GetState(), ss.GetStatus().GetState())
		})
	}
	if ss, err := p.Runtime.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: p5.id}); err != nil || ss.GetStatus().GetState() != criapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("pod 5, in another group, after the first group's shim was killed: %v %v", ss.GetStatus().GetState(), err)
	}

	for _, pd := range append(pods, p5) {
		if _, err := p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: pd.id}); err != nil {
			t.Errorf("StopPodSandbox: %v", err)
		}
		if _, err := p.Runtime.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: pd.id}); err != nil {
			t.Errorf("RemovePodSandbox: %v", err)
		}
	}
	assertNoNewResourcesIn(t, before, "density-mode pods, one group's shim killed, once removed", take)
	if left := densityShims(ns); len(left) != 0 {
		t.Errorf("shims left in namespace %s: %v", ns, left)
	}
}

// densityShims returns the pids of the shims of containerd namespace ns.
func densityShims(ns string) []int {
	var pids []int
	for _, s := range shimproc.Find(func(args []string) bool { return shimproc.Arg(args, "-namespace") == ns }) {
		pids = append(pids, s.Pid)
	}
	return pids
}

// pssKiB sums the proportional set size of processes pids.
func pssKiB(t *testing.T, pids ...int) int {
	t.Helper()
	total := 0
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			t.Fatalf("smaps_rollup of %d: %v", pid, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Pss:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				total += n
			}
		}
	}
	return total
}
