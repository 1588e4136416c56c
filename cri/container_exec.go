package cri

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/spec"
)

// maxExecOutput caps what ExecSync keeps of each stream.
const maxExecOutput = 16 << 20

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int32
}

// ExecSync runs cmd in a running container and returns its output and exit
// code. A timeout (0 = none) kills the process and returns an error
// wrapping context.DeadlineExceeded, which kubelet reads as a probe
// timeout.
func (s *Service) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (ExecResult, error) {
	if len(cmd) == 0 {
		return ExecResult{}, fmt.Errorf("%w: cmd is required", errdefs.ErrInvalidArgument)
	}
	c, err := s.store.Get(id)
	if err != nil {
		return ExecResult{}, err
	}
	c.mu.RLock()
	task := c.task
	c.mu.RUnlock()
	if task == nil {
		return ExecResult{}, fmt.Errorf("%w: container %s is not running", errdefs.ErrFailedPrecondition, c.meta.ID)
	}
	base, err := c.loadSpec(ctx)
	if err != nil {
		return ExecResult{}, err
	}
	execID := newID()[:32]
	var stdout, stderr cappedBuffer
	_, stateDir := s.containerDirs(c.meta.ID)
	process, err := task.Exec(ctx, execID, spec.ExecProcess(base, cmd, false),
		cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr), cio.WithFIFODir(filepath.Join(stateDir, "exec"))))
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in container %s: %w", c.meta.ID, err)
	}
	cleanupCtx := context.WithoutCancel(ctx)
	defer process.Delete(cleanupCtx) //nolint:errcheck // best effort; the process has exited or been killed
	exitCh, err := process.Wait(ctx)
	if err != nil {
		return ExecResult{}, fmt.Errorf("wait exec in container %s: %w", c.meta.ID, err)
	}
	if err := process.Start(ctx); err != nil {
		return ExecResult{}, fmt.Errorf("start exec in container %s: %w", c.meta.ID, err)
	}
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	select {
	case st := <-exitCh:
		process.IO().Wait()
		code, _, err := st.Result()
		if err != nil {
			return ExecResult{}, fmt.Errorf("exec in container %s: %w", c.meta.ID, err)
		}
		return ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(code)}, nil
	case <-timer:
		_ = process.Kill(cleanupCtx, syscall.SIGKILL)
		<-exitCh
		return ExecResult{}, fmt.Errorf("exec in container %s: timeout %s exceeded: %w", c.meta.ID, timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		_ = process.Kill(cleanupCtx, syscall.SIGKILL)
		<-exitCh
		return ExecResult{}, ctx.Err()
	}
}

// loadSpec returns the container's OCI spec, read from containerd once.
func (c *Container) loadSpec(ctx context.Context) (*specs.Spec, error) {
	c.mu.RLock()
	sp := c.spec
	c.mu.RUnlock()
	if sp != nil {
		return sp, nil
	}
	sp, err := c.container.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("load spec of container %s: %w", c.meta.ID, err)
	}
	c.mu.Lock()
	c.spec = sp
	c.mu.Unlock()
	return sp, nil
}

// ReopenLog reopens a running container's log file after kubelet rotated
// it.
func (s *Service) ReopenLog(ctx context.Context, id string) error {
	c, err := s.store.Get(id)
	if err != nil {
		return err
	}
	c.mu.RLock()
	cio := c.io
	c.mu.RUnlock()
	if cio == nil || c.Status().State != runtime.ContainerState_CONTAINER_RUNNING {
		return fmt.Errorf("%w: container %s is not running", errdefs.ErrFailedPrecondition, c.meta.ID)
	}
	if cio.log == nil {
		return nil
	}
	return cio.log.Reopen()
}

// cappedBuffer keeps the first maxExecOutput bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxExecOutput - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
