package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Profile is one profile the run saved under <results>/profiles/.
type Profile struct {
	Runtime string `json:"runtime"` // "podshim" or "containerd"
	Daemon  string `json:"daemon"`  // the process profiled: "podshimd", "containerd-cri"
	Kind    string `json:"kind"`    // "cpu", "heap" or "goroutine"
	During  string `json:"during"`
	File    string `json:"file"` // relative to the results dir
	// PodStarts and SampledMS: the pods a CPU profile covers (started, or
	// torn down for the teardown profile) and the CPU time it holds.
	PodStarts  int     `json:"pod_starts,omitempty"`
	SampledMS  float64 `json:"sampled_ms,omitempty"`
	Goroutines int     `json:"goroutines,omitempty"`
	// Top is `go tool pprof -top -nodecount=15` (flat) of the profile.
	Top   string `json:"top,omitempty"`
	Error string `json:"error,omitempty"`
}

// summary is the one-line description of a profile.
func (p Profile) summary() string {
	s := fmt.Sprintf("%s, %s %s", p.Daemon, p.Kind, p.During)
	switch {
	case p.PodStarts > 0 && p.SampledMS > 0:
		s += fmt.Sprintf(": %d pods, %.0f ms sampled = %.1f ms per pod", p.PodStarts, p.SampledMS, p.SampledMS/float64(p.PodStarts))
	case p.Goroutines > 0:
		s += fmt.Sprintf(": %d goroutines", p.Goroutines)
	}
	if p.Error != "" {
		s += " (" + p.Error + ")"
	}
	return s
}

// cpuProfile gathers the pieces of one runtime's CPU recordings for one
// workload until it is saved.
type cpuProfile struct {
	during string
	parts  [][]byte
	pods   int
	err    error
}

// startCPU starts a CPU recording of runtime i's daemon (nothing when the
// run takes no profiles).
func (b *Bench) startCPU(ctx context.Context, i int) *cpuRecording {
	return b.env.RTs[i].Prof.startCPU(ctx)
}

// endCPU stops a recording that covered pods pod starts of runtime i and
// adds it to the profile key ("cpu-1-sequential"), which saveCPU writes.
func (b *Bench) endCPU(rec *cpuRecording, i int, key, during string, pods int) {
	if rec == nil {
		return
	}
	parts, err := rec.Stop()
	if b.cpu[i] == nil {
		b.cpu[i] = map[string]*cpuProfile{}
	}
	c := b.cpu[i][key]
	if c == nil {
		c = &cpuProfile{during: during}
		b.cpu[i][key] = c
	}
	c.parts = append(c.parts, parts...)
	c.pods += pods
	if err != nil && c.err == nil {
		c.err = err
	}
}

// saveCPU merges and saves both runtimes' CPU profile key.
func (b *Bench) saveCPU(ctx context.Context, key string) {
	for i, rt := range b.env.RTs {
		c := b.cpu[i][key]
		if c == nil {
			continue
		}
		delete(b.cpu[i], key)
		p := Profile{Runtime: rt.Name, Daemon: rt.Prof.Daemon, Kind: "cpu", During: c.during, PodStarts: c.pods}
		if c.err != nil {
			p.Error = c.err.Error()
		}
		if len(c.parts) == 0 {
			b.addProfile(ctx, "", p, nil, "")
			continue
		}
		file := fmt.Sprintf("%s-%s.pb.gz", rt.Prof.Daemon, key)
		if err := os.MkdirAll(b.profDir, 0o755); err != nil {
			p.Error = err.Error()
			b.addProfile(ctx, "", p, nil, "")
			continue
		}
		tmp := filepath.Join(b.env.dir, "profile-pieces", rt.Prof.Daemon+"-"+key)
		if err := mergeProfiles(ctx, tmp, rt.Prof.Binary, filepath.Join(b.profDir, file), c.parts); err != nil {
			p.Error = err.Error()
			b.addProfile(ctx, "", p, nil, "")
			continue
		}
		b.addProfile(ctx, rt.Prof.Binary, p, nil, file)
	}
}

// topSpec is one top list of a profile: its title and go tool pprof flags.
type topSpec struct {
	title string
	args  []string
}

