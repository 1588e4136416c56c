package cri

import runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

// CountByState counts the containers in the store by CRI state name
// ("CONTAINER_RUNNING"), every state present (metrics read it at scrape
// time; it never calls containerd).
func (s *Service) CountByState() map[string]int {
	out := make(map[string]int, len(runtime.ContainerState_name))
	for _, name := range runtime.ContainerState_name {
		out[name] = 0
	}
	for _, c := range s.store.List() {
		out[stateName(c.Status().State)]++
	}
	return out
}
