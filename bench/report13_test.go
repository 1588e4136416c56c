package main

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeRun builds the Result of one run with a pod-start row, a wall-time
// row of 10 pods at once and a memory row, from the given medians (ms and
// MB): podshim first, containerd second.
func fakeRun(stack, variant, criVersion string, start, wall, pss [2]float64) *Result {
	lat := func(v float64) Cell {
		return latencyCell([]time.Duration{time.Duration(v * float64(time.Millisecond))}, "")
	}
	return &Result{Stack: stack, Variant: variant, Versions: Versions{ContainerdCR: criVersion},
		Options: Options{Steady: 200},
		Rows: []Row{
			{Section: "1. Pod startup, image present, sequential (50 pods)", Metric: "sum of the three", Unit: "ms", Podshim: lat(start[0]), Ctrd: lat(start[1])},
			{Section: "2. Pod startup, 10 pods at once (3 round(s) per runtime)", Metric: "wall time, all 10 started", Unit: "ms", Podshim: lat(wall[0]), Ctrd: lat(wall[1])},
			{Section: "5. Memory", Metric: "PSS per pod at 200 pods", Unit: "MB", Podshim: valueCell(pss[0], ""), Ctrd: valueCell(pss[1], "")},
		}}
}

func TestGoalTargetsJudgeEachGoalOnItsRow(t *testing.T) {
	res := fakeRun("current", "", "containerd v2.4.2", [2]float64{300, 400}, [2]float64{700, 1000}, [2]float64{3, 4})
	got := goalTargets(res)
	if len(got) != 3 { // pod start, 10 at once, memory: the others' rows are missing
		t.Fatalf("got %d targets, want 3: %+v", len(got), got)
	}
	want := []struct {
		goal  string
		ratio float64
		met   bool
	}{
		{"pod start (Run+Create+Start), sequential <= 0.75x", 0.75, true},
		{"10 pods at once, wall time <= 0.7x", 0.7, true},
		{"memory per pod at 200 pods (PSS of all runtime processes) <= 0.8x", 0.75, true},
	}
	for i, w := range want {
		g := got[i]
		if g.Goal != w.goal || g.Ratio == nil || math.Abs(*g.Ratio-w.ratio) > 1e-9 || g.Met == nil || *g.Met != w.met {
			t.Errorf("target %d = %+v (ratio %v), want %+v", i, g, g.Ratio, w)
		}
	}
	slow := fakeRun("current", "", "containerd v2.4.2", [2]float64{400, 400}, [2]float64{700, 1000}, [2]float64{3, 4})
	if g := goalTargets(slow)[0]; g.Met == nil || *g.Met {
		t.Errorf("pod start at 1.00x judged met: %+v", g)
	}
	// A variant is judged on its own goals only.
	v := goalTargets(fakeRun("current", "density", "containerd v2.4.2", [2]float64{1, 1}, [2]float64{1, 1}, [2]float64{1, 4}))
	if len(v) != 1 || !strings.HasPrefix(v[0].Goal, "density: memory per pod at 200 pods") || !*v[0].Met {
		t.Errorf("density variant targets = %+v", v)
	}
}

