package sandbox

import (
	"fmt"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CheckReady returns nil when sandbox id exists and is ready: an unknown
// ID wraps errdefs.ErrNotFound, a stopped sandbox
// errdefs.ErrFailedPrecondition. PortForward checks it before handing out
// a streaming URL.
func (s *Service) CheckReady(id string) error {
	sb, err := s.store.Get(id)
	if err != nil {
		return err
	}
	if st := sb.Status(); st.State != runtime.PodSandboxState_SANDBOX_READY {
		return fmt.Errorf("%w: sandbox %s is not ready", errdefs.ErrFailedPrecondition, sb.ID())
	}
	return nil
}
