package spec

import (
	"context"
	"strconv"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// withAnnotations merges kv into the spec's annotations, kv winning.
func withAnnotations(kv map[string]string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Annotations == nil {
			s.Annotations = make(map[string]string, len(kv))
		}
		for k, v := range kv {
			s.Annotations[k] = v
		}
		return nil
	}
}

// sandboxAnnotations are the CRI annotations both the pause and the
// containers of a pod carry. AnnotationSandboxID makes the runc v2 shim run
// all of them in one shim process.
func sandboxAnnotations(sb Sandbox, ctrType string) map[string]string {
	md := sb.Config.GetMetadata()
	return map[string]string{
		AnnotationContainerType:    ctrType,
		AnnotationSandboxID:        sb.ID,
		AnnotationSandboxName:      md.GetName(),
		AnnotationSandboxNamespace: md.GetNamespace(),
		AnnotationSandboxUID:       md.GetUid(),
	}
}

// containerAnnotations are cfg's annotations plus the CRI ones.
func containerAnnotations(cfg *runtime.ContainerConfig, sb Sandbox) map[string]string {
	out := make(map[string]string, len(cfg.GetAnnotations())+7)
	for k, v := range cfg.GetAnnotations() {
		out[k] = v
	}
	for k, v := range sandboxAnnotations(sb, ContainerTypeContainer) {
		out[k] = v
	}
	out[AnnotationContainerName] = cfg.GetMetadata().GetName()
	image := cfg.GetImage().GetUserSpecifiedImage()
	if image == "" {
		image = cfg.GetImage().GetImage()
	}
	out[AnnotationImageName] = image
	return out
}

// pauseAnnotations are the pod's annotations plus the CRI ones, including
// the pod-level resources kubelet passes for the whole pod.
func pauseAnnotations(sb Sandbox) map[string]string {
	out := make(map[string]string, len(sb.Config.GetAnnotations())+10)
	for k, v := range sb.Config.GetAnnotations() {
		out[k] = v
	}
	for k, v := range sandboxAnnotations(sb, ContainerTypeSandbox) {
		out[k] = v
	}
	out[AnnotationSandboxLogDir] = sb.Config.GetLogDirectory()
	if r := sb.Config.GetLinux().GetResources(); r != nil {
		out[AnnotationSandboxCPUPeriod] = strconv.FormatInt(r.GetCpuPeriod(), 10)
		out[AnnotationSandboxCPUQuota] = strconv.FormatInt(r.GetCpuQuota(), 10)
		out[AnnotationSandboxCPUShares] = strconv.FormatInt(r.GetCpuShares(), 10)
		out[AnnotationSandboxMemory] = strconv.FormatInt(r.GetMemoryLimitInBytes(), 10)
	}
	return out
}
