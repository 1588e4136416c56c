package main

import (
	"context"
	"fmt"
	"time"
)

// order returns the runtime order of A/B round r: podshim first in even
// rounds, containerd first in odd ones.
func order(r int) []int {
	if r%2 == 0 {
		return []int{0, 1}
	}
	return []int{1, 0}
}

// pair holds one series of samples per runtime (podshim, containerd).
type pair [2][]time.Duration

// warmUp starts and removes one pod on each runtime and does one floor
// measurement, none of them recorded: first calls pay for lazy
// initialisation that a node does once.
func (b *Bench) warmUp(ctx context.Context) error {
	for _, rt := range b.env.RTs {
		pod, _, err := rt.startPod(ctx, "warmup", 1, b.env.Images.Busybox)
		if err != nil {
			return err
		}
		if _, err := rt.stopPod(ctx, pod); err != nil {
			return err
		}
	}
	_, err := b.env.Floor.Measure(ctx, "warmup")
	return err
}

// sequential runs workloads 1 and 3 and the floor: in each A/B round, each
// runtime starts its share of pods one after another (one container each)
// and then tears them down one after another; then the floor is measured
// as many times.
func (b *Bench) sequential(ctx context.Context) error {
	o := b.opts
	var run, create, start, total, stopC, stopP, rmC, rmP, down pair
	var fNetns, fCNI, fRunc1, fRunc2, fTotal, fDown []time.Duration
	var cpu [2]map[string]time.Duration
	cpu[0], cpu[1] = map[string]time.Duration{}, map[string]time.Duration{}
	var started [2]int
	var downCPU [2]time.Duration // runtime cgroup CPU during the teardowns
	var tornDown [2]int          // pods whose teardown downCPU covers
	sec := fmt.Sprintf("1. Pod startup, image present, sequential (%d pods per runtime, 1 container each)", o.Pods)
	tsec := fmt.Sprintf("3. Teardown, sequential (%d pods per runtime)", o.Pods)
	rounds := (o.Pods + o.PerRound - 1) / o.PerRound
	for r := 0; r < rounds; r++ {
		k := min(o.PerRound, o.Pods-r*o.PerRound)
		for _, i := range order(r) {
			rt := b.env.RTs[i]
			rec := b.startCPU(ctx, i)
			before := rt.Usage(false)
			var pods []Pod
			for j := 0; j < k; j++ {
				name := fmt.Sprintf("seq-%d-%d", r, j)
				pod, t, err := rt.startPod(ctx, name, 1, b.env.Images.Busybox)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if err := b.failed(i, sec, "start "+name, err); err != nil {
						return err
					}
					continue
				}
				pods = append(pods, pod)
				run[i] = append(run[i], t.Run)
				create[i] = append(create[i], t.Create)
				start[i] = append(start[i], t.Start)
				total[i] = append(total[i], t.Total)
			}
			for name, d := range rt.Usage(false).cpuByNameSince(before) {
				cpu[i][name] += d
			}
			b.endCPU(rec, i, "cpu-1-sequential", fmt.Sprintf("during workload 1's pod starts (%d pods, one after another)", o.Pods), len(pods))
			started[i] += len(pods)
			rec = b.startCPU(ctx, i)
			cgBefore, cgErr := readCgroupCPU(runtimeCgroup(rt.Key))
			downBefore := len(down[i])
			for _, pod := range pods {
				t, err := rt.stopPod(ctx, pod)
				if err != nil {
					rt.discard(pod)
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if err := b.failed(i, tsec, "tear down "+pod.Name, err); err != nil {
						return err
					}
					continue
				}
				stopC[i] = append(stopC[i], t.StopContainer)
				stopP[i] = append(stopP[i], t.StopPod)
				rmC[i] = append(rmC[i], t.RemoveContainer)
				rmP[i] = append(rmP[i], t.RemovePod)
				down[i] = append(down[i], t.Total)
			}
			n := len(down[i]) - downBefore
			b.endCPU(rec, i, "cpu-3-teardown", fmt.Sprintf("during workload 3's teardowns (%d pods, one after another)", o.Pods), n)
			if cgAfter, err := readCgroupCPU(runtimeCgroup(rt.Key)); err == nil && cgErr == nil {
				downCPU[i] += cgAfter - cgBefore
				tornDown[i] += n
			}
		}
		for j := 0; j < k; j++ {
			t, err := b.env.Floor.Measure(ctx, fmt.Sprintf("floor-%d-%d", r, j))
			if err != nil {
				return err
			}
			fNetns, fCNI, fRunc1, fRunc2 = append(fNetns, t.NetNS), append(fCNI, t.CNIAdd), append(fRunc1, t.Runc1), append(fRunc2, t.Runc2)
			fTotal, fDown = append(fTotal, t.Total), append(fDown, t.Teardown)
		}
		logf("sequential round %d/%d done", r+1, rounds)
	}

	b.saveCPU(ctx, "cpu-1-sequential")
	b.saveCPU(ctx, "cpu-3-teardown")
	b.latency(sec, "RunPodSandbox", run)
	b.latency(sec, "CreateContainer", create)
	b.latency(sec, "StartContainer", start)
	b.latency(sec, "sum of the three", total)
	b.res.Rows[len(b.res.Rows)-1].Floor = ptr(latencyCell(fTotal, ""))
	perPod := func(i int, names ...string) float64 {
		var d time.Duration
		for name, v := range cpu[i] {
			if len(names) == 0 || contains(names, name) {
				d += v
			}
		}
		return ms(d) / float64(max(started[i], 1))
	}
	b.value(sec, "runtime CPU per pod start", "ms", perPod(0), perPod(1), "")
	b.value(sec, "  of which daemons (with CNI plugins they ran)", "ms", perPod(0, "podshimd", "containerd"), perPod(1, "containerd"), "")
	b.value(sec, "  of which shims (with runc they ran)", "ms", perPod(0, "shims"), perPod(1, "shims"), "")
	b.note(fmt.Sprintf("CPU per pod start: podshimd %.0f ms + its containerd %.0f ms + shims %.0f ms; containerd (CRI) %.0f ms + shims %.0f ms",
		perPod(0, "podshimd"), perPod(0, "containerd"), perPod(0, "shims"), perPod(1, "containerd"), perPod(1, "shims")))

	fsec := "0. Floor: the same pod start without a runtime (netns + CNI ADD + 2x runc run -d), measured directly"
	for _, f := range []struct {
		name string
		s    []time.Duration
	}{{"netns create + pin + lo up", fNetns}, {"CNI ADD (bridge, host-local)", fCNI},
		{"runc run -d (pause role)", fRunc1}, {"runc run -d (container)", fRunc2}, {"floor total", fTotal},
		{"teardown: runc delete -f x2, CNI DEL, netns (not a floor: runc delete -f polls)", fDown}} {
		b.res.Rows = append(b.res.Rows, Row{Section: fsec, Metric: f.name, Unit: "ms", Podshim: Cell{Note: "-"}, Ctrd: Cell{Note: "-"},
			Floor: ptr(latencyCell(f.s, ""))})
	}

	b.failureRow(sec)
	b.latency(tsec, "StopContainer", stopC)
	b.latency(tsec, "StopPodSandbox", stopP)
	b.latency(tsec, "RemoveContainer", rmC)
	b.latency(tsec, "RemovePodSandbox", rmP)
	b.latency(tsec, "sum of the four", down)
	perDown := func(i int) float64 { return ms(downCPU[i]) / float64(max(tornDown[i], 1)) }
	b.value(tsec, "runtime CPU per teardown (runtime cgroup: daemons, shims, every exec)", "ms", perDown(0), perDown(1), "")
	b.failureRow(tsec)
	return nil
}

