// Command bench compares podshim with containerd's built-in CRI plugin on
// this machine, in the same run: it starts both runtimes (each on its own
// containerd, CNI network and cgroup parent), drives them only through the
// CRI gRPC API as kubelet would, alternating A/B rounds, measures the floor
// (netns + CNI + runc without a runtime), and writes a table to the
// terminal and as Markdown and JSON under bench/_results/<timestamp>/.
// Everything it starts is stopped and removed at the end, also on failure
// or Ctrl-C.
//
//	go run ./bench -quick   # ~2 minutes
//	go run ./bench          # the full run (issue 5's counts)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	opts, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, opts))
}

// runSpec is one run of the benchmark: a stack and a podshim variant
// ("" for podshim as configured by default), against that stack's
// containerd CRI.
type runSpec struct {
	Stack   string
	Variant Variant
}

// dir names the run's results subdirectory.
func (s runSpec) dir() string {
	if s.Variant.Name != "" {
		return s.Stack + "-" + s.Variant.Name
	}
	return s.Stack
}

// runSpecs lists the runs: one per stack, then one per variant on the first
// stack.
func runSpecs(o Options) []runSpec {
	var specs []runSpec
	for _, st := range o.Stacks {
		specs = append(specs, runSpec{Stack: st})
	}
	for _, v := range o.Variants {
		specs = append(specs, runSpec{Stack: o.Stacks[0], Variant: v})
	}
	return specs
}

// run runs every stack and variant in turn (each a complete A/B run with
// its own tables in its own subdirectory), then prints and saves the
// combined table, the targets and the latency chart. It returns the exit
// code.
func run(ctx context.Context, o Options) int {
	started := time.Now()
	outDir := filepath.Join(o.Results, started.Format("20060102-150405"))
	logf("results will go to %s", outDir)
	if len(o.Combine) > 0 {
		return combineFiles(o.Combine, outDir)
	}
	basePath := os.Getenv("PATH")
	defer os.Setenv("PATH", basePath)
	var results []*Result
	code := 0
	for _, spec := range runSpecs(o) {
		if ctx.Err() != nil {
			break
		}
		path := basePath
		if spec.Stack == "current" {
			bin, err := filepath.Abs(o.CurrentBin)
			if err == nil {
				_, err = os.Stat(filepath.Join(bin, "containerd"))
			}
			if err != nil {
				logf("stack current: %v (build it with make stack)", err)
				return 1
			}
			path = bin + string(os.PathListSeparator) + basePath
		}
		os.Setenv("PATH", path)
		ro := o
		ro.PodshimdArgs, ro.PodshimHandler = spec.Variant.Args, spec.Variant.Handler
		logf("run %s: podshim%s vs containerd CRI on the %s stack", spec.dir(), variantSuffix(spec.Variant), spec.Stack)
		res, c := runOne(ctx, ro, spec, filepath.Join(outDir, spec.dir()))
		results = append(results, res)
		code = max(code, c)
	}
	os.Setenv("PATH", basePath)
	if len(results) > 0 {
		comb := combine(results)
		comb.WriteText(os.Stdout)
		if err := comb.Save(outDir); err != nil {
			logf("saving combined results: %v", err)
			code = max(code, 1)
		} else {
			logf("combined results: %s/result.md, result.json, %s", outDir, chartFile)
		}
	}
	return code
}

// combineFiles reads the results of earlier runs and saves them side by
// side into outDir. It returns the exit code.
func combineFiles(files []string, outDir string) int {
	var results []*Result
	for _, f := range files {
		res, err := loadResult(f)
		if err != nil {
			logf("combine: %v", err)
			return 2
		}
		res.Targets = goalTargets(res) // the goals as they are now
		results = append(results, res)
	}
	comb := combine(results)
	comb.WriteText(os.Stdout)
	if err := comb.Save(outDir); err != nil {
		logf("saving combined results: %v", err)
		return 1
	}
	logf("combined results: %s/result.md, result.json, %s", outDir, chartFile)
	return 0
}

func variantSuffix(v Variant) string {
	if v.Name == "" {
		return ""
	}
	if v.Handler != "" {
		return fmt.Sprintf(" (variant %s: runtime handler %q, %s)", v.Name, v.Handler, strings.Join(v.Args, " "))
	}
	return fmt.Sprintf(" (variant %s: %s)", v.Name, strings.Join(v.Args, " "))
}

// runOne sets up, runs the workloads, cleans up and reports one run into
// outDir. It returns the result and the exit code.
func runOne(ctx context.Context, o Options, spec runSpec, outDir string) (*Result, int) {
	started := time.Now()
	res := &Result{Started: started, Machine: describeMachine(), Versions: toolVersions(o.Podshimd), Options: o,
		Stack: spec.Stack, Variant: spec.Variant.Name,
		Command: strings.Join(append([]string{"bench"}, os.Args[1:]...), " ")}
	logf("results of this run will go to %s", outDir)
	env, err := setupEnv(ctx, o)
	if err == nil {
		res.Versions.Podshim, res.Versions.ContainerdCR = env.RTs[0].Version, env.RTs[1].Version
		res.Counted = [2]string{env.RTs[0].Counted, env.RTs[1].Counted}
		b := &Bench{opts: o, env: env, res: res, profDir: filepath.Join(outDir, "profiles")}
		err = b.run(ctx)
		b.targets()
	}
	if ctx.Err() != nil {
		logf("interrupted: cleaning up (pods, daemons, shims, mounts, bridges); please wait")
	}
	if env != nil {
		logf("stopping and removing everything the benchmark started")
		var cleanupLog strings.Builder
		env.Close(&cleanupLog, filepath.Join(outDir, "logs"))
		for _, l := range strings.Split(strings.TrimSpace(cleanupLog.String()), "\n") {
			if l != "" {
				logf("%s", l)
				res.Notes = append(res.Notes, l)
			}
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.Machine.LoadEnd = loadAvg()
	res.Duration = time.Since(started).Round(time.Second).String()
	res.Notes = append(res.Notes,
		"each runtime runs on its own containerd (same binary), CNI network and cgroup parent; neither network list has the loopback plugin (containerd's CRI runs it itself, podshim brings lo up with netlink); neither has portmap or ipMasq",
		"pods are kubelet-like: cgroupfs pod cgroup, BestEffort containers (cpu shares 2, oom_score_adj 1000), `sh -c 'trap exit TERM; sleep & wait'` as the container command, StopContainer with a 10 s grace period",
		"CPU time = utime+stime of the counted processes plus the children they reaped (CNI plugins, runc), from /proc; shims that exit within a window are not counted, so only pod starts and idle windows are given CPU figures",
		"A/B order alternates every round (podshim first in even rounds); the steady-state phase holds both runtimes' pods at once")
	res.WriteText(os.Stdout)
	if serr := res.Save(outDir); serr != nil {
		logf("saving results: %v", serr)
	} else {
		logf("results: %s/result.md and result.json", outDir)
	}
	if err != nil {
		logf("FAILED: %v", err)
		return res, 1
	}
	return res, 0
}
