package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/metrics"
)

// TestLogFileSystemFull runs a container that writes 8 KiB lines
// continuously into a pod log directory on a 1 MiB tmpfs, then fills the
// tmpfs: the container must keep running (not block on its output: its
// counter goes on well past what the pipes hold), ContainerStatus and
// ExecSync answer, the dropped bytes are counted in
// podshim_container_log_bytes_dropped_total; once space returns, new lines
// arrive in the log, and every line in it is a whole CRI record.
func TestLogFileSystemFull(t *testing.T) {
	sock := filepath.Join(env.dir, "own-logfull", "metrics.sock")
	p := startOwnPodshimd(t, "logfull", "--metrics-address", "unix://"+sock)
	ctx, cancel := callCtx()
	defer cancel()
	res(p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "PullImage")

	logDir := filepath.Join(env.dir, "logfull-tmpfs")
	must(t, os.MkdirAll(logDir, 0o755))
	if out, err := runCombined("mount", "-t", "tmpfs", "-o", "size=1m", "podshim-itest-logfull", logDir); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	pod := podConfig(t)
	pod.LogDirectory = logDir
	podID := res(p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})).must(t, "RunPodSandbox").PodSandboxId
	t.Cleanup(func() {
		// The pod first: podshimd holds the log file open.
		ctx, cancel := callCtx()
		defer cancel()
		_, _ = p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID})
		_, _ = p.Runtime.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: podID})
		if err := syscall.Unmount(logDir, 0); err != nil {
			t.Errorf("unmount %s: %v", logDir, err)
			_ = syscall.Unmount(logDir, syscall.MNT_DETACH)
		}
	})
	script := `x=$(head -c 8000 /dev/zero | tr '\0' x); i=0
while :; do echo "tick $i $x"; echo $i > /tmp/n; i=$((i+1)); sleep 0.05; done`
	cfg := containerConfig(pod, "ticker", "sh", "-c", script)
	id := res(p.Runtime.CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})).must(t, "CreateContainer").ContainerId
	res(p.Runtime.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: id})).must(t, "StartContainer")
	logPath := filepath.Join(logDir, "ticker", "0.log")
	counter := func() int {
		t.Helper()
		r := res(p.Runtime.ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"cat", "/tmp/n"}, Timeout: 10})).must(t, "ExecSync")
		n, _ := strconv.Atoi(strings.TrimSpace(string(r.Stdout)))
		return n
	}
	waitFor(t, 20*time.Second, "ticks in the log", func() (bool, string) {
		return len(logTicks(logPath)) >= 3, fmt.Sprint(len(logTicks(logPath)), " ticks")
	})

	// Fill the file system.
	filler := filepath.Join(logDir, "filler")
	fillUp(t, filler)
	droppedBefore := scrape(t, sock).value(metrics.LogBytesDropped.Name, nil)
	n0 := counter()
	// The container goes on: 80 more lines (640 KiB) are more than the
	// pipes and the shim hold for a container whose output is not read.
	waitFor(t, 40*time.Second, "the container to go on writing while the log's file system is full", func() (bool, string) {
		n := counter()
		return n >= n0+80, fmt.Sprintf("counter %d, %d when the file system filled", n, n0)
	})
	st := res(p.Runtime.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id})).must(t, "ContainerStatus").Status
	if st.State != criapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container state with the log's file system full = %v", st.State)
	}
	dropped := scrape(t, sock).value(metrics.LogBytesDropped.Name, nil)
	if dropped-droppedBefore < 8000*40 {
		t.Errorf("%s grew by %v bytes while about 80 lines of 8 KB were dropped", metrics.LogBytesDropped.Name, dropped-droppedBefore)
	}
	if logged := logTicks(logPath); len(logged) > 0 && logged[len(logged)-1] >= n0+10 {
		t.Errorf("tick %d is in the log although the file system was full from tick %d on", logged[len(logged)-1], n0)
	}

	// Space returns: logging resumes.
	must(t, os.Remove(filler))
	n1 := counter()
	waitFor(t, 20*time.Second, "new lines in the log once space returned", func() (bool, string) {
		tk := logTicks(logPath)
		return len(tk) > 0 && tk[len(tk)-1] > n1, fmt.Sprintf("last tick logged %v, counter %d when space returned", tk[len(tk)-1:], n1)
	})
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	record := regexp.MustCompile(`^\S+ stdout F tick \d+ x+$`)
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !record.MatchString(line) || !strings.HasSuffix(line, " "+strings.Repeat("x", 8000)) {
			t.Errorf("log line %d is not a whole record: %.100q... (%d bytes)", i, line, len(line))
			break
		}
	}
}

// fillUp writes path until the file system is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{'f'}, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}

// logTicks returns the tick numbers in a log file's lines.
func logTicks(path string) []int {
	data, _ := os.ReadFile(path)
	var out []int
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[3] == "tick" {
			if n, err := strconv.Atoi(f[4]); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// runCombined runs a command and returns its combined output.
func runCombined(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
