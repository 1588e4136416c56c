package spec

import (
	"context"

	"fmt"
	"github.com/containerd/containerd/containers"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// procNS is the namespace file of a process.
func procNS(pid uint32, ns string) string {
	return fmt.Sprintf("/proc/%d/ns/%s", pid, ns)
}

func joinNS(t specs.LinuxNamespaceType, path string) oci.SpecOpts {
	return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: t, Path: path})
}

// TargetID returns the target container's ID when cfg asks for pid
// namespace mode TARGET, else "". The caller then sets Sandbox.TargetPid to
// that container's pid.
func TargetID(cfg *runtime.ContainerConfig) string {
	ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if ns.GetPid() != runtime.NamespaceMode_TARGET {
		return ""
	}
	return ns.GetTargetId()
}

// containerNamespaces joins the pod's namespaces: the pause's user namespace
// when the pod has one. Network and UTS follow the
// pod (host when the pod is on the host network, else the pinned netns and
// the pause's UTS namespace); IPC follows the pod (host or the pause's); pid
// follows the container's own mode: POD joins the pause's pid namespace,
// CONTAINER gets a new one, NODE the host's, TARGET joins
// /proc/<sb.TargetPid>/ns/pid.
func containerNamespaces(cfg *runtime.ContainerConfig, sb Sandbox, o Options) ([]oci.SpecOpts, error) {
	pod := sb.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()
	ctr := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	userns, err := containerUserns(cfg, sb, o.Features.UserNamespaces)
	if err != nil {
		return nil, err
	}
	needsPause := pod.GetNetwork() != runtime.NamespaceMode_NODE || pod.GetIpc() != runtime.NamespaceMode_NODE ||
		ctr.GetPid() == runtime.NamespaceMode_POD || userns != nil
	if needsPause && sb.Pid == 0 {
		return nil, fmt.Errorf("%w: sandbox %s has no running pause process (pid 0)", errdefs.ErrFailedPrecondition, sb.ID)
	}

	var opts []oci.SpecOpts
	if userns != nil {
		opts = append(opts, withUserns(userns, procNS(sb.Pid, "user")))
	}
	if pod.GetNetwork() == runtime.NamespaceMode_NODE {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		netns := sb.NetNSPath
		if netns == "" {
			netns = procNS(sb.Pid, "net")
		}
		opts = append(opts, joinNS(specs.NetworkNamespace, netns), joinNS(specs.UTSNamespace, procNS(sb.Pid, "uts")))
	}
	if pod.GetIpc() == runtime.NamespaceMode_NODE {
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace))
	} else {
		opts = append(opts, joinNS(specs.IPCNamespace, procNS(sb.Pid, "ipc")))
	}
	switch ctr.GetPid() {
	case runtime.NamespaceMode_POD:
		opts = append(opts, joinNS(specs.PIDNamespace, procNS(sb.Pid, "pid")))
	case runtime.NamespaceMode_CONTAINER:
		opts = append(opts, joinNS(specs.PIDNamespace, ""))
	case runtime.NamespaceMode_NODE:
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	case runtime.NamespaceMode_TARGET:
		if ctr.GetTargetId() == "" {
			return nil, invalid("linux.security_context.namespace_options.target_id is empty with pid mode TARGET")
		}
		if sb.TargetPid == 0 {
			return nil, fmt.Errorf("%w: linux.security_context.namespace_options.target_id %q: target container is not running",
				errdefs.ErrFailedPrecondition, ctr.GetTargetId())
		}
		opts = append(opts, joinNS(specs.PIDNamespace, procNS(sb.TargetPid, "pid")))
	default:
		return nil, invalid("linux.security_context.namespace_options.pid: unknown mode %v", ctr.GetPid())
	}
	return opts, nil
}

// pauseNamespaces gives the pause new namespaces, or the host's per the
// pod's namespace options; with a user namespace, it joins sb.UsernsPath
// (which owns the pod's netns). A host-network pod also keeps the host's UTS
// namespace (and so the node's hostname).
func pauseNamespaces(sb Sandbox, o Options) ([]oci.SpecOpts, error) {
	ns := sb.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()
	userns, err := PodUserns(sb.Config, o.Features.UserNamespaces)
	if err != nil {
		return nil, err
	}
	var opts []oci.SpecOpts
	if userns != nil {
		if sb.UsernsPath == "" {
			return nil, fmt.Errorf("sandbox %s has a user namespace but no pinned user namespace path", sb.ID)
		}
		opts = append(opts, withUserns(userns, sb.UsernsPath))
	}
	if ns.GetNetwork() == runtime.NamespaceMode_NODE {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts, joinNS(specs.NetworkNamespace, sb.NetNSPath))
		if h := sb.Config.GetHostname(); h != "" {
			opts = append(opts, oci.WithHostname(h))
		}
	}
	if ns.GetIpc() == runtime.NamespaceMode_NODE {
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace))
	}
	if ns.GetPid() == runtime.NamespaceMode_NODE {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	return opts, nil
}

// withSysctls sets the given sysctls (copied).
func withSysctls(kv map[string]string) oci.SpecOpts {
	cp := make(map[string]string, len(kv))
	for k, v := range kv {
		cp[k] = v
	}
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = make(map[string]string, len(cp))
		}
		for k, v := range cp {
			s.Linux.Sysctl[k] = v
		}
		return nil
	}
}
