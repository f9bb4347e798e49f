package iwf

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mtciwf/mtciwf/diam/tsp"
)

// TestStoreGauges: open triggers and the outbox depth are read from the
// store at scrape time, for both stores.
func TestStoreGauges(t *testing.T) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.open(t)
			mustCreate(t, s, newTrigger("scs1.example", 1))
			mustCreate(t, s, newTrigger("scs1.example", 2))
			tr, err := s.Get(context.Background(), "scs1.example", 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Update(context.Background(), reported(tr, t0.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
			m := NewMetrics(s)
			m.request("SCS1.example", tsp.DeviceTriggerRequest, tsp.StatusSuccess, 3*time.Millisecond)
			m.report("scs1.example", tsp.OutcomeExpired)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(m)
			want := `
# HELP mtciwf_iwf_open_triggers Triggers in the store not yet closed (waiting for a delivery report or owed one); -1 if the store cannot be read.
# TYPE mtciwf_iwf_open_triggers gauge
mtciwf_iwf_open_triggers 2
# HELP mtciwf_iwf_outbox_depth Triggers whose delivery report is owed to the SCS (DNR not yet acknowledged); -1 if the store cannot be read.
# TYPE mtciwf_iwf_outbox_depth gauge
mtciwf_iwf_outbox_depth 1
# HELP mtciwf_iwf_requests_total Device-Action requests answered, by SCS (Origin-Host), Action-Type and Request-Status.
# TYPE mtciwf_iwf_requests_total counter
mtciwf_iwf_requests_total{action="DEVICE_TRIGGER_REQUEST",request_status="SUCCESS",scs="scs1.example"} 1
# HELP mtciwf_iwf_delivery_reports_total Delivery reports (DNR) acknowledged by the SCS, by SCS (Origin-Host) and Delivery-Outcome.
# TYPE mtciwf_iwf_delivery_reports_total counter
mtciwf_iwf_delivery_reports_total{delivery_outcome="EXPIRED",scs="scs1.example"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mtciwf_iwf_open_triggers", "mtciwf_iwf_outbox_depth",
				"mtciwf_iwf_requests_total", "mtciwf_iwf_delivery_reports_total"); err != nil {
				t.Error(err)
			}
			_ = s.Close()
			if v := testutil.ToFloat64(m.openTriggers); v != -1 {
				t.Errorf("open_triggers of a closed store = %v, want -1", v)
			}
		})
	}
	var nilMetrics *Metrics // a gateway without metrics counts nothing
	nilMetrics.request("x", tsp.DeviceTriggerRequest, tsp.StatusSuccess, 0)
	nilMetrics.report("x", tsp.OutcomeSuccess)
	nilMetrics.s6m(0)
	nilMetrics.t4(0)
	nilMetrics.egressRefused()
}
