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
	// Stacks are the containerd+runc stacks compared, each in a run of its
	// own (podshim and containerd's CRI, A/B): "current" (CurrentBin first
	// on PATH; the anchor of the targets) and "debian" (PATH as it is).
	Stacks     []string `json:"stacks"`
	CurrentBin string   `json:"current_bin"`
	// Variants are podshim configurations measured as extra columns, each
	// in a run of its own on the first stack against that stack's
	// containerd CRI.
	Variants []Variant `json:"variants,omitempty"`
	// Combine lists result.json files of earlier runs: instead of running,
	// the benchmark puts them side by side (the first is the anchor).
	Combine []string `json:"combine,omitempty"`
	// PodshimdArgs are handed to podshimd after the benchmark's own flags
	// (set per run from the variant).
	PodshimdArgs   []string `json:"podshimd_args,omitempty"`
	PodshimHandler string   `json:"podshim_handler,omitempty"`
}

// Variant is a podshim configuration: a name for its column, the podshimd
// flags that make it and the runtime handler its pods ask for ("" for the
// default).
type Variant struct {
	Name    string   `json:"name"`
	Args    []string `json:"args"`
	Handler string   `json:"handler,omitempty"`
}

// stackNames are the stacks -stacks knows.
var stackNames = []string{"current", "debian"}

// variantList is the repeatable -variant flag: "name=--flag1 --flag2=x".
type variantList []Variant

func (v *variantList) String() string {
	var parts []string
	for _, x := range *v {
		parts = append(parts, x.Name+"="+strings.Join(x.Args, " "))
	}
	return strings.Join(parts, ",")
}

func (v *variantList) Set(s string) error {
	x, err := parseVariant(s)
	if err != nil {
		return err
	}
	*v = append(*v, x)
	return nil
}

// parseVariant reads "name[:handler]=flags": a name of letters, digits and
// '-', optionally the runtime handler of the variant's pods, and podshimd
// flags separated by spaces.
func parseVariant(s string) (Variant, error) {
	name, args, ok := strings.Cut(s, "=")
	name, handler, _ := strings.Cut(strings.TrimSpace(name), ":")
	if !ok || name == "" {
		return Variant{}, fmt.Errorf("-variant %q: want name=--flag ...", s)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return Variant{}, fmt.Errorf("-variant %q: the name may hold only letters, digits and '-'", s)
		}
	}
	if name == "podshim" || contains(stackNames, name) {
		return Variant{}, fmt.Errorf("-variant %q: %q names a column already", s, name)
	}
	return Variant{Name: name, Args: strings.Fields(args), Handler: handler}, nil
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
	stacks := fs.String("stacks", "current,debian", "stacks to compare, each in a run of its own: current (containerd v2.4.2 + runc v1.5.3 from -current-bin; the targets' anchor), debian (containerd and runc on PATH)")
	fs.StringVar(&o.CurrentBin, "current-bin", "stack/_bin/containerd-v2.4.2_runc-v1.5.3", "dir of the current stack's containerd, shim and runc (stack/build.sh)")
	combineList := fs.String("combine", "", "comma-separated result.json files of earlier runs (<results>/<timestamp>/<run>/result.json): put them side by side with the targets and the chart into a new results dir instead of running; the first is the anchor")
	var variants variantList
	fs.Var(&variants, "variant", "name[:runtime handler]=podshimd flags: one more podshim column, run on the first stack against its containerd CRI (repeatable), e.g. -variant 'density:density=--config /etc/podshim/density.toml'")
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
	o.Variants = variants
	if *combineList != "" {
		o.Combine = strings.Split(*combineList, ",")
	}
	for _, st := range strings.Split(*stacks, ",") {
		st = strings.TrimSpace(st)
		if !contains(stackNames, st) || contains(o.Stacks, st) {
			return o, fmt.Errorf("-stacks: bad or repeated %q (want some of %s)", st, strings.Join(stackNames, ","))
		}
		o.Stacks = append(o.Stacks, st)
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
