package sandbox

import (
	"context"
	"time"

	"github.com/containerd/log"
)

// Back-off of the background CNI DEL retries: the first retry follows a
// failed DEL after delRetryFirst, each next one waits twice as long, up to
// delRetryMax.
const (
	delRetryFirst = time.Second
	delRetryMax   = time.Minute
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
	go s.retryNetworkTeardownLoop(lctx, sb)
}

// retryNetworkTeardownLoop retries sb's CNI DEL with back-off until it
// succeeds, the sandbox is gone or ctx (the daemon's lifetime) ends.
func (s *Service) retryNetworkTeardownLoop(ctx context.Context, sb *Sandbox) {
	delay := delRetryFirst
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return // podshimd shuts down: the restarted one retries (Recover)
		case <-time.After(delay):
		}
		done, err := s.retryNetworkTeardownOnce(ctx, sb)
		if done {
			if err == nil {
				log.G(ctx).WithField("attempt", attempt).Info("CNI DEL retried in the background: the pod's network is released")
			}
			return
		}
		delay = nextDelRetry(delay)
		log.G(ctx).WithError(err).WithFields(log.Fields{"attempt": attempt, "next": delay}).Warn("CNI DEL retried in the background failed again")
	}
}

// retryNetworkTeardownOnce runs the sandbox's network teardown once, unless
// it is done already or the sandbox is gone (done).
func (s *Service) retryNetworkTeardownOnce(ctx context.Context, sb *Sandbox) (done bool, err error) {
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
	return true, nil
}

// nextDelRetry doubles the delay up to delRetryMax.
func nextDelRetry(d time.Duration) time.Duration {
	if d *= 2; d > delRetryMax {
		return delRetryMax
	}
	return d
}
