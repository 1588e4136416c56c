package metrics

import "time"

// ObservePhase records how long a step of starting a pod took
// (sandbox.PhaseRecorder).
func (m *Metrics) ObservePhase(phase string, d time.Duration) {
	m.phaseDuration.WithLabelValues(phase).Observe(d.Seconds())
}

// PullDone records a successful image pull of size bytes
// (image.PullRecorder).
func (m *Metrics) PullDone(size uint64, d time.Duration) {
	m.pulls.Inc()
	m.pullBytes.Add(float64(size))
	m.pullDuration.Observe(d.Seconds())
}

// PullFailed records a failed image pull (image.PullRecorder).
func (m *Metrics) PullFailed(reason string) {
	m.pullFailures.WithLabelValues(reason).Inc()
}

// CNIDone records a CNI ADD or DEL (op "add" or "del") and whether it
// failed (network.Recorder).
func (m *Metrics) CNIDone(op string, err error) {
	m.cniOps.WithLabelValues(op).Inc()
	if err != nil {
		m.cniErrors.WithLabelValues(op).Inc()
	}
}

// LogWritten counts bytes written to container log files (logs.Counter).
func (m *Metrics) LogWritten(n int) { m.logBytesWritten.Add(float64(n)) }

// LogDropped counts container output that could not be written to its log
// file (logs.Counter).
func (m *Metrics) LogDropped(n int) { m.logBytesDropped.Add(float64(n)) }

// Recovered records the state recovery at start-up.
func (m *Metrics) Recovered(sandboxes, containers int, d time.Duration) {
	m.recoveredPods.Set(float64(sandboxes))
	m.recoveredCtrs.Set(float64(containers))
	m.recoveryDuration.Set(d.Seconds())
}
