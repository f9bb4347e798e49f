package policy

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the policy package's metrics (namespace mtciwf, subsystem
// policy): reloads by result. Register them on a prometheus.Registry and
// set Watcher.Reloaded to Metrics.Reloaded.
type Metrics struct {
	reloads *prometheus.CounterVec
}

// NewMetrics builds the policy metrics, both results at 0.
func NewMetrics() *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mtciwf", Subsystem: "policy", Name: "reloads_total",
			Help: "Reloads of the authorization policy file that found it changed, by result: ok (new policy in force) or failed (invalid; the previous policy stays).",
		}, []string{"result"}),
	}
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("failed")
	return m
}

// Reloaded counts one reload (Watcher.Reloaded).
func (m *Metrics) Reloaded(err error) {
	if err != nil {
		m.reloads.WithLabelValues("failed").Inc()
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { m.reloads.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) { m.reloads.Collect(ch) }
