package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// chaosKillsEnv sets how many times TestChaos kills podshimd (`make chaos`
// sets it; the suite's default is a handful).
const chaosKillsEnv = "PODSHIM_CHAOS_KILLS"

const (
	chaosNamespace = "podshim-itest-chaos"
	chaosWorkers   = 3                      // concurrent pod lifecycles
	chaosMaxDelay  = 600 * time.Millisecond // the kill comes 0-600 ms into the churn
)

// TestChaos kills podshimd with SIGKILL at a random moment (0-600 ms)
// while chaosWorkers goroutines run pod lifecycles (RunPodSandbox,
// CreateContainer, StartContainer, StopContainer, RemoveContainer,
// StopPodSandbox, RemovePodSandbox) side by side, restarts it, stops and
// removes everything it lists, and counts what is left on the host, by
// kind. Every call after the restart must succeed and every count must be
// zero.
func TestChaos(t *testing.T) {
	kills := 6
	if v := os.Getenv(chaosKillsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", chaosKillsEnv, v)
		}
		kills = n
	}
	b := startCrashBed(t, "podshimd-chaos", chaosNamespace)
	images := b.imageIDs(t)
	baseline := b.resources(context.Background())
	leftovers := map[string]map[string]bool{} // kind → items
	var calls, failedCalls atomic.Int64
	start := time.Now()
	for i := 0; i < kills; i++ {
		// Each worker takes its first pod to a random step of its life
		// before the clock starts, so that the kill finds every step.
		ctx, cancel := context.WithCancel(context.Background())
		var wg, ready sync.WaitGroup
		go1 := make(chan struct{})
		for w := 0; w < chaosWorkers; w++ {
			wg.Add(1)
			ready.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				atStep := func() { once.Do(ready.Done); <-go1 }
				defer once.Do(ready.Done)
				first := rand.IntN(lifecycleSteps)
				for ctx.Err() == nil {
					if !b.lifecycle(ctx, t, &calls, &failedCalls, first, atStep) {
						return
					}
					first = -1
				}
			}()
		}
		ready.Wait()
		close(go1)
		time.Sleep(time.Duration(rand.Int64N(int64(chaosMaxDelay))))
		b.p.Kill()
		cancel()
		wg.Wait()
		b.restart(t, "")
		if !b.removeEverything(t, images) {
			t.Fatalf("kill %d: cleaning up after the restart failed", i+1)
		}
		if leaked := b.settledLeftovers(baseline); len(leaked) > 0 {
			for _, item := range leaked {
				kind, what, _ := strings.Cut(item, ": ")
				if leftovers[kind] == nil {
					leftovers[kind] = map[string]bool{}
				}
				leftovers[kind][what] = true
			}
			t.Errorf("kill %d left: %s", i+1, strings.Join(leaked, "; "))
			baseline = b.resources(context.Background()) // count each leak once
		}
		if (i+1)%20 == 0 {
			t.Logf("chaos: %d/%d kills, %s, %d calls (%d cut), %d kinds leaked so far", i+1, kills, time.Since(start).Round(time.Second), calls.Load(), failedCalls.Load(), len(leftovers))
		}
	}
	var kinds []string
	for _, k := range []string{kindNetNS, kindIPs, kindVeths, kindMounts, kindCtrdMounts, kindContainers, kindTasks, kindSnapshots, kindLeases, kindShims, kindCgroups, kindRuncState, kindDirs, kindCNICache, kindIptables} {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, len(leftovers[k])))
	}
	sort.Strings(kinds)
	t.Logf("chaos: %d kills survived in %s, %d CRI calls (%d cut by a kill); leftovers by kind: %s",
		kills, time.Since(start).Round(time.Second), calls.Load(), failedCalls.Load(), strings.Join(kinds, ", "))
}

// lifecycleSteps is the number of CRI calls in a pod's life (lifecycle).
const lifecycleSteps = 7

// lifecycle runs one pod through its whole life, calling wait before step
// waitAt (0-based; -1 for none). It returns false once a call failed
// (podshimd was killed).
func (b *crashBed) lifecycle(ctx context.Context, t *testing.T, calls, failed *atomic.Int64, waitAt int, wait func()) bool {
	rt := b.rt()
	step := 0
	call := func(err error) bool {
		calls.Add(1)
		if err != nil {
			failed.Add(1)
			return false
		}
		step++
		if step == waitAt {
			wait()
		}
		return true
	}
	if waitAt == 0 {
		wait()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pod := podConfig(t)
	run, err := rt.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})
	if !call(err) {
		return false
	}
	cr, err := rt.CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: run.PodSandboxId, Config: containerConfig(pod, "c", "sleep", "3600"), SandboxConfig: pod})
	if !call(err) {
		return false
	}
	id := cr.ContainerId
	_, err = rt.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: id})
	if !call(err) {
		return false
	}
	_, err = rt.StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: id, Timeout: 0})
	if !call(err) {
		return false
	}
	_, err = rt.RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: id})
	if !call(err) {
		return false
	}
	_, err = rt.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: run.PodSandboxId})
	if !call(err) {
		return false
	}
	_, err = rt.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: run.PodSandboxId})
	return call(err)
}

// settledLeftovers returns what exists now and not in baseline, waiting up
// to 10 s for what goes asynchronously (shims) to go.
func (b *crashBed) settledLeftovers(baseline resources) []string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaked := b.resources(context.Background()).newSince(baseline)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(200 * time.Millisecond)
	}
}