// concurrent runs workload 2: c pods started at once (one goroutine each,
// released together), per-pod latency and wall time, then torn down at
// once (wall time).
func (b *Bench) concurrent(ctx context.Context) error {
	o := b.opts
	for _, c := range o.Concurrency {
		sec := fmt.Sprintf("2. Pod startup, %d pods at once (%d round(s) per runtime)", c, o.ConcRounds)
		var per, wall, downWall pair
		for r := 0; r < o.ConcRounds; r++ {
			for _, i := range order(r) {
				rt := b.env.RTs[i]
				pods := make([]Pod, c)
				times := make([]time.Duration, c)
				var errs errList
				rec := b.startCPU(ctx, i)
				dumped := b.dumpMidStart(ctx, i, c)
				t0 := time.Now()
				forEachIndex(c, c, func(j int) {
					name := fmt.Sprintf("conc%d-%d-%d", c, r, j)
					pod, t, err := rt.startPod(ctx, name, 1, b.env.Images.Busybox)
					if err != nil {
						if ctx.Err() == nil {
							if err := b.failed(i, sec, "start "+name, err); err != nil {
								errs.add(err)
							}
						}
						return
					}
					pods[j], times[j] = pod, t.Total
				})
				w := time.Since(t0)
				dumped()
				b.endCPU(rec, i, fmt.Sprintf("cpu-2-concurrent-%d", c),
					fmt.Sprintf("during workload 2's pod starts (%d at once, %d round(s))", c, o.ConcRounds), countStarted(pods))
				// Let every container's shell install its TERM trap: a
				// signal that arrives before it is ignored by PID 1 and
				// StopContainer then waits out the grace period.
				time.Sleep(time.Second)
				var live []Pod
				for _, p := range pods {
					if p.ID != "" {
						live = append(live, p)
					}
				}
				t0 = time.Now()
				forEach(live, len(live), func(p Pod) {
					if _, err := rt.stopPod(ctx, p); err != nil {
						rt.discard(p)
						if ctx.Err() == nil {
							if err := b.failed(i, sec, "tear down "+p.Name, err); err != nil {
								errs.add(err)
							}
						}
					}
				})
				dw := time.Since(t0)
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := errs.err(fmt.Sprintf("%s: %d pods at once", rt.Name, c)); err != nil {
					return err
				}
				for j, p := range pods {
					if p.ID != "" {
						per[i] = append(per[i], times[j])
					}
				}
				if len(live) == c { // a round with failures has no comparable wall time
					wall[i] = append(wall[i], w)
					downWall[i] = append(downWall[i], dw)
				}
			}
			logf("concurrent %d: round %d/%d done", c, r+1, o.ConcRounds)
		}
		b.saveCPU(ctx, fmt.Sprintf("cpu-2-concurrent-%d", c))
		b.latency(sec, "per-pod start (sum of 3 calls)", per)
		b.latency(sec, fmt.Sprintf("wall time, all %d started", c), wall)
		b.latency(sec, fmt.Sprintf("wall time, all %d torn down at once", c), downWall)
		b.failureRow(sec)
	}
	b.saveContention(ctx)
	return nil
}

// countStarted counts the pods that started (have an ID).
func countStarted(pods []Pod) int {
	n := 0
	for _, p := range pods {
		if p.ID != "" {
			n++
		}
	}
	return n
}

// forEachIndex calls f(0..n-1), at most workers at a time.
func forEachIndex(n, workers int, f func(int)) {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	forEach(idx, workers, f)
}

func ptr[T any](v T) *T { return &v }
