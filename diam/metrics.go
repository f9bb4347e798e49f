package diam

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the transport: namespace mtciwf, subsystem diam. They are read
// at scrape time from the Stats the Server and the Pools already keep, so
// the hot path pays nothing beyond its atomic adds. Labels: role (tsp, hss,
// smsc), reason, result_code. Never a peer's subscriber identity.
const (
	metricsNamespace = "mtciwf"
	metricsSubsystem = "diam"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, metricsSubsystem, name), help, labels, nil)
}

var (
	descAccepted = desc("connections_accepted_total",
		"TCP connections accepted on the listener.", "role")
	descRefused = desc("connections_refused_total",
		"Connections refused, by reason: conn_limit (total or per-IP cap), tls_handshake, cer (CEA other than 2001 sent), before_cer (a message other than CER first).", "role", "reason")
	descSpoofed = desc("spoofed_origin_host_total",
		"Requests whose Origin-Host the connection's peer may not use (answered and dropped).", "role")
	descFrames = desc("frame_guard_rejections_total",
		"Frames refused by the frame guard before decoding, by the result code answered (5011 version, 5015 length, 3008 E-bit, 5014 AVP length, 5012 depth/count...).", "role", "result_code")
	descProtocol = desc("protocol_errors_total",
		"Messages answered with a protocol or dictionary error (3001, 3007, 5001, 5004, 5005...).", "role")
	descBusy = desc("too_busy_total",
		"Requests answered 3004 DIAMETER_TOO_BUSY (in-flight cap reached).", "role")
	descDuplicates = desc("duplicate_cache_hits_total",
		"Retransmitted requests (T flag) answered from the duplicate cache (RFC 6733 5.5.4).", "role")
	descWatchdog = desc("watchdog_failures_total",
		"Connections dropped because the peer did not answer DWR (RFC 3539).", "role")
	descPanics = desc("panics_total",
		"Panics contained at the per-message boundary (answered 5012); should stay 0.", "role")
	descPeersUp = desc("peers_up",
		"Core peers (hss, smsc) whose connection is open (capabilities exchanged, watchdog OKAY).", "role")
	descPeersConfigured = desc("peers_configured",
		"Core peers (hss, smsc) configured.", "role")
	descConns = desc("tsp_connections",
		"Open Tsp connections (after the TLS handshake).")
)

// guardCodes are the result codes the frame guard refuses with (CheckFrame).
var guardCodes = []uint32{ResultUnsupportedVersion, ResultInvalidMessageLength, ResultInvalidHdrBits,
	ResultInvalidAVPLength, ResultUnableToComply, ResultInvalidAVPValue}

// Collector exports the transport's counters: those of a Server (role
// "tsp") and of core Pools (role = the pool's name, e.g. hss, smsc).
type Collector struct {
	server *Server
	pools  []*Pool
}

// NewCollector returns a collector for srv (may be nil) and pools. Register
// it on a prometheus.Registry.
func NewCollector(srv *Server, pools ...*Pool) *Collector {
	return &Collector{server: srv, pools: pools}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccepted, descRefused, descSpoofed, descFrames, descProtocol,
		descBusy, descDuplicates, descWatchdog, descPanics, descPeersUp, descPeersConfigured, descConns} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.server != nil {
		collectStats(ch, "tsp", &c.server.Stats)
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(len(c.server.Conns())))
	}
	for _, p := range c.pools {
		collectStats(ch, p.cfg.Name, &p.Stats)
		ch <- prometheus.MustNewConstMetric(descPeersUp, prometheus.GaugeValue, float64(len(p.Up())), p.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descPeersConfigured, prometheus.GaugeValue, float64(len(p.members)), p.cfg.Name)
	}
}

func collectStats(ch chan<- prometheus.Metric, role string, s *Stats) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{role}, labels...)...)
	}
	counter(descAccepted, s.Accepted.Load())
	counter(descRefused, s.RefusedConnLimit.Load(), "conn_limit")
	counter(descRefused, s.RefusedHandshakes.Load(), "tls_handshake")
	counter(descRefused, s.RefusedCER.Load(), "cer")
	counter(descRefused, s.RefusedBeforeCER.Load(), "before_cer")
	counter(descSpoofed, s.SpoofedOrigin.Load())
	frames := s.FrameRefusals()
	for _, code := range guardCodes { // every class present, at 0 until it happens
		if _, ok := frames[code]; !ok {
			frames[code] = 0
		}
	}
	for code, n := range frames {
		counter(descFrames, n, strconv.FormatUint(uint64(code), 10))
	}
	counter(descProtocol, s.ProtocolErrors.Load())
	counter(descBusy, s.TooBusy.Load())
	counter(descDuplicates, s.Duplicates.Load())
	counter(descWatchdog, s.WatchdogFailures.Load())
	counter(descPanics, s.Panics.Load())
}
