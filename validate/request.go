package validate

import (
	"fmt"
	"net/netip"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Request checks a CRI request of any RPC before its handler runs.
// Requests of RPCs without checks, and nil requests, pass.
func Request(req any, n Node) error {
	switch r := req.(type) {
	case *runtime.RunPodSandboxRequest:
		return PodSandboxConfig("config", r.Config, n)
	case *runtime.StopPodSandboxRequest:
		return ID("pod_sandbox_id", r.PodSandboxId)
	case *runtime.RemovePodSandboxRequest:
		return ID("pod_sandbox_id", r.PodSandboxId)
	case *runtime.PodSandboxStatusRequest:
		return ID("pod_sandbox_id", r.PodSandboxId)
	case *runtime.PodSandboxStatsRequest:
		return ID("pod_sandbox_id", r.PodSandboxId)
	case *runtime.CreateContainerRequest:
		if err := ID("pod_sandbox_id", r.PodSandboxId); err != nil {
			return err
		}
		return ContainerConfig("config", r.Config, n)
	case *runtime.StartContainerRequest:
		return ID("container_id", r.ContainerId)
	case *runtime.StopContainerRequest:
		if err := ID("container_id", r.ContainerId); err != nil {
			return err
		}
		return Timeout("timeout", r.Timeout)
	case *runtime.RemoveContainerRequest:
		return ID("container_id", r.ContainerId)
	case *runtime.ContainerStatusRequest:
		return ID("container_id", r.ContainerId)
	case *runtime.ContainerStatsRequest:
		return ID("container_id", r.ContainerId)
	case *runtime.ReopenContainerLogRequest:
		return ID("container_id", r.ContainerId)
	case *runtime.UpdateContainerResourcesRequest:
		if err := ID("container_id", r.ContainerId); err != nil {
			return err
		}
		if r.Linux == nil {
			return invalid("linux", "is required")
		}
		return Resources("linux", r.Linux, n)
	case *runtime.ExecSyncRequest:
		if err := ID("container_id", r.ContainerId); err != nil {
			return err
		}
		if err := Command("cmd", r.Cmd, true); err != nil {
			return err
		}
		return Timeout("timeout", r.Timeout)
	case *runtime.ExecRequest:
		if err := ID("container_id", r.ContainerId); err != nil {
			return err
		}
		return Command("cmd", r.Cmd, true)
	case *runtime.AttachRequest:
		return ID("container_id", r.ContainerId)
	case *runtime.PortForwardRequest:
		if err := ID("pod_sandbox_id", r.PodSandboxId); err != nil {
			return err
		}
		for i, p := range r.Port {
			if p < 1 || p > 65535 {
				return invalid(fmt.Sprintf("port[%d]", i), "%d is out of range [1, 65535]", p)
			}
		}
	case *runtime.UpdateRuntimeConfigRequest:
		if cidrs := r.GetRuntimeConfig().GetNetworkConfig().GetPodCidr(); cidrs != "" {
			for _, c := range strings.Split(cidrs, ",") {
				if _, err := netip.ParsePrefix(c); err != nil {
					return invalid("runtime_config.network_config.pod_cidr", "%q is not a CIDR", clip(c))
				}
			}
		}
	}
	return nil
}

// PodSandboxConfig checks what RunPodSandbox builds a pod from.
func PodSandboxConfig(field string, c *runtime.PodSandboxConfig, n Node) error {
	if c == nil {
		return invalid(field, "is required")
	}
	f := func(name string) string { return field + "." + name }
	if err := PodMetadata(f("metadata"), c.Metadata); err != nil {
		return err
	}
	if err := Hostname(f("hostname"), c.Hostname); err != nil {
		return err
	}
	if err := AbsPath(f("log_directory"), c.LogDirectory, true); err != nil {
		return err
	}
	if err := DNSConfig(f("dns_config"), c.DnsConfig); err != nil {
		return err
	}
	if err := PortMappings(f("port_mappings"), c.PortMappings); err != nil {
		return err
	}
	if err := Labels(f("labels"), c.Labels); err != nil {
		return err
	}
	if err := Annotations(f("annotations"), c.Annotations); err != nil {
		return err
	}
	l := c.Linux
	if l == nil {
		return nil
	}
	if err := CgroupParent(f("linux.cgroup_parent"), l.CgroupParent); err != nil {
		return err
	}
	sc := l.SecurityContext
	if err := namespaceOptions(f("linux.security_context.namespace_options"), sc.GetNamespaceOptions()); err != nil {
		return err
	}
	if err := Sysctls(f("linux.sysctls"), l.Sysctls, sc.GetNamespaceOptions()); err != nil {
		return err
	}
	if sc != nil {
		sf := f("linux.security_context")
		if err := ids(sf, sc.RunAsUser, sc.RunAsGroup, sc.SupplementalGroups); err != nil {
			return err
		}
	}
	if err := Resources(f("linux.overhead"), l.Overhead, n); err != nil {
		return err
	}
	return Resources(f("linux.resources"), l.Resources, n)
}

// ContainerConfig checks what CreateContainer builds a container from.
func ContainerConfig(field string, c *runtime.ContainerConfig, n Node) error {
	if c == nil {
		return invalid(field, "is required")
	}
	f := func(name string) string { return field + "." + name }
	if err := ContainerMetadata(f("metadata"), c.Metadata); err != nil {
		return err
	}
	if c.Image == nil || c.Image.Image == "" {
		return invalid(f("image.image"), "is required")
	}
	if len(c.Image.Image) > MaxPathLength || hasControl(c.Image.Image) {
		return invalid(f("image.image"), "%q is not an image reference", clip(c.Image.Image))
	}
	if err := Command(f("command"), c.Command, false); err != nil {
		return err
	}
	if err := Command(f("args"), c.Args, false); err != nil {
		return err
	}
	if err := AbsPath(f("working_dir"), c.WorkingDir, true); err != nil {
		return err
	}
	if err := Envs(f("envs"), c.Envs); err != nil {
		return err
	}
	if err := Mounts(f("mounts"), c.Mounts); err != nil {
		return err
	}
	if err := Devices(f("devices"), c.Devices); err != nil {
		return err
	}
	if err := Labels(f("labels"), c.Labels); err != nil {
		return err
	}
	if err := Annotations(f("annotations"), c.Annotations); err != nil {
		return err
	}
	if err := LogPath(f("log_path"), c.LogPath); err != nil {
		return err
	}
	l := c.Linux
	if l == nil {
		return nil
	}
	if err := Resources(f("linux.resources"), l.Resources, n); err != nil {
		return err
	}
	sc := l.SecurityContext
	if sc == nil {
		return nil
	}
	sf := f("linux.security_context")
	if err := namespaceOptions(sf+".namespace_options", sc.NamespaceOptions); err != nil {
		return err
	}
	if err := ids(sf, sc.RunAsUser, sc.RunAsGroup, sc.SupplementalGroups); err != nil {
		return err
	}
	for _, l := range []struct {
		name  string
		paths []string
	}{{"masked_paths", sc.MaskedPaths}, {"readonly_paths", sc.ReadonlyPaths}} {
		if len(l.paths) > MaxMounts {
			return invalid(sf+"."+l.name, "%d paths, at most %d", len(l.paths), MaxMounts)
		}
		for i, p := range l.paths {
			if err := AbsPath(fmt.Sprintf("%s.%s[%d]", sf, l.name, i), p, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// namespaceOptions checks that the namespace modes are known ones.
func namespaceOptions(field string, ns *runtime.NamespaceOption) error {
	if ns == nil {
		return nil
	}
	for _, m := range []struct {
		name string
		mode runtime.NamespaceMode
	}{{"network", ns.Network}, {"pid", ns.Pid}, {"ipc", ns.Ipc}} {
		if _, ok := runtime.NamespaceMode_name[int32(m.mode)]; !ok {
			return invalid(field+"."+m.name, "%d is not a namespace mode", m.mode)
		}
	}
	if ns.TargetId != "" {
		return ID(field+".target_id", ns.TargetId)
	}
	return nil
}

// ids checks the user and group IDs of a security context.
func ids(field string, user, group *runtime.Int64Value, groups []int64) error {
	if user != nil {
		if err := userID(field+".run_as_user", user.Value); err != nil {
			return err
		}
	}
	if group != nil {
		if err := userID(field+".run_as_group", group.Value); err != nil {
			return err
		}
	}
	if len(groups) > 65536 {
		return invalid(field+".supplemental_groups", "%d groups, at most 65536", len(groups))
	}
	for i, g := range groups {
		if err := userID(fmt.Sprintf("%s.supplemental_groups[%d]", field, i), g); err != nil {
			return err
		}
	}
	return nil
}
