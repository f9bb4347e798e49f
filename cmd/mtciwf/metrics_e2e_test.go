package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// startSim runs a coresim with the example subscriber file on the given
// addresses (port 0: any) and returns it with its HSS and SMS-SC addresses;
// Close is idempotent.
func startSim(t *testing.T, hssListen, smscListen string, delivery time.Duration) (*sim.Sim, string, string) {
	t.Helper()
	f, err := sim.LoadFile(filepath.Join("..", "..", "configs", "subscribers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{
		HSS:           sim.Endpoint{Listen: hssListen},
		SMSC:          sim.Endpoint{Listen: smscListen},
		Subscribers:   f.Subscribers,
		DeliveryDelay: delivery,
		RetryMin:      50 * time.Millisecond,
		RetryMax:      200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	hss, smsc, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, hss.String(), smsc.String()
}

// httpGet returns the status and body of GET http://addr/path.
func httpGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /metrics over HTTP and parses the text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := httpGet(t, addr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value is the value of the series of family name whose labels include
// want (name=value pairs); 0 when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// TestMetricsAndHealth runs triggers through the daemon, scrapes /metrics
// over HTTP and checks the counters moved as the traffic implies; /readyz
// follows the HSS going away and coming back.
func TestMetricsAndHealth(t *testing.T) {
	hssSim, hss, _ := startCore(t, 50*time.Millisecond)
	_, _, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	admin := g.run.AdminAddr.String()

	if code, body := httpGet(t, admin, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	eventually(t, "/readyz 200", func() bool { code, _ := httpGet(t, admin, "/readyz"); return code == http.StatusOK })
	if code, _ := httpGet(t, admin, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ answered %d with admin.pprof false", code)
	}

	const n = 3
	c := g.scs(t, "scs1")
	for i := range n {
		if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: uint32(100 + i)}); st != tsp.StatusSuccess {
			t.Fatalf("trigger %d: %s (%s)", i, st, msg)
		}
	}
	for i := range n {
		if o := c.waitReport(uint32(100 + i)); o != tsp.OutcomeSuccess {
			t.Fatalf("report %d: %s", i, o)
		}
	}
	// A request refused locally: no S6m or T4 round trip.
	refused, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 200, payload: bytes.Repeat([]byte("x"), 500)})
	if refused == tsp.StatusSuccess {
		t.Fatal("oversized payload accepted")
	}
	// Refused TLS handshakes: an expired certificate, and none at all.
	if conn, err := g.dial("expired", "scs1.scs.example"); err == nil {
		_ = conn.Close()
		t.Fatal("expired certificate accepted")
	}
	if conn, err := g.dial("", "scs1.scs.example"); err == nil {
		_ = conn.Close()
		t.Fatal("connection without a certificate accepted")
	}

	const scs = "scs1.scs.example"
	var mfs map[string]*dto.MetricFamily
	eventually(t, "reports and handshake failures counted", func() bool {
		mfs = scrape(t, admin)
		return value(mfs, "mtciwf_iwf_delivery_reports_total") == n &&
			value(mfs, "mtciwf_security_tls_handshake_failures_total", "reason", "no_cert") == 1 &&
			value(mfs, "mtciwf_security_tls_handshake_failures_total", "reason", "expired") == 1 &&
			value(mfs, "mtciwf_iwf_open_triggers") == 0
	})
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mtciwf_iwf_requests_total", []string{"scs", scs, "action", "DEVICE_TRIGGER_REQUEST", "request_status", "SUCCESS"}, n},
		{"mtciwf_iwf_requests_total", []string{"scs", scs, "request_status", refused.String()}, 1},
		{"mtciwf_iwf_requests_total", nil, n + 1},
		{"mtciwf_iwf_delivery_reports_total", []string{"scs", scs, "delivery_outcome", "SUCCESS"}, n},
		{"mtciwf_iwf_dar_daa_duration_seconds", nil, n + 1},
		{"mtciwf_iwf_s6m_round_trip_seconds", nil, n},
		{"mtciwf_iwf_t4_round_trip_seconds", nil, n},
		{"mtciwf_iwf_open_triggers", nil, 0},
		{"mtciwf_iwf_outbox_depth", nil, 0},
		{"mtciwf_iwf_egress_refusals_total", nil, 0},
		{"mtciwf_security_tls_handshake_failures_total", []string{"reason", "expired"}, 1},
		{"mtciwf_security_tls_handshake_failures_total", []string{"reason", "no_cert"}, 1},
		{"mtciwf_security_tls_handshake_failures_total", nil, 2},
		{"mtciwf_diam_connections_refused_total", []string{"role", "tsp", "reason", "tls_handshake"}, 2},
		{"mtciwf_diam_peers_up", []string{"role", "hss"}, 1},
		{"mtciwf_diam_peers_up", []string{"role", "smsc"}, 1},
		{"mtciwf_diam_tsp_connections", nil, 1},
		{"mtciwf_diam_panics_total", nil, 0},
		{"mtciwf_policy_reloads_total", []string{"result", "failed"}, 0},
		{"mtciwf_build_info", []string{"version", version}, 1},
	}
	for _, ck := range checks {
		if got := value(mfs, ck.name, ck.labels...); got != ck.want {
			t.Errorf("%s%v = %v, want %v", ck.name, ck.labels, got, ck.want)
		}
	}
	for name := range mfs {
		if !strings.HasPrefix(name, "mtciwf_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("metric %s outside the mtciwf namespace", name)
		}
	}

	// The HSS goes away: not ready, and the reason says so.
	hssAddr := hss
	if err := hssSim.Close(); err != nil {
		t.Logf("HSS simulator close: %v", err)
	}
	var body string
	eventually(t, "/readyz 503 without an HSS", func() bool {
		var code int
		code, body = httpGet(t, admin, "/readyz")
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "no HSS peer up") || strings.Contains(body, "SMS-SC") {
		t.Errorf("/readyz body %q", body)
	}
	if code, _ := httpGet(t, admin, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d while not ready", code)
	}
	if v := value(scrape(t, admin), "mtciwf_diam_peers_up", "role", "hss"); v != 0 {
		t.Errorf("peers_up{role=hss} = %v after the HSS stopped", v)
	}
	// An HSS on the same address again: ready again.
	startSim(t, hssAddr, "127.0.0.1:0", 50*time.Millisecond)
	eventually(t, "/readyz 200 with the HSS back", func() bool { code, _ := httpGet(t, admin, "/readyz"); return code == http.StatusOK })
}

// TestAdminDisabledAndPprof: admin.listen "" starts no listener; pprof is
// served only when enabled.
func TestAdminDisabledAndPprof(t *testing.T) {
	e := startDaemonWith(t, func(cfg *Config) { cfg.Admin.Listen = "" })
	if e.run.AdminAddr != nil {
		t.Errorf("admin listening on %s with admin.listen empty", e.run.AdminAddr)
	}
	e2 := startDaemonWith(t, func(cfg *Config) {
		cfg.Admin.Pprof = true
		// Core peers nobody listens on.
		cfg.HSS.Peers = []CorePeerConfig{{OriginHost: "hss.operator.example", Address: "127.0.0.1:1"}}
		cfg.SMSC.Peers = []CorePeerConfig{{OriginHost: "smsc.operator.example", Address: "127.0.0.1:1"}}
	})
	addr := e2.run.AdminAddr.String()
	if code, body := httpGet(t, addr, "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	// No core peer in this setup: not ready, with both reasons.
	code, body := httpGet(t, addr, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no HSS peer up") || !strings.Contains(body, "no SMS-SC peer up") {
		t.Errorf("/readyz: %d %q", code, body)
	}
}