func TestCombineLinesUpRunsAndAnchorsOnTheFirst(t *testing.T) {
	cur := fakeRun("current", "", "containerd v2.4.2", [2]float64{300, 400}, [2]float64{700, 1000}, [2]float64{3, 4})
	deb := fakeRun("debian", "", "containerd 1.6.20~ds1", [2]float64{500, 400}, [2]float64{900, 1000}, [2]float64{3, 3})
	deb.Rows = deb.Rows[1:] // a run without the pod-start row
	for _, r := range []*Result{cur, deb} {
		r.Targets = goalTargets(r)
	}
	c := combine([]*Result{cur, deb})
	if len(c.Runs) != 2 || c.Runs[0].Containerd != "containerd 2.4.2 CRI" || c.Runs[1].Containerd != "containerd 1.6.20 CRI" ||
		c.Runs[1].Podshim != "podshim (1.6.20)" {
		t.Fatalf("runs = %+v", c.Runs)
	}
	if len(c.Rows) != 3 {
		t.Fatalf("rows = %+v", c.Rows)
	}
	start := c.Rows[0]
	if start.Cells[0].Ratio == nil || *start.Cells[0].Ratio != 0.75 || start.Cells[1].Ratio != nil || start.Cells[1].Podshim != nil {
		t.Errorf("pod-start row = %+v", start.Cells)
	}
	wall := c.Rows[1]
	if *wall.Cells[1].Ratio != 0.9 {
		t.Errorf("debian wall ratio = %v", *wall.Cells[1].Ratio)
	}
	if len(c.Targets) != 3 || c.Targets[0].Ratios[1] != nil || c.Targets[1].Ratios[1] == nil || *c.Targets[1].Ratios[1].Met {
		t.Errorf("targets = %+v", c.Targets)
	}
	var text, md strings.Builder
	c.WriteText(&text)
	c.WriteMarkdown(&md)
	for _, want := range []string{"containerd 2.4.2 CRI (anchor)", "0.75x met", "0.90x MISSED", "podshim (1.6.20)"} {
		if !strings.Contains(text.String(), want) || !strings.Contains(md.String(), want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, text.String(), md.String())
		}
	}
}

