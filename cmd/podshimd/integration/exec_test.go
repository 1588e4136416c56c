package integration

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestExecSync checks output, exit code and timeout of ExecSync.
func TestExecSync(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	id := runContainer(t, podID, pod, containerConfig(pod, "target", "sleep", "3600"))

	r := execSync(t, id, "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 5")
	if r.stdout != "to-stdout\n" || r.stderr != "to-stderr\n" || r.code != 5 {
		t.Errorf("ExecSync = stdout %q stderr %q code %d; want to-stdout, to-stderr, 5", r.stdout, r.stderr, r.code)
	}
	// The exec runs in the container: its filesystem, env and namespaces.
	if got := execOK(t, id, "sh", "-c", "echo $PATH; cat /proc/1/cmdline"); got != "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nsleep\x003600\x00" {
		t.Errorf("ExecSync sees %q, want the image's PATH and the container's pid 1", got)
	}
	ctx, cancel := callCtx()
	defer cancel()
	// A command that cannot start is an error or a failing exit code, never
	// a success.
	if resp, err := rt().ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"/no/such/binary"}, Timeout: 10}); err == nil && resp.ExitCode == 0 {
		t.Errorf("ExecSync of a missing binary succeeded with exit code 0")
	}
	start := time.Now()
	_, err := rt().ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "30"}, Timeout: 1})
	took := time.Since(start)
	if grpcCode(err) != codes.DeadlineExceeded {
		t.Errorf("ExecSync(sleep 30, timeout 1s) = %v (code %v), want DeadlineExceeded", err, grpcCode(err))
	}
	if took > 10*time.Second {
		t.Errorf("ExecSync with timeout 1s returned after %s", took)
	}
	// The timed-out process is gone and the container still serves execs.
	if out := execOK(t, id, "ps", "-o", "args"); strings.Contains(out, "sleep 30") {
		t.Errorf("the timed-out exec process still runs:\n%s", out)
	}
	if st := containerStatus(t, id); st.State != criapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container after the exec timeout: %v", st.State)
	}

	// ExecSync in an exited container fails.
	stopContainer(t, id, 0)
	if _, err := rt().ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"true"}}); err == nil {
		t.Errorf("ExecSync in a stopped container succeeded")
	}
}
