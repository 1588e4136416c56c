package podmetrics

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri"
	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/sandbox"
)

// TestCollectDoesNotWaitForSlowPods collects two pods, one of whose
// reading hangs: the other is reported at once, the slow one keeps its
// previous reading (none at first) and is not read again until its reading
// ends; a pod failing outright is reported partially.
func TestCollectDoesNotWaitForSlowPods(t *testing.T) {
	r, err := stats.NewReader()
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	sbs := sandbox.New(sandbox.Options{})
	ctrs := cri.New(cri.Options{Sandboxes: sbs})
	for _, id := range []string{"fast", "slow"} {
		sbs.AddForTest(sandbox.Metadata{ID: id, Config: &runtime.PodSandboxConfig{Metadata: &runtime.PodSandboxMetadata{Name: id, Namespace: "ns"}}},
			sandbox.Status{State: runtime.PodSandboxState_SANDBOX_READY})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := New(ctx, Options{Sandboxes: sbs, Containers: ctrs, Cgroups: r, ReadTimeout: 100 * time.Millisecond, MaxAge: time.Hour})
	release := make(chan struct{})
	var slowReads atomic.Int32
	c.read = func(_ context.Context, tg target, ts int64) (*runtime.PodSandboxMetrics, []error) {
		m := &runtime.PodSandboxMetrics{PodSandboxId: tg.id, Metrics: []*runtime.Metric{metric("container_processes", gauge, nil, 1, ts)}}
		if tg.id == "slow" {
			slowReads.Add(1)
			<-release
			return m, []error{errors.New("half of it is gone")}
		}
		return m, nil
	}
	ids := func() []string {
		var out []string
		for _, p := range c.List() {
			out = append(out, p.PodSandboxId)
		}
		return out
	}

	start := time.Now()
	c.Collect(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("collection waited %s for the slow pod", d)
	}
	if got := ids(); len(got) != 1 || got[0] != "fast" {
		t.Fatalf("after a slow reading: pods %v, want [fast]", got)
	}
	start = time.Now()
	c.Collect(ctx)
	if d := time.Since(start); d > 50*time.Millisecond || slowReads.Load() != 1 {
		t.Fatalf("second collection took %s and read the slow pod %d times; want no wait and one reading", d, slowReads.Load())
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.Collect(ctx)
		if got := ids(); len(got) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow pod never came back: %v", ids())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A call never collects itself: a stale collection is answered at
	// once and refreshed in the background.
	c.opts.MaxAge = time.Nanosecond
	before := c.last.Load()
	if got := c.List(); len(got) != 2 {
		t.Fatalf("List = %v", got)
	}
	deadline = time.Now().Add(5 * time.Second)
	for c.last.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("a stale collection was not refreshed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
