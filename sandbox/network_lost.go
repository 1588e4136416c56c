package sandbox

import (
	"context"
	"os"
	"path/filepath"

	"github.com/containerd/log"
)

// lostNetworksDir holds an empty file per pod whose network podshim still
// has to release although the pod itself is gone: the undo of a failed
// RunPodSandbox ran CNI DEL and the DEL failed. The pod's netns stays
// pinned in its netns dir until the DEL succeeds, so that the plugins
// find the veth, the IP and their NAT rules where they put them.
func (s *Service) lostNetworksDir() string { return filepath.Join(s.opts.RootDir, "lost-networks") }

// releaseLostNetwork records that pod id's network is still held and
// retries its CNI DEL (network.TeardownLost: libcni's cache of the ADD,
// else the current config, in the pod's pinned netns) in the background
// with back-off until it succeeds; then the netns and the record go. A
// restarted podshimd goes on retrying (recoverLostNetworks).
func (s *Service) releaseLostNetwork(ctx context.Context, id string) {
	ctx = log.WithLogger(s.opts.Lifetime, log.G(ctx).WithField("sandbox", id))
	recorded := s.recordLostNetwork(ctx, id)
	log.G(ctx).Warn("CNI DEL in the undo of a failed RunPodSandbox failed: the pod's netns stays, and the DEL is retried in the background until it succeeds")
	go s.releaseLostNetworkLoop(ctx, id, recorded)
}

// recordLostNetwork writes pod id's record in lostNetworksDir, and says
// whether it did: without it a restarted podshimd would not retry.
func (s *Service) recordLostNetwork(ctx context.Context, id string) bool {
	err := os.MkdirAll(s.lostNetworksDir(), 0o700)
	if err == nil {
		err = os.WriteFile(filepath.Join(s.lostNetworksDir(), id), nil, 0o600)
	}
	if err != nil {
		log.G(ctx).WithError(err).Warn("record the network of a failed RunPodSandbox whose CNI DEL failed (tried again with the DEL)")
		return false
	}
	return true
}

// releaseLostNetworkLoop retries pod id's CNI DEL until it succeeds or ctx
// (the daemon's lifetime) ends; then the netns and the record go. While
// the record is not written (recorded), each failed attempt writes it
// again, so that a restart still finds the pod.
func (s *Service) releaseLostNetworkLoop(ctx context.Context, id string, recorded bool) {
	retryWithBackoff(ctx, "CNI DEL of a failed RunPodSandbox", func(ctx context.Context, attempt int) (bool, error) {
		err := s.opts.Network.TeardownLost(ctx, id, "")
		if err == nil {
			err = s.opts.Network.RemovePodNetNSDir(id)
		}
		if err != nil {
			if !recorded {
				recorded = s.recordLostNetwork(ctx, id)
			}
			return false, err
		}
		_ = os.Remove(filepath.Join(s.lostNetworksDir(), id))
		log.G(ctx).WithField("attempt", attempt).Info("CNI DEL of a failed RunPodSandbox retried in the background: the pod's network is released")
		return true, nil
	})
}

// recoverLostNetworks resumes the retries recorded before a restart.
func (s *Service) recoverLostNetworks(ctx context.Context) {
	entries, _ := os.ReadDir(s.lostNetworksDir())
	for _, e := range entries {
		id := e.Name()
		lctx := log.WithLogger(s.opts.Lifetime, log.G(ctx).WithField("sandbox", id))
		log.G(lctx).Info("a failed RunPodSandbox's CNI DEL failed before the restart: retrying it in the background")
		go s.releaseLostNetworkLoop(lctx, id, true)
	}
}
