package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/network"
)

// node is an installed podshim (make install into a temp DESTDIR) whose
// config points at a private containerd and keeps every file in the test's
// own directories.
type node struct {
	destdir, bin, config, crictlYAML, socket, root string
	ctrd                                           *testenv.Containerd
}

func installNode(t *testing.T) node {
	t.Helper()
	ctrd := testenv.ContainerdForTest(t)
	dir := t.TempDir()
	n := node{
		destdir: filepath.Join(dir, "destdir"),
		socket:  filepath.Join(dir, "run", "podshim.sock"),
		root:    filepath.Join(dir, "root"),
		ctrd:    ctrd,
	}
	n.bin = filepath.Join(n.destdir, "usr/local/bin")
	n.config = filepath.Join(n.destdir, "etc/podshim/config.toml")
	n.crictlYAML = filepath.Join(n.destdir, "etc/crictl.yaml")
	confDir := filepath.Join(dir, "net.d")
	if _, err := network.WriteBridgeConfig(confDir, "deploytest-net", "dplytst0", "10.233.0.0/24"); err != nil {
		t.Fatal(err)
	}
	// The node's config, written before make install, which keeps it and
	// points crictl.yaml at its socket.
	os.MkdirAll(filepath.Dir(n.config), 0o755)
	cfg := fmt.Sprintf(`listen = "unix://%s"
containerd_address = %q
containerd_namespace = "podshim-deploytest"
root = %q
state = %q
cni_conf_dir = %q
netns_dir = %q
registry_config_dir = %q
log_level = "debug"
`, n.socket, ctrd.Address, n.root, filepath.Join(dir, "state"), confDir, filepath.Join(dir, "netns"), filepath.Join(dir, "certs.d"))
	if err := os.WriteFile(n.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	makeInstall(t, n.destdir)
	return n
}

// daemon is a running installed podshimd.
type daemon struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// start runs the installed podshimd as the unit does (only --config) plus
// extra flags, and returns once it exits or serves CRI on socket.
func (n node) start(t *testing.T, socket string, extra ...string) *daemon {
	t.Helper()
	d := &daemon{log: &bytes.Buffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(n.bin, "podshimd"), append([]string{"--config", n.config}, extra...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.kill(syscall.SIGTERM) })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return d
		default:
		}
		if err := n.crictl(socket, "version"); err == nil {
			return d
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("podshimd did not serve on %s within 30s; log:\n%s", socket, d.log)
	return nil
}

// exited waits up to 20s for the daemon to end and returns its exit code.
func (d *daemon) exited(t *testing.T) int {
	t.Helper()
	select {
	case <-d.done:
		return d.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatalf("podshimd still runs; log:\n%s", d.log)
		return 0
	}
}

func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

func (d *daemon) kill(sig syscall.Signal) {
	if d.running() {
		d.cmd.Process.Signal(sig)
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
}

// crictl runs the installed crictl with the installed crictl.yaml; when
// socket is not the node's, it names it on the command line.
func (n node) crictl(socket string, args ...string) error {
	_, err := n.crictlOutput(socket, args...)
	return err
}

func (n node) crictlOutput(socket string, args ...string) (string, error) {
	all := []string{"--config", n.crictlYAML}
	if socket != n.socket {
		all = append(all, "--runtime-endpoint", "unix://"+socket, "--image-endpoint", "unix://"+socket)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(n.bin, "crictl"), append(all, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("crictl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func needNode(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containerd and podshimd; runs in make integration")
	}
}

// TestInstalledService: after make install, crictl info works without
// flags (the installed crictl.yaml) against the installed podshimd started
// with the installed config only, and podshimd check passes on that node.
func TestInstalledService(t *testing.T) {
	needNode(t)
	n := installNode(t)
	out, err := exec.Command(filepath.Join(n.bin, "podshimd"), "check", "--config", n.config).CombinedOutput()
	if err != nil {
		t.Fatalf("podshimd check on a good node: %v\n%s", err, out)
	}
	d := n.start(t, n.socket)
	if !d.running() {
		t.Fatalf("podshimd exited; log:\n%s", d.log)
	}
	info, err := n.crictlOutput(n.socket, "info")
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status bool   `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(info), &resp); err != nil {
		t.Fatalf("crictl info output: %v\n%s", err, info)
	}
	ready := map[string]bool{}
	for _, c := range resp.Status.Conditions {
		ready[c.Type] = c.Status
	}
	if !ready["RuntimeReady"] || !ready["NetworkReady"] {
		t.Errorf("crictl info: conditions %v, want RuntimeReady and NetworkReady true:\n%s", ready, info)
	}
	v, err := n.crictlOutput(n.socket, "version")
	if err != nil || !strings.Contains(v, "RuntimeName:  podshim") {
		t.Errorf("crictl version: %v\n%s", err, v)
	}

	// podshimd --version asks the configured containerd for its version.
	out, err = exec.Command(filepath.Join(n.bin, "podshimd"), "--version", "--config", n.config).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "serving at "+n.ctrd.Address) {
		t.Errorf("podshimd --version: %v; want containerd's version from %s:\n%s", err, n.ctrd.Address, out)
	}

	// podshimd check exits 1, naming the problem and its fix, on a node
	// without a pod network, and with containerd down.
	check := func(args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(n.bin, "podshimd"), append([]string{"check", "--config", n.config}, args...)...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	empty := t.TempDir()
	if out, code := check("--cni-conf-dir", empty); code != 1 || !strings.Contains(out, "no CNI network config found in "+empty) || !strings.Contains(out, "fix: write a pod network config") {
		t.Errorf("check without CNI config: exit %d, want 1 naming the problem and its fix:\n%s", code, out)
	}
	d.kill(syscall.SIGTERM)
	n.ctrd.Stop()
	if out, code := check(); code != 1 || !strings.Contains(out, "nothing answers at "+n.ctrd.Address) || !strings.Contains(out, "fix: start containerd") {
		t.Errorf("check with containerd down: exit %d, want 1 naming containerd:\n%s", code, out)
	}
}

// TestOneInstancePerRoot starts the installed podshimd twice: a second one
// with the same root is refused naming the first's PID; one with another
// root but the same socket is refused naming the socket, which keeps
// serving; after the first is killed (its socket left behind), a new one
// replaces the stale socket.
func TestOneInstancePerRoot(t *testing.T) {
	needNode(t)
	n := installNode(t)
	first := n.start(t, n.socket)
	if !first.running() {
		t.Fatalf("first podshimd exited; log:\n%s", first.log)
	}

	// Same root, another socket: the lock refuses it.
	other := filepath.Join(filepath.Dir(n.socket), "other.sock")
	second := n.start(t, other, "--listen", "unix://"+other)
	if code := second.exited(t); code == 0 {
		t.Fatalf("second podshimd with the same root exited 0; log:\n%s", second.log)
	}
	want := fmt.Sprintf("another podshimd (PID %d) is running with root %s", first.cmd.Process.Pid, n.root)
	if !strings.Contains(second.log.String(), want) {
		t.Errorf("second podshimd's log lacks %q:\n%s", want, second.log)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("the refused podshimd left a socket at %s: %v", other, err)
	}

	// Another root, the same socket: refused, and the socket is kept.
	third := n.start(t, n.socket, "--root", n.root+"-third", "--state", n.root+"-third-state")
	if code := third.exited(t); code == 0 {
		t.Fatalf("podshimd on a live socket exited 0; log:\n%s", third.log)
	}
	want = fmt.Sprintf("socket %s is in use", n.socket)
	if !strings.Contains(third.log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, third.log)
	}
	if err := n.crictl(n.socket, "info"); err != nil {
		t.Fatalf("the first podshimd no longer answers: %v", err)
	}

	// The first dies without cleaning up: its socket stays, stale.
	first.kill(syscall.SIGKILL)
	if st, err := os.Lstat(n.socket); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("a killed podshimd's socket should stay behind for this test: %v", err)
	}
	next := n.start(t, n.socket)
	if !next.running() {
		t.Fatalf("podshimd did not replace the stale socket; log:\n%s", next.log)
	}
	if err := n.crictl(n.socket, "info"); err != nil {
		t.Fatal(err)
	}
	lock, _ := os.ReadFile(filepath.Join(n.root, "podshimd.lock"))
	if strings.TrimSpace(string(lock)) != strconv.Itoa(next.cmd.Process.Pid) {
		t.Errorf("lock file says %q, want the new podshimd's PID %d", lock, next.cmd.Process.Pid)
	}
}
