package main

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// rampStep is how many pods each runtime adds in one A/B ramp round.
const rampStep = 25

// steady runs workloads 4 and 5: both runtimes are brought to o.Steady
// running pods (o.SteadyContainers containers each) in alternating steps,
// with memory read at 0, 50 and the full count; then the calls kubelet
// makes every second are timed (samples interleaved A/B), and both runtimes
// are polled like kubelet does for an idle window while their CPU time is
// measured.
func (b *Bench) steady(ctx context.Context) (retErr error) {
	o := b.opts
	rts := b.env.RTs
	var pods [2][]Pod
	var mu sync.Mutex
	sec := fmt.Sprintf("4. Steady state, %d pods x %d containers per runtime: kubelet's per-second calls", o.Steady, o.SteadyContainers)
	memSec := "5. Memory of the runtime (daemons, shims, pause processes)"
	defer func() {
		logf("steady state: tearing down")
		for i, rt := range rts {
			forEach(pods[i], 4, func(p Pod) {
				if _, err := rt.stopPod(context.WithoutCancel(ctx), p); err != nil {
					rt.discard(p)
					if err := b.failed(i, sec, "tear down "+p.Name, err); err != nil && retErr == nil {
						retErr = err
					}
				}
			})
		}
		b.failureRow(sec)
	}()

	checkpoints := []int{0}
	for _, n := range []int{50, o.Steady} {
		if n <= o.Steady && n != checkpoints[len(checkpoints)-1] {
			checkpoints = append(checkpoints, n)
		}
	}
	mem := map[int][2]Usage{}
	readMem := func(n int) {
		// Let start-up work settle, and what earlier workloads left for
		// reuse go (podshimd keeps pull buffers 5 s after the last pull):
		// the figures are of runtimes at rest.
		time.Sleep(memorySettle)
		mem[n] = [2]Usage{rts[0].Usage(true), rts[1].Usage(true)}
		logf("memory at %d pods: podshim %s MB, containerd %s MB", n,
			formatMB(mem[n][0].RSS/1024), formatMB(mem[n][1].RSS/1024))
		b.countGoroutines(ctx, n)
	}
	readMem(0)
	count := 0
	for r := 0; count < o.Steady; r++ {
		next := min(count+rampStep, o.Steady)
		for _, cp := range checkpoints {
			if cp > count && cp < next {
				next = cp
			}
		}
		for _, i := range order(r) {
			rt := rts[i]
			var errs errList
			forEachIndex(next-count, 2, func(j int) {
				// A failed start is retried once under another name, so
				// that both runtimes reach the same pod count.
				for attempt := 0; attempt < 2; attempt++ {
					name := fmt.Sprintf("steady-%d-%d", count+j, attempt)
					pod, _, err := rt.startPod(ctx, name, o.SteadyContainers, b.env.Images.Busybox)
					if err == nil {
						mu.Lock()
						pods[i] = append(pods[i], pod)
						mu.Unlock()
						return
					}
					if ctx.Err() != nil {
						errs.add(ctx.Err())
						return
					}
					if err := b.failed(i, sec, "start "+name, err); err != nil {
						errs.add(err)
						return
					}
				}
				errs.add(fmt.Errorf("%s: pod steady-%d failed to start twice", rt.Name, count+j))
			})
			if err := errs.err(rt.Name + ": steady-state ramp"); err != nil {
				return err
			}
		}
		count = next
		logf("steady state: %d pods per runtime", count)
		if contains(intsToStrings(checkpoints), fmt.Sprint(count)) {
			readMem(count)
		}
	}
	for i, rt := range rts {
		if err := b.checkRunning(ctx, rt, len(pods[i]), o.SteadyContainers); err != nil {
			return err
		}
	}
	b.goroutineNote()
	b.snapshotSteady(ctx, o.Steady)

	b.memoryRows(memSec, checkpoints, mem)

	if err := b.steadyLatency(ctx, sec, pods); err != nil {
		return err
	}
	if err := b.referenceRows(ctx, sec); err != nil {
		return err
	}
	// The relist calls alone compare like with like even while one
	// runtime lacks the stats calls; the full set is what kubelet makes.
	if err := b.idleWindow(ctx, sec, pods, false); err != nil {
		return err
	}
	return b.idleWindow(ctx, sec, pods, true)
}

// memorySettle is the pause before each memory checkpoint.
const memorySettle = 10 * time.Second

