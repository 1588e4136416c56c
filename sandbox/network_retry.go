package sandbox

import (
	"context"

	"github.com/containerd/log"
)

// retryNetworkTeardown records that sandbox sb's CNI DEL failed and, unless
// one runs already, starts retrying it in the background until it
// succeeds or the sandbox is gone. A failed DEL leaves the pod's IP (and
// NAT rules) held by the plugins; kubelet retries StopPodSandbox, but may
// also give up on the pod, and podshimd may restart meanwhile: the record
// (NetworkDelFailed) makes the restarted podshimd retry too (Recover).
// The caller holds sb.opMu.
func (s *Service) retryNetworkTeardown(ctx context.Context, sb *Sandbox) {
	sb.mu.Lock()
	if sb.delRetrying || sb.meta.NetworkDown {
		sb.mu.Unlock()
		return
	}
	sb.delRetrying = true
	record := !sb.meta.NetworkDelFailed
	sb.meta.NetworkDelFailed = true
	sb.mu.Unlock()
	lctx := log.WithLogger(s.opts.Lifetime, log.G(ctx).WithField("sandbox", sb.meta.ID))
	if record {
		if err := sb.save(); err != nil {
			log.G(lctx).WithError(err).Warn("record the failed CNI DEL")
		}
	}
	go retryWithBackoff(lctx, "CNI DEL", func(ctx context.Context, attempt int) (bool, error) {
		return s.retryNetworkTeardownOnce(ctx, sb, attempt)
	})
}

// retryNetworkTeardownOnce runs the sandbox's network teardown once, unless
// it is done already or the sandbox is gone (done).
func (s *Service) retryNetworkTeardownOnce(ctx context.Context, sb *Sandbox, attempt int) (done bool, err error) {
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	finish := func() {
		sb.mu.Lock()
		sb.delRetrying = false
		sb.mu.Unlock()
	}
	if cur, gerr := s.store.Get(sb.meta.ID); gerr != nil || cur != sb || sb.Metadata().NetworkDown {
		finish()
		return true, nil
	}
	if err := s.teardownNetwork(ctx, sb); err != nil {
		return false, err
	}
	finish()
	log.G(ctx).WithField("attempt", attempt).Info("CNI DEL retried in the background: the pod's network is released")
	return true, nil
}