// addProfile saves data (unless nil: then file is written already) as
// file, adds the top lists made with binary (flat into the result, flat and
// cumulative into <file>.top.txt) and records the profile.
func (b *Bench) addProfile(ctx context.Context, binary string, p Profile, data []byte, file string) {
	defer func() {
		b.res.Profiles = append(b.res.Profiles, p)
		logf("profile: %s", p.summary())
	}()
	if file == "" {
		return
	}
	path := filepath.Join(b.profDir, file)
	p.File = filepath.Join(filepath.Base(b.profDir), file)
	if data != nil {
		if err := os.MkdirAll(b.profDir, 0o755); err != nil {
			p.Error = err.Error()
			return
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			p.Error = err.Error()
			return
		}
	}
	if p.Kind == "goroutine" {
		return
	}
	lists := []topSpec{{"flat", nil}, {"cumulative", []string{"-cum"}}}
	if p.Kind == "heap" {
		lists = append(lists, topSpec{"flat, alloc_space (allocated since the daemon started)", []string{"-sample_index=alloc_space"}})
	}
	var all strings.Builder
	for k, l := range lists {
		top, err := topList(ctx, binary, path, 15, l.args...)
		if err != nil {
			if p.Error == "" {
				p.Error = err.Error()
			}
			return
		}
		if k == 0 {
			p.Top = top
			if d, ok := totalSamples(top); ok && p.Kind == "cpu" {
				p.SampledMS = ms(d)
			}
		}
		fmt.Fprintf(&all, "== go tool pprof -top -nodecount=15 %s (%s)\n%s\n\n", strings.Join(l.args, " "), l.title, top)
	}
	_ = os.WriteFile(path+".top.txt", []byte(all.String()), 0o644)
}

// countGoroutines reads the goroutine count of each profiled daemon at n
// pods, for the notes.
func (b *Bench) countGoroutines(ctx context.Context, n int) {
	for i, rt := range b.env.RTs {
		if rt.Prof == nil {
			continue
		}
		text, err := rt.Prof.get(ctx, "goroutine?debug=1")
		if err == nil {
			var g int
			if g, err = goroutineTotal(text); err == nil {
				b.goroutines[i] = append(b.goroutines[i], fmt.Sprintf("%d at %d pods", g, n))
				continue
			}
		}
		b.goroutines[i] = append(b.goroutines[i], fmt.Sprintf("error at %d pods: %v", n, err))
	}
}

// goroutineNote adds the goroutine counts read by countGoroutines to the
// notes.
func (b *Bench) goroutineNote() {
	var parts []string
	for i, rt := range b.env.RTs {
		if len(b.goroutines[i]) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", rt.Prof.Daemon, strings.Join(b.goroutines[i], ", ")))
		}
	}
	if len(parts) > 0 {
		b.note("goroutines: " + strings.Join(parts, "; "))
	}
}

// snapshotSteady saves each profiled daemon's heap profile (after a forced
// GC) and goroutine dump at n pods: the CRI daemons, and the containerd
// under podshimd.
func (b *Bench) snapshotSteady(ctx context.Context, n int) {
	during := fmt.Sprintf("at steady state (%d pods x %d containers)", n, b.opts.SteadyContainers)
	for _, rt := range b.env.RTs {
		for _, prof := range []*Profiler{rt.Prof, rt.BackendProf} {
			if prof != nil {
				b.snapshotDaemon(ctx, rt, prof, during, n)
			}
		}
	}
}

func (b *Bench) snapshotDaemon(ctx context.Context, rt *Runtime, prof *Profiler, during string, n int) {
	base := fmt.Sprintf("%s-%%s-4-steady-%d", prof.Daemon, n)
	heap := Profile{Runtime: rt.Name, Daemon: prof.Daemon, Kind: "heap", During: during + ", in use after a forced GC"}
	data, err := prof.get(ctx, "heap?gc=1")
	if err != nil {
		heap.Error = err.Error()
		b.addProfile(ctx, "", heap, nil, "")
	} else {
		b.addProfile(ctx, prof.Binary, heap, data, fmt.Sprintf(base, "heap")+".pb.gz")
	}
	gr := Profile{Runtime: rt.Name, Daemon: prof.Daemon, Kind: "goroutine", During: during + " (debug=1 dump)"}
	text, err := prof.get(ctx, "goroutine?debug=1")
	if err == nil {
		gr.Goroutines, err = goroutineTotal(text)
	}
	if err != nil {
		gr.Error = err.Error()
	}
	if text == nil {
		b.addProfile(ctx, "", gr, nil, "")
	} else {
		b.addProfile(ctx, "", gr, text, fmt.Sprintf(base, "goroutines")+".txt")
	}
}
