package security

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mtciwf/mtciwf/configs/devpki"
)

func TestClassifyHandshakeError(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("tls: %w", err) }
	tests := []struct {
		err  error
		want string
	}{
		{&CertError{Rule: RuleChain, Detail: "no certificate presented"}, ReasonNoCert},
		{errors.New("tls: client didn't provide a certificate"), ReasonNoCert},
		{wrap(&CertError{Rule: RuleChain, Subject: "CN=x", Detail: "is not issued by a configured trust anchor"}), ReasonUnknownCA},
		{wrap(&CertError{Rule: RuleValidity, Subject: "CN=x", Detail: "expired"}), ReasonExpired},
		{wrap(&CertError{Rule: RuleRevoked, Subject: "CN=x", Detail: "revoked", cause: ErrStaleCRL}), ReasonRevoked},
		{&CertError{Rule: RuleEKUClientAuth, Subject: "CN=x"}, ReasonProfile},
		{&CertError{Rule: RuleKeyUsageDigitalSignature, Subject: "CN=x"}, ReasonProfile},
		{&CertError{Rule: RuleSANDNSName, Subject: "CN=x"}, ReasonProfile},
		{&CertError{Rule: RuleKey, Subject: "CN=x"}, ReasonProfile},
		{errors.New("tls: client offered only unsupported versions: [302 301]"), ReasonVersion},
		{errors.New("tls: no cipher suite supported by both client and server"), ReasonVersion},
		{context.DeadlineExceeded, ReasonOther},
		{errors.New("EOF"), ReasonOther},
		{nil, ReasonOther},
	}
	for _, tt := range tests {
		if got := ClassifyHandshakeError(tt.err); got != tt.want {
			t.Errorf("ClassifyHandshakeError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestHandshakeFailureReasons classifies what real handshakes return, so a
// change of crypto/tls's wording shows up here.
func TestHandshakeFailureReasons(t *testing.T) {
	p := newTestPKI(t)
	srv, _ := p.serverTLS(t)
	m := NewMetrics()
	expired := p.client(t, func(o *devpki.LeafOptions) {
		o.NotBefore, o.NotAfter = time.Now().Add(-72*time.Hour), time.Now().Add(-24*time.Hour)
	})
	noEKU := p.client(t, func(o *devpki.LeafOptions) { o.ClientAuth = false })
	tests := []struct {
		name string
		cli  *tls.Config
		want string
	}{
		{"no certificate", p.rawClient(nil), ReasonNoCert},
		{"expired", p.rawClient(expired), ReasonExpired},
		{"no EKU", p.rawClient(noEKU), ReasonProfile},
		{"TLS 1.1", func() *tls.Config {
			c := p.rawClient(p.client(t, nil))
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}(), ReasonVersion},
	}
	for _, tt := range tests {
		res := handshake(t, srv, tt.cli)
		if res.srvErr == nil {
			t.Fatalf("%s: accepted", tt.name)
		}
		if got := ClassifyHandshakeError(res.srvErr); got != tt.want {
			t.Errorf("%s: %q from %v, want %q", tt.name, got, res.srvErr, tt.want)
		}
		m.HandshakeFailed(res.srvErr)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	if n := testutil.CollectAndCount(m); n != len(HandshakeReasons) {
		t.Errorf("%d series, want one per reason (%d)", n, len(HandshakeReasons))
	}
	if v := testutil.ToFloat64(m.handshakeFailures.WithLabelValues(ReasonNoCert)); v != 1 {
		t.Errorf("no_cert = %v, want 1", v)
	}
}
