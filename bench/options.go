package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options are the benchmark's knobs; -quick sets small counts.
type Options struct {
	Quick            bool          `json:"quick"`
	Pods             int           `json:"pods"`              // workload 1/3: pods started one after another
	PerRound         int           `json:"per_round"`         // pods per runtime per A/B round
	Concurrency      []int         `json:"concurrency"`       // workload 2: pods started at once
	ConcRounds       int           `json:"conc_rounds"`       // A/B rounds per concurrency level
	Steady           int           `json:"steady"`            // workload 4/5: running pods at steady state
	SteadyContainers int           `json:"steady_containers"` // containers per steady-state pod
	Window           time.Duration `json:"window_ns"`         // idle CPU window
	Samples          int           `json:"samples"`           // List* samples per runtime at steady state
	StatsSamples     int           `json:"stats_samples"`     // List*Stats samples per runtime
	PullRounds       int           `json:"pull_rounds"`       // workload 6: cold pulls per runtime
	Workloads        []string      `json:"workloads"`
	Profiles         bool          `json:"profiles"` // pprof profiles of podshimd and containerd's CRI
	Podshimd         string        `json:"podshimd"`
	Pause            string        `json:"pause"`
	WorkDir          string        `json:"work_dir"`
	Results          string        `json:"results"`
}

// allWorkloads names the workload groups -workloads selects from.
var allWorkloads = []string{"sequential", "concurrent", "pull", "steady"}

// parseOptions reads the command line.
func parseOptions(args []string) (Options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := Options{}
	fs.BoolVar(&o.Quick, "quick", false, "small counts (10 pods, 20 at steady state, 10s window): a ~2 minute run")
	fs.IntVar(&o.Pods, "pods", 50, "workloads 1 and 3: pods started one after another, per runtime")
	fs.IntVar(&o.PerRound, "per-round", 10, "pods per runtime in each A/B round of workloads 1 and 3")
	conc := fs.String("concurrency", "10,30", "workload 2: numbers of pods started at once")
	fs.IntVar(&o.ConcRounds, "conc-rounds", 3, "workload 2: A/B rounds per concurrency level")
	fs.IntVar(&o.Steady, "steady", 200, "workloads 4 and 5: running pods per runtime at steady state")
	fs.IntVar(&o.SteadyContainers, "steady-containers", 2, "containers per steady-state pod")
	fs.DurationVar(&o.Window, "window", 60*time.Second, "workload 4: idle window for the runtime's CPU time")
	fs.IntVar(&o.Samples, "samples", 100, "workload 4: samples of each List call per runtime")
	fs.IntVar(&o.StatsSamples, "stats-samples", 30, "workload 4: samples of each stats call per runtime")
	fs.IntVar(&o.PullRounds, "pull-rounds", 3, "workload 6: cold pulls per runtime (each of a different image)")
	wl := fs.String("workloads", strings.Join(allWorkloads, ","), "workload groups to run: sequential (1, 3, floor), concurrent (2), pull (6), steady (4, 5)")
	fs.BoolVar(&o.Profiles, "profiles", true, "take pprof profiles of podshimd (--debug-address) and containerd's CRI ([debug] address) into <results>/<timestamp>/profiles/")
	fs.StringVar(&o.Podshimd, "podshimd", "bin/podshimd", "podshimd binary")
	fs.StringVar(&o.Pause, "pause", "bin/pause", "pause binary (the sandbox image of both runtimes is made from it)")
	fs.StringVar(&o.WorkDir, "workdir", "/tmp/podshim-bench", "work dir: daemons, sockets, snapshots; removed at the end")
	fs.StringVar(&o.Results, "results", "bench/_results", "results dir; each run writes <results>/<timestamp>/")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Quick {
		quick := map[string]func(){
			"pods":          func() { o.Pods = 10 },
			"per-round":     func() { o.PerRound = 5 },
			"conc-rounds":   func() { o.ConcRounds = 1 },
			"steady":        func() { o.Steady = 20 },
			"window":        func() { o.Window = 10 * time.Second },
			"samples":       func() { o.Samples = 30 },
			"stats-samples": func() { o.StatsSamples = 10 },
			"pull-rounds":   func() { o.PullRounds = 1 },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
	}
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-concurrency: bad number %q", f)
		}
		o.Concurrency = append(o.Concurrency, n)
	}
	for _, w := range strings.Split(*wl, ",") {
		w = strings.TrimSpace(w)
		if !contains(allWorkloads, w) {
			return o, fmt.Errorf("-workloads: unknown %q (want some of %s)", w, strings.Join(allWorkloads, ","))
		}
		o.Workloads = append(o.Workloads, w)
	}
	switch {
	case o.Pods < 1 || o.PerRound < 1 || o.ConcRounds < 1 || o.Steady < 1 || o.SteadyContainers < 1:
		return o, fmt.Errorf("counts must be at least 1")
	case o.Samples < 1 || o.StatsSamples < 1 || o.Window < time.Second:
		return o, fmt.Errorf("-samples and -stats-samples must be at least 1, -window at least 1s")
	case o.PullRounds < 0:
		return o, fmt.Errorf("-pull-rounds must not be negative")
	}
	return o, nil
}

// runs tells whether workload group w was selected.
func (o Options) runs(w string) bool { return contains(o.Workloads, w) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
