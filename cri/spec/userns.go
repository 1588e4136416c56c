package spec

import (
	"context"
	"fmt"
	"math"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Userns is a pod's user namespace: one uid and one gid mapping, each
// mapping container id 0 (the idmapped rootfs needs a root pair).
type Userns struct {
	UIDs []specs.LinuxIDMapping
	GIDs []specs.LinuxIDMapping
}

// unsupported wraps ErrFailedPrecondition: the request is valid but this
// node's stack cannot honour it (see package features).
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errdefs.ErrFailedPrecondition}, args...)...)
}

// PodUserns returns the pod's user namespace, or nil when the pod uses the
// host's (no userns_options, or mode NODE). enabled says whether the stack
// supports user namespaces (features.Set.UserNamespaces).
func PodUserns(cfg *runtime.PodSandboxConfig, enabled bool) (*Userns, error) {
	return parseUserns("linux.security_context.namespace_options.userns_options",
		cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(), enabled)
}

func parseUserns(field string, ns *runtime.NamespaceOption, enabled bool) (*Userns, error) {
	u := ns.GetUsernsOptions()
	if u == nil {
		return nil, nil
	}
	switch u.GetMode() {
	case runtime.NamespaceMode_NODE:
		if len(u.GetUids()) > 0 || len(u.GetGids()) > 0 {
			return nil, invalid("%s: mode NODE takes no uids or gids mappings", field)
		}
		return nil, nil
	case runtime.NamespaceMode_POD:
	default:
		return nil, invalid("%s.mode %v is not valid for user namespaces (want NODE or POD)", field, u.GetMode())
	}
	if !enabled {
		return nil, unsupported("%s: mode POD: this node's runtime stack does not support user namespaces (see podshimd's start-up log)", field)
	}
	if ns.GetNetwork() == runtime.NamespaceMode_NODE || ns.GetPid() == runtime.NamespaceMode_NODE || ns.GetIpc() == runtime.NamespaceMode_NODE {
		return nil, invalid("%s: mode POD cannot be combined with the host's network, pid or ipc namespace", field)
	}
	uids, err := parseIDMapping(field+".uids", u.GetUids())
	if err != nil {
		return nil, err
	}
	gids, err := parseIDMapping(field+".gids", u.GetGids())
	if err != nil {
		return nil, err
	}
	return &Userns{UIDs: uids, GIDs: gids}, nil
}

// parseIDMapping accepts exactly one mapping that maps container id 0.
func parseIDMapping(field string, m []*runtime.IDMapping) ([]specs.LinuxIDMapping, error) {
	if len(m) != 1 || m[0] == nil {
		return nil, invalid("%s: want exactly one mapping, got %d", field, len(m))
	}
	c := m[0]
	switch {
	case c.GetLength() == 0:
		return nil, invalid("%s[0].length is 0", field)
	case c.GetContainerId() != 0:
		return nil, invalid("%s[0].container_id is %d: container id 0 (root) must be mapped", field, c.GetContainerId())
	case uint64(c.GetHostId())+uint64(c.GetLength()) > math.MaxUint32:
		return nil, invalid("%s[0]: host_id %d + length %d overflows 32 bits", field, c.GetHostId(), c.GetLength())
	}
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: c.GetHostId(), Size: c.GetLength()}}, nil
}

// containerUserns checks that a container's user namespace options, when
// given, are the pod's (kubelet repeats them), and returns the pod's.
func containerUserns(cfg *runtime.ContainerConfig, sb Sandbox, enabled bool) (*Userns, error) {
	pod := sb.Config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()
	ctr := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()
	const field = "linux.security_context.namespace_options.userns_options"
	if ctr != nil && !sameUserns(ctr, pod) {
		if _, err := parseUserns(field, cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(), enabled); err != nil {
			return nil, err
		}
		return nil, invalid("%s differs from the pod sandbox's", field)
	}
	u, err := PodUserns(sb.Config, enabled)
	if err != nil {
		return nil, fmt.Errorf("user namespace of the pod sandbox: %w", err)
	}
	return u, nil
}

// sameUserns compares two options, treating nil as mode NODE.
func sameUserns(a, b *runtime.UserNamespace) bool {
	if a == nil {
		a = &runtime.UserNamespace{Mode: runtime.NamespaceMode_NODE}
	}
	if b == nil {
		b = &runtime.UserNamespace{Mode: runtime.NamespaceMode_NODE}
	}
	return proto.Equal(a, b)
}

// withUserns puts the process in the user namespace at path (the pinned
// one for the pause, the pause's for containers) with the pod's mappings,
// which runc checks against the namespace's.
func withUserns(u *Userns, path string) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if err := oci.WithUserNamespace(u.UIDs, u.GIDs)(ctx, client, c, s); err != nil {
			return err
		}
		return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UserNamespace, Path: path})(ctx, client, c, s)
	}
}
