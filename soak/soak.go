// Package soak holds the pure logic of the soak test
// (cmd/podshimd/integration TestSoak): the daemon's resource gauges read
// from a Prometheus scrape, their samples over time, the least-squares
// slope of each per hour, the report table, and the check that a gauge
// came back to its baseline once the churn stopped.
package soak

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The gauges the soak samples: podshimd's registry exports them (Go and
// process collectors).
const (
	RSS        = "process_resident_memory_bytes"
	HeapInuse  = "go_memstats_heap_inuse_bytes"
	Goroutines = "go_goroutines"
	OpenFDs    = "process_open_fds"
)

// Gauges lists the sampled gauges in report order.
var Gauges = []string{RSS, HeapInuse, Goroutines, OpenFDs}

// Sample is the value of each gauge at one moment.
type Sample struct {
	At     time.Time
	Values map[string]float64
}

// Parse reads a Prometheus text exposition and returns the value of each
// of names (gauges, counters or untyped, without labels). A name that is
// missing is an error: a soak that samples nothing must not pass.
func Parse(r io.Reader, names []string) (map[string]float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	out := make(map[string]float64, len(names))
	for _, n := range names {
		v, ok := value(fams[n])
		if !ok {
			return nil, fmt.Errorf("metric %s missing", n)
		}
		out[n] = v
	}
	return out, nil
}

func value(f *dto.MetricFamily) (float64, bool) {
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, false
	}
	m := f.GetMetric()[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

// SlopePerHour fits y = a + b·t by least squares over the samples of name
// (t in hours since the first sample) and returns b. Fewer than two
// samples, or all at the same moment, give 0 and false.
func SlopePerHour(samples []Sample, name string) (float64, bool) {
	if len(samples) < 2 {
		return 0, false
	}
	t0 := samples[0].At
	var n, sx, sy, sxx, sxy float64
	for _, s := range samples {
		y, ok := s.Values[name]
		if !ok {
			continue
		}
		x := s.At.Sub(t0).Hours()
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	den := n*sxx - sx*sx
	if n < 2 || den == 0 || math.Abs(den) < 1e-18 {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}

// Stats summarises one gauge over a run.
type Stats struct {
	Name         string
	First, Last  float64
	Min, Max     float64
	SlopePerHour float64
	HasSlope     bool
	// The slope over the second half of the samples only: the first
	// minutes fill caches and pools, which the whole run's slope counts.
	LateSlopePerHour float64
	HasLateSlope     bool
	Baseline, End    float64 // before the churn and after it stopped and everything was removed
}

// Summarise returns the stats of every gauge in Gauges over samples, with
// the baseline and end values given (from samples taken apart).
func Summarise(samples []Sample, baseline, end map[string]float64) []Stats {
	var out []Stats
	for _, g := range Gauges {
		st := Stats{Name: g, Min: math.Inf(1), Max: math.Inf(-1), Baseline: baseline[g], End: end[g]}
		seen := false
		for _, s := range samples {
			v, ok := s.Values[g]
			if !ok {
				continue
			}
			if !seen {
				st.First, seen = v, true
			}
			st.Last = v
			st.Min = math.Min(st.Min, v)
			st.Max = math.Max(st.Max, v)
		}
		if !seen {
			st.Min, st.Max = 0, 0
		}
		st.SlopePerHour, st.HasSlope = SlopePerHour(samples, g)
		st.LateSlopePerHour, st.HasLateSlope = SlopePerHour(samples[len(samples)/2:], g)
		out = append(out, st)
	}
	return out
}

// Table formats stats as a fixed-width table; byte gauges in MiB.
func Table(stats []Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-30s %12s %12s %12s %12s %12s %12s %14s %16s\n", "gauge", "baseline", "first", "min", "max", "last", "end", "slope/hour", "2nd half slope/h")
	for _, s := range stats {
		f := func(v float64) string { return format(s.Name, v) }
		slope := func(v float64, ok bool) string {
			switch {
			case !ok:
				return "n/a"
			case v > 0:
				return "+" + f(v)
			}
			return f(v)
		}
		fmt.Fprintf(&b, "%-30s %12s %12s %12s %12s %12s %12s %14s %16s\n", s.Name, f(s.Baseline), f(s.First), f(s.Min), f(s.Max), f(s.Last), f(s.End),
			slope(s.SlopePerHour, s.HasSlope), slope(s.LateSlopePerHour, s.HasLateSlope))
	}
	return b.String()
}

func format(name string, v float64) string {
	if strings.HasSuffix(name, "_bytes") {
		return fmt.Sprintf("%.2fMiB", v/(1<<20))
	}
	return fmt.Sprintf("%.1f", v)
}

// Margin is how far above its baseline a gauge may end: Abs plus Rel
// times the baseline.
type Margin struct {
	Abs, Rel float64
}

// Margins are the soak's pass criteria: the gauges that must come back
// (goroutines and fds exactly a few; the heap after a GC within a margin
// for caches that fill once). RSS is reported only: the Go runtime gives
// memory back to the OS lazily.
var Margins = map[string]Margin{
	Goroutines: {Abs: 10},
	OpenFDs:    {Abs: 8},
	HeapInuse:  {Abs: 24 << 20, Rel: 0.5},
}

// Returned checks that each gauge with a margin in margins came back to
// within it of its baseline, and returns one line per gauge that did not.
func Returned(baseline, end map[string]float64, margins map[string]Margin) []string {
	var names []string
	for n := range margins {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad []string
	for _, n := range names {
		m := margins[n]
		b, okB := baseline[n]
		e, okE := end[n]
		if !okB || !okE {
			bad = append(bad, fmt.Sprintf("%s: not sampled (baseline %v, end %v)", n, okB, okE))
			continue
		}
		limit := b + m.Abs + m.Rel*b
		if e > limit {
			bad = append(bad, fmt.Sprintf("%s: %s after the churn, baseline %s, limit %s", n, format(n, e), format(n, b), format(n, limit)))
		}
	}
	return bad
}

// CSV writes samples as CSV: seconds since the first sample, then each
// gauge of Gauges.
func CSV(w io.Writer, samples []Sample) error {
	if _, err := fmt.Fprintf(w, "seconds,%s\n", strings.Join(Gauges, ",")); err != nil {
		return err
	}
	for _, s := range samples {
		cols := []string{fmt.Sprintf("%.1f", s.At.Sub(samples[0].At).Seconds())}
		for _, g := range Gauges {
			cols = append(cols, fmt.Sprintf("%g", s.Values[g]))
		}
		if _, err := fmt.Fprintln(w, strings.Join(cols, ",")); err != nil {
			return err
		}
	}
	return nil
}
