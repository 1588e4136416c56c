package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is everything one benchmark run measured; it is written as JSON.
type Result struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Command  string    `json:"command"`
	// Stack is the containerd+runc stack of the run ("current", "debian");
	// Variant the podshim variant's name ("" for the default podshim).
	Stack    string    `json:"stack"`
	Variant  string    `json:"variant,omitempty"`
	Machine  Machine   `json:"machine"`
	Versions Versions  `json:"versions"`
	Options  Options   `json:"options"`
	Counted  [2]string `json:"processes_counted"` // podshim, containerd
	Rows     []Row     `json:"rows"`
	Targets  []Target  `json:"targets"`
	Profiles []Profile `json:"profiles,omitempty"`
	Notes    []string  `json:"notes"`
	Error    string    `json:"error,omitempty"`
}

// Row is one measured quantity for both runtimes.
type Row struct {
	Section string `json:"section"`
	Metric  string `json:"metric"`
	Unit    string `json:"unit"` // "ms" for latency rows; else the unit of Value
	Podshim Cell   `json:"podshim"`
	Ctrd    Cell   `json:"containerd"`
	// Floor is the same quantity measured without any runtime, when there
	// is one.
	Floor *Cell `json:"floor,omitempty"`
	// RatioOfMedians is podshim's median over containerd's (set on Save).
	RatioOfMedians *float64 `json:"ratio,omitempty"`
}

// Cell is one runtime's figure for a row: a latency distribution or a
// single value, or a note saying why there is none.
type Cell struct {
	Summary *Summary  `json:"summary,omitempty"`
	Value   *float64  `json:"value,omitempty"`
	Note    string    `json:"note,omitempty"`
	Samples []float64 `json:"samples_ms,omitempty"`
}

// Target is one of issue 13's goals with this run's figure.
type Target struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      *bool  `json:"met,omitempty"` // nil when not measurable
	// Limit and Ratio: the goal's ratio and the run's (nil when not
	// measurable).
	Limit float64  `json:"limit,omitempty"`
	Ratio *float64 `json:"ratio,omitempty"`
}

// latencyCell makes a cell from samples, or from a note when there are none.
func latencyCell(samples []time.Duration, note string) Cell {
	if len(samples) == 0 {
		if note == "" {
			note = "no samples"
		}
		return Cell{Note: note}
	}
	s := Summarize(samples)
	c := Cell{Summary: &s, Note: note}
	for _, d := range samples {
		c.Samples = append(c.Samples, ms(d))
	}
	return c
}

// valueCell makes a single-value cell.
func valueCell(v float64, note string) Cell {
	return Cell{Value: &v, Note: note}
}

// figure is what the combined table shows of a cell: a latency cell's p50
// in milliseconds (as value cells in ms hold theirs), or the value of a
// single-value cell.
func (c Cell) figure() float64 {
	if c.Summary != nil {
		return ms(c.Summary.P50)
	}
	return c.median()
}

// median returns the figure a ratio is taken of: the p50 of a latency cell
// or the value of a single-value cell.
func (c Cell) median() float64 {
	switch {
	case c.Summary != nil:
		return float64(c.Summary.P50)
	case c.Value != nil:
		return *c.Value
	}
	return math.NaN()
}