func TestCRIVersion(t *testing.T) {
	for in, want := range map[string]string{"containerd v2.4.2": "2.4.2", "containerd 1.6.20~ds1": "1.6.20", "": "", "x 1.7.0-rc.1": "1.7.0"} {
		if got := criVersion(in); got != want {
			t.Errorf("criVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuantileAndNiceStep(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for q, want := range map[float64]float64{0: 1, 0.5: 3, 1: 5, 0.1: 1.4, 0.75: 4} {
		if got := quantile(s, q); math.Abs(got-want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
	for _, c := range []struct{ max, want float64 }{{1000, 200}, {45, 10}, {7, 2}, {0.3, 0.05}} {
		if got := niceStep(c.max, 6); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", c.max, got, c.want)
		}
	}
}

func TestLatencyChartIsWellFormedSVGWithAPanelPerWorkload(t *testing.T) {
	cur := fakeRun("current", "", "containerd v2.4.2", [2]float64{300, 400}, [2]float64{700, 1000}, [2]float64{3, 4})
	deb := fakeRun("debian", "", "containerd 1.6.20~ds1", [2]float64{500, 400}, [2]float64{900, 1000}, [2]float64{3, 3})
	cur.Rows = append([]Row{cur.Rows[1]}, append([]Row{cur.Rows[0]}, cur.Rows[2:]...)...) // 2. before 1.
	cur.Rows = append(cur.Rows, Row{Section: "4. Steady", Metric: "reference: Version", Unit: "ms",
		Podshim: latencyCell([]time.Duration{time.Millisecond}, ""), Ctrd: latencyCell([]time.Duration{time.Millisecond}, "")})
	svg := latencyChart([]*Result{cur, deb})
	dec := xml.NewDecoder(strings.NewReader(svg))
	var texts []string
	circles := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "circle" {
				circles++
			}
		case xml.CharData:
			texts = append(texts, string(e))
		}
	}
	all := strings.Join(texts, "\n")
	// Two latency panels (pod start, 10 at once), the reference row and
	// the MB row left out; four series each (2 runs x 2 runtimes).
	for _, want := range []string{"1. Pod startup, image present, sequential: sum of the three", "2. Pod startup, 10 pods at once: wall time, all 10 started",
		"podshim (2.4.2)", "containerd 2.4.2 CRI", "podshim (1.6.20)", "containerd 1.6.20 CRI"} {
		if !strings.Contains(all, want) {
			t.Errorf("chart lacks %q; texts:\n%s", want, all)
		}
	}
	if strings.Contains(all, "reference") || strings.Contains(all, "PSS") {
		t.Errorf("chart has a row it should leave out:\n%s", all)
	}
	if i1, i2 := strings.Index(all, "1. Pod startup"), strings.Index(all, "2. Pod startup"); i1 < 0 || i2 < i1 {
		t.Errorf("panels out of workload order:\n%s", all)
	}
	if circles != 8 {
		t.Errorf("chart has %d sample dots, want 8", circles)
	}
}

func TestParseVariant(t *testing.T) {
	v, err := parseVariant("density=--density --shim-per-pod=true")
	if err != nil || v.Name != "density" || len(v.Args) != 2 || v.Args[1] != "--shim-per-pod=true" {
		t.Fatalf("parseVariant = %+v, %v", v, err)
	}
	if v, err := parseVariant("density:dense="); err != nil || v.Name != "density" || v.Handler != "dense" || len(v.Args) != 0 {
		t.Fatalf("parseVariant with a handler = %+v, %v", v, err)
	}
	for _, bad := range []string{"", "=--x", "a b=--x", "podshim=--x", "current=--x", ":h=--x"} {
		if _, err := parseVariant(bad); err == nil {
			t.Errorf("parseVariant(%q) accepted", bad)
		}
	}
	o, err := parseOptions([]string{"-stacks", "debian", "-variant", "pauseless=--pauseless"})
	if err != nil || len(o.Stacks) != 1 || o.Stacks[0] != "debian" || len(o.Variants) != 1 {
		t.Fatalf("parseOptions = %+v, %v", o, err)
	}
	if specs := runSpecs(o); len(specs) != 2 || specs[1].dir() != "debian-pauseless" {
		t.Fatalf("runSpecs = %+v", specs)
	}
	if _, err := parseOptions([]string{"-stacks", "current,current"}); err == nil {
		t.Error("a repeated stack was accepted")
	}
}

func TestMemoryStatValue(t *testing.T) {
	stat := "cache 4096\nrss 100\ntotal_cache 8192\ntotal_rss 2048\n"
	if got := cgroupStatValue(stat, "total_rss"); got != 2048 {
		t.Errorf("total_rss = %d", got)
	}
	if got := cgroupStatValue(stat, "rss"); got != 100 {
		t.Errorf("rss = %d", got)
	}
	if got := cgroupStatValue(stat, "anon"); got != 0 {
		t.Errorf("anon = %d", got)
	}
}

func TestCombineFromSavedResults(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, r := range []*Result{
		fakeRun("current", "", "containerd v2.4.2", [2]float64{300, 400}, [2]float64{700, 1000}, [2]float64{3, 4}),
		fakeRun("debian", "", "containerd 1.6.20~ds1", [2]float64{500, 400}, [2]float64{900, 1000}, [2]float64{3, 3}),
	} {
		r.Targets = goalTargets(r)
		sub := dir + "/" + r.Stack
		if err := r.Save(sub); err != nil {
			t.Fatal(err)
		}
		files = append(files, sub+"/result.json")
	}
	out := dir + "/combined"
	if code := combineFiles(files, out); code != 0 {
		t.Fatalf("combineFiles = %d", code)
	}
	md, err := os.ReadFile(out + "/result.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "0.75x met") || !strings.Contains(string(md), "containerd 1.6.20 CRI") {
		t.Errorf("combined result.md:\n%s", md)
	}
	if _, err := os.Stat(out + "/" + chartFile); err != nil {
		t.Error(err)
	}
	if code := combineFiles([]string{dir + "/missing.json"}, out); code == 0 {
		t.Error("combineFiles of a missing file succeeded")
	}
}

// TestCombineShowsValuesInMSAsMilliseconds: a single-value row in ms (CPU
// per pod start) is shown as the milliseconds it holds, like a latency
// row's p50 (it once printed 0.00, read as nanoseconds).
func TestCombineShowsValuesInMSAsMilliseconds(t *testing.T) {
	res := fakeRun("current", "", "containerd v2.4.2", [2]float64{300, 400}, [2]float64{700, 1000}, [2]float64{3, 4})
	res.Rows = append(res.Rows, Row{Section: "1. Pod startup, image present, sequential (50 pods)", Metric: "runtime CPU per pod start", Unit: "ms",
		Podshim: valueCell(577.5, ""), Ctrd: valueCell(515, "")})
	var text strings.Builder
	combine([]*Result{res}).WriteText(&text)
	for _, want := range []string{"577.5", "515.0", "300.0", "400.0"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("combined table lacks %q:\n%s", want, text.String())
		}
	}
}
