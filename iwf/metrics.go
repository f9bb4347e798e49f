package iwf

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mtciwf/mtciwf/diam/tsp"
)

// Metrics are the procedures' metrics (namespace mtciwf, subsystem iwf).
// Labels are the SCS's Origin-Host (a peer identity bound to its
// certificate, bounded by the configured peers), the Action-Type, the
// Request-Status and the Delivery-Outcome: never a UE identifier or an
// IMSI. A nil *Metrics counts nothing.
type Metrics struct {
	requests       *prometheus.CounterVec
	reports        *prometheus.CounterVec
	darLatency     prometheus.Histogram
	s6mRTT, t4RTT  prometheus.Histogram
	egressRefusals prometheus.Counter
	hssCacheUse    *prometheus.CounterVec
	openTriggers   prometheus.GaugeFunc
	outboxDepth    prometheus.GaugeFunc
}

// latencyBuckets spans 1 ms to 10 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// storeScrapeTimeout bounds the store reads of one scrape.
const storeScrapeTimeout = time.Second

// NewMetrics builds the procedure metrics. store, when not nil, is read at
// scrape time for the open triggers and the outbox depth.
func NewMetrics(store Store) *Metrics {
	const ns, sub = "mtciwf", "iwf"
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, Buckets: latencyBuckets})
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Device-Action requests answered, by SCS (Origin-Host), Action-Type and Request-Status."},
			[]string{"scs", "action", "request_status"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "delivery_reports_total",
			Help: "Delivery reports (DNR) acknowledged by the SCS, by SCS (Origin-Host) and Delivery-Outcome."},
			[]string{"scs", "delivery_outcome"}),
		darLatency: hist("dar_daa_duration_seconds", "Time from a DAR's arrival to its DAA, in seconds."),
		s6mRTT:     hist("s6m_round_trip_seconds", "SIR to SIA round trip to the HSS (failover included), in seconds."),
		t4RTT:      hist("t4_round_trip_seconds", "DTR to DTA round trip to the SMS-SC (failover included), in seconds."),
		hssCacheUse: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "hss_cache_lookups_total",
			Help: "HSS answer cache lookups for SCSs whose policy enables it (hss_cache), by result: hit (no SIR sent) or miss."},
			[]string{"result"}),
		egressRefusals: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "egress_refusals_total",
			Help: "Tsp messages the egress check stopped (must stay 0)."}),
	}
	if store != nil {
		count := func(f func(context.Context) (int, error)) func() float64 {
			return func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), storeScrapeTimeout)
				defer cancel()
				n, err := f(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}
		}
		m.openTriggers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "open_triggers",
			Help: "Triggers in the store not yet closed (waiting for a delivery report or owed one); -1 if the store cannot be read."},
			count(store.Open))
		if o, ok := store.(interface {
			Owed(context.Context) (int, error)
		}); ok {
			m.outboxDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "outbox_depth",
				Help: "Triggers whose delivery report is owed to the SCS (DNR not yet acknowledged); -1 if the store cannot be read."},
				count(o.Owed))
		}
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	out := []prometheus.Collector{m.requests, m.reports, m.darLatency, m.s6mRTT, m.t4RTT, m.egressRefusals, m.hssCacheUse}
	if m.openTriggers != nil {
		out = append(out, m.openTriggers)
	}
	if m.outboxDepth != nil {
		out = append(out, m.outboxDepth)
	}
	return out
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) request(scs string, action tsp.ActionType, status tsp.RequestStatus, latency time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(strings.ToLower(scs), action.String(), status.String()).Inc()
	m.darLatency.Observe(latency.Seconds())
}

func (m *Metrics) report(scs string, outcome tsp.DeliveryOutcome) {
	if m == nil {
		return
	}
	m.reports.WithLabelValues(strings.ToLower(scs), outcome.String()).Inc()
}

func (m *Metrics) s6m(d time.Duration) {
	if m != nil {
		m.s6mRTT.Observe(d.Seconds())
	}
}

func (m *Metrics) t4(d time.Duration) {
	if m != nil {
		m.t4RTT.Observe(d.Seconds())
	}
}

func (m *Metrics) egressRefused() {
	if m != nil {
		m.egressRefusals.Inc()
	}
}

func (m *Metrics) hssCache(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.hssCacheUse.WithLabelValues("hit").Inc()
	} else {
		m.hssCacheUse.WithLabelValues("miss").Inc()
	}
}