// Ratio is podshim's median over containerd's.
func (r Row) Ratio() float64 {
	return ratio(r.Podshim.median(), r.Ctrd.median())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMS formats a duration in milliseconds with a precision fit for its size.
func fmtMS(d time.Duration) string {
	v := ms(d)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 1000:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatMB(kb int64) string { return fmt.Sprintf("%.0f", float64(kb)/1024) }

// fields renders a cell as p50, p90, p99, max (a value fills p50 only).
func (c Cell) fields() [4]string {
	switch {
	case c.Summary != nil:
		s := c.Summary
		return [4]string{fmtMS(s.P50), fmtMS(s.P90), fmtMS(s.P99), fmtMS(s.Max)}
	case c.Value != nil:
		return [4]string{fmtValue(*c.Value), "", "", ""}
	case c.Note != "":
		return [4]string{c.Note, "", "", ""}
	}
	return [4]string{"-", "", "", ""}
}

func fmtValue(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

// sections returns the rows grouped by section, sections ordered by their
// leading number ("0. Floor", "1. Pod startup", ...), then by appearance.
func (res *Result) sections() (names []string, rows map[string][]Row) {
	rows = map[string][]Row{}
	for _, r := range res.Rows {
		if _, ok := rows[r.Section]; !ok {
			names = append(names, r.Section)
		}
		rows[r.Section] = append(rows[r.Section], r)
	}
	num := func(s string) int {
		n, err := strconv.Atoi(s[:max(strings.IndexByte(s, '.'), 0)])
		if err != nil {
			return 1 << 30
		}
		return n
	}
	sort.SliceStable(names, func(i, j int) bool { return num(names[i]) < num(names[j]) })
	return names, rows
}

// floorOnly tells whether a section's rows have figures only for the floor.
func floorOnly(rows []Row) bool {
	for _, r := range rows {
		if r.Floor == nil || r.Podshim.Summary != nil || r.Podshim.Value != nil || r.Ctrd.Summary != nil || r.Ctrd.Value != nil {
			return false
		}
	}
	return true
}

// header lines shared by the terminal and Markdown outputs.
func (res *Result) header() []string {
	m, v := res.Machine, res.Versions
	return []string{
		fmt.Sprintf("machine: %s, %s, %d CPUs, %s RAM, cgroups %s, load %s at start, %s at end",
			m.CPU, m.Kernel, m.CPUs, m.MemoryTotal, m.Cgroups, m.LoadStart, m.LoadEnd),
		fmt.Sprintf("podshim: %s (podshimd built from %s); containerd CRI: %s; containerd: %s; runc: %s; CNI plugins %s; %s",
			v.Podshim, v.PodshimGit, v.ContainerdCR, v.Containerd, v.Runc, v.CNIPlugins, m.GoVersion),
		fmt.Sprintf("run: %s, took %s: %s", res.Started.Format(time.RFC3339), res.Duration, res.Command),
		"memory/CPU of podshim = " + res.Counted[0] + "; of containerd = " + res.Counted[1],
	}
}

// WriteText prints the result as aligned tables.
func (res *Result) WriteText(w io.Writer) {
	for _, l := range res.header() {
		fmt.Fprintln(w, l)
	}
	names, rows := res.sections()
	for _, sec := range names {
		fmt.Fprintf(w, "\n== %s\n", sec)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if floorOnly(rows[sec]) {
			fmt.Fprintln(tw, "metric\tunit\tp50\tp90\tp99\tmax\t")
			for _, r := range rows[sec] {
				f := r.Floor.fields()
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Metric, r.Unit, f[0], f[1], f[2], f[3])
			}
			tw.Flush()
			continue
		}
		fmt.Fprintln(tw, "metric\tunit\tpodshim p50\tp90\tp99\tmax\tcontainerd p50\tp90\tp99\tmax\tratio\t")
		for _, r := range rows[sec] {
			a, b := r.Podshim.fields(), r.Ctrd.fields()
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Metric, r.Unit,
				a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], fmtRatio(r.Ratio()))
			if r.Floor != nil {
				f := r.Floor.fields()
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\t\n", "  floor (no runtime)", r.Unit, f[0], f[1], f[2], f[3])
			}
		}
		tw.Flush()
	}
	res.writeTargets(w, false)
	res.writeProfiles(w, false)
	if len(res.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range res.Notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
	if res.Error != "" {
		fmt.Fprintln(w, "\nRUN FAILED: "+res.Error)
	}
}

// WriteMarkdown writes the result as Markdown tables.
func (res *Result) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# podshim vs containerd CRI benchmark, %s\n\n", res.Started.Format("2006-01-02 15:04"))
	for _, l := range res.header() {
		fmt.Fprintf(w, "- %s\n", l)
	}
	fmt.Fprintln(w, "\nLatencies in ms (p50 / p90 / p99 / max); ratio = podshim median / containerd median (< 1: podshim is faster or smaller).")
	names, rows := res.sections()
	for _, sec := range names {
		fmt.Fprintf(w, "\n### %s\n\n", sec)
		if floorOnly(rows[sec]) {
			fmt.Fprintln(w, "| metric | unit | p50 | p90 | p99 | max |")
			fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|")
			for _, r := range rows[sec] {
				f := r.Floor.fields()
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Metric, r.Unit, f[0], f[1], f[2], f[3])
			}
			continue
		}
		fmt.Fprintln(w, "| metric | unit | podshim p50 | p90 | p99 | max | containerd p50 | p90 | p99 | max | ratio |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, r := range rows[sec] {
			a, b := r.Podshim.fields(), r.Ctrd.fields()
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Metric, r.Unit,
				a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], fmtRatio(r.Ratio()))
			if r.Floor != nil {
				f := r.Floor.fields()
				fmt.Fprintf(w, "| floor (no runtime) | %s | %s | %s | %s | %s | | | | | |\n", r.Unit, f[0], f[1], f[2], f[3])
			}
		}
	}
	res.writeTargets(w, true)
	res.writeProfiles(w, true)
	if len(res.Notes) > 0 {
		fmt.Fprint(w, "\n## Notes\n\n")
		for _, n := range res.Notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
	if res.Error != "" {
		fmt.Fprintf(w, "\n**Run failed:** %s\n", res.Error)
	}
}

