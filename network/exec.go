package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// pluginWaitDelay is how long a plugin's output is waited for once the
// plugin was killed at its deadline.
const pluginWaitDelay = 2 * time.Second

// pluginExec runs CNI plugins as libcni's default executor does, except at
// the deadline: libcni kills only the plugin process and then waits for
// its stdout to close, which a child the plugin started (a sleep, a
// helper) may hold open for ever, so that a hung ADD outlives its
// RunPodSandbox. pluginExec runs each plugin in a process group of its
// own, kills the whole group at the deadline, waits at most
// pluginWaitDelay for the output, and answers with an error wrapping the
// context's (context.DeadlineExceeded: gRPC code DeadlineExceeded).
type pluginExec struct {
	version.PluginDecoder
}

func (pluginExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

func (pluginExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		stdout, stderr := &bytes.Buffer{}, &bytes.Buffer{}
		c := exec.CommandContext(ctx, pluginPath)
		c.Env = environ
		c.Stdin = bytes.NewReader(stdinData)
		c.Stdout, c.Stderr = stdout, stderr
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
		c.WaitDelay = pluginWaitDelay
		err := c.Run()
		if err == nil {
			if stderr.Len() > 0 {
				_, _ = stderr.WriteTo(os.Stderr)
			}
			return stdout.Bytes(), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("plugin %s %s: %w (%v)", filepath.Base(pluginPath), command(environ), ctx.Err(), err)
		}
		// The plugin is being written (an upgrade): try again, as libcni
		// does.
		if strings.Contains(err.Error(), "text file busy") && attempt < 5 {
			time.Sleep(time.Second)
			continue
		}
		return nil, pluginErr(err, stdout.Bytes(), stderr.Bytes())
	}
}

// command is the CNI_COMMAND in environ.
func command(environ []string) string {
	for _, e := range environ {
		if v, ok := strings.CutPrefix(e, "CNI_COMMAND="); ok {
			return v
		}
	}
	return "?"
}

// pluginErr is the plugin's error as libcni makes it: the CNI error the
// plugin printed, else its stderr.
func pluginErr(err error, stdout, stderr []byte) error {
	emsg := types.Error{}
	switch {
	case len(stdout) == 0 && len(stderr) == 0:
		emsg.Msg = fmt.Sprintf("netplugin failed with no error message: %v", err)
	case len(stdout) == 0:
		emsg.Msg = fmt.Sprintf("netplugin failed: %q", string(stderr))
	default:
		if perr := json.Unmarshal(stdout, &emsg); perr != nil {
			emsg.Msg = fmt.Sprintf("netplugin failed but error parsing its diagnostic message %q: %v", string(stdout), perr)
		}
	}
	return &emsg
}
