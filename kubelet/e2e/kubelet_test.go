//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// nodeName is kubelet's --hostname-override; kubelet appends it to the
	// name of every static pod ("<name>-kubelet-h").
	nodeName = "kubelet-h"
	// cgroupRoot is kubelet's cgroupRoot: every pod cgroup lives below
	// /kubelet-h/kubepods in each hierarchy, apart from anything else on the
	// machine, and the harness removes the whole tree at the end.
	cgroupRoot = "kubelet-h"
)

// kubeletConfig renders the KubeletConfiguration for a standalone kubelet
// (no API server) driving the runtime at endpoint. Each setting that is not
// kubelet's default says why it is there.
func kubeletConfig(p paths, endpoint string, ports kubeletPorts) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Standalone: the pods are static pods from this directory, no API server.
staticPodPath: %[1]s
# kubelet watches the directory with inotify; this is the periodic re-list
# behind it (default 20s), so a missed event costs at most a second.
fileCheckFrequency: 1s
# Container logs below the harness's directory instead of /var/log/pods.
podLogsDir: %[2]s
# The runtime under test (podshimd, or containerd's own CRI plugin).
containerRuntimeEndpoint: %[3]s
imageServiceEndpoint: %[3]s
# containerd 1.6 has no RuntimeConfig RPC, so kubelet cannot ask the runtime
# for its cgroup driver and uses this one; cgroupfs is what both runtimes use.
cgroupDriver: cgroupfs
cgroupsPerQOS: true
# This machine is cgroup v1 (hybrid); kubelet 1.35 and later refuse v1
# unless told (failCgroupV1 defaults to true there).
failCgroupV1: false
# Pod cgroups go below /kubelet-h/kubepods, apart from anything else on the
# machine, so the harness can remove them all at the end.
cgroupRoot: /%[4]s
# Every server on loopback only, on ports free at start-up (the defaults
# 10250/10255/10248 may be taken on a shared machine). The read-only port
# serves /pods, which the tests read.
address: 127.0.0.1
port: %[5]d
readOnlyPort: %[6]d
healthzBindAddress: 127.0.0.1
healthzPort: %[7]d
# No API server to ask: anonymous access, no webhook authn/authz.
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
# This VM has no swap, but kubelet must not refuse to start where it has.
failSwapOn: false
# kubelet must not add its KUBE-* iptables chains to this shared machine.
makeIPTablesUtilChains: false
# With false, kubelet's filesystem stats fail on this VM's disk.
localStorageCapacityIsolation: true
# kubelet's own oom_score_adj (default -999): lowering it needs
# CAP_SYS_RESOURCE, which this machine does not give; 0 is the current value.
oomScoreAdj: 0
# The default (/usr/libexec/kubernetes/...) would be created on the host.
volumePluginDir: %[8]s
# The disk is shared with other engineers' builds: the default 10%%/15%%
# free-space thresholds could evict test pods for reasons outside the test.
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
# Never garbage-collect the test images under a running test.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
`, p.manifests, p.podLogs, endpoint, cgroupRoot, ports.secure, ports.readOnly, ports.healthz, filepath.Join(p.kubeletDir, "volume-plugins"))
}

// kubeletPorts are kubelet's TCP ports on 127.0.0.1.
type kubeletPorts struct {
	secure, readOnly, healthz int
}

// freeKubeletPorts picks three ports that are free on 127.0.0.1 now.
func freeKubeletPorts() (kubeletPorts, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return kubeletPorts{}, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return kubeletPorts{secure: ports[0], readOnly: ports[1], healthz: ports[2]}, nil
}

// kubeletDaemon is the standalone kubelet under test.
type kubeletDaemon struct {
	proc    *process
	ports   kubeletPorts
	podsURL string // the read-only endpoint listing the pods with status
}

func startKubelet(ctx context.Context, bin string, p paths, endpoint string) (*kubeletDaemon, error) {
	for _, d := range []string{p.kubeletRoot, p.manifests, p.podLogs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("kubelet dirs: %w", err)
		}
	}
	if err := createCgroupRoot(cgroupRoot); err != nil {
		return nil, err
	}
	ports, err := freeKubeletPorts()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(p.kubeletDir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(kubeletConfig(p, endpoint, ports)), 0o644); err != nil {
		return nil, fmt.Errorf("kubelet config: %w", err)
	}
	k := &kubeletDaemon{ports: ports, podsURL: fmt.Sprintf("http://127.0.0.1:%d/pods", ports.readOnly)}
	k.proc = newProcess("kubelet", bin, filepath.Join(p.kubeletDir, "kubelet.log"),
		"--config", cfg,
		// Its own root dir: pods' volumes, plugin sockets, checkpoints.
		"--root-dir", p.kubeletRoot,
		// Its serving certificate, self-signed at start; the default is
		// /var/lib/kubelet/pki whatever the root dir.
		"--cert-dir", filepath.Join(p.kubeletRoot, "pki"),
		// A fixed node name, so static pod names are predictable.
		"--hostname-override", nodeName,
		"--v", "2",
	)
	if err := k.start(ctx); err != nil {
		k.stop()
		return nil, err
	}
	return k, nil
}

// start launches kubelet and waits until it is healthy and serves /pods.
func (k *kubeletDaemon) start(ctx context.Context) error {
	if err := k.proc.start(); err != nil {
		return err
	}
	err := poll(ctx, 60*time.Second, func() error {
		if !k.proc.running() {
			return errStop
		}
		if _, err := httpGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", k.ports.healthz)); err != nil {
			return err
		}
		_, err := httpGet(ctx, k.podsURL)
		return err
	})
	if err != nil {
		return fmt.Errorf("kubelet not healthy: %w; log:\n%s", err, k.proc.logTail(6000))
	}
	return nil
}

// restart stops kubelet (SIGTERM, as systemd would) and starts it again.
func (k *kubeletDaemon) restart(ctx context.Context) error {
	k.proc.stop(20 * time.Second)
	return k.start(ctx)
}

func (k *kubeletDaemon) stop() {
	if k != nil {
		k.proc.stop(20 * time.Second)
	}
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
