package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
)

// coreCounters is coresim's GET /counters (sim.Counters, so the JSON keys
// cannot drift from what coresim writes). The report uses how many SIRs and
// DTRs its handlers answered (a request its connection refused with 3004
// before any handler ran is not counted) and how its delivery reports went.
type coreCounters sim.Counters

func (c *coreCounters) minus(o *coreCounters) *coreCounters {
	return &coreCounters{
		SIRReceived: c.SIRReceived - o.SIRReceived, DTRReceived: c.DTRReceived - o.DTRReceived,
		DRRSent: c.DRRSent - o.DRRSent, DRRRetries: c.DRRRetries - o.DRRRetries,
		DRRAbandoned: c.DRRAbandoned - o.DRRAbandoned, DRAReceived: c.DRAReceived - o.DRAReceived,
		DRAResults: diffCounts(c.DRAResults, o.DRAResults),
	}
}

// diffCounts is a - b per key, leaving out keys that did not grow.
func diffCounts(a, b map[string]uint64) map[string]uint64 {
	d := map[string]uint64{}
	for k, v := range a {
		if v > b[k] {
			d[k] = v - b[k]
		}
	}
	return d
}

func (c *coreCounters) String() string {
	if c == nil {
		return "-"
	}
	s := fmt.Sprintf("%d / %d / %d (%d retries", c.SIRReceived, c.DTRReceived, c.DRRSent, c.DRRRetries)
	keys := make([]string, 0, len(c.DRAResults))
	for k := range c.DRAResults {
		if k != "2001" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += fmt.Sprintf("; DRA %s: %d", k, c.DRAResults[k])
	}
	if c.DRRAbandoned > 0 {
		s += fmt.Sprintf("; %d abandoned", c.DRRAbandoned)
	}
	return s + ")"
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
