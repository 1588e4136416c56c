package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// chartFile is the latency chart every run writes next to its combined
// result.
const chartFile = "latency.svg"

// Combined is the table of all runs of one invocation side by side: per
// run podshim's median, its stack's containerd CRI median and their ratio.
// The first run (the current stack, default podshim) is the anchor of the
// targets.
type Combined struct {
	Started time.Time     `json:"started"`
	Machine Machine       `json:"machine"`
	Runs    []CombinedRun `json:"runs"`
	Rows    []CombinedRow `json:"rows"`
	// Targets are the goals with every run's ratio; Met is the anchor's.
	Targets []CombinedTarget `json:"targets"`
	results []*Result
}

// CombinedRun names one run's columns.
type CombinedRun struct {
	Dir        string `json:"dir"`        // results subdirectory
	Podshim    string `json:"podshim"`    // "podshim" or the variant's name
	Containerd string `json:"containerd"` // "containerd 2.4.2 CRI"
	Error      string `json:"error,omitempty"`
}

// CombinedRow is one metric with one cell per run.
type CombinedRow struct {
	Section string         `json:"section"`
	Metric  string         `json:"metric"`
	Unit    string         `json:"unit"`
	Cells   []CombinedCell `json:"cells"`
}

// CombinedCell is one run's medians (NaN: none; JSON null) and ratio.
type CombinedCell struct {
	Podshim    *float64 `json:"podshim"`
	Containerd *float64 `json:"containerd"`
	Ratio      *float64 `json:"ratio"`
}

// CombinedTarget is one goal across the runs that have it.
type CombinedTarget struct {
	Goal   string    `json:"goal"`
	Ratios []*Target `json:"runs"` // per run; nil where the run has no such goal
}

// loadResult reads a run's result.json.
func loadResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &res, nil
}

// criVersion of a CRI runtime version: "containerd v2.4.2" -> "2.4.2",
// "containerd 1.6.20~ds1" -> "1.6.20".
func criVersion(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	s := strings.TrimPrefix(f[len(f)-1], "v")
	if i := strings.IndexAny(s, "~+-"); i > 0 {
		s = s[:i]
	}
	return s
}

