package spec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/containerd/oci"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateResources returns a copy of s whose Linux resources are changed by
// r, as UpdateContainerResources asks: what r sets replaces the old value,
// the rest stays. s is not modified.
func UpdateResources(s *oci.Spec, r *runtime.LinuxContainerResources) (*oci.Spec, error) {
	if r == nil {
		return nil, invalid("linux resources are required")
	}
	if err := checkResources(r); err != nil {
		return nil, err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("copy spec: %w", err)
	}
	var cp oci.Spec
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("copy spec: %w", err)
	}
	if cp.Linux != nil && cp.Linux.Resources != nil && len(r.GetHugepageLimits()) > 0 {
		cp.Linux.Resources.HugepageLimits = nil
	}
	if err := withResources(r)(context.Background(), nil, nil, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}
