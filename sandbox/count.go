package sandbox

import runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

// CountByState counts the sandboxes in the store by CRI state name
// ("SANDBOX_READY"), every state present (metrics read it at scrape time;
// it never calls containerd).
func (s *Service) CountByState() map[string]int {
	out := make(map[string]int, len(runtime.PodSandboxState_name))
	for _, name := range runtime.PodSandboxState_name {
		out[name] = 0
	}
	for _, sb := range s.store.List() {
		out[runtime.PodSandboxState_name[int32(sb.Status().State)]]++
	}
	return out
}