// checkRunning verifies that the runtime lists the expected ready pods and
// running containers, and that a pod has an address of its network.
func (b *Bench) checkRunning(ctx context.Context, rt *Runtime, nPods, perPod int) error {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ps, err := rt.RT.ListPodSandbox(cctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{State: &cri.PodSandboxStateValue{State: cri.PodSandboxState_SANDBOX_READY}}})
	if err != nil {
		return fmt.Errorf("%s: ListPodSandbox: %w", rt.Name, err)
	}
	cs, err := rt.RT.ListContainers(cctx, &cri.ListContainersRequest{Filter: &cri.ContainerFilter{State: &cri.ContainerStateValue{State: cri.ContainerState_CONTAINER_RUNNING}}})
	if err != nil {
		return fmt.Errorf("%s: ListContainers: %w", rt.Name, err)
	}
	if len(ps.Items) != nPods || len(cs.Containers) != nPods*perPod {
		return fmt.Errorf("%s: %d ready pods and %d running containers, want %d and %d", rt.Name, len(ps.Items), len(cs.Containers), nPods, nPods*perPod)
	}
	st, err := rt.RT.PodSandboxStatus(cctx, &cri.PodSandboxStatusRequest{PodSandboxId: ps.Items[0].Id})
	if err != nil {
		return fmt.Errorf("%s: PodSandboxStatus: %w", rt.Name, err)
	}
	_, subnet, _ := net.ParseCIDR(rt.Network.Subnet)
	ip := net.ParseIP(st.GetStatus().GetNetwork().GetIp())
	if ip == nil || !subnet.Contains(ip) {
		return fmt.Errorf("%s: pod IP %q is not in %s", rt.Name, st.GetStatus().GetNetwork().GetIp(), rt.Network.Subnet)
	}
	b.note(fmt.Sprintf("%s at steady state: %d ready pods, %d running containers, pod IPs in %s (e.g. %s)", rt.Name, nPods, nPods*perPod, rt.Network.Subnet, ip))
	return nil
}

// criCall is one of kubelet's periodic calls; i is a sample index (used to
// pick the pod or container).
type criCall struct {
	name    string
	samples int
	do      func(ctx context.Context, rt *Runtime, pods []Pod, i int) (statsAges []time.Duration, err error)
}

func kubeletCalls(o Options, nPods, nContainers int) []criCall {
	return []criCall{
		{"ListPodSandbox", o.Samples, func(ctx context.Context, rt *Runtime, _ []Pod, _ int) ([]time.Duration, error) {
			_, err := rt.RT.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
			return nil, err
		}},
		{"ListContainers", o.Samples, func(ctx context.Context, rt *Runtime, _ []Pod, _ int) ([]time.Duration, error) {
			_, err := rt.RT.ListContainers(ctx, &cri.ListContainersRequest{})
			return nil, err
		}},
		{"PodSandboxStatus", nPods, func(ctx context.Context, rt *Runtime, pods []Pod, i int) ([]time.Duration, error) {
			_, err := rt.RT.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: pods[i%len(pods)].ID})
			return nil, err
		}},
		{"ContainerStatus", nContainers, func(ctx context.Context, rt *Runtime, pods []Pod, i int) ([]time.Duration, error) {
			p := pods[(i/len(pods[0].Containers))%len(pods)]
			_, err := rt.RT.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: p.Containers[i%len(p.Containers)]})
			return nil, err
		}},
		{"ListContainerStats", o.StatsSamples, func(ctx context.Context, rt *Runtime, _ []Pod, _ int) ([]time.Duration, error) {
			resp, err := rt.RT.ListContainerStats(ctx, &cri.ListContainerStatsRequest{})
			if err != nil {
				return nil, err
			}
			now := time.Now()
			var ages []time.Duration
			for _, s := range resp.Stats {
				if ts := s.GetCpu().GetTimestamp(); ts > 0 {
					ages = append(ages, now.Sub(time.Unix(0, ts)))
				}
			}
			if len(resp.Stats) != nContainers {
				return ages, fmt.Errorf("ListContainerStats returned %d stats for %d containers", len(resp.Stats), nContainers)
			}
			return ages, nil
		}},
		{"ListPodSandboxStats", o.StatsSamples, func(ctx context.Context, rt *Runtime, _ []Pod, _ int) ([]time.Duration, error) {
			resp, err := rt.RT.ListPodSandboxStats(ctx, &cri.ListPodSandboxStatsRequest{})
			if err == nil && len(resp.Stats) != nPods {
				err = fmt.Errorf("ListPodSandboxStats returned %d stats for %d pods", len(resp.Stats), nPods)
			}
			return nil, err
		}},
	}
}

// callNote turns a call's error into the note shown instead of figures.
func callNote(err error) string {
	if status.Code(err) == codes.Unimplemented {
		return "unimplemented"
	}
	return "error: " + err.Error()
}

// minSamples is the fewest samples a steady-state call gets per runtime,
// whatever its time budget.
const minSamples = 5

// callBudget is the time after which sampling one steady-state call stops
// (slow stats calls at hundreds of pods would otherwise dominate the run).
func (b *Bench) callBudget() time.Duration {
	if b.opts.Quick {
		return 15 * time.Second
	}
	return 60 * time.Second
}

