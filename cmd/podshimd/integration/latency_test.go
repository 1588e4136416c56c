package integration

import (
	"slices"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPodStartupLatency measures RunPodSandbox + CreateContainer +
// StartContainer with the image present, over a few pods one after the
// other, and logs the median.
func TestPodStartupLatency(t *testing.T) {
	const pods = 5
	var took []time.Duration
	for i := 0; i < pods; i++ {
		pod := podConfig(t)
		start := time.Now()
		podID := runPod(t, pod)
		id := runContainer(t, podID, pod, containerConfig(pod, "app", "sleep", "3600"))
		took = append(took, time.Since(start))
		if st := containerStatus(t, id); st.State != criapi.ContainerState_CONTAINER_RUNNING {
			t.Fatalf("pod %d: container is %v, not running", i, st.State)
		}
		removePod(t, podID) // keep one pod at a time, as a fresh node would
	}
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	t.Logf("pod startup latency (RunPodSandbox+CreateContainer+StartContainer, image present): median %s over %d pods; all: %v",
		median.Round(time.Millisecond), pods, took)
	if median > 30*time.Second {
		t.Errorf("median pod startup %s: something waits for a timeout", median)
	}
}
