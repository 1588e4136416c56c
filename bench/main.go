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

// run sets up, runs the workloads, cleans up and reports. It returns the
// exit code.
func run(ctx context.Context, o Options) int {
	started := time.Now()
	res := &Result{Started: started, Machine: describeMachine(), Versions: toolVersions(o.Podshimd), Options: o,
		Command: strings.Join(append([]string{"bench"}, os.Args[1:]...), " ")}
	outDir := filepath.Join(o.Results, started.Format("20060102-150405"))
	logf("results will go to %s", outDir)

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
		return 1
	}
	return 0
}
