package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dashboardPanel is what the test reads of a Grafana panel.
type dashboardPanel struct {
	Title   string           `json:"title"`
	Type    string           `json:"type"`
	Panels  []dashboardPanel `json:"panels"` // a collapsed row's panels
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{([^}]*)\}`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promNumber   = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)?\b`)
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true}
)

// queryNames returns the metric names and label names a PromQL query
// uses. It knows enough PromQL for a dashboard: strings, label matchers,
// grouping clauses and range selectors are taken out first, and what is
// left that is not called like a function nor a keyword is a metric name.
func queryNames(expr string) (metricNames, labels []string) {
	for _, m := range promMatchers.FindAllStringSubmatch(promString.ReplaceAllString(expr, `""`), -1) {
		for _, matcher := range strings.Split(m[1], ",") {
			if name := promIdent.FindString(matcher); name != "" {
				labels = append(labels, name)
			}
		}
	}
	for _, m := range promGrouping.FindAllStringSubmatch(expr, -1) {
		labels = append(labels, promIdent.FindAllString(m[1], -1)...)
	}
	rest := promString.ReplaceAllString(expr, "")
	rest = promMatchers.ReplaceAllString(rest, " ")
	rest = promGrouping.ReplaceAllString(rest, " ")
	rest = promRange.ReplaceAllString(rest, " ")
	rest = promNumber.ReplaceAllString(rest, " ")
	for _, loc := range promIdent.FindAllStringIndex(rest, -1) {
		word := rest[loc[0]:loc[1]]
		after := strings.TrimLeft(rest[loc[1]:], " ")
		if promKeywords[word] || strings.HasPrefix(after, "(") {
			continue
		}
		metricNames = append(metricNames, word)
	}
	return metricNames, labels
}

func TestQueryNames(t *testing.T) {
	names, labels := queryNames(`histogram_quantile(0.99, sum by (le, method) (rate(a_bucket{code!="OK", x=~"y{1}"}[$__rate_interval]))) / ignoring(code) b_total offset 5m`)
	if strings.Join(names, ",") != "a_bucket,b_total" {
		t.Errorf("metric names %v", names)
	}
	sort.Strings(labels)
	if strings.Join(labels, ",") != "code,code,le,method,x" {
		t.Errorf("labels %v", labels)
	}
}

// TestDashboardQueriesServedMetrics: every query of the Grafana dashboard
// names metrics a podshimd serves, with labels those metrics have, and
// the dashboard shows each of podshim's own metrics somewhere.
func TestDashboardQueriesServedMetrics(t *testing.T) {
	data, err := os.ReadFile("dashboard/podshim.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string           `json:"title"`
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	served := map[string]bool{}
	for _, n := range Names() {
		served[n] = true
	}
	labelsOf := map[string]map[string]bool{} // podshim metric series name → its labels
	for _, d := range Descriptors {
		ls := map[string]bool{}
		for _, l := range d.Labels {
			ls[l] = true
		}
		for _, series := range []string{d.Name, d.Name + "_bucket", d.Name + "_sum", d.Name + "_count"} {
			labelsOf[series] = ls
		}
		labelsOf[d.Name+"_bucket"] = map[string]bool{"le": true}
		for l := range ls {
			labelsOf[d.Name+"_bucket"][l] = true
		}
	}
	used := map[string]bool{}
	queries := 0
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, target := range p.Targets {
				queries++
				names, labels := queryNames(target.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no metric", p.Title, target.Expr)
				}
				known := map[string]bool{}
				for _, n := range names {
					if !served[n] {
						t.Errorf("panel %q: query %q uses %s, which podshimd does not serve", p.Title, target.Expr, n)
					}
					used[n] = true
					for l := range labelsOf[n] {
						known[l] = true
					}
				}
				for _, l := range labels {
					if !known[l] {
						t.Errorf("panel %q: query %q uses label %q, which none of its metrics has", p.Title, target.Expr, l)
					}
				}
			}
		}
	}
	walk(dash.Panels)
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
	for _, d := range Descriptors {
		if !used[d.Name] && !used[d.Name+"_bucket"] && !used[d.Name+"_count"] && !used[d.Name+"_sum"] {
			t.Errorf("the dashboard does not show %s", d.Name)
		}
	}
}
