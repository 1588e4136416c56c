package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cnins "github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// testNetwork writes a bridge network of the test's own and returns a
// Manager on it. Name, bridge and subnet are this package's own.
func testNetwork(t *testing.T) (*Manager, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := WriteBridgeConfig(filepath.Join(dir, "net.d"), "podshim-nettest", "cni-pnt0", "10.93.0.0/24"); err != nil {
		t.Fatal(err)
	}
	m := New(Options{
		ConfDir:  filepath.Join(dir, "net.d"),
		BinDirs:  []string{"/usr/lib/cni", "/opt/cni/bin"},
		CacheDir: filepath.Join(dir, "cache"),
		NetNSDir: filepath.Join(dir, "netns"),
	})
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "cni-pnt0").Run() })
	return m, dir
}

func TestStatusFollowsConfigDir(t *testing.T) {
	dir := t.TempDir()
	m := New(Options{ConfDir: dir, BinDirs: []string{"/usr/lib/cni"}, CacheDir: filepath.Join(dir, "cache")})
	if err := m.Status(); err == nil || !strings.Contains(err.Error(), "no CNI network config") {
		t.Fatalf("Status with empty conf dir = %v, want not-ready error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "05-bad.conflist"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Status(); err == nil {
		t.Fatal("Status with only a broken config = nil, want error")
	}
	if _, err := WriteBridgeConfig(dir, "later", "cni-later0", "10.94.0.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := m.Status(); err != nil {
		t.Fatalf("Status after a valid config appeared = %v, want ready", err)
	}
	list, err := m.network()
	if err != nil || list.Name != "later" {
		t.Fatalf("network() = %v, %v; want the valid config named later", list, err)
	}
}

func TestSetupTeardownLeavesNothing(t *testing.T) {
	m, dir := testNetwork(t)
	ctx := context.Background()
	nsPath, err := m.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveNetNS(nsPath)
	if !NetNSExists(nsPath) {
		t.Fatalf("netns %s not pinned", nsPath)
	}
	err = cnins.WithNetNSPath(nsPath, func(cnins.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if lo.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("lo is down in the new netns")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pod := Pod{ID: "abc123", Name: "web", Namespace: "default", UID: "uid-1", NetNS: nsPath,
		PortMappings: []*runtime.PortMapping{{Protocol: runtime.Protocol_TCP, ContainerPort: 8080, HostPort: 18089, HostIp: "127.0.0.1"}}}
	res, err := m.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(res.IPs[0])
	if ip == nil || !strings.HasPrefix(ip.String(), "10.93.0.") {
		t.Fatalf("pod IP = %v, want one in 10.93.0.0/24", res.IPs)
	}
	// The host reaches a listener inside the pod's netns at the pod IP.
	var ln net.Listener
	err = cnins.WithNetNSPath(nsPath, func(cnins.NetNS) error {
		var err error
		ln, err = net.Listen("tcp", ":8080")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "hello from the pod")
			c.Close()
		}
	}()
	got := dialRead(t, net.JoinHostPort(ip.String(), "8080"))
	if got != "hello from the pod" {
		t.Fatalf("read %q from pod IP", got)
	}
	if out, _ := exec.Command("iptables-save", "-t", "nat").CombinedOutput(); !strings.Contains(string(out), "18089") {
		t.Fatalf("no hostPort rule for 18089 after ADD:\n%s", out)
	}
	ipFile := filepath.Join("/var/lib/cni/networks/podshim-nettest", ip.String())
	if _, err := os.Stat(ipFile); err != nil {
		t.Fatalf("host-local reservation %s missing after ADD: %v", ipFile, err)
	}

	if err := m.Teardown(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := m.Teardown(ctx, pod); err != nil {
		t.Fatalf("second Teardown = %v, want idempotent", err)
	}
	if _, err := os.Stat(ipFile); !os.IsNotExist(err) {
		t.Fatalf("IP reservation %s still there after DEL (err=%v)", ipFile, err)
	}
	if err := RemoveNetNS(nsPath); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(nsPath); err != nil {
		t.Fatalf("second RemoveNetNS = %v, want idempotent", err)
	}
	if NetNSExists(nsPath) {
		t.Fatal("netns still pinned after remove")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "netns"))
	if len(entries) != 0 {
		t.Fatalf("netns dir not empty: %v", entries)
	}
	out, _ := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if strings.Contains(string(out), "abc123") || strings.Contains(string(out), "18089") {
		t.Fatalf("iptables rules of the pod remain after DEL:\n%s", out)
	}
}

func dialRead(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 100)
	n, _ := c.Read(buf)
	return string(buf[:n])
}

// TestTeardownPastAFailingPlugin: a chain whose last plugin is missing
// fails ADD after bridge and host-local allocated; DEL must still release
// the IP.
func TestTeardownPastAFailingPlugin(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "net.d")
	os.MkdirAll(conf, 0o755)
	os.WriteFile(filepath.Join(conf, "10-broken.conflist"), []byte(`{"cniVersion":"1.0.0","name":"podshim-nettest-broken","plugins":[
 {"type":"bridge","bridge":"cni-pnt1","isGateway":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.93.1.0/24"}]]}},
 {"type":"no-such-plugin"}]}`), 0o644)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "cni-pnt1").Run() })
	m := New(Options{ConfDir: conf, BinDirs: []string{"/usr/lib/cni"}, CacheDir: filepath.Join(dir, "cache"), NetNSDir: filepath.Join(dir, "netns")})
	nsPath, err := m.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveNetNS(nsPath)
	pod := Pod{ID: "broken1", Name: "b", Namespace: "default", UID: "u", NetNS: nsPath}
	if _, err := m.Setup(context.Background(), pod); err == nil {
		t.Fatal("Setup with a missing plugin succeeded")
	}
	ipDir := "/var/lib/cni/networks/podshim-nettest-broken"
	if ips := reservedIPs(ipDir); len(ips) != 1 {
		t.Fatalf("after the failed ADD, reserved IPs = %v; want the one bridge took", ips)
	}
	// The missing plugin fails DEL too, marked as not installed: the
	// installed plugins released what they hold.
	if err := m.Teardown(context.Background(), pod); !errors.Is(err, ErrPluginNotInstalled) || !strings.Contains(err.Error(), "no-such-plugin") {
		t.Errorf("Teardown with a plugin not installed = %v, want ErrPluginNotInstalled naming it", err)
	}
	if ips := reservedIPs(ipDir); len(ips) != 0 {
		t.Fatalf("IP reservations left after DEL: %v", ips)
	}
}

func reservedIPs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

// TestNetworkConfigCachedWhileUnchanged checks the cached config of
// network(): one parse while the file is unchanged, also under concurrent
// callers (which list and stat the dir outside the lock), and a new parse
// once the file changes.
func TestNetworkConfigCachedWhileUnchanged(t *testing.T) {
	dir := t.TempDir()
	m := New(Options{ConfDir: dir, BinDirs: []string{"/usr/lib/cni"}, CacheDir: filepath.Join(dir, "cache")})
	path, err := WriteBridgeConfig(dir, "first", "cni-first0", "10.94.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.network()
	if err != nil || want.Name != "first" {
		t.Fatalf("network() = %v, %v", want, err)
	}
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func() {
			got, err := m.network()
			if err == nil && got != want {
				err = fmt.Errorf("network() parsed an unchanged config again")
			}
			errs <- err
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), `"first"`, `"second-name"`, 1)
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := m.network()
	if err != nil || got == want || got.Name != "second-name" {
		t.Fatalf("network() after the file changed = %v, %v; want a new parse named second-name", got, err)
	}
}
