// Package spec translates CRI configs into OCI runtime specs.
//
// Container and Pause return lists of containerd oci.SpecOpts; the caller
// hands them to containerd.WithNewSpec after containerd.WithNewSnapshot, so
// that options resolving users and groups find the image's /etc/passwd and
// /etc/group through the snapshot. The options write nothing: they read the
// image rootfs, host device nodes, seccomp profile files and /proc/self only.
// Host-side preparation (creating missing host paths, the pod's /dev/shm,
// hostname, hosts and resolv.conf files) is the caller's; HostPathsToCreate
// lists the directories kubelet expects the runtime to create.
//
// Errors caused by the request wrap errdefs.ErrInvalidArgument and name the
// CRI field; requests for features this node's stack lacks (user
// namespaces, recursive read-only mounts, idmapped mounts: Options.Features)
// wrap errdefs.ErrFailedPrecondition; requests podshim never honours
// (AppArmor profiles, image volumes) wrap errdefs.ErrNotImplemented.
package spec

import (
	"fmt"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/features"
)

// Cgroup drivers accepted in Options.CgroupDriver.
const (
	CgroupDriverCgroupfs = "cgroupfs"
	CgroupDriverSystemd  = "systemd"
)

// Sandbox is what a container needs to know about the pod sandbox it joins.
type Sandbox struct {
	ID     string
	Config *runtime.PodSandboxConfig
	// Pid is the pause process pid: containers join /proc/<Pid>/ns/{ipc,uts,pid};
	// 0 while building the pause spec.
	Pid uint32
	// NetNSPath is the pinned netns file; "" for host network. When it is
	// "" for a pod that is not on the host network, containers join
	// /proc/<Pid>/ns/net instead.
	NetNSPath string
	// Pod files bind-mounted into every container at /etc/hostname,
	// /etc/hosts and /etc/resolv.conf ("" = none).
	HostnamePath   string
	HostsPath      string
	ResolvConfPath string
	// ShmPath is the pod-level /dev/shm directory (a tmpfs mounted by the
	// caller); "" when the pod uses the host IPC namespace (the host's
	// /dev/shm is then bound).
	ShmPath string
	// TargetPid is the pid of the container named by the container config's
	// namespace_options.target_id, needed only for pid namespace mode TARGET
	// (kubectl debug --target): the new container joins /proc/<TargetPid>/ns/pid.
	// Use TargetID to learn whether a config needs it.
	TargetPid uint32
	// UsernsPath is the pinned user namespace the pause joins when the pod
	// has one (it owns the netns at NetNSPath); containers join the
	// pause's, /proc/<Pid>/ns/user.
	UsernsPath string
}

// Options are node-level settings.
type Options struct {
	// CgroupDriver is "cgroupfs" (default when empty) or "systemd".
	CgroupDriver string
	// RestrictOOMScoreAdj clamps oom_score_adj to >= MinOOMScoreAdj (set
	// it when the daemon lacks CAP_SYS_RESOURCE: runc cannot lower it).
	RestrictOOMScoreAdj bool
	// MinOOMScoreAdj is the daemon's own /proc/self/oom_score_adj.
	MinOOMScoreAdj int
	// SeccompProfileRoot is the base dir for relative localhost seccomp
	// profiles ("" = absolute paths only).
	SeccompProfileRoot string
	// ImageFiles caches images' /etc/passwd and /etc/group for user
	// resolution (nil: containerd's way, a rootfs mount per create).
	ImageFiles *ImageFiles
	// Features is what this node's stack supports; requests that need
	// another feature are refused with FailedPrecondition.
	Features features.Set
}

// Annotations podshim puts on every spec; the same keys as containerd's CRI,
// so that the runc v2 shim groups all containers of a pod into one shim
// (it groups by AnnotationSandboxID).
const (
	AnnotationContainerType    = "io.kubernetes.cri.container-type"
	AnnotationSandboxID        = "io.kubernetes.cri.sandbox-id"
	AnnotationSandboxName      = "io.kubernetes.cri.sandbox-name"
	AnnotationSandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	AnnotationSandboxUID       = "io.kubernetes.cri.sandbox-uid"
	AnnotationSandboxLogDir    = "io.kubernetes.cri.sandbox-log-directory"
	AnnotationContainerName    = "io.kubernetes.cri.container-name"
	AnnotationImageName        = "io.kubernetes.cri.image-name"
	AnnotationSandboxCPUPeriod = "io.kubernetes.cri.sandbox-cpu-period"
	AnnotationSandboxCPUQuota  = "io.kubernetes.cri.sandbox-cpu-quota"
	AnnotationSandboxCPUShares = "io.kubernetes.cri.sandbox-cpu-shares"
	AnnotationSandboxMemory    = "io.kubernetes.cri.sandbox-memory"

	ContainerTypeContainer = "container"
	ContainerTypeSandbox   = "sandbox"
)

// Defaults for the pause container, as containerd's CRI sets them.
const (
	SandboxCPUShares   = 2
	SandboxOOMScoreAdj = -998
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errdefs.ErrInvalidArgument}, args...)...)
}

func notImplemented(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errdefs.ErrNotImplemented}, args...)...)
}

func checkDriver(driver string) error {
	switch driver {
	case "", CgroupDriverCgroupfs, CgroupDriverSystemd:
		return nil
	}
	return fmt.Errorf("unknown cgroup driver %q (want %q or %q)", driver, CgroupDriverCgroupfs, CgroupDriverSystemd)
}
