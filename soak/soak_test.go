package soak

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func samples(start time.Time, step time.Duration, name string, ys ...float64) []Sample {
	var out []Sample
	for i, y := range ys {
		out = append(out, Sample{At: start.Add(time.Duration(i) * step), Values: map[string]float64{name: y}})
	}
	return out
}

func TestSlopePerHour(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		step time.Duration
		ys   []float64
		want float64
		ok   bool
	}{
		{"flat", time.Minute, []float64{5, 5, 5, 5}, 0, true},
		{"one per minute", time.Minute, []float64{1, 2, 3, 4, 5}, 60, true},
		{"falling per second", time.Second, []float64{10, 9, 8}, -3600, true},
		// y = 2t + noise that cancels: the fit ignores symmetric noise.
		{"noisy", 30 * time.Minute, []float64{0 + 1, 1 - 1, 2 - 1, 3 + 1}, 2, true},
		{"one sample", time.Minute, []float64{1}, 0, false},
		{"no samples", time.Minute, nil, 0, false},
	}
	for _, tc := range cases {
		got, ok := SlopePerHour(samples(t0, tc.step, "g", tc.ys...), "g")
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: slope %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// Samples at one moment have no slope; a gauge absent has none.
	same := []Sample{{At: t0, Values: map[string]float64{"g": 1}}, {At: t0, Values: map[string]float64{"g": 2}}}
	if _, ok := SlopePerHour(same, "g"); ok {
		t.Error("samples at one moment gave a slope")
	}
	if _, ok := SlopePerHour(samples(t0, time.Minute, "g", 1, 2, 3), "other"); ok {
		t.Error("an absent gauge gave a slope")
	}
}

const exposition = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.048576e+07
# TYPE process_open_fds gauge
process_open_fds 17
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3.3554432e+07
# TYPE podshim_requests_total counter
podshim_requests_total{method="Version"} 3
`

func TestParse(t *testing.T) {
	got, err := Parse(strings.NewReader(exposition), Gauges)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{Goroutines: 42, HeapInuse: 10 << 20, OpenFDs: 17, RSS: 32 << 20}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if v, err := Parse(strings.NewReader(exposition), []string{"podshim_requests_total"}); err != nil || v["podshim_requests_total"] != 3 {
		t.Errorf("counter: %v %v", v, err)
	}
	if _, err := Parse(strings.NewReader(exposition), []string{"absent_metric"}); err == nil || !strings.Contains(err.Error(), "absent_metric") {
		t.Errorf("absent metric: %v, want an error naming it", err)
	}
	if _, err := Parse(strings.NewReader("not a metric line {"), Gauges); err == nil {
		t.Error("garbage parsed")
	}
}

func TestReturned(t *testing.T) {
	base := map[string]float64{Goroutines: 100, OpenFDs: 20, HeapInuse: 10 << 20}
	ok := map[string]float64{Goroutines: 110, OpenFDs: 20, HeapInuse: 39 << 20} // heap limit 10+24+5 MiB
	if bad := Returned(base, ok, Margins); len(bad) != 0 {
		t.Errorf("within the margins: %v", bad)
	}
	leak := map[string]float64{Goroutines: 111, OpenFDs: 29, HeapInuse: 39 << 20}
	bad := Returned(base, leak, Margins)
	if len(bad) != 2 || !strings.HasPrefix(bad[0], Goroutines) || !strings.HasPrefix(bad[1], OpenFDs) {
		t.Errorf("leaked goroutines and fds: %q", bad)
	}
	heap := map[string]float64{Goroutines: 100, OpenFDs: 20, HeapInuse: 39<<20 + 1}
	if bad := Returned(base, heap, Margins); len(bad) != 1 || !strings.Contains(bad[0], "limit 39.00MiB") {
		t.Errorf("heap over the limit: %q", bad)
	}
	if bad := Returned(base, map[string]float64{}, Margins); len(bad) != 3 {
		t.Errorf("nothing sampled at the end: %q", bad)
	}
}

func TestSummariseTableCSV(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ss []Sample
	for i := 0; i < 4; i++ {
		ss = append(ss, Sample{At: t0.Add(time.Duration(i) * time.Minute), Values: map[string]float64{
			Goroutines: float64(50 + i), OpenFDs: 10, HeapInuse: float64(8<<20 + i<<20), RSS: 30 << 20,
		}})
	}
	st := Summarise(ss, map[string]float64{Goroutines: 49}, map[string]float64{Goroutines: 50})
	if len(st) != len(Gauges) {
		t.Fatalf("%d stats", len(st))
	}
	byName := map[string]Stats{}
	for _, s := range st {
		byName[s.Name] = s
	}
	g := byName[Goroutines]
	if g.First != 50 || g.Last != 53 || g.Min != 50 || g.Max != 53 || g.Baseline != 49 || g.End != 50 || math.Abs(g.SlopePerHour-60) > 1e-9 {
		t.Errorf("goroutine stats %+v", g)
	}
	if !g.HasLateSlope || math.Abs(g.LateSlopePerHour-60) > 1e-9 {
		t.Errorf("goroutine slope over the second half %v %v, want 60", g.LateSlopePerHour, g.HasLateSlope)
	}
	if h := byName[HeapInuse]; math.Abs(h.SlopePerHour-60*(1<<20)) > 1e-3 {
		t.Errorf("heap slope %v, want 60 MiB/h", h.SlopePerHour)
	}
	tab := Table(st)
	for _, want := range []string{"slope/hour", "2nd half", "+60.0", "+60.00MiB", "30.00MiB", "go_goroutines"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	// A warm-up that fills a cache, then flat: the whole run has a slope,
	// the second half none.
	warm := samples(t0, time.Minute, Goroutines, 10, 20, 30, 30, 30, 30)
	w := Summarise(warm, nil, nil)[2]
	if w.Name != Goroutines || w.SlopePerHour <= 0 || !w.HasLateSlope || w.LateSlopePerHour != 0 {
		t.Errorf("warm-up then flat: %+v", w)
	}

	var buf bytes.Buffer
	if err := CSV(&buf, ss); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 || lines[0] != "seconds,"+strings.Join(Gauges, ",") || !strings.HasPrefix(lines[4], "180.0,") {
		t.Errorf("csv:\n%s", buf.String())
	}
}
