package sandbox

import "time"

// PhaseRecorder records how long a step of starting a pod took
// (metrics.Metrics implements it). Only steps that succeeded are recorded.
type PhaseRecorder interface {
	ObservePhase(phase string, d time.Duration)
}

// The steps of RunPodSandbox, as PhaseRecorder names them. cri names the
// container steps.
const (
	PhaseSandboxImage = "sandbox_image" // EnsureSandboxImage
	PhaseNetNS        = "netns"         // create and pin the network namespace
	PhaseCNIAdd       = "cni_add"       // CNI ADD
	PhasePauseCreate  = "pause_create"  // the pause container and its task
	PhasePauseStart   = "pause_start"   // start the pause task
)

// noPhases is the recorder when none is configured.
type noPhases struct{}

func (noPhases) ObservePhase(string, time.Duration) {}

// observeSince records phase as having taken since start.
func (s *Service) observeSince(phase string, start time.Time) {
	s.opts.Phases.ObservePhase(phase, time.Since(start))
}
