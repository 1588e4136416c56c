package cri

import (
	"fmt"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CheckRunning returns nil when container id exists and runs: an unknown
// ID wraps errdefs.ErrNotFound, a container in another state
// errdefs.ErrFailedPrecondition. Exec and Attach check it before handing
// out a streaming URL.
func (s *Service) CheckRunning(id string) error {
	c, err := s.store.Get(id)
	if err != nil {
		return err
	}
	if st := c.Status(); st.State != runtime.ContainerState_CONTAINER_RUNNING {
		return fmt.Errorf("%w: container %s is %s, not running", errdefs.ErrFailedPrecondition, c.meta.ID, stateName(st.State))
	}
	return nil
}
