package cri

import (
	"github.com/containerd/containerd/labels"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/sandbox"
)

// containerdLabels are the labels of a container's containerd container:
// the CRI labels kubelet sets (io.kubernetes.pod.name,
// io.kubernetes.pod.namespace, io.kubernetes.container.name, ...), as
// containerd's CRI plugin copies them, so that what reads containerd directly
// (kubelet's cAdvisor, which names /metrics/cadvisor series after them; ctr)
// sees whose container it is; then podshim's own kind and sandbox labels,
// which win. A CRI label containerd would refuse (key and value over 4 KiB)
// is left out: it stays in podshim's store and ContainerStatus.
func containerdLabels(sandboxID string, cfg *runtime.ContainerConfig) map[string]string {
	out := make(map[string]string, len(cfg.GetLabels())+2)
	for k, v := range cfg.GetLabels() {
		if labels.Validate(k, v) == nil {
			out[k] = v
		}
	}
	out[sandbox.LabelKind] = sandbox.KindContainer
	out[sandbox.LabelSandboxID] = sandboxID
	return out
}
