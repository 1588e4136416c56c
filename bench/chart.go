package main

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
)

// chartSeries is one runtime's latency samples (ms) of one workload.
type chartSeries struct {
	Label   string
	Podshim bool // podshim's colour family, else containerd's
	Samples []float64
}

// chartPanel is one workload's distributions, one series per runtime.
type chartPanel struct {
	Title  string
	Series []chartSeries
}

// chartSections are the sections whose latency rows are charted: pod
// start, concurrent starts, teardown and the steady-state calls.
var chartSections = []string{"1.", "2.", "3.", "4."}

// chartPanels collects one panel per latency row with samples (the
// reference rows left out), a series per run and runtime.
func chartPanels(results []*Result) []chartPanel {
	var panels []chartPanel
	index := map[string]int{}
	for _, res := range results {
		ver := criVersion(res.Versions.ContainerdCR)
		if ver == "" {
			ver = res.Stack
		}
		pod := "podshim"
		if res.Variant != "" {
			pod = res.Variant
		}
		for _, r := range res.Rows {
			if r.Unit != "ms" || strings.HasPrefix(r.Metric, "reference") || !hasAnyPrefix(r.Section, chartSections) {
				continue
			}
			if len(r.Podshim.Samples) == 0 && len(r.Ctrd.Samples) == 0 {
				continue
			}
			title := sectionShort(r.Section) + ": " + r.Metric
			i, ok := index[title]
			if !ok {
				i = len(panels)
				index[title] = i
				panels = append(panels, chartPanel{Title: title})
			}
			panels[i].Series = append(panels[i].Series,
				chartSeries{Label: pod + " (" + ver + ")", Podshim: true, Samples: r.Podshim.Samples},
				chartSeries{Label: "containerd " + ver + " CRI", Samples: r.Ctrd.Samples})
		}
	}
	// In workload order (the rows come in the order the workloads ran).
	sort.SliceStable(panels, func(i, j int) bool { return leadingNumber(panels[i].Title) < leadingNumber(panels[j].Title) })
	return panels
}

// leadingNumber is the number a title starts with ("2. Pod ..." -> 2).
func leadingNumber(s string) int {
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 {
		return 1 << 30
	}
	return n
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// sectionShort is a section's title up to its first comma or parenthesis
// ("2. Pod startup, 10 pods at once (3 rounds)" -> "2. Pod startup, 10
// pods at once").
func sectionShort(s string) string {
	if i := strings.Index(s, " ("); i > 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ":"); i > 0 {
		s = s[:i]
	}
	return s
}

// quantile is the linearly interpolated q-quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

// niceStep returns a round tick step (1, 2 or 5 times a power of ten)
// giving about n ticks up to max.
func niceStep(max float64, n int) float64 {
	if max <= 0 || n < 1 {
		return 1
	}
	raw := max / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// Chart geometry (pixels).
const (
	chartWidth  = 980
	chartLabelW = 230
	chartPlotW  = 680
	chartRowH   = 18
	chartTitleH = 22
	chartAxisH  = 26
	maxDots     = 200 // per series
)

var (
	podshimColours    = []string{"#1f77b4", "#2ca02c", "#9467bd", "#17becf"}
	containerdColours = []string{"#ff7f0e", "#d62728", "#8c564b", "#bcbd22"}
)

// latencyChart draws every workload's latency distribution per runtime as
// an SVG: a panel per workload, a row per runtime with its samples as dots,
// a box from p25 to p75, the median as a bar and a whisker from p10 to p90,
// on a linear ms axis of the panel's own.
func latencyChart(results []*Result) string {
	panels := chartPanels(results)
	height := 40
	for _, p := range panels {
		height += chartTitleH + len(p.Series)*chartRowH + chartAxisH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := "podshim vs containerd CRI: latency per workload (ms; dots = samples, box = p25-p75, bar = median, whisker = p10-p90)"
	if len(results) > 0 {
		title += ", " + results[0].Started.Format("2006-01-02 15:04")
	}
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="13" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	y := 40
	for _, p := range panels {
		y = drawPanel(&b, p, y)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// drawPanel draws one panel from y down and returns the y below it.
func drawPanel(b *strings.Builder, p chartPanel, y int) int {
	fmt.Fprintf(b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+14, html.EscapeString(p.Title))
	y += chartTitleH
	maxV := 0.0
	for _, s := range p.Series {
		for _, v := range s.Samples {
			maxV = math.Max(maxV, v)
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	step := niceStep(maxV, 6)
	axisMax := math.Ceil(maxV/step) * step
	x := func(v float64) float64 { return chartLabelW + v/axisMax*chartPlotW }
	top := y
	var nPod, nCtrd int
	for k, s := range p.Series {
		colour := containerdColours[nCtrd%len(containerdColours)]
		if s.Podshim {
			colour = podshimColours[nPod%len(podshimColours)]
			nPod++
		} else {
			nCtrd++
		}
		cy := y + chartRowH/2
		if k%2 == 0 {
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#f4f4f4"/>`+"\n", chartLabelW, y, chartPlotW, chartRowH*2)
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" fill="%s">%s</text>`+"\n", chartLabelW-6, cy+4, colour, html.EscapeString(s.Label))
		if len(s.Samples) == 0 {
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="#888">no samples</text>`+"\n", chartLabelW+4, cy+4)
			y += chartRowH
			continue
		}
		sorted := append([]float64(nil), s.Samples...)
		sort.Float64s(sorted)
		// At most maxDots dots (every k-th sample); the box and the
		// whiskers use all of them.
		stride := (len(s.Samples) + maxDots - 1) / maxDots
		for i, v := range s.Samples {
			if i%stride != 0 {
				continue
			}
			jitter := float64((i/stride*7)%9-4) * 1.2
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="1.6" fill="%s" fill-opacity="0.35"/>`+"\n", x(v), float64(cy)+jitter, colour)
		}
		p10, p25, p50, p75, p90 := quantile(sorted, .1), quantile(sorted, .25), quantile(sorted, .5), quantile(sorted, .75), quantile(sorted, .9)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s"/>`+"\n", x(p10), x(p90), cy, cy, colour)
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="none" stroke="%s" stroke-width="1.2"/>`+"\n",
			x(p25), cy-5, math.Max(x(p75)-x(p25), 0.5), 10, colour)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", x(p50), x(p50), cy-7, cy+7, colour)
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", chartLabelW+chartPlotW+4, cy+4, colour, fmtValue(p50))
		y += chartRowH
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", chartLabelW, chartLabelW+chartPlotW, y, y)
	for v := 0.0; v <= axisMax+step/2; v += step {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ccc"/>`+"\n", x(v), x(v), top, y+3)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>`+"\n", x(v), y+14, fmtValue(v))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#333">ms</text>`+"\n", chartLabelW+chartPlotW+4, y+14)
	return y + chartAxisH
}
