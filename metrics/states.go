package metrics

import "github.com/prometheus/client_golang/prometheus"

// StateCounter counts the objects of an in-memory store by state, without
// calling containerd (sandbox.Service and cri.Service implement it). The
// map has every state, with zeros.
type StateCounter interface {
	CountByState() map[string]int
}

// WatchStates registers the collector of the sandboxes and containers by
// state, read from the stores at scrape time.
func (m *Metrics) WatchStates(sandboxes, containers StateCounter) {
	m.reg.MustRegister(&stateCollector{
		sandboxes:  sandboxes,
		containers: containers,
		sbDesc:     prometheus.NewDesc(Sandboxes.Name, Sandboxes.Help, Sandboxes.Labels, nil),
		ctrDesc:    prometheus.NewDesc(Containers.Name, Containers.Help, Containers.Labels, nil),
	})
}

type stateCollector struct {
	sandboxes, containers StateCounter
	sbDesc, ctrDesc       *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sbDesc
	ch <- c.ctrDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for state, n := range c.sandboxes.CountByState() {
		ch <- prometheus.MustNewConstMetric(c.sbDesc, prometheus.GaugeValue, float64(n), state)
	}
	for state, n := range c.containers.CountByState() {
		ch <- prometheus.MustNewConstMetric(c.ctrDesc, prometheus.GaugeValue, float64(n), state)
	}
}
