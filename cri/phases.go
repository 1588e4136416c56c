package cri

import (
	"time"

	"github.com/podshim/podshim/cri/logs"
	"github.com/podshim/podshim/sandbox"
)

// The container steps of starting a pod, as sandbox.PhaseRecorder names
// them (the sandbox package names the others).
const (
	PhaseContainerCreate = "container_create" // CreateContainer, whole
	PhaseContainerStart  = "container_start"  // StartContainer, whole
)

type noPhases struct{}

func (noPhases) ObservePhase(string, time.Duration) {}

var _ sandbox.PhaseRecorder = noPhases{}

type noLogCounter struct{}

func (noLogCounter) LogWritten(int) {}
func (noLogCounter) LogDropped(int) {}

var _ logs.Counter = noLogCounter{}
