package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxFailures is how many failed pod starts or teardowns per runtime the
// benchmark records and works around before it gives up.
const maxFailures = 50

// Bench runs the workloads against both runtimes of an Env.
type Bench struct {
	opts Options
	env  *Env
	res  *Result

	mu       sync.Mutex
	failures [2]int
	failRows map[string]*[2]int // section -> failures per runtime

	// profDir is <results>/profiles; cpu holds CPU recordings per runtime
	// until saveCPU writes them; goroutines the counts read per runtime.
	profDir    string
	cpu        [2]map[string]*cpuProfile
	goroutines [2][]string
	// midDumps are the goroutine dumps dumpMidStart took, by file name.
	midDumps map[string][]byte
}

// failed records a failed pod start or teardown of runtime i in section sec:
// the error goes into the notes and the section gets a "failed" row. It
// returns an error once a runtime has failed more than maxFailures times.
func (b *Bench) failed(i int, sec, what string, err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures[i]++
	if b.failRows == nil {
		b.failRows = map[string]*[2]int{}
	}
	if b.failRows[sec] == nil {
		b.failRows[sec] = &[2]int{}
	}
	b.failRows[sec][i]++
	name := b.env.RTs[i].Name
	b.res.Notes = append(b.res.Notes, fmt.Sprintf("FAILED (%s, %s): %s: %v", sec[:strings.IndexByte(sec, '.')+1], name, what, err))
	logf("%s: %s failed: %v", name, what, err)
	if b.failures[i] > maxFailures {
		return fmt.Errorf("%s failed more than %d times; last: %s: %w", name, maxFailures, what, err)
	}
	return nil
}

// failureRow adds a row counting the failures of section sec, if any.
func (b *Bench) failureRow(sec string) {
	b.mu.Lock()
	f := b.failRows[sec]
	b.mu.Unlock()
	if f != nil {
		b.value(sec, "FAILED calls (left out of the figures; see notes)", "count", float64(f[0]), float64(f[1]), "")
	}
}

// discard removes a pod whose teardown failed, ignoring errors (the
// runtime's own idempotent Stop/Remove), so that nothing is left running.
func (rt *Runtime) discard(pod Pod) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, _ = rt.RT.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: pod.ID})
	_, _ = rt.RT.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: pod.ID})
}

// latency appends a row of latency samples for both runtimes.
func (b *Bench) latency(sec, metric string, s pair) {
	b.res.Rows = append(b.res.Rows, Row{Section: sec, Metric: metric, Unit: "ms",
		Podshim: latencyCell(s[0], ""), Ctrd: latencyCell(s[1], "")})
}

// value appends a row of single values for both runtimes.
func (b *Bench) value(sec, metric, unit string, a, c float64, note string) {
	b.res.Rows = append(b.res.Rows, Row{Section: sec, Metric: metric, Unit: unit,
		Podshim: valueCell(a, note), Ctrd: valueCell(c, note)})
}

func (b *Bench) note(s string) { b.res.Notes = append(b.res.Notes, s) }

// run runs the selected workload groups in the order that keeps the pod
// count low until the steady-state phase.
func (b *Bench) run(ctx context.Context) error {
	if err := b.warmUp(ctx); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	steps := []struct {
		name string
		f    func(context.Context) error
	}{{"sequential", b.sequential}, {"concurrent", b.concurrent}, {"pull", b.pull}, {"steady", b.steady}}
	for _, s := range steps {
		if !b.opts.runs(s.name) {
			continue
		}
		start := time.Now()
		logf("workload group %s", s.name)
		if err := s.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		b.note(fmt.Sprintf("workload group %s took %s", s.name, time.Since(start).Round(time.Second)))
	}
	return nil
}

// targets evaluates issue 13's goals on the run's rows.
func (b *Bench) targets() { b.res.Targets = goalTargets(b.res) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
