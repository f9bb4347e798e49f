package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// coreCounters is the part of coresim's GET /counters the report uses: how
// many SIRs and DTRs its handlers answered (a request its connection
// refused with 3004 before any handler ran is not counted) and how its
// delivery reports went.
type coreCounters struct {
	SIRReceived  uint64 `json:"sir_received"`
	DTRReceived  uint64 `json:"dtr_received"`
	DRRSent      uint64 `json:"drr_sent"`
	DRRRetries   uint64 `json:"drr_retries"`
	DRRAbandoned uint64 `json:"drr_abandoned"`
	DRAReceived  uint64 `json:"dra_received"`
}

func (c *coreCounters) minus(o *coreCounters) *coreCounters {
	return &coreCounters{
		SIRReceived: c.SIRReceived - o.SIRReceived, DTRReceived: c.DTRReceived - o.DTRReceived,
		DRRSent: c.DRRSent - o.DRRSent, DRRRetries: c.DRRRetries - o.DRRRetries,
		DRRAbandoned: c.DRRAbandoned - o.DRRAbandoned, DRAReceived: c.DRAReceived - o.DRAReceived,
	}
}

func (c *coreCounters) String() string {
	if c == nil {
		return "-"
	}
	return fmt.Sprintf("%d / %d / %d (%d retries)", c.SIRReceived, c.DTRReceived, c.DRRSent, c.DRRRetries)
}

// coreCounters reads coresim's counters from its loopback control endpoint.
func (e *env) coreCounters(ctx context.Context) (*coreCounters, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/counters", e.controlPort), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("coresim counters: %s", resp.Status)
	}
	var c coreCounters
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return nil, err
	}
	return &c, nil
}
