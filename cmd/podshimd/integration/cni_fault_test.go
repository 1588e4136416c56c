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
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
)

// faultyBridge is a CNI plugin that runs the real bridge plugin, except
// when the file MODE says otherwise: "hang-add" runs bridge's ADD (the IP
// and veth are allocated) and then hangs with a child holding the
// plugin's stdout, as a plugin waiting on a helper does; "fail-del" fails
// every DEL, as a plugin with a transient error does; "hang-add-fail-del"
// does both.
const faultyBridge = `#!/bin/sh
mode=$(cat MODE 2>/dev/null)
case "$CNI_COMMAND:$mode" in
ADD:hang-add | ADD:hang-add-fail-del)
	/usr/lib/cni/bridge >/dev/null
	sleep 120
	exit 1 ;;
DEL:fail-del | DEL:hang-add-fail-del)
	echo '{"cniVersion":"1.0.0","code":11,"msg":"injected transient DEL failure"}'
	exit 1 ;;
esac
exec /usr/lib/cni/bridge
`

// cniFaultBed is a podshimd of its own whose pod network runs faultyBridge
// (real CNI exec of a plugin in a temp bin dir), on a network, bridge and
// subnet of its own.
type cniFaultBed struct {
	p                               *testenv.Podshimd
	dir, ns, mode, ipDir            string
	network, bridge, netnsDir, plug string
}

