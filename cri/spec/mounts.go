package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Paths of the pod files and /dev/shm inside containers.
const (
	etcHostname    = "/etc/hostname"
	etcHosts       = "/etc/hosts"
	etcResolvConf  = "/etc/resolv.conf"
	devShm         = "/dev/shm"
	sysFsCgroup    = "/sys/fs/cgroup"
	hostDevShmPath = "/dev/shm"
)

// bindMount is a CRI mount checked and reduced to what the spec needs.
type bindMount struct {
	src, dst    string
	readonly    bool
	propagation runtime.MountPropagation
	rro         bool     // recursive read-only ("rro" instead of "ro")
	extra       []string // more options, e.g. nosuid for /dev/shm
	// uids and gids idmap the mount (runc's idmap mount extension).
	uids, gids []specs.LinuxIDMapping
}

// HostPathsToCreate returns the host paths of cfg's mounts that do not
// exist. Kubelet expects the runtime to create them as directories (mode
// 0755) before the container is created, as containerd's CRI does; the
// caller does it, since spec options have no side effects.
func HostPathsToCreate(cfg *runtime.ContainerConfig) []string {
	var out []string
	for _, m := range cfg.GetMounts() {
		p := m.GetHostPath()
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}

// criMounts checks cfg's mounts against what the stack supports (o.Features).
func criMounts(cfg *runtime.ContainerConfig, o Options) ([]bindMount, error) {
	var out []bindMount
	for i, m := range cfg.GetMounts() {
		f := fmt.Sprintf("mounts[%d]", i)
		if m.GetImage().GetImage() != "" {
			return nil, notImplemented("%s.image: image volumes are not supported", f)
		}
		uids, gids, err := mountIDMaps(f, m, o)
		if err != nil {
			return nil, err
		}
		if !path.IsAbs(m.GetContainerPath()) {
			return nil, invalid("%s.container_path %q is not an absolute path", f, m.GetContainerPath())
		}
		if m.GetHostPath() == "" {
			return nil, invalid("%s.host_path is empty", f)
		}
		switch m.GetPropagation() {
		case runtime.MountPropagation_PROPAGATION_PRIVATE, runtime.MountPropagation_PROPAGATION_HOST_TO_CONTAINER,
			runtime.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		default:
			return nil, invalid("%s.propagation: unknown mode %v", f, m.GetPropagation())
		}
		if m.GetRecursiveReadOnly() {
			if !m.GetReadonly() {
				return nil, invalid("%s.recursive_read_only needs readonly", f)
			}
			if m.GetPropagation() != runtime.MountPropagation_PROPAGATION_PRIVATE {
				return nil, invalid("%s.recursive_read_only needs propagation PROPAGATION_PRIVATE", f)
			}
			if !o.Features.RecursiveReadOnlyMounts {
				return nil, unsupported("%s.recursive_read_only: this node's runc cannot make recursive read-only mounts (see podshimd's start-up log)", f)
			}
		}
		// selinux_relabel is ignored: this node has no SELinux.
		out = append(out, bindMount{
			src:         m.GetHostPath(),
			dst:         m.GetContainerPath(),
			readonly:    m.GetReadonly(),
			rro:         m.GetRecursiveReadOnly(),
			propagation: m.GetPropagation(),
			uids:        uids,
			gids:        gids,
		})
	}
	return out, nil
}

// mountIDMaps checks a CRI mount's uid and gid mappings: both or neither,
// and only when runc can idmap mounts.
func mountIDMaps(f string, m *runtime.Mount, o Options) (uids, gids []specs.LinuxIDMapping, err error) {
	if len(m.GetUidMappings()) == 0 && len(m.GetGidMappings()) == 0 {
		return nil, nil, nil
	}
	if !o.Features.IDMappedMounts {
		return nil, nil, unsupported("%s.uid_mappings/gid_mappings: this node's runc cannot make idmapped mounts (see podshimd's start-up log)", f)
	}
	if len(m.GetUidMappings()) == 0 || len(m.GetGidMappings()) == 0 {
		return nil, nil, invalid("%s: uid_mappings and gid_mappings go together", f)
	}
	conv := func(field string, in []*runtime.IDMapping) ([]specs.LinuxIDMapping, error) {
		out := make([]specs.LinuxIDMapping, 0, len(in))
		for i, x := range in {
			if x.GetLength() == 0 {
				return nil, invalid("%s.%s[%d].length is 0", f, field, i)
			}
			out = append(out, specs.LinuxIDMapping{ContainerID: x.GetContainerId(), HostID: x.GetHostId(), Size: x.GetLength()})
		}
		return out, nil
	}
	if uids, err = conv("uid_mappings", m.GetUidMappings()); err != nil {
		return nil, nil, err
	}
	if gids, err = conv("gid_mappings", m.GetGidMappings()); err != nil {
		return nil, nil, err
	}
	return uids, gids, nil
}

// podMounts are the sandbox's files and /dev/shm, minus those cfg mounts
// itself. The /etc files are read-only when the rootfs is, and idmapped
// to the pod's user namespace when it has one (as containerd's CRI does;
// /dev/shm is a mode 1777 tmpfs and needs no mapping).
func podMounts(cfg *runtime.ContainerConfig, sb Sandbox, userns *Userns) []bindMount {
	taken := make(map[string]bool)
	for _, m := range cfg.GetMounts() {
		taken[filepath.Clean(m.GetContainerPath())] = true
	}
	ro := cfg.GetLinux().GetSecurityContext().GetReadonlyRootfs()
	var out []bindMount
	for _, f := range []struct{ src, dst string }{
		{sb.HostnamePath, etcHostname},
		{sb.HostsPath, etcHosts},
		{sb.ResolvConfPath, etcResolvConf},
	} {
		if f.src != "" && !taken[f.dst] {
			b := bindMount{src: f.src, dst: f.dst, readonly: ro}
			if userns != nil {
				b.uids, b.gids = userns.UIDs, userns.GIDs
			}
			out = append(out, b)
		}
	}
	if shm := podShm(sb); shm != "" && !taken[devShm] {
		out = append(out, bindMount{src: shm, dst: devShm, extra: []string{"nosuid", "nodev", "noexec"}})
	}
	return out
}

// podShm is the pod's /dev/shm source: the host's for host-IPC pods, else
// sb.ShmPath ("" keeps the default per-container tmpfs).
func podShm(sb Sandbox) string {
	if sb.Config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetIpc() == runtime.NamespaceMode_NODE {
		return hostDevShmPath
	}
	return sb.ShmPath
}

// withContainerMounts adds a read-only cgroup mount (as containerd's CRI
// does), drops default mounts the bind mounts replace (and everything under
// /dev when /dev is mounted), and appends the bind mounts sorted by depth,
// so that a mount is never hidden by a shallower one. Host paths that exist
// are resolved through symlinks, as containerd does.
func withContainerMounts(binds []bindMount) oci.SpecOpts {
	sorted := append([]bindMount(nil), binds...)
	sort.SliceStable(sorted, func(i, j int) bool { return depth(sorted[i].dst) < depth(sorted[j].dst) })
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		taken := make(map[string]bool, len(sorted))
		for _, b := range sorted {
			taken[filepath.Clean(b.dst)] = true
		}
		defaults := append(s.Mounts, specs.Mount{
			Destination: sysFsCgroup,
			Type:        "cgroup",
			Source:      "cgroup",
			Options:     []string{"nosuid", "noexec", "nodev", "relatime", "ro"},
		})
		s.Mounts = nil
		for _, m := range defaults {
			dst := filepath.Clean(m.Destination)
			if taken[dst] || (taken["/dev"] && strings.HasPrefix(dst, "/dev/")) {
				continue
			}
			s.Mounts = append(s.Mounts, m)
		}
		for _, b := range sorted {
			src := b.src
			if resolved, err := filepath.EvalSymlinks(src); err == nil {
				src = resolved
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("resolve mount source %q: %w", src, err)
			}
			opts := []string{"rbind"}
			switch b.propagation {
			case runtime.MountPropagation_PROPAGATION_BIDIRECTIONAL:
				opts = append(opts, "rshared")
				s.Linux.RootfsPropagation = "rshared"
			case runtime.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
				opts = append(opts, "rslave")
				if s.Linux.RootfsPropagation != "rshared" {
					s.Linux.RootfsPropagation = "rslave"
				}
			default:
				opts = append(opts, "rprivate")
			}
			switch {
			case b.rro:
				opts = append(opts, "rro")
			case b.readonly:
				opts = append(opts, "ro")
			default:
				opts = append(opts, "rw")
			}
			s.Mounts = append(s.Mounts, specs.Mount{
				Source:      src,
				Destination: b.dst,
				Type:        "bind",
				Options:     append(opts, b.extra...),
				UIDMappings: b.uids,
				GIDMappings: b.gids,
			})
		}
		return nil
	}
}

