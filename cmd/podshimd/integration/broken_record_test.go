package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/namespaces"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestBrokenRecordsAtStartUp runs 3 pods, stops podshimd, breaks the
// records of one pod (sandbox.json truncated) and of two containers of
// another (status.json emptied, container.json deleted while containerd
// still has the container), and restarts it. podshimd must name each
// broken record (path and ID) in its log and remove what it belongs to,
// releasing all of it (IP, netns, containerd objects, shim); the other
// pods and containers are untouched: listed, running, stoppable,
// removable, and in the end nothing is left.
func TestBrokenRecordsAtStartUp(t *testing.T) {
	b := startCrashBed(t, "podshimd-broken", "podshim-itest-broken")
	before := b.resources(context.Background())

	intactID, intactPod := b.pod(t)
	intactCtr := b.container(t, intactID, intactPod, true)
	brokenID, brokenPod := b.pod(t)
	brokenPodCtr := b.container(t, brokenID, brokenPod, true)
	otherID, otherPod := b.pod(t)
	emptiedCtr := b.container(t, otherID, otherPod, true)
	ctx, cancel := callCtx()
	defer cancel()
	// A second container of otherPod, whose container.json goes missing.
	lost := res(b.rt().CreateContainer(ctx, &criapi.CreateContainerRequest{
		PodSandboxId: otherID, Config: containerConfig(otherPod, "lost", "sleep", "3600"), SandboxConfig: otherPod})).must(t, "CreateContainer")
	lostCtr := lost.ContainerId
	res(b.rt().StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: lostCtr})).must(t, "StartContainer")
	brokenInfo := verboseInfo(t, b, brokenID)
	if len(reservedIPs(brokenID)) != 1 {
		t.Fatalf("pod %s holds IPs %v, want one", brokenID, reservedIPs(brokenID))
	}
	intactPid := ctrPid(t, b, intactCtr)

	b.p.Stop()
	sandboxRecord := filepath.Join(b.dir, "root", "sandboxes", brokenID, "sandbox.json")
	data, err := os.ReadFile(sandboxRecord)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(sandboxRecord, data[:len(data)/2], 0o600))
	emptiedRecord := filepath.Join(b.dir, "root", "containers", emptiedCtr, "status.json")
	must(t, os.WriteFile(emptiedRecord, nil, 0o600))
	lostRecord := filepath.Join(b.dir, "root", "containers", lostCtr, "container.json")
	must(t, os.Remove(lostRecord))

	logStart := len(b.p.LogTail(1 << 30))
	b.restart(t, "")
	log := b.p.LogTail(1 << 30)[logStart:]
	for _, want := range []struct{ msg, id, path string }{
		{"broken sandbox record", brokenID, sandboxRecord},
		{"broken container record", emptiedCtr, emptiedRecord},
		{"container record missing", lostCtr, lostRecord},
	} {
		if !logLineWith(log, want.msg, want.id, want.path) {
			t.Errorf("no log line %q naming %s and %s in:\n%s", want.msg, want.id, want.path, tail(log, 4000))
		}
	}

	// The broken ones are gone, with what they held.
	ctx, cancel = callCtx()
	defer cancel()
	pods := res(b.rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{})).must(t, "ListPodSandbox")
	state := map[string]criapi.PodSandboxState{}
	for _, p := range pods.Items {
		state[p.Id] = p.State
	}
	if len(state) != 2 || state[intactID] != criapi.PodSandboxState_SANDBOX_READY || state[otherID] != criapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("pods after the restart = %v; want %s and %s READY", state, intactID, otherID)
	}
	ctrs := res(b.rt().ListContainers(ctx, &criapi.ListContainersRequest{})).must(t, "ListContainers")
	if len(ctrs.Containers) != 1 || ctrs.Containers[0].Id != intactCtr || ctrs.Containers[0].State != criapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("containers after the restart = %v; want only %s, RUNNING", ctrs.Containers, intactCtr)
	}
	if ips := reservedIPs(brokenID); len(ips) != 0 {
		t.Errorf("the removed pod still holds IPs %v", ips)
	}
	if _, err := os.Stat(brokenInfo.NetNSPath); !os.IsNotExist(err) {
		t.Errorf("the removed pod's netns %s is still there (%v)", brokenInfo.NetNSPath, err)
	}
	nsCtx := namespaces.WithNamespace(context.Background(), b.ns)
	for _, id := range []string{brokenID, brokenPodCtr, emptiedCtr, lostCtr} {
		if _, err := env.ctrd.LoadContainer(nsCtx, id); err == nil {
			t.Errorf("containerd container %s of a broken record is still there", id)
		}
	}

	// The intact pod is as it was, and answers.
	if pid := ctrPid(t, b, intactCtr); pid != intactPid {
		t.Errorf("intact container pid %d after the restart, was %d", pid, intactPid)
	}
	ex := res(b.rt().ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: intactCtr, Cmd: []string{"echo", "alive"}, Timeout: 10})).must(t, "ExecSync")
	if string(ex.Stdout) != "alive\n" {
		t.Errorf("ExecSync in the intact container = %q", ex.Stdout)
	}
	// The other pod takes new containers.
	b.container(t, otherID, otherPod, true)

	if !b.removeEverything(t, map[string]bool{}) {
		return
	}
	assertNoNewResourcesIn(t, before, "removing every pod after broken records", b.resources)
}

// logLineWith reports whether one line of log holds every word.
func logLineWith(log string, words ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			return true
		}
	}
	return false
}

func verboseInfo(t *testing.T, b *crashBed, podID string) sandboxInfo {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp := res(b.rt().PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true})).must(t, "PodSandboxStatus")
	var info sandboxInfo
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatalf("verbose info of %s: %v", podID, err)
	}
	return info
}

func ctrPid(t *testing.T, b *crashBed, id string) int {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp := res(b.rt().ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id, Verbose: true})).must(t, "ContainerStatus")
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil || info.Pid <= 0 {
		t.Fatalf("container %s has no pid in %q (%v)", id, resp.Info["info"], err)
	}
	return info.Pid
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
