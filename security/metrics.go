package security

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a TLS handshake failed, the values of the reason label of
// mtciwf_security_tls_handshake_failures_total.
const (
	ReasonNoCert    = "no_cert"    // the client presented no certificate
	ReasonUnknownCA = "unknown_ca" // RuleChain: no path to a configured trust anchor
	ReasonExpired   = "expired"    // RuleValidity
	ReasonRevoked   = "revoked"    // RuleRevoked (also a stale CRL: fail closed)
	ReasonProfile   = "profile"    // any other TS 33.310 profile rule (EKU, keyUsage, SAN, key)
	ReasonVersion   = "version"    // protocol version or cipher suite outside the TS 33.210 profile
	ReasonOther     = "other"      // timeout, reset, garbage, anything else
)

// HandshakeReasons lists every reason label value.
var HandshakeReasons = []string{ReasonNoCert, ReasonUnknownCA, ReasonExpired, ReasonRevoked, ReasonProfile, ReasonVersion, ReasonOther}

// ClassifyHandshakeError maps the error of a failed TLS handshake to one of
// the Reason* values: the rule of a *CertError when there is one, else what
// crypto/tls said.
func ClassifyHandshakeError(err error) string {
	var ce *CertError
	if errors.As(err, &ce) {
		switch ce.Rule {
		case RuleChain:
			if ce.Subject == "" && strings.Contains(ce.Detail, "no certificate") {
				return ReasonNoCert
			}
			return ReasonUnknownCA
		case RuleValidity:
			return ReasonExpired
		case RuleRevoked:
			return ReasonRevoked
		}
		return ReasonProfile
	}
	if err == nil {
		return ReasonOther
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "didn't provide a certificate"), strings.Contains(s, "certificate required"):
		return ReasonNoCert
	case strings.Contains(s, "unsupported versions"), strings.Contains(s, "protocol version"),
		strings.Contains(s, "no cipher suite supported"), strings.Contains(s, "no mutually supported"):
		return ReasonVersion
	}
	return ReasonOther
}

// Metrics are the security package's metrics (namespace mtciwf, subsystem
// security). Register them on a prometheus.Registry.
type Metrics struct {
	handshakeFailures *prometheus.CounterVec
}

// NewMetrics builds the security metrics; every reason starts at 0 so a
// dashboard shows a flat line instead of no data.
func NewMetrics() *Metrics {
	m := &Metrics{
		handshakeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mtciwf", Subsystem: "security", Name: "tls_handshake_failures_total",
			Help: "Failed TLS handshakes on the Tsp listener, by reason (no_cert, unknown_ca, expired, revoked, profile, version, other).",
		}, []string{"reason"}),
	}
	for _, r := range HandshakeReasons {
		m.handshakeFailures.WithLabelValues(r)
	}
	return m
}

// HandshakeFailed counts a failed handshake (diam.Server.HandshakeFailed).
func (m *Metrics) HandshakeFailed(err error) {
	m.handshakeFailures.WithLabelValues(ClassifyHandshakeError(err)).Inc()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { m.handshakeFailures.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) { m.handshakeFailures.Collect(ch) }
