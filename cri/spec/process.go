package spec

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	"github.com/moby/sys/signal"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// processArgs merges the CRI command and args with the image's entrypoint
// and cmd the way Kubernetes defines it: a command replaces the entrypoint
// and drops the image's cmd; args alone replace the cmd only.
func processArgs(cfg *runtime.ContainerConfig, img imagespec.ImageConfig) ([]string, error) {
	command, args := cfg.GetCommand(), cfg.GetArgs()
	if len(command) == 0 {
		command = nil
		// ENTRYPOINT [""] in a Dockerfile means "no entrypoint".
		if !(len(img.Entrypoint) == 1 && img.Entrypoint[0] == "") {
			command = img.Entrypoint
		}
		if len(args) == 0 {
			args = img.Cmd
		}
	}
	all := make([]string, 0, len(command)+len(args))
	all = append(append(all, command...), args...)
	if len(all) == 0 {
		return nil, invalid("command: none given and the image has no entrypoint or cmd")
	}
	return all, nil
}

// processEnv returns the image env then the config's envs, a later entry
// replacing an earlier one with the same key in place.
func processEnv(cfg *runtime.ContainerConfig, img imagespec.ImageConfig) ([]string, error) {
	env := make([]string, 0, len(img.Env)+len(cfg.GetEnvs()))
	index := make(map[string]int, cap(env))
	set := func(key, entry string) {
		if i, ok := index[key]; ok {
			env[i] = entry
			return
		}
		index[key] = len(env)
		env = append(env, entry)
	}
	for _, e := range img.Env {
		key, _, _ := strings.Cut(e, "=")
		set(key, e)
	}
	for i, kv := range cfg.GetEnvs() {
		if kv.GetKey() == "" || strings.Contains(kv.GetKey(), "=") {
			return nil, invalid("envs[%d].key %q is not a valid variable name", i, kv.GetKey())
		}
		set(kv.GetKey(), kv.GetKey()+"="+string(kv.GetValue()))
	}
	return env, nil
}

func workingDir(cfg *runtime.ContainerConfig, img imagespec.ImageConfig) (string, error) {
	if wd := cfg.GetWorkingDir(); wd != "" {
		if !path.IsAbs(wd) {
			return "", invalid("working_dir %q is not an absolute path", wd)
		}
		return wd, nil
	}
	return img.WorkingDir, nil
}

// hostnameEnv is the HOSTNAME variable containerd's CRI (and docker) set:
// the pod's hostname, or the node's for host-network pods.
func hostnameEnv(sb *runtime.PodSandboxConfig) (string, error) {
	name := sb.GetHostname()
	if name == "" {
		var err error
		if name, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("get node hostname: %w", err)
		}
	}
	return "HOSTNAME=" + name, nil
}

// withTTY gives the process a terminal and TERM=xterm unless the env sets
// TERM (oci.WithTTY appends a second TERM).
func withTTY(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	s.Process.Terminal = true
	for _, e := range s.Process.Env {
		if strings.HasPrefix(e, "TERM=") {
			return nil
		}
	}
	s.Process.Env = append(s.Process.Env, "TERM=xterm")
	return nil
}

// ExecProcess returns the process spec of an exec/ExecSync in a container
// whose spec is s: a deep copy of s.Process (user, env, capabilities, cwd,
// no_new_privs, rlimits) with cmd as args and tty as terminal; a tty also
// sets TERM=xterm, as containerd's CRI does.
func ExecProcess(s *specs.Spec, cmd []string, tty bool) *specs.Process {
	p := &specs.Process{Cwd: "/"}
	if s != nil && s.Process != nil {
		// A JSON round trip deep-copies every field, present and future.
		if b, err := json.Marshal(s.Process); err == nil {
			cp := &specs.Process{}
			if err := json.Unmarshal(b, cp); err == nil {
				p = cp
			}
		}
	}
	p.Args = append([]string(nil), cmd...)
	p.CommandLine = ""
	p.Terminal = tty
	p.ConsoleSize = nil
	if tty {
		sp := &specs.Spec{Process: p}
		_ = oci.WithEnv([]string{"TERM=xterm"})(context.Background(), nil, nil, sp)
	}
	return p
}

// StopSignal returns the image's STOPSIGNAL (name such as "SIGQUIT" or
// "QUIT", or number) or SIGTERM when the image sets none.
func StopSignal(img imagespec.ImageConfig) (syscall.Signal, error) {
	if img.StopSignal == "" {
		return syscall.SIGTERM, nil
	}
	sig, err := signal.ParseSignal(img.StopSignal)
	if err != nil {
		return 0, fmt.Errorf("image STOPSIGNAL %q: %w", img.StopSignal, err)
	}
	return sig, nil
}

// ContainerStopSignal returns the config's stop_signal when set (CRI 1.33+),
// else StopSignal(img).
func ContainerStopSignal(cfg *runtime.ContainerConfig, img imagespec.ImageConfig) (syscall.Signal, error) {
	if s := cfg.GetStopSignal(); s != runtime.Signal_RUNTIME_DEFAULT {
		sig, err := signal.ParseSignal(s.String())
		if err != nil {
			return 0, invalid("stop_signal %v: %v", s, err)
		}
		return sig, nil
	}
	return StopSignal(img)
}
