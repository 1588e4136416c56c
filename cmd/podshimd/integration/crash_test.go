package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/namespaces"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
)

// stallingBridge is a CNI plugin that runs the real bridge plugin (so the
// pod gets its IP and veth) and then stalls on ADD: long enough for the
// test to kill podshimd in the middle of RunPodSandbox.
const stallingBridge = `#!/bin/sh
out=$(/usr/lib/cni/bridge)
rc=$?
echo "$out"
if [ "$CNI_COMMAND" = ADD ]; then sleep 15 & echo $! > "$STALL_MARK"; wait; fi
exit $rc
`

// TestCrashDuringRunPodSandbox kills podshimd while RunPodSandbox waits on
// CNI ADD (after the IP and veth were allocated, with the pause container
// made or being made), restarts it, and checks that recovery released
// everything: no sandbox listed, no netns, no IP, no veth, no containerd
// container, no dirs.
func TestCrashDuringRunPodSandbox(t *testing.T) {
	dir := filepath.Join(env.dir, "podshimd-crash")
	confDir, binDir := filepath.Join(dir, "net.d"), filepath.Join(dir, "cni-bin")
	mark := filepath.Join(dir, "stalled")
	os.Remove(mark) // left by an earlier run (go test -count)
	for _, d := range []string{confDir, binDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(binDir, "stalling-bridge"), []byte(stallingBridge), 0o755); err != nil {
		t.Fatal(err)
	}
	const network, bridge, subnet = "podshim-itest-crash", "cni-itcrash0", "10.91.250.0/24"
	conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"plugins":[{"type":"stalling-bridge","bridge":%q,"isGateway":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":%q}]]}}]}`, network, bridge, subnet)
	if err := os.WriteFile(filepath.Join(confDir, "10-crash.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ipDir := filepath.Join("/var/lib/cni/networks", network)
	t.Cleanup(func() {
		// The stalled plugin outlives the podshimd that ran it: end it.
		if pid, err := os.ReadFile(mark); err == nil {
			runCmd("kill", strings.TrimSpace(string(pid)))
		}
		os.Remove(mark)
		runCmd("ip", "link", "del", bridge)
		os.RemoveAll(ipDir)
	})
	os.Setenv("STALL_MARK", mark) // the plugin inherits podshimd's environment
	defer os.Unsetenv("STALL_MARK")

	const ns = "podshim-itest-crash"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := testenv.StartPodshimd(ctx, dir, testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: env.containerd.Address,
		CNIConfDir:        confDir,
		RegistryConfigDir: env.registryConfigDir,
		ExtraArgs:         []string{"--containerd-namespace", ns, "--cni-bin-dir", binDir + ",/usr/lib/cni"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podshimd log:\n%s", p.LogTail(6000))
		}
		p.Stop()
		testenv.UnmountBelow(dir)
	})

	go func() {
		rctx, rcancel := context.WithTimeout(ctx, time.Minute)
		defer rcancel()
		_, _ = p.Runtime.RunPodSandbox(rctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)})
	}()
	waitFor(t, 30*time.Second, "CNI ADD to allocate the pod's IP and stall", func() (bool, string) {
		pid, err := os.ReadFile(mark)
		return err == nil && len(pid) > 0, fmt.Sprint(err)
	})
	if ips := reservedIPsIn(ipDir); len(ips) != 1 {
		t.Fatalf("IP reservations while ADD stalls = %v, want one", ips)
	}
	netnsDir := filepath.Join(dir, "netns")
	if entries, _ := os.ReadDir(netnsDir); len(entries) != 1 {
		t.Fatalf("netns while ADD stalls = %d, want one", len(entries))
	}

	p.Kill()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}

	lctx, lcancel := callCtx()
	defer lcancel()
	list, err := p.Runtime.ListPodSandbox(lctx, &criapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("sandboxes listed after recovering from the crash: %v", list.Items)
	}
	if ips := reservedIPsIn(ipDir); len(ips) != 0 {
		t.Errorf("IP reservations left after recovery: %v", ips)
	}
	if entries, _ := os.ReadDir(netnsDir); len(entries) != 0 {
		t.Errorf("netns left after recovery: %d", len(entries))
	}
	if out := runCmd("ip", "-o", "link", "show", "master", bridge); out != "" {
		t.Errorf("veths left on %s after recovery:\n%s", bridge, out)
	}
	cs, err := env.ctrd.Containers(namespaces.WithNamespace(context.Background(), ns))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Errorf("containerd containers left after recovery: %d", len(cs))
	}
	waitFor(t, 10*time.Second, "the crashed pod's shim to exit", func() (bool, string) {
		pids := shimsOfNamespace(ns)
		return len(pids) == 0, fmt.Sprintf("shims of namespace %s: %v", ns, pids)
	})
	for _, sub := range []string{"root/sandboxes", "state/sandboxes"} {
		if entries, _ := os.ReadDir(filepath.Join(dir, sub)); len(entries) != 0 {
			t.Errorf("%s not empty after recovery: %d entries", sub, len(entries))
		}
	}
}

func reservedIPsIn(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

// shimsOfNamespace returns the pids of containerd shims serving namespace ns.
func shimsOfNamespace(ns string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "containerd-shim") {
			continue
		}
		if strings.Contains(string(cmdline), "\x00-namespace\x00"+ns+"\x00") {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// runCmd runs a command and returns its trimmed output ("" on error).
func runCmd(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
