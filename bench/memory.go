package main

import (
	"fmt"
	"math"
)

// memoryRows adds workload 5's rows from the memory read at each
// checkpoint (pods per runtime): PSS of every process the runtime runs
// (the figure the targets use: what the node pays, shared pages split
// among their users), PSS per pod, the runtime cgroup's memory (daemons +
// shims), RSS beside it, and the split by program at the last checkpoint.
func (b *Bench) memoryRows(sec string, checkpoints []int, mem map[int][2]Usage) {
	for _, n := range checkpoints {
		u := mem[n]
		b.value(sec, fmt.Sprintf("PSS at %d pods (daemons + shims + pause)", n), "MB", mb(u[0].PSS), mb(u[1].PSS), "")
		if n > 0 {
			b.value(sec, fmt.Sprintf("PSS per pod at %d pods", n), "MB", mb(u[0].PSS)/float64(n), mb(u[1].PSS)/float64(n), "")
			if z, ok := mem[0]; ok {
				b.value(sec, fmt.Sprintf("PSS added per pod, 0 to %d pods", n), "MB",
					mb(u[0].PSS-z[0].PSS)/float64(n), mb(u[1].PSS-z[1].PSS)/float64(n), "")
			}
		}
		b.res.Rows = append(b.res.Rows, Row{Section: sec, Metric: fmt.Sprintf("runtime cgroup memory at %d pods (daemons + shims, with page cache)", n),
			Unit: "MB", Podshim: cgroupCell(u[0], false), Ctrd: cgroupCell(u[1], false)})
		b.res.Rows = append(b.res.Rows, Row{Section: sec, Metric: fmt.Sprintf("  of which anonymous at %d pods", n),
			Unit: "MB", Podshim: cgroupCell(u[0], true), Ctrd: cgroupCell(u[1], true)})
		b.value(sec, fmt.Sprintf("RSS at %d pods (daemons + shims + pause)", n), "MB", mb(u[0].RSS), mb(u[1].RSS), "")
		b.value(sec, fmt.Sprintf("processes counted at %d pods", n), "count", float64(u[0].Processes), float64(u[1].Processes), "")
		b.value(sec, fmt.Sprintf("  of which shims at %d pods", n), "count", float64(u[0].Shims), float64(u[1].Shims), "")
		b.value(sec, fmt.Sprintf("  of which pause processes at %d pods", n), "count", float64(u[0].Pause), float64(u[1].Pause), "")
	}
	n := checkpoints[len(checkpoints)-1]
	last := mem[n]
	daemons := func(m map[string]int64) int64 { return m["podshimd"] + m["containerd"] }
	b.value(sec, fmt.Sprintf("PSS of the daemons at %d pods", n), "MB",
		mb(daemons(last[0].PSSByName)), mb(daemons(last[1].PSSByName)), "")
	b.value(sec, fmt.Sprintf("PSS of the shims at %d pods", n), "MB",
		mb(last[0].PSSByName["shims"]), mb(last[1].PSSByName["shims"]), "")
	b.value(sec, fmt.Sprintf("PSS of the pause processes at %d pods", n), "MB",
		mb(last[0].PSSByName["pause"]), mb(last[1].PSSByName["pause"]), "")
	b.note(fmt.Sprintf("memory at %d pods (PSS): podshimd %.1f MB + its containerd %.1f MB + shims %.1f MB + pause %.1f MB; containerd (CRI) %.1f MB + shims %.1f MB + pause %.1f MB",
		n, mb(last[0].PSSByName["podshimd"]), mb(last[0].PSSByName["containerd"]), mb(last[0].PSSByName["shims"]), mb(last[0].PSSByName["pause"]),
		mb(last[1].PSSByName["containerd"]), mb(last[1].PSSByName["shims"]), mb(last[1].PSSByName["pause"])))
	for i, u := range last {
		if u.CgroupErr != "" {
			b.note(fmt.Sprintf("%s: runtime cgroup memory not read: %s", b.env.RTs[i].Name, u.CgroupErr))
		}
	}
}

// cgroupCell is a runtime cgroup's usage (or anonymous memory) in MB.
func cgroupCell(u Usage, anon bool) Cell {
	if u.CgroupErr != "" {
		return Cell{Note: "not read"}
	}
	v := u.Cgroup.Usage
	if anon {
		v = u.Cgroup.Anon
	}
	return valueCell(math.Round(mb(v)*10)/10, "")
}
