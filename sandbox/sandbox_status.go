package sandbox

import (
	"encoding/json"

	"github.com/podshim/podshim/cri/store"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ToCRI returns the sandbox's CRI status. It is shared with other callers
// and must not be modified.
func (sb *Sandbox) ToCRI() *runtime.PodSandboxStatus { return sb.criView().Status }

// criView is what the CRI reports of the sandbox as of its current status
// (see store.Views). Besides the status, it is built from metadata fields
// that do not change once the sandbox is in the store (ID, config, IPs,
// creation time, runtime handler).
type criView = store.View[Status, *runtime.PodSandbox, *runtime.PodSandboxStatus]

// criView returns the sandbox's current view.
func (sb *Sandbox) criView() *criView {
	st := sb.Status()
	return sb.view.Get(st, func() (*runtime.PodSandbox, *runtime.PodSandboxStatus) { return criObjects(sb.Metadata(), st) })
}

// criObjects builds the sandbox's list item and status reply.
func criObjects(m Metadata, st Status) (*runtime.PodSandbox, *runtime.PodSandboxStatus) {
	status := &runtime.PodSandboxStatus{
		Id:             m.ID,
		Metadata:       m.Config.GetMetadata(),
		State:          st.State,
		CreatedAt:      m.CreatedAt,
		Network:        &runtime.PodSandboxNetworkStatus{},
		Linux:          &runtime.LinuxPodSandboxStatus{Namespaces: &runtime.Namespace{Options: m.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()}},
		Labels:         m.Config.GetLabels(),
		Annotations:    m.Config.GetAnnotations(),
		RuntimeHandler: m.RuntimeHandler,
	}
	if len(m.IPs) > 0 {
		status.Network.Ip = m.IPs[0]
		for _, ip := range m.IPs[1:] {
			status.Network.AdditionalIps = append(status.Network.AdditionalIps, &runtime.PodIP{Ip: ip})
		}
	}
	item := &runtime.PodSandbox{
		Id:             m.ID,
		Metadata:       m.Config.GetMetadata(),
		State:          st.State,
		CreatedAt:      m.CreatedAt,
		Labels:         m.Config.GetLabels(),
		Annotations:    m.Config.GetAnnotations(),
		RuntimeHandler: m.RuntimeHandler,
	}
	return item, status
}

// WireListItem returns item's wire form (see store.WireForm) when item is
// what ListCRI returns for a sandbox at present, else nil.
func (s *Service) WireListItem(item *runtime.PodSandbox) *runtime.PodSandbox {
	sb, ok := s.store.Lookup(item.GetId())
	if !ok {
		return nil
	}
	w, _ := sb.view.Wire(item)
	return w
}

// Info is the verbose status (`crictl inspectp`): what an operator needs to
// find the sandbox's pieces on the host.
func (sb *Sandbox) Info() map[string]string {
	m, st := sb.Metadata(), sb.Status()
	data, _ := json.Marshal(struct {
		Pid         uint32                    `json:"pid"`
		NetNSPath   string                    `json:"netNamespacePath"`
		Runtime     string                    `json:"runtimeType"`
		CgroupsPath string                    `json:"cgroupsPath"`
		ShmPath     string                    `json:"shmPath,omitempty"`
		Config      *runtime.PodSandboxConfig `json:"config"`
	}{st.Pid, m.NetNSPath, m.Runtime, m.CgroupsPath, m.ShmPath, m.Config})
	return map[string]string{"info": string(data)}
}

// ToCRIListItem returns the sandbox as ListPodSandbox reports it. It is
// shared with other callers and must not be modified.
func (sb *Sandbox) ToCRIListItem() *runtime.PodSandbox { return sb.criView().Item }

// ListCRI returns the sandboxes that pass the filter, ordered by ID. The
// items are shared with other callers and must not be modified.
func (s *Service) ListCRI(f *runtime.PodSandboxFilter) []*runtime.PodSandbox {
	if id := f.GetId(); id != "" {
		sb, err := s.store.Get(id)
		if err != nil {
			return nil
		}
		if item := sb.ToCRIListItem(); matches(item, f) {
			return []*runtime.PodSandbox{item}
		}
		return nil
	}
	sandboxes := s.store.List()
	out := make([]*runtime.PodSandbox, 0, len(sandboxes))
	for _, sb := range sandboxes {
		if item := sb.ToCRIListItem(); matches(item, f) {
			out = append(out, item)
		}
	}
	return out
}

func matches(sb *runtime.PodSandbox, f *runtime.PodSandboxFilter) bool {
	if f == nil {
		return true
	}
	if st := f.GetState(); st != nil && sb.State != st.State {
		return false
	}
	for k, v := range f.GetLabelSelector() {
		if got, ok := sb.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
