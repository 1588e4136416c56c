package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPodContainersShareNetworkMountAndShm runs two containers in one pod:
// one serves HTTP on 127.0.0.1 from a host directory both mount, the other
// fetches over localhost; both see the pod's /dev/shm.
func TestPodContainersShareNetworkMountAndShm(t *testing.T) {
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "from-host"), []byte("written by the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := podConfig(t)
	podID := runPod(t, pod)
	mount := []*criapi.Mount{{ContainerPath: "/shared", HostPath: hostDir}}

	server := containerConfig(pod, "server", "sh", "-c",
		`echo "hello from server $(hostname)" > /shared/index.html && exec httpd -f -p 127.0.0.1:8080 -h /shared`)
	server.Mounts = mount
	serverID := runContainer(t, podID, pod, server)
	client := containerConfig(pod, "client", "sleep", "3600")
	client.Mounts = mount
	clientID := runContainer(t, podID, pod, client)

	// Localhost: the client reaches the server's 127.0.0.1:8080.
	want := "hello from server " + pod.Hostname
	waitForOutput(t, clientID, 20*time.Second, want, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html")

	// The bind mount: the server's file is on the host, the host's file is
	// in both containers, the client's file reaches host and server.
	data, err := os.ReadFile(filepath.Join(hostDir, "index.html"))
	if err != nil || !strings.Contains(string(data), want) {
		t.Errorf("host dir index.html = %q, %v; want the server's line", data, err)
	}
	for _, id := range []string{serverID, clientID} {
		if got := execOK(t, id, "cat", "/shared/from-host"); got != "written by the host\n" {
			t.Errorf("container %s reads /shared/from-host = %q", id, got)
		}
	}
	execOK(t, clientID, "sh", "-c", "echo written by client > /shared/from-client")
	if got := execOK(t, serverID, "cat", "/shared/from-client"); got != "written by client\n" {
		t.Errorf("server reads /shared/from-client = %q", got)
	}
	if data, err := os.ReadFile(filepath.Join(hostDir, "from-client")); err != nil || string(data) != "written by client\n" {
		t.Errorf("host reads from-client = %q, %v", data, err)
	}

	// /dev/shm is the pod's: a file one container writes, the other reads.
	execOK(t, serverID, "sh", "-c", "echo shm-payload-42 > /dev/shm/x")
	if got := execOK(t, clientID, "cat", "/dev/shm/x"); got != "shm-payload-42\n" {
		t.Errorf("client reads /dev/shm/x = %q, want the server's write", got)
	}
	if got := execOK(t, clientID, "sh", "-c", "grep ' /dev/shm ' /proc/mounts"); !strings.Contains(got, "tmpfs") {
		t.Errorf("/dev/shm in the client is not a tmpfs: %q", got)
	}

	// Both containers report the pod's hostname.
	if got := strings.TrimSpace(execOK(t, clientID, "hostname")); got != pod.Hostname {
		t.Errorf("client hostname = %q, want %q", got, pod.Hostname)
	}
}

// TestPidNamespaceModes checks NamespaceMode POD (the pod's containers and
// the pause share a pid namespace whose pid 1 is /pause) against CONTAINER
// (each container is its own pid 1 and sees nothing else).
func TestPidNamespaceModes(t *testing.T) {
	t.Run("POD", func(t *testing.T) {
		pod := podConfig(t)
		pod.Linux.SecurityContext.NamespaceOptions.Pid = criapi.NamespaceMode_POD
		podID := runPod(t, pod)
		runContainer(t, podID, pod, containerConfig(pod, "worker", "sleep", "31337"))
		lookerID := runContainer(t, podID, pod, containerConfig(pod, "looker", "sleep", "31338"))

		if got := execOK(t, lookerID, "cat", "/proc/1/cmdline"); strings.TrimRight(got, "\x00") != "/pause" {
			t.Errorf("pid 1 of the shared pid namespace runs %q, want /pause", got)
		}
		ps := execOK(t, lookerID, "ps", "-o", "pid,args")
		if !strings.Contains(ps, "sleep 31337") {
			t.Errorf("ps in looker does not show the worker's process:\n%s", ps)
		}
		if !psHasPid1(ps, "/pause") {
			t.Errorf("ps in looker does not show /pause as pid 1:\n%s", ps)
		}
	})
	t.Run("CONTAINER", func(t *testing.T) {
		pod := podConfig(t)
		podID := runPod(t, pod) // podConfig's default is CONTAINER
		runContainer(t, podID, pod, containerConfig(pod, "worker", "sleep", "31337"))
		lookerID := runContainer(t, podID, pod, containerConfig(pod, "looker", "sleep", "31338"))

		if got := execOK(t, lookerID, "cat", "/proc/1/cmdline"); strings.ReplaceAll(strings.TrimRight(got, "\x00"), "\x00", " ") != "sleep 31338" {
			t.Errorf("pid 1 of the looker's own pid namespace runs %q, want its own sleep 31338", got)
		}
		ps := execOK(t, lookerID, "ps", "-o", "pid,args")
		if strings.Contains(ps, "31337") || strings.Contains(ps, "/pause") {
			t.Errorf("ps in a CONTAINER-mode container sees other processes:\n%s", ps)
		}
		if !psHasPid1(ps, "sleep 31338") {
			t.Errorf("ps in looker does not show its own sleep as pid 1:\n%s", ps)
		}
	})
}

// psHasPid1 reports whether `ps -o pid,args` output shows args as pid 1.
func psHasPid1(ps, args string) bool {
	for _, line := range strings.Split(ps, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "1" && strings.Join(f[1:], " ") == args {
			return true
		}
	}
	return false
}
