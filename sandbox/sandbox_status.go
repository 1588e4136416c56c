package sandbox

import (
	"encoding/json"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ToCRI returns the sandbox's CRI status.
func (sb *Sandbox) ToCRI() *runtime.PodSandboxStatus {
	m, st := sb.Metadata(), sb.Status()
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
	return status
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

// ToCRIListItem returns the sandbox as ListPodSandbox reports it.
func (sb *Sandbox) ToCRIListItem() *runtime.PodSandbox {
	m, st := sb.Metadata(), sb.Status()
	return &runtime.PodSandbox{
		Id:             m.ID,
		Metadata:       m.Config.GetMetadata(),
		State:          st.State,
		CreatedAt:      m.CreatedAt,
		Labels:         m.Config.GetLabels(),
		Annotations:    m.Config.GetAnnotations(),
		RuntimeHandler: m.RuntimeHandler,
	}
}

// ListCRI returns the sandboxes that pass the filter.
func (s *Service) ListCRI(f *runtime.PodSandboxFilter) []*runtime.PodSandbox {
	var out []*runtime.PodSandbox
	if id := f.GetId(); id != "" {
		sb, err := s.store.Get(id)
		if err != nil {
			return nil
		}
		if item := sb.ToCRIListItem(); matches(item, f) {
			out = append(out, item)
		}
		return out
	}
	for _, sb := range s.store.List() {
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
