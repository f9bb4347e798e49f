package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mtciwf/mtciwf/iwf"
)

// commitProbe is the latency of one store commit on the benchmark's
// filesystem: n triggers created one after another (each its own
// transaction, two fdatasyncs), the same write a DAR waits for before its
// DTR. It is the floor under DAR->DAA latency on this disk.
type commitProbe struct {
	N             int
	P50, P99, Max time.Duration
}

func probeCommits(ctx context.Context, dir string, n int) (*commitProbe, error) {
	d, err := os.MkdirTemp(dir, "commit-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(d)
	st, err := iwf.OpenBoltStore(filepath.Join(d, "probe.db"), iwf.BoltOptions{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := time.Now().UTC()
	lat := make([]time.Duration, 0, n)
	for i := range n {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t := &iwf.Trigger{
			SCS: "probe.scs.example", SCSRealm: "scs.example", Reference: uint32(i + 1),
			ExternalID: "meter-1@iot.example.com", SCSIdentity: "491719900001", IMSI: "001010000000001",
			SMEA: "491719900001", SMSC: "smsc.operator.example",
			AcceptedAt: now, ExpiresAt: now.Add(time.Hour), State: iwf.TriggerAccepted,
		}
		t0 := time.Now()
		if err := st.Create(ctx, t); err != nil {
			return nil, fmt.Errorf("commit probe: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return &commitProbe{N: n, P50: lat[n/2], P99: lat[n*99/100], Max: lat[n-1]}, nil
}
