package spec

import (
	"errors"

	"github.com/containerd/containerd/oci"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Sysctl prefixes that live in the network and IPC namespaces.
var (
	netSysctlPrefixes = []string{"net."}
	ipcSysctlPrefixes = []string{"kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."}
)

// Pause returns the spec options for the sandbox's pause container (sb.Pid
// is 0). The pause owns the pod's namespaces: the netns at sb.NetNSPath
// (host network for NamespaceMode NODE, which also keeps the host's UTS
// namespace and hostname), new IPC and UTS namespaces (or the host's), a new
// pid namespace in which it is PID 1 (the host's for NODE). It gets the
// pod's hostname, the pod's /dev/shm read-only, the pod's sysctls, cpu
// shares 2, oom_score_adj -998 (clamped per o), a read-only rootfs, no new
// privileges and no capabilities, runs as the sandbox's run_as_user /
// run_as_group or the image's USER, under the pod's cgroup parent, with the
// sandbox's seccomp profile (none when the sandbox is privileged).
func Pause(sb Sandbox, img imagespec.ImageConfig, o Options) ([]oci.SpecOpts, error) {
	if sb.ID == "" {
		return nil, errors.New("sandbox id is empty")
	}
	cfg := sb.Config
	if cfg == nil {
		return nil, invalid("sandbox config is missing")
	}
	sc := cfg.GetLinux().GetSecurityContext()
	ns := sc.GetNamespaceOptions()

	args := append(append([]string{}, img.Entrypoint...), img.Cmd...)
	if len(args) == 0 {
		return nil, invalid("sandbox image config has no entrypoint or cmd")
	}
	opts := []oci.SpecOpts{
		oci.WithoutRunMount,
		withoutDefaultSecurity,
		oci.WithProcessArgs(args...),
		oci.WithDefaultPathEnv,
		oci.WithEnv(img.Env),
		oci.WithRootFSReadonly(),
		oci.WithNoNewPrivileges,
		oci.WithCapabilities(nil),
		withAmbient(nil),
	}
	if img.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(img.WorkingDir))
	}

	nsOpts, err := pauseNamespaces(sb, o)
	if err != nil {
		return nil, err
	}
	opts = append(opts, nsOpts...)

	if shm := podShm(sb); shm != "" {
		opts = append(opts, oci.WithoutMounts(devShm), oci.WithMounts([]specs.Mount{{
			Source:      shm,
			Destination: devShm,
			Type:        "bind",
			Options:     []string{"rbind", "ro", "nosuid", "nodev", "noexec"},
		}}))
	}

	sysctls := cfg.GetLinux().GetSysctls()
	for k := range sysctls {
		if ns.GetNetwork() == runtime.NamespaceMode_NODE && hasAnyPrefix(k, netSysctlPrefixes) {
			return nil, invalid("linux.sysctls %q: a host-network pod cannot set network sysctls", k)
		}
		if ns.GetIpc() == runtime.NamespaceMode_NODE && hasAnyPrefix(k, ipcSysctlPrefixes) {
			return nil, invalid("linux.sysctls %q: a host-IPC pod cannot set IPC sysctls", k)
		}
	}
	if len(sysctls) > 0 {
		opts = append(opts, withSysctls(sysctls))
	}

	user, err := resolveUser("linux.security_context", "", sc.GetRunAsUser(), sc.GetRunAsGroup(), img)
	if err != nil {
		return nil, err
	}
	userOptions, err := userOpts(user, sc.GetSupplementalGroups(), sc.GetSupplementalGroupsPolicy(), "linux.security_context", o.ImageFiles)
	if err != nil {
		return nil, err
	}
	opts = append(opts, userOptions...)

	opts = append(opts, oci.WithCPUShares(SandboxCPUShares), withOOMScoreAdj(oomScoreAdj(SandboxOOMScoreAdj, o)))
	cg, err := cgroupOpt("linux.cgroup_parent", cfg.GetLinux().GetCgroupParent(), sb.ID, o)
	if err != nil {
		return nil, err
	}
	if cg != nil {
		opts = append(opts, cg)
	}

	if err := checkAppArmor("linux.security_context", sc.GetApparmor(), ""); err != nil {
		return nil, err
	}
	sec, err := seccompOpt("linux.security_context", sc.GetSeccomp(), sc.GetSeccompProfilePath(), sc.GetPrivileged(), o.SeccompProfileRoot)
	if err != nil {
		return nil, err
	}
	opts = append(opts, sec, withAnnotations(pauseAnnotations(sb)))
	return opts, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