// steadyLatency times each of kubelet's calls, alternating runtimes sample
// by sample. A runtime whose call fails is not asked again for that call;
// the failure is shown in the table.
func (b *Bench) steadyLatency(ctx context.Context, sec string, pods [2][]Pod) error {
	rts := b.env.RTs
	for _, call := range kubeletCalls(b.opts, len(pods[0]), len(pods[0])*b.opts.SteadyContainers) {
		var lat, ages pair
		var notes [2]string
		begin := time.Now()
		for s := 0; s < call.samples; s++ {
			if s >= minSamples && time.Since(begin) > b.callBudget() {
				b.note(fmt.Sprintf("%s: sampling stopped after %d samples per runtime, at the %s time budget", call.name, s, b.callBudget()))
				break
			}
			for _, i := range order(s) {
				if notes[i] != "" {
					continue
				}
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				t0 := time.Now()
				a, err := call.do(cctx, rts[i], pods[i], s)
				d := time.Since(t0)
				cancel()
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					notes[i] = callNote(err)
					continue
				}
				lat[i] = append(lat[i], d)
				ages[i] = append(ages[i], a...)
			}
		}
		b.res.Rows = append(b.res.Rows, Row{Section: sec, Metric: call.name, Unit: "ms",
			Podshim: latencyCell(lat[0], notes[0]), Ctrd: latencyCell(lat[1], notes[1])})
		if call.name == "ListContainerStats" {
			b.res.Rows = append(b.res.Rows, Row{Section: sec, Metric: "ListContainerStats: age of the CPU values returned", Unit: "ms",
				Podshim: latencyCell(ages[0], notes[0]), Ctrd: latencyCell(ages[1], notes[1])})
		}
		logf("steady state: %s timed", call.name)
	}
	return nil
}

// idleWindow polls both runtimes at once, each once a second with kubelet's
// calls, for the window, and measures the CPU time their processes use.
func (b *Bench) idleWindow(ctx context.Context, sec string, pods [2][]Pod, withStats bool) error {
	rts := b.env.RTs
	var calls []criCall
	for _, c := range kubeletCalls(b.opts, len(pods[0]), len(pods[0])*b.opts.SteadyContainers) {
		if withStats || !strings.Contains(c.name, "Stats") {
			calls = append(calls, c)
		}
	}
	what := "List*/Status calls"
	if withStats {
		what = "List*/Status + stats calls"
	}
	var ticks pair
	var skipped [2][]string
	var cpu [2]time.Duration
	var wg sync.WaitGroup
	wctx, cancel := context.WithTimeout(ctx, b.opts.Window)
	defer cancel()
	logf("steady state: %s idle window, polled once a second with the %s", b.opts.Window, what)
	for i := range rts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rt := rts[i]
			failed := map[string]bool{}
			before := rt.Usage(false)
			start := time.Now()
			for n := 0; ; n++ {
				next := start.Add(time.Duration(n) * time.Second)
				if wctx.Err() == nil {
					select {
					case <-wctx.Done():
					case <-time.After(time.Until(next)):
					}
				}
				if wctx.Err() != nil {
					cpu[i] = time.Duration(float64(rt.Usage(false).cpuSince(before)) / time.Since(start).Seconds())
					return
				}
				// A poll that starts inside the window runs to its end; the
				// CPU time is divided by the time actually covered.
				t0 := time.Now()
				for _, c := range calls {
					if failed[c.name] {
						continue
					}
					reps := 1
					if c.name == "PodSandboxStatus" || c.name == "ContainerStatus" {
						reps = c.samples // each pod / each container
					}
					for k := 0; k < reps; k++ {
						cctx, cancel := context.WithTimeout(ctx, callTimeout)
						_, err := c.do(cctx, rt, pods[i], k)
						cancel()
						if err != nil {
							if ctx.Err() != nil {
								return
							}
							failed[c.name] = true
							skipped[i] = append(skipped[i], c.name+" ("+callNote(err)+")")
							break
						}
					}
				}
				ticks[i] = append(ticks[i], time.Since(t0))
			}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var notes [2]string
	for i, rt := range rts {
		if len(skipped[i]) > 0 {
			sort.Strings(skipped[i])
			notes[i] = fmt.Sprintf("without %v", skipped[i])
			b.note(fmt.Sprintf("%s: the idle-window poller left out %v", rt.Name, skipped[i]))
		}
	}
	b.latency(sec, "one poll: "+what+" (each pod/container once)", ticks)
	last := &b.res.Rows[len(b.res.Rows)-1]
	last.Podshim.Note, last.Ctrd.Note = notes[0], notes[1]
	b.value(sec, fmt.Sprintf("runtime CPU, polled 1/s with the %s (%s window)", what, b.opts.Window), "ms CPU/s",
		ms(cpu[0]), ms(cpu[1]), "")
	last = &b.res.Rows[len(b.res.Rows)-1]
	last.Podshim.Note, last.Ctrd.Note = notes[0], notes[1]
	return nil
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func intsToStrings(ns []int) []string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprint(n))
	}
	return s
}
