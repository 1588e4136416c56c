package main

import (
	"fmt"
	"math"
	"strings"
)

// goal is one of issue 13's targets: podshim's median over containerd's
// on the same stack for the row whose section and metric start with the
// given prefixes ("%d" in them is the steady-state pod count) must be at
// most Limit. Variant, when set, makes it a goal of that variant's run
// only; the others are goals of the default podshim's runs.
type goal struct {
	Goal    string
	Section string
	Metric  string
	Limit   float64
	Variant string
}

// goals are issue 13's targets. The other branches' modes add theirs with
// the variant's name (bench -variant NAME=flags).
var goals = []goal{
	{Goal: "pod start (Run+Create+Start), sequential", Section: "1.", Metric: "sum of the three", Limit: 0.75},
	{Goal: "10 pods at once, wall time", Section: "2. Pod startup, 10 pods at once", Metric: "wall time, all", Limit: 0.7},
	{Goal: "30 pods at once, wall time", Section: "2. Pod startup, 30 pods at once", Metric: "wall time, all", Limit: 0.7},
	{Goal: "teardown (Stop+Remove), sequential", Section: "3.", Metric: "sum of the four", Limit: 0.5},
	{Goal: "memory per pod at %d pods (PSS of all runtime processes)", Section: "5.", Metric: "PSS per pod at %d pods", Limit: 0.8},
	{Goal: "kubelet-like poll CPU (List*/Status + stats, 1/s)", Section: "4.", Metric: "runtime CPU, polled 1/s with the List*/Status + stats", Limit: 0.5},
	{Goal: "pause-less: pod start (Run+Create+Start), sequential", Section: "1.", Metric: "sum of the three", Limit: 0.5, Variant: "pauseless"},
	{Goal: "density: memory per pod at %d pods (PSS)", Section: "5.", Metric: "PSS per pod at %d pods", Limit: 0.3, Variant: "density"},
}

// goalTargets evaluates the goals of res's run (its variant's, or the
// default podshim's) on its rows. A goal whose row is missing (its
// workload did not run) is left out; one without figures is "n/a".
func goalTargets(res *Result) []Target {
	var out []Target
	for _, g := range goals {
		if g.Variant != res.Variant {
			continue
		}
		sec, metric, text := g.Section, g.Metric, g.Goal
		if strings.Contains(text, "%d") {
			text = fmt.Sprintf(text, res.Options.Steady)
		}
		if strings.Contains(metric, "%d") {
			metric = fmt.Sprintf(metric, res.Options.Steady)
		}
		r, ok := findRow(res.Rows, sec, metric)
		if !ok {
			continue
		}
		t := Target{Goal: fmt.Sprintf("%s <= %.2gx", text, g.Limit), Limit: g.Limit}
		if q := r.Ratio(); math.IsNaN(q) {
			t.Measured = fmt.Sprintf("not measurable (podshim: %s, containerd: %s)", orDash(r.Podshim.Note), orDash(r.Ctrd.Note))
		} else {
			t.Ratio = &q
			t.Measured = fmt.Sprintf("%.2fx", q)
			if math.Abs(q-g.Limit) < 0.005 { // the rounding would hide the verdict
				t.Measured = fmt.Sprintf("%.3fx", q)
			}
			t.Met = ptr(q <= g.Limit)
		}
		out = append(out, t)
	}
	return out
}

// findRow returns the first row whose section and metric start with the
// given prefixes.
func findRow(rows []Row, secPrefix, metricPrefix string) (Row, bool) {
	for _, r := range rows {
		if strings.HasPrefix(r.Section, secPrefix) && strings.HasPrefix(r.Metric, metricPrefix) {
			return r, true
		}
	}
	return Row{}, false
}