func startCNIFaultBed(t *testing.T) *cniFaultBed {
	t.Helper()
	const network, bridge, subnet = "podshim-itest-cnifault", "cni-itfault0", "10.91.251.0/24"
	dir := filepath.Join(env.dir, "podshimd-cnifault")
	b := &cniFaultBed{dir: dir, ns: "podshim-itest-cnifault", mode: filepath.Join(dir, "mode"), network: network, bridge: bridge,
		ipDir: filepath.Join("/var/lib/cni/networks", network), netnsDir: filepath.Join(dir, "netns")}
	confDir, binDir := filepath.Join(dir, "net.d"), filepath.Join(dir, "cni-bin")
	for _, d := range []string{confDir, binDir} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(binDir, "faulty-bridge"), []byte(strings.ReplaceAll(faultyBridge, "MODE", b.mode)), 0o755))
	conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"plugins":[{"type":"faulty-bridge","bridge":%q,"isGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":%q}]]}}]}`, network, bridge, subnet)
	must(t, os.WriteFile(filepath.Join(confDir, "10-cnifault.conflist"), []byte(conf), 0o644))
	b.setMode(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testenv.StartPodshimd(ctx, dir, testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: env.containerd.Address,
		CNIConfDir:        confDir,
		RegistryConfigDir: env.registryConfigDir,
		ExtraArgs:         []string{"--containerd-namespace", b.ns, "--cni-bin-dir", binDir + ",/usr/lib/cni"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.p = p
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podshimd log:\n%s", p.LogTail(8000))
		}
		b.setMode(t, "")
		ctx, cancel := callCtx()
		defer cancel()
		if list, err := p.Runtime.ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{}); err == nil {
			for _, pod := range list.Items {
				_, _ = p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: pod.Id})
				_, _ = p.Runtime.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: pod.Id})
			}
		}
		p.Stop()
		testenv.UnmountBelow(dir)
		runCmd("ip", "link", "del", bridge)
		os.RemoveAll(b.ipDir)
		removeRulesOf(network)
	})
	return b
}

func (b *cniFaultBed) setMode(t *testing.T, mode string) {
	t.Helper()
	must(t, os.WriteFile(b.mode, []byte(mode), 0o644))
}

// residue lists what the bed's pods hold on the host: netns, IP
// reservations, veths on the bridge, NAT rules, containerd containers.
func (b *cniFaultBed) residue() []string {
	var out []string
	for _, e := range dirEntries(b.netnsDir) {
		out = append(out, "netns "+e)
	}
	for _, ip := range reservedIPsIn(b.ipDir) {
		out = append(out, "IP "+ip)
	}
	if ports := runCmd("ip", "-o", "link", "show", "master", b.bridge); ports != "" {
		out = append(out, "veth "+ports)
	}
	for _, r := range iptablesRules(b.network) {
		out = append(out, "rule "+r)
	}
	// A pause task whose delete the restart cut short keeps its shim
	// until podshimd reaps it (2 s after RemovePodSandbox).
	for _, pid := range shimsOfNamespace(b.ns) {
		out = append(out, "shim "+pid)
	}
	if cs, err := env.ctrd.Containers(namespaces.WithNamespace(context.Background(), b.ns)); err == nil {
		for _, c := range cs {
			out = append(out, "containerd container "+c.ID())
		}
	}
	return out
}

func (b *cniFaultBed) waitNoResidue(t *testing.T, timeout time.Duration, what string) {
	t.Helper()
	waitFor(t, timeout, "nothing left after "+what, func() (bool, string) {
		r := b.residue()
		return len(r) == 0, strings.Join(r, "; ")
	})
}

// TestCNIFaults: a CNI ADD that hangs past RunPodSandbox's deadline fails
// the call with DeadlineExceeded and leaves nothing (no netns, IP, veth,
// NAT rule, containerd container), also when the hung plugin's child holds
// its output open; when the DEL of that call's undo fails as well, the IP
// and netns stay and the DEL is retried in the background, across a
// restart, until it succeeds; a CNI DEL that fails (a transient plugin
// error) fails StopPodSandbox and is retried, by kubelet's next StopPodSandbox and in
// the background, also by a restarted podshimd, without a CRI call, until
// it succeeds: the IP is never lost and the IPAM store ends empty.
func TestCNIFaults(t *testing.T) {
	b := startCNIFaultBed(t)
	rt := b.p.Runtime

	// ADD hangs: the call fails at its deadline and everything is undone.
	b.setMode(t, "hang-add")
	const deadline = 8 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	start := time.Now()
	_, err := rt.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)})
	cancel()
	if grpcCode(err) != codes.DeadlineExceeded {
		t.Fatalf("RunPodSandbox with CNI ADD hung = %v, want DeadlineExceeded", err)
	}
	b.setMode(t, "")
	b.waitNoResidue(t, 15*time.Second, "a RunPodSandbox whose CNI ADD hung")
	t.Logf("hung ADD: RunPodSandbox failed (%v) within its %s deadline, cleaned up after %s", err, deadline, time.Since(start).Round(100*time.Millisecond))
	// podshimd's own answer, before the caller's deadline: CNI ADD's time
	// ends first (network.addTimeout).
	if log := b.p.LogTail(1 << 20); !logLineWith(log, "request failed", "code = DeadlineExceeded", "CNI ADD", "faulty-bridge") {
		t.Errorf("podshimd's log has no DeadlineExceeded answer naming CNI ADD and the plugin:\n%s", tail(log, 3000))
	}

	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer ccancel()

	// ADD hangs and the DEL of RunPodSandbox's undo fails too: the IP the
	// ADD took stays held and the pod's netns pinned, and the DEL is
	// retried in the background, also by a restarted podshimd (the pod
	// itself is gone), until it succeeds.
	b.setMode(t, "hang-add-fail-del")
	ctx, cancel = context.WithTimeout(context.Background(), deadline)
	_, err = rt.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)})
	cancel()
	if grpcCode(err) != codes.DeadlineExceeded {
		t.Fatalf("RunPodSandbox with CNI ADD hung and DEL failing = %v, want DeadlineExceeded", err)
	}
	waitFor(t, 15*time.Second, "the undo's failed CNI DEL to be logged", func() (bool, string) {
		return logLineWith(b.p.LogTail(1<<20), "CNI DEL in the undo of a failed RunPodSandbox failed"), ""
	})
	if ips, netns := reservedIPsIn(b.ipDir), dirEntries(b.netnsDir); len(ips) != 1 || len(netns) != 1 {
		t.Fatalf("after a failed RunPodSandbox whose DEL failed: IPs %v, netns dirs %v; want the pod's IP held and its netns kept", ips, netns)
	}
	b.p.Stop()
	if err := b.p.Start(cctx); err != nil {
		t.Fatal(err)
	}
	rt = b.p.Runtime
	if !logLineWith(b.p.LogTail(1<<20), "CNI DEL failed before the restart: retrying it in the background") {
		t.Fatalf("the restarted podshimd does not retry the DEL of the failed RunPodSandbox")
	}
	if ips := reservedIPsIn(b.ipDir); len(ips) != 1 {
		t.Fatalf("IPs while DEL fails after the restart = %v, want the pod's still held", ips)
	}
	b.setMode(t, "")
	b.waitNoResidue(t, 20*time.Second, "the background DEL of a failed RunPodSandbox")
	if !logLineWith(b.p.LogTail(1<<20), "CNI DEL of a failed RunPodSandbox retried in the background: the pod's network is released") {
		t.Errorf("the restarted podshimd's log has no line of the released network")
	}

	// DEL fails: StopPodSandbox fails, the IP stays held (never lost) and
	// the DEL is retried.
	var pods []string
	for i := 0; i < 2; i++ {
		resp := res(rt.RunPodSandbox(cctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)})).must(t, "RunPodSandbox")
		pods = append(pods, resp.PodSandboxId)
	}
	if ips := reservedIPsIn(b.ipDir); len(ips) != 2 {
		t.Fatalf("IPs of 2 pods = %v", ips)
	}
	b.setMode(t, "fail-del")
	for _, id := range pods {
		if _, err := rt.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: id}); err == nil || !strings.Contains(err.Error(), "injected transient DEL failure") {
			t.Errorf("StopPodSandbox with CNI DEL failing = %v, want the plugin's error", err)
		}
	}
	// podshimd restarts while DEL still fails.
	b.p.Stop()
	if err := b.p.Start(cctx); err != nil {
		t.Fatal(err)
	}
	rt = b.p.Runtime
	if _, err := rt.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: pods[0]}); err == nil {
		t.Errorf("StopPodSandbox with CNI DEL failing after the restart succeeded")
	}
	if ips := reservedIPsIn(b.ipDir); len(ips) != 2 {
		t.Fatalf("IPs while DEL fails = %v, want both pods' still held", ips)
	}
	b.setMode(t, "")
	// kubelet retries StopPodSandbox of the first pod; nothing asks for
	// the second: the background retry of the restarted podshimd releases
	// it.
	res(rt.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: pods[0]})).must(t, "StopPodSandbox once DEL works")
	waitFor(t, 20*time.Second, "the background CNI DEL retry to release the second pod's IP", func() (bool, string) {
		ips := reservedIPsIn(b.ipDir)
		return len(ips) == 0, fmt.Sprint("IPs ", ips)
	})
	// The line follows the DEL (host-local released the IP within it).
	waitFor(t, 5*time.Second, "the log line of the background DEL retry of "+pods[1], func() (bool, string) {
		return logLineWith(b.p.LogTail(1<<20), "CNI DEL retried in the background", pods[1]), ""
	})
	for _, id := range pods {
		res(rt.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: id})).must(t, "StopPodSandbox")
		res(rt.RemovePodSandbox(cctx, &criapi.RemovePodSandboxRequest{PodSandboxId: id})).must(t, "RemovePodSandbox")
	}
	b.waitNoResidue(t, 10*time.Second, "removing the pods whose DEL failed")
}

// removeRulesOf deletes the nat rules whose comment names network.
func removeRulesOf(network string) {
	for _, r := range iptablesRules(`name: \"` + network + `\"`) {
		_ = runCmd("sh", "-c", "iptables -t nat -D"+strings.TrimPrefix(r, "-A"))
	}
}