func depth(p string) int {
	return strings.Count(filepath.Clean(p), "/")
}

// checkDevices validates cfg's devices.
func checkDevices(cfg *runtime.ContainerConfig) error {
	for i, d := range cfg.GetDevices() {
		f := fmt.Sprintf("devices[%d]", i)
		if d.GetHostPath() == "" {
			return invalid("%s.host_path is empty", f)
		}
		if p := d.GetContainerPath(); p != "" && !path.IsAbs(p) {
			return invalid("%s.container_path %q is not an absolute path", f, p)
		}
		perms := d.GetPermissions()
		if perms == "" || strings.Trim(perms, "rwm") != "" {
			return invalid("%s.permissions %q: want a non-empty combination of r, w and m", f, perms)
		}
	}
	return nil
}

// withDevices adds cfg's devices (a directory adds every device below it)
// as device nodes with matching cgroup allow rules.
func withDevices(devs []*runtime.Device) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		for i, d := range devs {
			src, err := filepath.EvalSymlinks(d.GetHostPath())
			if err != nil {
				return invalid("devices[%d].host_path %q: %v", i, d.GetHostPath(), err)
			}
			if err := oci.WithDevices(src, d.GetContainerPath(), d.GetPermissions())(ctx, client, c, s); err != nil {
				return invalid("devices[%d].host_path %q: %v", i, d.GetHostPath(), err)
			}
		}
		return nil
	}
}
