package spec

import (
	"errors"

	"github.com/containerd/containerd/oci"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container returns the spec options for CRI container id of sandbox sb,
// given the image's config. The options start from containerd's default
// spec (oci.GenerateSpec / containerd.WithNewSpec) and, in this order:
//
//   - process: args (Kubernetes' command/args rules), PATH, HOSTNAME, image
//     env then config envs, working dir, tty; no_new_privs off unless asked;
//   - user: run_as_user / run_as_group / run_as_username / image USER,
//     resolved in the image's /etc/passwd and /etc/group, with the
//     primary gid, the user's groups (unless supplemental_groups_policy is
//     Strict) and supplemental_groups as supplementary groups;
//   - mounts: config mounts, then the pod's /etc/hostname, /etc/hosts,
//     /etc/resolv.conf and /dev/shm unless the config mounts those paths,
//     a read-only cgroupfs at /sys/fs/cgroup, no /run tmpfs;
//   - masked and read-only paths: the config's when given (an empty list
//     too), else the defaults (as kubelet's defaults);
//   - devices, capabilities, privileged, readonly rootfs;
//   - resources, oom_score_adj (clamped per o), cgroups path under the
//     pod's cgroup parent;
//   - namespaces (see containerNamespaces), seccomp, annotations.
//
// Pod sysctls are not repeated here: the pause applies them in the pod's
// network and IPC namespaces, which the containers join.
func Container(id string, cfg *runtime.ContainerConfig, sb Sandbox, img imagespec.ImageConfig, o Options) ([]oci.SpecOpts, error) {
	if id == "" {
		return nil, errors.New("container id is empty")
	}
	if cfg == nil {
		return nil, invalid("container config is missing")
	}
	if sb.Config == nil {
		return nil, errors.New("sandbox config is missing")
	}
	sc := cfg.GetLinux().GetSecurityContext()
	if sc.GetPrivileged() && !sb.Config.GetLinux().GetSecurityContext().GetPrivileged() {
		return nil, invalid("linux.security_context.privileged: the pod sandbox is not privileged")
	}

	opts := []oci.SpecOpts{oci.WithoutRunMount, withoutDefaultSecurity}

	args, err := processArgs(cfg, img)
	if err != nil {
		return nil, err
	}
	env, err := processEnv(cfg, img)
	if err != nil {
		return nil, err
	}
	hostname, err := hostnameEnv(sb.Config)
	if err != nil {
		return nil, err
	}
	cwd, err := workingDir(cfg, img)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		oci.WithProcessArgs(args...),
		oci.WithDefaultPathEnv,
		oci.WithEnv([]string{hostname}),
		oci.WithEnv(env),
		oci.WithNewPrivileges,
	)
	if cwd != "" {
		opts = append(opts, oci.WithProcessCwd(cwd))
	}
	if cfg.GetTty() {
		opts = append(opts, withTTY)
	}

	user, err := resolveUser("linux.security_context", sc.GetRunAsUsername(), sc.GetRunAsUser(), sc.GetRunAsGroup(), img)
	if err != nil {
		return nil, err
	}
	userOptions, err := userOpts(user, sc.GetSupplementalGroups(), sc.GetSupplementalGroupsPolicy(), "linux.security_context", o.ImageFiles)
	if err != nil {
		return nil, err
	}
	opts = append(opts, userOptions...)

	binds, err := criMounts(cfg, o)
	if err != nil {
		return nil, err
	}
	userns, err := containerUserns(cfg, sb, o.Features.UserNamespaces)
	if err != nil {
		return nil, err
	}
	opts = append(opts, withContainerMounts(append(binds, podMounts(cfg, sb, userns)...)))
	if sc.GetMaskedPaths() != nil {
		opts = append(opts, oci.WithMaskedPaths(append([]string{}, sc.GetMaskedPaths()...)))
	}
	if sc.GetReadonlyPaths() != nil {
		opts = append(opts, oci.WithReadonlyPaths(append([]string{}, sc.GetReadonlyPaths()...)))
	}

	if err := checkDevices(cfg); err != nil {
		return nil, err
	}
	opts = append(opts, withDevices(cfg.GetDevices()))
	capOpts, err := capabilityOpts(sc.GetCapabilities())
	if err != nil {
		return nil, err
	}
	opts = append(opts, capOpts...)
	if sc.GetPrivileged() {
		opts = append(opts, withPrivileged())
	}
	if sc.GetNoNewPrivs() {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	if sc.GetReadonlyRootfs() {
		opts = append(opts, oci.WithRootFSReadonly())
	}

	res := cfg.GetLinux().GetResources()
	if err := checkResources(res); err != nil {
		return nil, err
	}
	if res != nil {
		opts = append(opts, withResources(res), withOOMScoreAdj(oomScoreAdj(int(res.GetOomScoreAdj()), o)))
	}
	cg, err := cgroupOpt("linux.cgroup_parent of the pod sandbox", sb.Config.GetLinux().GetCgroupParent(), id, o)
	if err != nil {
		return nil, err
	}
	if cg != nil {
		opts = append(opts, cg)
	}

	nsOpts, err := containerNamespaces(cfg, sb, o)
	if err != nil {
		return nil, err
	}
	opts = append(opts, nsOpts...)

	if err := checkAppArmor("linux.security_context", sc.GetApparmor(), sc.GetApparmorProfile()); err != nil {
		return nil, err
	}
	// Seccomp last: the default profile depends on the final capabilities.
	sec, err := seccompOpt("linux.security_context", sc.GetSeccomp(), sc.GetSeccompProfilePath(), sc.GetPrivileged(), o.SeccompProfileRoot)
	if err != nil {
		return nil, err
	}
	opts = append(opts, sec, withAnnotations(containerAnnotations(cfg, sb)))
	return opts, nil
}