// combine puts the runs' rows side by side, in the order of the first run
// that has them.
func combine(results []*Result) *Combined {
	c := &Combined{results: results}
	if len(results) > 0 {
		c.Started, c.Machine = results[0].Started, results[0].Machine
		c.Machine.LoadEnd = results[len(results)-1].Machine.LoadEnd
	}
	type key struct{ sec, metric string }
	index := map[key]int{}
	for k, res := range results {
		run := CombinedRun{Dir: res.Stack, Podshim: "podshim", Error: res.Error}
		if res.Variant != "" {
			run.Dir += "-" + res.Variant
			run.Podshim = res.Variant
		}
		ver := criVersion(res.Versions.ContainerdCR)
		if ver == "" {
			ver = res.Stack
		}
		run.Containerd = "containerd " + ver + " CRI"
		run.Podshim += " (" + ver + ")"
		c.Runs = append(c.Runs, run)
		for _, r := range res.Rows {
			kk := key{r.Section, r.Metric}
			i, ok := index[kk]
			if !ok {
				i = len(c.Rows)
				index[kk] = i
				c.Rows = append(c.Rows, CombinedRow{Section: r.Section, Metric: r.Metric, Unit: r.Unit,
					Cells: make([]CombinedCell, len(results))})
			}
			c.Rows[i].Cells[k] = CombinedCell{Podshim: finite(r.Podshim.figure()), Containerd: finite(r.Ctrd.figure()), Ratio: finite(r.Ratio())}
		}
	}
	goalsIndex := map[string]int{}
	for k, res := range results {
		for _, t := range res.Targets {
			// A variant's goal names the variant; the default podshim's
			// goals line up across stacks by text.
			i, ok := goalsIndex[t.Goal]
			if !ok {
				i = len(c.Targets)
				goalsIndex[t.Goal] = i
				c.Targets = append(c.Targets, CombinedTarget{Goal: t.Goal, Ratios: make([]*Target, len(results))})
			}
			c.Targets[i].Ratios[k] = ptr(t)
		}
	}
	return c
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func fmtOpt(v *float64, ratio bool) string {
	switch {
	case v == nil:
		return "-"
	case ratio:
		return fmtRatio(*v)
	}
	return fmtValue(*v)
}

// fmtMedian renders a cell's figure (see Cell.figure): milliseconds for a
// row in ms, else a value.
func fmtMedian(v *float64, unit string) string {
	if v == nil {
		return "-"
	}
	if unit == "ms" {
		return fmtMS(time.Duration(*v * float64(time.Millisecond)))
	}
	return fmtValue(*v)
}

// header is the column header of the combined table.
func (c *Combined) header() []string {
	h := []string{"metric", "unit"}
	for _, r := range c.Runs {
		h = append(h, r.Podshim, r.Containerd, "ratio")
	}
	return h
}

// cells renders row r's cells: its medians and ratios.
func (c *Combined) cells(r CombinedRow) []string {
	out := []string{r.Metric, r.Unit}
	for _, cell := range r.Cells {
		out = append(out, fmtMedian(cell.Podshim, r.Unit), fmtMedian(cell.Containerd, r.Unit), fmtOpt(cell.Ratio, true))
	}
	return out
}

// sectionsInOrder returns the section names in row order.
func (c *Combined) sectionsInOrder() []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range c.Rows {
		if !seen[r.Section] {
			seen[r.Section] = true
			names = append(names, r.Section)
		}
	}
	res := &Result{}
	for _, n := range names {
		res.Rows = append(res.Rows, Row{Section: n})
	}
	sorted, _ := res.sections()
	return sorted
}

// anchorNote says what the ratios and targets are taken against.
func (c *Combined) anchorNote() string {
	if len(c.Runs) == 0 {
		return ""
	}
	return fmt.Sprintf("medians (latencies p50 in ms); ratio = podshim / containerd on the same stack, from the same run (interleaved A/B rounds); targets are judged against %s, the others are printed beside", c.Runs[0].Containerd)
}

// WriteText prints the combined tables and targets.
func (c *Combined) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\n==== all runs side by side: load %s at start, %s at end\n%s\n", c.Machine.LoadStart, c.Machine.LoadEnd, c.anchorNote())
	for _, run := range c.Runs {
		if run.Error != "" {
			fmt.Fprintf(w, "RUN %s FAILED: %s\n", run.Dir, run.Error)
		}
	}
	for _, sec := range c.sectionsInOrder() {
		if !c.hasRuntimeRows(sec) {
			continue
		}
		fmt.Fprintf(w, "\n== %s\n", sec)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(c.header(), "\t")+"\t")
		for _, r := range c.Rows {
			if r.Section == sec && !floorRow(r) {
				fmt.Fprintln(tw, strings.Join(c.cells(r), "\t")+"\t")
			}
		}
		tw.Flush()
	}
	c.writeTargets(w, false)
}

// hasRuntimeRows tells whether section sec has a row with a runtime's
// figures (the floor's section has none: its figures are in each run's
// own tables).
func (c *Combined) hasRuntimeRows(sec string) bool {
	for _, r := range c.Rows {
		if r.Section == sec && !floorRow(r) {
			return true
		}
	}
	return false
}

// floorRow tells whether a row has no runtime figures (the floor's).
func floorRow(r CombinedRow) bool {
	for _, cell := range r.Cells {
		if cell.Podshim != nil || cell.Containerd != nil {
			return false
		}
	}
	return true
}

// targetHeader is the header of the targets table.
func (c *Combined) targetHeader() []string {
	h := []string{"target"}
	for k, r := range c.Runs {
		label := r.Podshim + " / " + r.Containerd
		if k == 0 {
			label += " (anchor)"
		}
		h = append(h, label)
	}
	return h
}

