package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/mtciwf/mtciwf/diam/tsp"
)

func TestAdminHandler(t *testing.T) {
	var missing []string
	h := adminHandler(newRegistry(), func(context.Context) []string { return missing }, false)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz %d %q", code, body)
	}
	missing = []string{"no HSS peer up", "no SMS-SC peer up"}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body != "not ready: no HSS peer up; no SMS-SC peer up\n" {
		t.Errorf("/readyz %d %q", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "mtciwf_build_info{") {
		t.Errorf("/metrics %d", code)
	}
	if code, _ := get("/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ %d with pprof off", code)
	}
	h = adminHandler(newRegistry(), func(context.Context) []string { return nil }, true)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/cmdline", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/debug/pprof/cmdline %d with pprof on", rec.Code)
	}
}

// gatherAfterTraffic runs one trigger with its delivery report through a
// daemon, so every labelled family has a series, and gathers its registry.
func gatherAfterTraffic(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	_, hss, smsc := startCore(t, 20*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	// scs1 with the HSS answer cache, so its lookups counter has a series.
	g.writePolicy(t, policyCached)
	eventually(t, "policy reloaded", func() bool { return g.logged("authorization policy reloaded") })
	c := g.scs(t, "scs1")
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 1}); st != tsp.StatusSuccess {
		t.Fatalf("Request-Status %s (%s)", st, msg)
	}
	c.waitReport(1)
	eventually(t, "report counted", func() bool { return g.run.Gateway.Stats.Reports.Load() == 1 })
	mfs, err := g.run.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// identityLabel matches a label name that could carry a subscriber's
// identity (DESIGN.md: metrics never carry identities as labels).
var identityLabel = regexp.MustCompile(`(?i)imsi|msisdn|external|extid|(^|_)ue(_|$)|user|subscriber|device|supi|gpsi|e164|identifier`)

func TestMetricsLintAndNoIdentityLabels(t *testing.T) {
	mfs := gatherAfterTraffic(t)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if identityLabel.MatchString(lp.GetName()) {
					t.Errorf("%s has label %q: a label must never be able to carry a UE identity", mf.GetName(), lp.GetName())
				}
			}
		}
	}
	for _, want := range []string{"mtciwf_iwf_requests_total", "mtciwf_iwf_delivery_reports_total", "mtciwf_iwf_dar_daa_duration_seconds",
		"mtciwf_iwf_s6m_round_trip_seconds", "mtciwf_iwf_t4_round_trip_seconds", "mtciwf_diam_peers_up",
		"mtciwf_security_tls_handshake_failures_total", "mtciwf_diam_frame_guard_rejections_total", "mtciwf_diam_duplicate_cache_hits_total",
		"mtciwf_iwf_outbox_depth", "mtciwf_iwf_open_triggers", "mtciwf_policy_reloads_total", "mtciwf_build_info",
		"mtciwf_iwf_hss_cache_lookups_total"} {
		if !names[want] {
			t.Errorf("registry lacks %s", want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestGrafanaDashboard: configs/grafana-dashboard.json is a dashboard whose
// every query uses metrics the daemon exposes.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Type    string   `json:"type"`
		Targets []target `json:"targets"`
	}
	var d struct {
		Title         string  `json:"title"`
		UID           string  `json:"uid"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name, Type string
			} `json:"list"`
		} `json:"templating"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 || len(d.Panels) == 0 {
		t.Errorf("title %q uid %q schemaVersion %d, %d panels", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	hasDS := false
	for _, v := range d.Templating.List {
		hasDS = hasDS || v.Type == "datasource"
	}
	if !hasDS {
		t.Error("no datasource variable")
	}

	exposed := map[string]bool{}
	for _, mf := range gatherAfterTraffic(t) {
		exposed[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exposed[mf.GetName()+s] = true
			}
		}
	}
	metricName := regexp.MustCompile(`\bmtciwf_[a-z0-9_]+`)
	used := 0
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				used++
				if !exposed[name] {
					t.Errorf("panel %q uses %s, which the daemon does not expose", p.Title, name)
				}
			}
		}
	}
	if used == 0 {
		t.Error("no mtciwf metric in any query")
	}
}
