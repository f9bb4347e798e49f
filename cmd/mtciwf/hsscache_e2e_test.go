package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// policyCached is testPolicy's scs1 with the HSS answer cache on.
var policyCached = strings.Replace(testPolicy, `    agents: [dra1.scs.example]
    scs_identity: "491719900001"
`, `    agents: [dra1.scs.example]
    scs_identity: "491719900001"
    hss_cache: {ttl: 10m, negative_ttl: 5m}
`, 1)

// TestHSSCache: with hss_cache in the SCS's policy, the HSS is asked once
// per UE (TS 23.682 5.2.1 NOTE 2), a permanent refusal is remembered too,
// a transient failure is not, and a policy reload forgets everything.
func TestHSSCache(t *testing.T) {
	if policyCached == testPolicy {
		t.Fatal("policyCached did not change testPolicy: the replacement text is stale")
	}
	coreSim, hss, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	g.writePolicy(t, policyCached)
	eventually(t, "policy reloaded", func() bool { return g.logged("authorization policy reloaded") })
	c := g.scs(t, "scs1")
	sirs := func() uint64 { return coreSim.Counters().SIRReceived }
	send := func(ref uint32, extID string, want tsp.RequestStatus) {
		t.Helper()
		if st, msg := c.send(trig{extID: extID, ref: ref}); st != want {
			t.Fatalf("reference %d for %s: Request-Status %s (%s), want %s", ref, extID, st, msg, want)
		}
	}

	// Positive: three triggers for meter-1, one SIR; each is still
	// submitted and reported.
	before := sirs()
	for ref := uint32(1); ref <= 3; ref++ {
		send(ref, "meter-1@iot.example.com", tsp.StatusSuccess)
	}
	if n := sirs() - before; n != 1 {
		t.Fatalf("%d SIRs for three triggers to one UE with the cache on, want 1", n)
	}
	for ref := uint32(1); ref <= 3; ref++ {
		if o := c.waitReport(ref); o != tsp.OutcomeSuccess {
			t.Fatalf("reference %d: report %s", ref, o)
		}
	}
	// Another UE is another entry.
	send(4, "tracker-2@iot.example.com", tsp.StatusSuccess)
	if n := sirs() - before; n != 2 {
		t.Fatalf("%d SIRs after a second UE, want 2", n)
	}

	// Negative: the HSS does not know nobody@ (5001 -> 102); asked once.
	before = sirs()
	send(10, "nobody@iot.example.com", tsp.StatusInvExtID)
	send(11, "nobody@iot.example.com", tsp.StatusInvExtID)
	if n := sirs() - before; n != 1 {
		t.Fatalf("%d SIRs for two triggers to an unknown UE, want 1 (negative cache)", n)
	}

	// Transient: a dropped SIR is not cached; the next trigger asks again.
	if err := coreSim.Inject(sim.Injection{Target: sim.TargetHSS, Drop: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	before = sirs()
	send(20, "sleeper-4@iot.example.com", tsp.StatusTemporaryError)
	coreSim.ClearInjections(sim.TargetHSS)
	send(21, "sleeper-4@iot.example.com", tsp.StatusSuccess)
	if n := sirs() - before; n != 2 {
		t.Fatalf("%d SIRs around a dropped SIR, want 2 (transient failures are not cached)", n)
	}

	// A policy reload empties the cache: meter-1 is asked for again.
	g.writePolicy(t, policyCached+"\n# touched\n")
	eventually(t, "second reload", func() bool { return g.logs.FilterMessage("authorization policy reloaded").Len() >= 2 })
	before = sirs()
	send(30, "meter-1@iot.example.com", tsp.StatusSuccess)
	if n := sirs() - before; n != 1 {
		t.Fatalf("%d SIRs after a policy reload, want 1 (the cache must be emptied)", n)
	}
}
