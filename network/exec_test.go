package network

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
)

// TestPluginExecKillsHungPluginAtDeadline runs a plugin that hangs with a
// child holding its stdout (as a plugin waiting on a helper does): the call
// must end soon after the deadline with an error wrapping
// context.DeadlineExceeded, and the child must be gone.
func TestPluginExecKillsHungPluginAtDeadline(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	plugin := filepath.Join(dir, "hang")
	script := "#!/bin/sh\nsleep 60 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := (&pluginExec{}).ExecPlugin(ctx, plugin, []byte("{}"), []string{"CNI_COMMAND=ADD"})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "hang ADD") {
		t.Errorf("ExecPlugin of a hung plugin = %v, want DeadlineExceeded naming the plugin and command", err)
	}
	if took > time.Second+pluginWaitDelay+time.Second {
		t.Errorf("ExecPlugin of a hung plugin took %s, past its 1 s deadline", took)
	}
	pid, _ := os.ReadFile(pidFile)
	if p := strings.TrimSpace(string(pid)); p != "" {
		deadline := time.Now().Add(2 * time.Second)
		for {
			if _, err := os.Stat("/proc/" + p); os.IsNotExist(err) {
				break
			}
			if state, _ := os.ReadFile("/proc/" + p + "/stat"); strings.Contains(string(state), ") Z") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the hung plugin's child %s outlived it", p)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	} else {
		t.Errorf("the plugin never ran (no child pid)")
	}
}

// TestPluginExecReportsPluginError checks that a failing plugin's CNI
// error is returned as libcni returns it.
func TestPluginExecReportsPluginError(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "fail")
	script := "#!/bin/sh\necho '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"injected\"}'\nexit 1\n"
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := (&pluginExec{}).ExecPlugin(context.Background(), plugin, nil, []string{"CNI_COMMAND=DEL"})
	var cniErr *types.Error
	if out != nil || !errors.As(err, &cniErr) || cniErr.Code != 11 || cniErr.Msg != "injected" {
		t.Errorf("ExecPlugin of a failing plugin = %q, %#v", out, err)
	}
}

func TestAddTimeoutEndsBeforeTheCallersDeadline(t *testing.T) {
	if got := addTimeout(context.Background(), time.Minute); got != time.Minute {
		t.Errorf("no caller deadline: %s, want the configured minute", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got := addTimeout(ctx, time.Minute); got > 8*time.Second || got < 7*time.Second {
		t.Errorf("caller deadline in 10 s: %s, want about 8 s", got)
	}
	if got := addTimeout(ctx, 3*time.Second); got != 3*time.Second {
		t.Errorf("configured 3 s, caller 10 s: %s", got)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if got := addTimeout(short, time.Minute); got != time.Minute {
		t.Errorf("caller deadline too close to cut: %s, want the configured minute (the caller's deadline rules)", got)
	}
}
