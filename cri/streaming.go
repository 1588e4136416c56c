package cri

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/podshim/podshim/cri/spec"
)

// Streaming implements the streaming server's runtime side: exec, attach
// and port-forward sessions. (The streaming library does the SPDY and
// websocket protocol work.)
type Streaming struct {
	s *Service
}

// Streaming returns the service's streaming runtime.
func (s *Service) Streaming() *Streaming { return &Streaming{s: s} }

// Exec runs cmd in a running container with the session's streams and
// returns once it exited. A non-zero exit is a utilexec.CodeExitError, which
// the library reports to the client as the exit code.
func (st *Streaming) Exec(ctx context.Context, containerID string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	c, task, err := st.s.runningTask(containerID)
	if err != nil {
		return err
	}
	base, err := c.loadSpec(ctx)
	if err != nil {
		return err
	}
	_, stateDir := st.s.containerDirs(c.meta.ID)
	opts := []cio.Opt{cio.WithStreams(in, out, errw), cio.WithFIFODir(filepath.Join(stateDir, "exec"))}
	if tty {
		opts = append(opts, cio.WithTerminal)
	}
	execID := newID()[:32]
	process, err := task.Exec(ctx, execID, spec.ExecProcess(base, cmd, tty), cio.NewCreator(opts...))
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", c.meta.ID, err)
	}
	cleanupCtx := context.WithoutCancel(ctx)
	defer process.Delete(cleanupCtx) //nolint:errcheck // the process has exited or was killed
	exitCh, err := process.Wait(cleanupCtx)
	if err != nil {
		return fmt.Errorf("wait exec in container %s: %w", c.meta.ID, err)
	}
	if err := process.Start(ctx); err != nil {
		return fmt.Errorf("start exec in container %s: %w", c.meta.ID, err)
	}
	go forwardResize(ctx, resize, process)
	var status containerd.ExitStatus
	select {
	case status = <-exitCh:
	case <-ctx.Done():
		_ = process.Kill(cleanupCtx, syscall.SIGKILL)
		status = <-exitCh
	}
	process.IO().Wait()
	code, _, err := status.Result()
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", c.meta.ID, err)
	}
	if code != 0 {
		return &utilexec.CodeExitError{Err: fmt.Errorf("command %q exited with %d", cmd, code), Code: int(code)}
	}
	return nil
}

// Attach connects the session's streams to a running container's stdio
// until the container exits or the client goes away. Output comes from the
// same copiers that write the log; input goes to the container's stdin,
// which is closed after the first attach's input ends when the container
// asked for stdin_once.
func (st *Streaming) Attach(ctx context.Context, containerID string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	c, task, err := st.s.runningTask(containerID)
	if err != nil {
		return err
	}
	c.mu.RLock()
	cio, exited := c.io, c.exited
	c.mu.RUnlock()
	if cio != nil {
		cio.mu.Lock()
		stdin := cio.stdin
		cio.mu.Unlock()
		return st.attach(ctx, c, task, cio, stdin, exited, in, out, errw, tty, resize)
	}
	return fmt.Errorf("%w: container %s has no io", errdefs.ErrFailedPrecondition, c.meta.ID)
}

func (st *Streaming) attach(ctx context.Context, c *Container, task containerd.Task, cio *containerIO, stdin io.Writer, exited chan struct{},
	in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	if cio == nil {
		return fmt.Errorf("%w: container %s has no io", errdefs.ErrFailedPrecondition, c.meta.ID)
	}
	sub := &subscriber{}
	if out != nil {
		sub.stdout = out
	}
	if errw != nil && !tty {
		sub.stderr = errw
	}
	cio.mu.Lock()
	cio.outSubs[sub] = struct{}{}
	cio.mu.Unlock()
	defer func() {
		cio.mu.Lock()
		delete(cio.outSubs, sub)
		cio.mu.Unlock()
	}()
	go forwardResize(ctx, resize, task)

	inDone := make(chan struct{})
	if in != nil && c.meta.Config.GetStdin() && stdin != nil {
		go func() {
			defer close(inDone)
			_, err := io.Copy(stdin, in)
			if err != nil {
				log.G(ctx).WithError(err).Debug("attach stdin copy ended")
			}
			if c.meta.Config.GetStdinOnce() {
				// The shim holds a writer of the stdin FIFO too: only
				// CloseIO makes the container see EOF.
				cio.closeStdin()
				if err := task.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser); err != nil && !errdefs.IsNotFound(err) {
					log.G(ctx).WithError(err).Warn("close container stdin")
				}
			}
		}()
	}
	select {
	case <-exited:
		cio.waitOutput(outputDrainTimeout)
	case <-ctx.Done():
	case <-stdinOnceDone(inDone, c.meta.Config.GetStdinOnce() && in != nil):
		// stdin_once: the session ends with its input; wait for the
		// container to finish with it.
		select {
		case <-exited:
			cio.waitOutput(outputDrainTimeout)
		case <-ctx.Done():
		}
	}
	return nil
}

// stdinOnceDone returns done when the attach ends with its input, else a
// channel that never fires.
func stdinOnceDone(done chan struct{}, once bool) <-chan struct{} {
	if once {
		return done
	}
	return nil
}

// PortForward connects stream to a TCP port on the pod's loopback: the
// connection is dialled from inside the pod's network namespace.
func (st *Streaming) PortForward(ctx context.Context, podSandboxID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	sb, err := st.s.opts.Sandboxes.Get(podSandboxID)
	if err != nil {
		return err
	}
	if port <= 0 || port > 65535 {
		return fmt.Errorf("%w: port %d", errdefs.ErrInvalidArgument, port)
	}
	netns := sb.Metadata().NetNSPath
	var conn net.Conn
	dial := func() error {
		var errs []error
		for _, host := range []string{"127.0.0.1", "::1"} {
			var err error
			if conn, err = net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port)))); err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	if netns == "" {
		err = dial()
	} else {
		err = cnins.WithNetNSPath(netns, func(cnins.NetNS) error { return dial() })
	}
	if err != nil {
		return fmt.Errorf("port-forward to port %d of sandbox %s: %w", port, sb.ID(), err)
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, err = io.Copy(stream, conn)
	stream.Close()
	wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("port-forward to port %d of sandbox %s: %w", port, sb.ID(), err)
	}
	return nil
}

// runningTask returns a container and its task if it runs.
func (s *Service) runningTask(id string) (*Container, containerd.Task, error) {
	c, err := s.store.Get(id)
	if err != nil {
		return nil, nil, err
	}
	c.mu.RLock()
	task := c.task
	c.mu.RUnlock()
	if task == nil {
		return nil, nil, fmt.Errorf("%w: container %s is not running", errdefs.ErrFailedPrecondition, c.meta.ID)
	}
	return c, task, nil
}

type resizer interface {
	Resize(ctx context.Context, w, h uint32) error
}

func forwardResize(ctx context.Context, sizes <-chan remotecommand.TerminalSize, r resizer) {
	for {
		select {
		case <-ctx.Done():
			return
		case size, ok := <-sizes:
			if !ok {
				return
			}
			if size.Width == 0 || size.Height == 0 {
				continue
			}
			if err := r.Resize(ctx, uint32(size.Width), uint32(size.Height)); err != nil && !errdefs.IsNotFound(err) {
				log.G(ctx).WithError(err).Debug("resize terminal")
			}
		}
	}
}
