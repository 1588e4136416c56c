package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// restartPodshimd crashes the shared podshimd (SIGKILL), waits, and starts
// it again with the same configuration.
func restartPodshimd(t *testing.T, down time.Duration) {
	t.Helper()
	env.podshimd.Kill()
	time.Sleep(down)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.podshimd.Start(ctx); err != nil {
		t.Fatalf("restart podshimd: %v", err)
	}
}

// TestRestartWithRunningPod crashes podshimd while a pod runs and checks
// that the restarted daemon finds the pod and its containers as they were:
// listed, still running, still logging, and stoppable and removable.
func TestRestartWithRunningPod(t *testing.T) {
	before := takeResources(context.Background())
	pod := podConfig(t)
	podID := runPod(t, pod)
	tickerID := runContainer(t, podID, pod, containerConfig(pod, "ticker", "sh", "-c", tickScript))
	doneID := runContainer(t, podID, pod, containerConfig(pod, "done", "sh", "-c", "exit 5"))
	laterCfg := containerConfig(pod, "later", "sh", "-c", "echo started after the restart; sleep 3600")
	laterID := createContainer(t, podID, pod, laterCfg)
	logPath := filepath.Join(pod.LogDirectory, "ticker", "0.log")
	waitFor(t, 20*time.Second, "ticks in the log", func() (bool, string) {
		_, err := os.Stat(logPath)
		return err == nil && len(ticks(t, logPath)) >= 3, fmt.Sprint(err)
	})
	waitExited(t, doneID, 20*time.Second)

	podBefore, podInfo := podStatus(t, podID)
	tickerBefore := containerStatus(t, tickerID)
	doneBefore := containerStatus(t, doneID)
	laterBefore := containerStatus(t, laterID)
	pid := containerPid(t, tickerID)
	ticksBefore := ticks(t, logPath)

	// Down for a second: the ticker keeps writing into its FIFO meanwhile.
	restartPodshimd(t, time.Second)

	if !processAlive(pid) || !processAlive(podInfo.Pid) {
		t.Fatalf("container pid %d alive=%v, pause pid %d alive=%v after the restart", pid, processAlive(pid), podInfo.Pid, processAlive(podInfo.Pid))
	}
	ctx, cancel := callCtx()
	defer cancel()
	pods, err := rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{Filter: &criapi.PodSandboxFilter{Id: podID}})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].State != criapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("ListPodSandbox(%s) after restart = %v, %v; want the pod, READY", podID, pods, err)
	}
	podAfter, podInfoAfter := podStatus(t, podID)
	if podAfter.Network.GetIp() != podBefore.Network.GetIp() || podAfter.CreatedAt != podBefore.CreatedAt ||
		podAfter.Metadata.GetUid() != pod.Metadata.Uid || podInfoAfter.Pid != podInfo.Pid || podInfoAfter.NetNSPath != podInfo.NetNSPath {
		t.Errorf("pod after restart = %v %+v, before %v %+v", podAfter, podInfoAfter, podBefore, podInfo)
	}
	ctrs, err := rt().ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{PodSandboxId: podID}})
	if err != nil || len(ctrs.Containers) != 3 {
		t.Fatalf("ListContainers after restart = %v, %v; want the 3 containers", ctrs, err)
	}
	for _, before := range []*criapi.ContainerStatus{tickerBefore, doneBefore, laterBefore} {
		after := containerStatus(t, before.Id)
		if after.State != before.State || after.ExitCode != before.ExitCode || after.Reason != before.Reason ||
			after.StartedAt != before.StartedAt || after.FinishedAt != before.FinishedAt || after.LogPath != before.LogPath {
			t.Errorf("container %s after restart:\n  %v\nbefore:\n  %v", before.Metadata.Name, after, before)
		}
	}
	if got := containerPid(t, tickerID); got != pid {
		t.Errorf("ticker pid after restart = %d, want %d", got, pid)
	}

	// Still logging: new ticks appear, and none was lost while podshimd was
	// down (the FIFO kept them).
	last := ticksBefore[len(ticksBefore)-1]
	waitFor(t, 20*time.Second, "new ticks after the restart", func() (bool, string) {
		tk := ticks(t, logPath)
		return tk[len(tk)-1] >= last+20, fmt.Sprintf("last tick %d, before the restart %d", tk[len(tk)-1], last)
	})
	tk := ticks(t, logPath)
	for i := 1; i < len(tk); i++ {
		if tk[i] != tk[i-1]+1 {
			t.Errorf("log ticks jump from %d to %d across the restart", tk[i-1], tk[i])
		}
	}
	if out := execOK(t, tickerID, "echo", "exec after restart"); out != "exec after restart\n" {
		t.Errorf("ExecSync after restart = %q", out)
	}
	// Names are reserved again: the same pod or container cannot be made
	// twice. A container created before the crash starts after it.
	if _, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod}); grpcCode(err) != codes.AlreadyExists {
		t.Errorf("RunPodSandbox with the recovered pod's metadata = %v, want AlreadyExists", err)
	}
	if _, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: laterCfg, SandboxConfig: pod}); grpcCode(err) != codes.AlreadyExists {
		t.Errorf("CreateContainer with a recovered container's metadata = %v, want AlreadyExists", err)
	}
	startContainer(t, laterID)
	laterLog := filepath.Join(pod.LogDirectory, "later", "0.log")
	waitFor(t, 20*time.Second, "the output of the container started after the restart", func() (bool, string) {
		data, err := os.ReadFile(laterLog)
		return err == nil && strings.Contains(string(data), "stdout F started after the restart"), fmt.Sprintf("%q %v", data, err)
	})

	// The exit of a container after the restart is seen.
	stopContainer(t, tickerID, 0)
	if st := containerStatus(t, tickerID); st.State != criapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("ticker after StopContainer: %v exit %d, want EXITED 137", st.State, st.ExitCode)
	}
	if processAlive(pid) {
		t.Errorf("ticker pid %d still alive after StopContainer", pid)
	}
	removePod(t, podID)
	ctrs, err = rt().ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{PodSandboxId: podID}})
	if err != nil || len(ctrs.Containers) != 0 {
		t.Errorf("ListContainers after RemovePodSandbox = %v, %v; want none", ctrs, err)
	}
	assertPodGone(t, podID, podInfo, []string{tickerID, doneID, laterID})
	assertNoNewResources(t, before, "a pod removed after a podshimd restart")
}

// TestRestartRecordsExitWhileDown crashes podshimd, lets a container exit
// while it is down, and checks that the restarted daemon reports the exit
// with its real code.
func TestRestartRecordsExitWhileDown(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	id := runContainer(t, podID, pod, containerConfig(pod, "exits-while-down", "sh", "-c", "sleep 1; exit 9"))
	restartPodshimd(t, 2*time.Second)
	st := waitExited(t, id, 20*time.Second)
	if st.ExitCode != 9 || st.Reason != "Error" {
		t.Errorf("exit while podshimd was down: code %d reason %q, want 9 Error", st.ExitCode, st.Reason)
	}
	if st.FinishedAt < st.StartedAt {
		t.Errorf("finished %s before started %s", ts(st.FinishedAt), ts(st.StartedAt))
	}
}
