package image

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/remotes/docker"
)

// PullRecorder records image pulls (metrics.Metrics implements it).
type PullRecorder interface {
	// PullDone records a successful pull of an image of size bytes
	// (manifest, config and compressed layers).
	PullDone(size uint64, d time.Duration)
	// PullFailed records a failed pull; reason is one of the Pull*
	// reasons below.
	PullFailed(reason string)
}

// Reasons of failed pulls, as PullRecorder gets them.
const (
	PullNotFound         = "not_found"
	PullUnauthorized     = "unauthorized"
	PullInvalidReference = "invalid_reference"
	PullCanceled         = "canceled"
	PullTimeout          = "timeout"
	PullOther            = "other"
)

// pullFailureReason classifies a pull's error for metrics.
func pullFailureReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return PullTimeout
	case errors.Is(err, context.Canceled):
		return PullCanceled
	case errdefs.IsInvalidArgument(err):
		return PullInvalidReference
	case errdefs.IsNotFound(err):
		return PullNotFound
	case errors.Is(err, docker.ErrInvalidAuthorization),
		strings.Contains(err.Error(), "401 Unauthorized"), strings.Contains(err.Error(), "403 Forbidden"):
		return PullUnauthorized
	}
	return PullOther
}

type noPulls struct{}

func (noPulls) PullDone(uint64, time.Duration) {}
func (noPulls) PullFailed(string)              {}
