package diam

import (
	"maps"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector(t *testing.T) {
	srv := &Server{}
	srv.Stats.frameRefused(ResultInvalidMessageLength)
	srv.Stats.frameRefused(ResultInvalidMessageLength)
	srv.Stats.frameRefused(ResultUnsupportedVersion)
	srv.Stats.RefusedCER.Add(3)
	srv.Stats.Duplicates.Add(1)
	pool := NewPool(PoolConfig{Name: "hss", Peers: []CorePeer{{Host: "hss.example", Addr: "127.0.0.1:1"}}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(srv, pool))
	want := `
# HELP mtciwf_diam_frame_guard_rejections_total Frames refused by the frame guard before decoding, by the result code answered (5011 version, 5015 length, 3008 E-bit, 5014 AVP length, 5012 depth/count...).
# TYPE mtciwf_diam_frame_guard_rejections_total counter
mtciwf_diam_frame_guard_rejections_total{result_code="3008",role="hss"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="3008",role="tsp"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5004",role="hss"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5004",role="tsp"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5011",role="hss"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5011",role="tsp"} 1
mtciwf_diam_frame_guard_rejections_total{result_code="5012",role="hss"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5012",role="tsp"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5014",role="hss"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5014",role="tsp"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5015",role="hss"} 0
mtciwf_diam_frame_guard_rejections_total{result_code="5015",role="tsp"} 2
# HELP mtciwf_diam_peers_up Core peers (hss, smsc) whose connection is open (capabilities exchanged, watchdog OKAY).
# TYPE mtciwf_diam_peers_up gauge
mtciwf_diam_peers_up{role="hss"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"mtciwf_diam_frame_guard_rejections_total", "mtciwf_diam_peers_up"); err != nil {
		t.Error(err)
	}
	if srv.Stats.BadFrames.Load() != 3 {
		t.Errorf("BadFrames %d", srv.Stats.BadFrames.Load())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// value is the counter of metric name with the given labels; a missing
	// series fails the test rather than passing unchecked.
	value := func(name string, want map[string]string) float64 {
		t.Helper()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if maps.Equal(l, want) {
					return m.GetCounter().GetValue()
				}
			}
		}
		t.Fatalf("no series %s%v", name, want)
		return 0
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mtciwf_diam_connections_refused_total", map[string]string{"role": "tsp", "reason": "cer"}, 3},
		{"mtciwf_diam_duplicate_cache_hits_total", map[string]string{"role": "tsp"}, 1},
	} {
		if got := value(tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
