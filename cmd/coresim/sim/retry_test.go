package sim_test

import (
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/t4"
)

// TestDRRRetry: a DRA that asks for another try (3004, 5012) gets a new DRR:
// a fresh End-to-End id and no T bit, since the old one was answered.
func TestDRRRetry(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(n int) (core.Result, bool)
		sends     int
		draResult map[string]uint64
	}{
		{name: "too busy twice, then 2001", answer: func(n int) (core.Result, bool) {
			if n <= 2 {
				return core.ResultCode(3004), false
			}
			return core.ResultCode(2001), false
		}, sends: 3, draResult: map[string]uint64{"3004": 2, "2001": 1}},
		{name: "unable to comply, then 2001", answer: func(n int) (core.Result, bool) {
			if n == 1 {
				return core.ResultCode(5012), false
			}
			return core.ResultCode(2001), false
		}, sends: 2, draResult: map[string]uint64{"5012": 1, "2001": 1}},
		{name: "a final refusal is not retried", answer: func(n int) (core.Result, bool) { return core.ResultCode(5004), false },
			sends: 1, draResult: map[string]uint64{"5004": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			sk := newSink(t, tt.answer)
			c := r.dialSMSC(sk)
			submit(t, c, t4Dict(t), dtr(meterUser, smeaA, 7, t4.Trigger, 0))
			first := sk.next()
			for i := 2; i <= tt.sends; i++ {
				again := sk.next()
				if again.flags&godiam.RetransmittedFlag != 0 {
					t.Errorf("DRR %d after an answer has the T bit", i)
				}
				if again.e2e == first.e2e {
					t.Errorf("DRR %d after an answer reuses End-to-End %#x", i, first.e2e)
				}
				if *again.drr.ReferenceNumber != 7 || again.drr.SessionID != first.drr.SessionID {
					t.Errorf("DRR %d is another report: %+v", i, again.drr)
				}
			}
			eventually(t, "report done", func() bool { return r.sim.Counters().Reporting == 0 })
			sk.none()
			k := r.sim.Counters()
			if k.DRRSent != uint64(tt.sends) || k.DRRRetries != uint64(tt.sends-1) || k.DRRAbandoned != 0 {
				t.Errorf("counters %+v", k)
			}
			for code, n := range tt.draResult {
				if k.DRAResults[code] != n {
					t.Errorf("dra_results[%s] = %d, want %d (%v)", code, k.DRAResults[code], n, k.DRAResults)
				}
			}
		})
	}
}

// TestDRRRetransmission: a DRR without a DRA in time is retransmitted with
// the T bit and the same End-to-End id (RFC 6733 5.5.4). The MTC-IWF's
// duplicate detection (diam) holds the retransmission until the first one
// is answered and replays that answer: one report, not two.
func TestDRRRetransmission(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.DRATimeout = 100 * time.Millisecond })
	sk := newSink(t, func(n int) (core.Result, bool) { return core.ResultCode(2001), n == 1 })
	var stats diam.Stats
	c := r.dialSMSCWith(sk, diam.DialOptions{Stats: &stats})
	submit(t, c, t4Dict(t), dtr(meterUser, smeaA, 7, t4.Trigger, 0))
	sk.next() // held: no DRA
	eventually(t, "a retransmission", func() bool { return stats.Duplicates.Load() >= 1 })
	if k := r.sim.Counters(); k.DRRRetries < 1 || k.DRAReceived != 0 {
		t.Fatalf("counters while held %+v", k)
	}
	sk.let()
	eventually(t, "report done", func() bool { return r.sim.Counters().Reporting == 0 })
	k := r.sim.Counters()
	if k.DRAResults["2001"] != 1 || k.DRRAbandoned != 0 {
		t.Errorf("counters %+v", k)
	}
	sk.none()
	if n := sk.n.Load(); n != 1 {
		t.Errorf("the MTC-IWF handled %d DRRs, want 1 (the retransmissions are duplicates)", n)
	}
}

// TestDRRAfterReconnect: the MTC-IWF hangs up after the DTA; the DRR waits
// and goes out on its next connection.
func TestDRRAfterReconnect(t *testing.T) {
	r := newRig(t, nil)
	first := r.dialSMSC(nil) // no handler: a DRR on it would not get a valid DRA either
	d := t4Dict(t)
	if got := submit(t, first, d, dtr(meterUser, smeaA, 11, t4.Trigger, 0)).Result; got != core.ResultCode(2001) {
		t.Fatalf("DTA %v", got)
	}
	_ = first.Close()
	// The report is being retried (or waits for a connection) meanwhile.
	eventually(t, "trigger delivered", func() bool { return r.sim.Counters().Pending == 0 })

	sk := newSink(t, nil)
	second := r.dialSMSC(sk)
	got := sk.next()
	if got.conn != second || *got.drr.ReferenceNumber != 11 {
		t.Fatalf("DRR ref %d on conn %p, want 11 on the new connection %p", *got.drr.ReferenceNumber, got.conn, second)
	}
	eventually(t, "DRA counted", func() bool { return r.sim.Counters().DRAResults["2001"] == 1 })
	if k := r.sim.Counters(); k.DRRAbandoned != 0 {
		t.Errorf("counters %+v", k)
	}
}

// TestDRRAbandoned: the retries are bounded.
func TestDRRAbandoned(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.RetryAttempts = 3 })
	c := r.dialSMSC(nil)
	submit(t, c, t4Dict(t), dtr(meterUser, smeaA, 1, t4.Trigger, 0))
	_ = c.Close()
	eventually(t, "report abandoned", func() bool { return r.sim.Counters().DRRAbandoned == 1 })
	if k := r.sim.Counters(); k.Reporting != 0 || k.DRRSent > 3 {
		t.Errorf("counters %+v", k)
	}
	if !r.logged("DRR abandoned") {
		t.Error("no log line for the abandoned report")
	}
}

// TestCloseWithPendingWork: Close sends DPR to the connected MTC-IWF and
// forgets pending triggers and reports in flight.
func TestCloseWithPendingWork(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.DRATimeout = time.Hour })
	sk := newSink(t, func(int) (core.Result, bool) { return core.Result{}, true }) // never answers
	c := r.dialSMSC(sk)
	d := t4Dict(t)
	submit(t, c, d, dtr(meterUser, smeaA, 1, t4.Trigger, 0))
	sk.next() // report 1 in flight, no DRA
	if err := r.sim.Inject(sim.Injection{Target: sim.TargetDelivery, Delay: time.Hour, Count: 1}); err != nil {
		t.Fatal(err)
	}
	submit(t, c, d, dtr(meterUser, smeaA, 2, t4.Trigger, 0)) // pending for an hour
	if k := r.sim.Counters(); k.Pending != 1 || k.Reporting != 1 {
		t.Fatalf("counters %+v", k)
	}
	done := make(chan error, 1)
	go func() { done <- r.sim.Close() }()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client not disconnected")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if k := r.sim.Counters(); k.Pending != 0 || k.Reporting != 0 {
		t.Errorf("after Close %+v", k)
	}
}