func (res *Result) writeTargets(w io.Writer, md bool) {
	if len(res.Targets) == 0 {
		return
	}
	if md {
		fmt.Fprint(w, "\n## Targets (issue 13, this run's stack)\n\n")
		fmt.Fprintln(w, "| goal | measured | met |")
		fmt.Fprintln(w, "|---|---|---|")
	} else {
		fmt.Fprintln(w, "\ntargets (issue 13, this run's stack):")
	}
	for _, t := range res.Targets {
		met := "n/a"
		if t.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*t.Met]
		}
		if md {
			fmt.Fprintf(w, "| %s | %s | %s |\n", t.Goal, t.Measured, met)
		} else {
			fmt.Fprintf(w, "  [%-3s] %s: %s\n", met, t.Goal, t.Measured)
		}
	}
}

// writeProfiles lists the saved profiles; the Markdown adds the flat top
// list of each podshimd profile.
func (res *Result) writeProfiles(w io.Writer, md bool) {
	if len(res.Profiles) == 0 {
		return
	}
	if !md {
		fmt.Fprintln(w, "\nprofiles (in the results dir; top lists in result.md and <file>.top.txt):")
		for _, p := range res.Profiles {
			fmt.Fprintf(w, "- %s: %s\n", orDash(p.File), p.summary())
		}
		return
	}
	fmt.Fprint(w, "\n## Profiles\n\n")
	fmt.Fprintln(w, "CPU profiles cover only the pod starts of their workload (recorded in 1 s pieces, merged; "+
		"the daemon's own CPU, not the CNI plugins or runc it runs); heap profiles are in-use memory after a forced GC. "+
		"Flat and cumulative top lists of every profile are in `<file>.top.txt`; podshimd's flat top 15 "+
		"(`go tool pprof -top -nodecount=15`) follow.")
	fmt.Fprintln(w)
	for _, p := range res.Profiles {
		fmt.Fprintf(w, "- `%s`: %s\n", orDash(p.File), p.summary())
	}
	for _, p := range res.Profiles {
		if p.Daemon != "podshimd" || p.Top == "" {
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n```\n%s\n```\n", p.File, p.Top)
	}
}

// Save writes result.json and result.md into dir.
func (res *Result) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range res.Rows {
		if r := res.Rows[i].Ratio(); !math.IsNaN(r) {
			res.Rows[i].RatioOfMedians = &r
		}
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), data, 0o644); err != nil {
		return err
	}
	var md strings.Builder
	res.WriteMarkdown(&md)
	return os.WriteFile(filepath.Join(dir, "result.md"), []byte(md.String()), 0o644)
}
