package sim

import (
	"maps"
	"strconv"
	"sync"
)

// Counters is a snapshot of what the simulator saw and did since it started
// (or since ResetCounters). Result maps are keyed by the code as a decimal
// string ("2001", "5510"), or "drop" for a request left unanswered.
type Counters struct {
	// SIRReceived counts SIRs on S6m; SIAResults the answers by result.
	SIRReceived uint64            `json:"sir_received"`
	SIAResults  map[string]uint64 `json:"sia_results"`
	// DTRReceived counts DTRs on T4; DTRActions by Trigger-Action (trigger,
	// recall, replace); DTAResults the answers by result.
	DTRReceived uint64            `json:"dtr_received"`
	DTRActions  map[string]uint64 `json:"dtr_actions"`
	DTAResults  map[string]uint64 `json:"dta_results"`
	// DRRSent counts DRRs written, repeats included; DRRRetries the repeats
	// alone (retransmissions with the T bit after no answer, new DRRs after a
	// DRA asking for another try); DRRAbandoned the reports given up after
	// the last attempt; DRROutcomes the reports by delivery outcome (once
	// per report).
	DRRSent      uint64            `json:"drr_sent"`
	DRRRetries   uint64            `json:"drr_retries"`
	DRRAbandoned uint64            `json:"drr_abandoned"`
	DRROutcomes  map[string]uint64 `json:"drr_outcomes"`
	// DRAReceived counts DRAs; DRAResults by Result-Code or
	// Experimental-Result-Code.
	DRAReceived uint64            `json:"dra_received"`
	DRAResults  map[string]uint64 `json:"dra_results"`
	// Pending is the number of triggers waiting for delivery (recallable);
	// Reporting the number of delivered triggers whose DRA has not come yet.
	Pending   int `json:"pending_triggers"`
	Reporting int `json:"reports_in_flight"`
}

// counters is the live, locked form of Counters.
type counters struct {
	mu sync.Mutex
	c  Counters
}

func newCounters() *counters {
	c := &counters{}
	c.reset()
	return c
}

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = Counters{
		SIAResults:  map[string]uint64{},
		DTRActions:  map[string]uint64{},
		DTAResults:  map[string]uint64{},
		DRROutcomes: map[string]uint64{},
		DRAResults:  map[string]uint64{},
	}
}

func (c *counters) update(f func(*Counters)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.c)
}

// snapshot copies the counters; gauges are filled in by the caller.
func (c *counters) snapshot() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.c
	s.SIAResults = maps.Clone(c.c.SIAResults)
	s.DTRActions = maps.Clone(c.c.DTRActions)
	s.DTAResults = maps.Clone(c.c.DTAResults)
	s.DRROutcomes = maps.Clone(c.c.DRROutcomes)
	s.DRAResults = maps.Clone(c.c.DRAResults)
	return s
}

// resultKey is the map key of a result code, "drop" for none.
func resultKey(code uint32) string {
	if code == 0 {
		return "drop"
	}
	return strconv.FormatUint(uint64(code), 10)
}