// targetCells renders one goal's cells: ratio and met/missed per run.
func (c *Combined) targetCells(t CombinedTarget) []string {
	out := []string{t.Goal}
	for _, r := range t.Ratios {
		switch {
		case r == nil:
			out = append(out, "")
		case r.Met == nil:
			out = append(out, r.Measured+" n/a")
		case *r.Met:
			out = append(out, r.Measured+" met")
		default:
			out = append(out, r.Measured+" MISSED")
		}
	}
	return out
}

func (c *Combined) writeTargets(w io.Writer, md bool) {
	if len(c.Targets) == 0 {
		return
	}
	if md {
		fmt.Fprint(w, "\n## Targets (issue 13)\n\n")
		fmt.Fprintln(w, "| "+strings.Join(c.targetHeader(), " | ")+" |")
		fmt.Fprintln(w, "|---"+strings.Repeat("|--:", len(c.Runs))+"|")
		for _, t := range c.Targets {
			fmt.Fprintln(w, "| "+strings.Join(c.targetCells(t), " | ")+" |")
		}
		return
	}
	fmt.Fprintln(w, "\ntargets (issue 13):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(c.targetHeader(), "\t")+"\t")
	for _, t := range c.Targets {
		fmt.Fprintln(tw, strings.Join(c.targetCells(t), "\t")+"\t")
	}
	tw.Flush()
}

// WriteMarkdown writes the combined tables and targets as Markdown.
func (c *Combined) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# podshim vs containerd CRI, all stacks, %s\n\n", c.Started.Format("2006-01-02 15:04"))
	m := c.Machine
	fmt.Fprintf(w, "- machine: %s, %s, %d CPUs, %s RAM, cgroups %s, load %s at start, %s at end\n",
		m.CPU, m.Kernel, m.CPUs, m.MemoryTotal, m.Cgroups, m.LoadStart, m.LoadEnd)
	for _, res := range c.results {
		v := res.Versions
		fmt.Fprintf(w, "- run `%s` (took %s): %s (podshimd %s%s) vs %s; containerd %s; runc %s\n",
			runDir(res), res.Duration, v.Podshim, v.PodshimGit, variantSuffix(Variant{Name: res.Variant, Args: res.Options.PodshimdArgs, Handler: res.Options.PodshimHandler}),
			v.ContainerdCR, v.Containerd, v.Runc)
		if res.Error != "" {
			fmt.Fprintf(w, "  - **run failed:** %s\n", res.Error)
		}
	}
	fmt.Fprintf(w, "\n%s. Every run's own tables (p50/p90/p99/max, notes, profiles) are in its subdirectory; the latency chart is `%s`.\n", c.anchorNote(), chartFile)
	c.writeTargets(w, true)
	for _, sec := range c.sectionsInOrder() {
		if !c.hasRuntimeRows(sec) {
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n", sec)
		h := c.header()
		fmt.Fprintln(w, "| "+strings.Join(h, " | ")+" |")
		fmt.Fprintln(w, "|---|---"+strings.Repeat("|--:", len(h)-2)+"|")
		for _, r := range c.Rows {
			if r.Section == sec && !floorRow(r) {
				fmt.Fprintln(w, "| "+strings.Join(c.cells(r), " | ")+" |")
			}
		}
	}
}

func runDir(res *Result) string {
	if res.Variant != "" {
		return res.Stack + "-" + res.Variant
	}
	return res.Stack
}

// Save writes result.json, result.md and the latency chart into dir.
func (c *Combined) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), data, 0o644); err != nil {
		return err
	}
	var md strings.Builder
	c.WriteMarkdown(&md)
	if err := os.WriteFile(filepath.Join(dir, "result.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, chartFile), []byte(latencyChart(c.results)), 0o644)
}
