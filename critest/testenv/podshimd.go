package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Podshimd is a running podshimd with its own root, state and socket.
type Podshimd struct {
	Dir     string
	Socket  string
	Args    []string
	LogPath string
	// Env is added to the daemon's environment at the next Start (for
	// instance a crash point, faultpoint.Env).
	Env     []string
	Runtime runtime.RuntimeServiceClient
	Image   runtime.ImageServiceClient

	binary string
	cmd    *exec.Cmd
	conn   *grpc.ClientConn
	done   chan struct{}
}

// PodshimdOptions configure a podshimd.
type PodshimdOptions struct {
	Binary            string // bin/podshimd; the pause binary must sit next to it
	ContainerdAddress string
	CNIConfDir        string
	RegistryConfigDir string
	ExtraArgs         []string
}

// StartPodshimd starts podshimd with all its files under dir and connects a
// CRI client to it. The caller must Stop it.
func StartPodshimd(ctx context.Context, dir string, o PodshimdOptions) (*Podshimd, error) {
	p := &Podshimd{Dir: dir, Socket: filepath.Join(dir, "podshim.sock"), LogPath: filepath.Join(dir, "podshimd.log"), binary: o.Binary}
	p.Args = append([]string{
		"--config", "/dev/null",
		"--listen", "unix://" + p.Socket,
		"--containerd-address", o.ContainerdAddress,
		"--containerd-namespace", "podshim",
		"--root", filepath.Join(dir, "root"),
		"--state", filepath.Join(dir, "state"),
		"--cni-conf-dir", o.CNIConfDir,
		"--cni-bin-dir", "/usr/lib/cni,/opt/cni/bin",
		"--netns-dir", filepath.Join(dir, "netns"),
		"--registry-config-dir", o.RegistryConfigDir,
		"--log-level", "debug",
	}, o.ExtraArgs...)
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Start (re)starts the daemon process with the same arguments and waits
// until it answers Version.
func (p *Podshimd) Start(ctx context.Context) error {
	logFile, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.binary, p.Args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if len(p.Env) > 0 {
		p.cmd.Env = append(os.Environ(), p.Env...)
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start podshimd: %w", err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); logFile.Close(); close(done) }(p.cmd, p.done)
	if p.conn == nil {
		conn, err := grpc.NewClient("unix://"+p.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
		if err != nil {
			return err
		}
		p.conn = conn
		p.Runtime = runtime.NewRuntimeServiceClient(conn)
		p.Image = runtime.NewImageServiceClient(conn)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("podshimd exited during start-up; log:\n%s", p.LogTail(3000))
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := p.Runtime.Version(cctx, &runtime.VersionRequest{})
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Kill()
	return fmt.Errorf("podshimd did not answer within 30s; log:\n%s", p.LogTail(3000))
}

// Kill ends the daemon abruptly (SIGKILL), as a crash would. Pods keep
// running.
func (p *Podshimd) Kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
		p.cmd = nil
	}
}

// WaitExit waits up to timeout for the daemon to end by itself (a crash
// point) and reports whether it did.
func (p *Podshimd) WaitExit(timeout time.Duration) bool {
	if p.cmd == nil {
		return true
	}
	select {
	case <-p.done:
		p.cmd = nil
		return true
	case <-time.After(timeout):
		return false
	}
}

// Stop ends the daemon with SIGTERM (pods keep running) and closes the
// client.
func (p *Podshimd) Stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		p.cmd = nil
	}
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// Running reports whether the daemon process started last is still
// running.
func (p *Podshimd) Running() bool {
	if p.cmd == nil || p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// LogTail returns the last n bytes of the daemon's log.
func (p *Podshimd) LogTail(n int) string {
	data, _ := os.ReadFile(p.LogPath)
	return tail(string(data), n)
}
