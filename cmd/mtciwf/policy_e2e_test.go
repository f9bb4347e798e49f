package main

// End-to-end authorization policy: the wired daemon, coresim, real TLS.

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/diam/tsp"
)

// writePolicy replaces the daemon's policy file the way an operator's
// deployment does: write aside, then rename over it.
func (g *gateway) writePolicy(t *testing.T, text string) {
	t.Helper()
	tmp := g.cfg.PolicyFile + ".new"
	writeFile(t, tmp, []byte(text))
	if err := os.Rename(tmp, g.cfg.PolicyFile); err != nil {
		t.Fatal(err)
	}
}

const policyBase = `
scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    scs_identity: "491719900001"
    limits: {max_payload_bytes: 100, max_validity: 1h, priorities: [non_priority]}
    rules:
      - {allow: {external_id_domain: iot.example.com}, ports: ["9000-9009"], actions: [trigger]}
      - {deny: {external_id: tracker-2@iot.example.com}}
  - id: scs2
    peers: [{origin_host: scs2.scs.example, realm: scs.example}]
    scs_identity: "491719900002"
    rules:
      - {allow: {external_id: meter-1@iot.example.com}}
`

func TestPolicyDecisionsBeforeTheCore(t *testing.T) {
	coreSim, hss, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	g.writePolicy(t, policyBase)
	eventually(t, "policy reloaded", func() bool { return g.logged("authorization policy reloaded") })
	c := g.scs(t, "scs1")
	cases := []struct {
		name string
		tr   trig
		want tsp.RequestStatus
	}{
		{"UE denied by a deny rule", trig{extID: "tracker-2@iot.example.com"}, tsp.StatusNotAuthorized},
		{"UE outside every allow rule", trig{msisdn: "491710000003"}, tsp.StatusNotAuthorized},
		{"payload above the SCS's limit", trig{extID: "meter-1@iot.example.com", payload: make([]byte, 101)}, tsp.StatusInvPayload},
		{"validity above the SCS's limit", trig{extID: "meter-1@iot.example.com", validity: 7200}, tsp.StatusInvPeriod},
		{"SCS-Identity of another SCS", trig{extID: "meter-1@iot.example.com", scsID: "491719900002"}, tsp.StatusInvSCSID},
		{"action not allowed (recall)", trig{action: tsp.DeviceTriggerRecall, extID: "meter-1@iot.example.com", oldRef: 1}, tsp.StatusNotAuthorized},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.tr.ref = uint32(200 + i)
			if st, msg := c.send(tc.tr); st != tc.want {
				t.Fatalf("Request-Status %s (%s), want %s", st, msg, tc.want)
			} else if msg == "" {
				t.Error("no Error-Message")
			}
		})
	}
	if n := coreSim.Counters().SIRReceived; n != 0 {
		t.Fatalf("%d SIRs sent to the HSS for requests the policy refused", n)
	}
	audited := false
	for _, l := range g.logs.All() {
		if l.LoggerName != "audit" {
			continue
		}
		if fmtContains(l.ContextMap(), "tracker-2@") {
			t.Errorf("audit line with the UE identity in the clear: %v", l.ContextMap())
		}
		audited = audited || fmtContains(l.ContextMap(), "t***@iot.example.com")
	}
	if !audited {
		t.Error("no audit line with the denied UE masked")
	}
	// A UE the policy allows goes through.
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 299}); st != tsp.StatusSuccess {
		t.Fatalf("allowed trigger: %s (%s)", st, msg)
	}
}

func TestPolicyQuotaSurvivesRestart(t *testing.T) {
	_, hss, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	g.writePolicy(t, `
scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    scs_identity: "491719900001"
    limits: {quota: [{window: 24h, count: 2}]}
    rules: [{allow: {external_id_domain: iot.example.com}}]
`)
	eventually(t, "policy reloaded", func() bool { return g.logged("authorization policy reloaded") })
	c := g.scs(t, "scs1")
	// Refused by the rules first: must not spend quota (rate and quota
	// come after authorization).
	for ref := uint32(91); ref <= 93; ref++ {
		if st, _ := c.send(trig{msisdn: "491710000003", ref: ref}); st != tsp.StatusNotAuthorized {
			t.Fatalf("UE outside the rules: %s", st)
		}
	}
	for ref := uint32(1); ref <= 2; ref++ {
		if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: ref}); st != tsp.StatusSuccess {
			t.Fatalf("trigger %d: %s (%s)", ref, st, msg)
		}
	}
	if st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 3}); st != tsp.StatusQuotaExceeded {
		t.Fatalf("third trigger: %s, want QUOTAEXCEEDED", st)
	}
	// The count is in the store: restart the daemon on the same data.
	g.restart(t)
	c = g.scs(t, "scs1")
	if st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 4}); st != tsp.StatusQuotaExceeded {
		t.Fatalf("after restart: %s, want QUOTAEXCEEDED (the count is in the store)", st)
	}
}

func TestPolicyRate(t *testing.T) {
	_, hss, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	g.writePolicy(t, `
scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    scs_identity: "491719900001"
    limits: {rate: {per_second: 0.001, burst: 2}}
    rules: [{allow: {external_id_domain: iot.example.com}}]
`)
	eventually(t, "policy reloaded", func() bool { return g.logged("authorization policy reloaded") })
	c := g.scs(t, "scs1")
	got := map[tsp.RequestStatus]int{}
	for ref := uint32(1); ref <= 3; ref++ {
		st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: ref})
		got[st]++
	}
	// Burst 2 and one token per 1000 s: the third of three back-to-back
	// requests finds the bucket empty whatever the machine's speed.
	if got[tsp.StatusSuccess] != 2 || got[tsp.StatusRateExceeded] != 1 {
		t.Fatalf("statuses %v, want 2 SUCCESS and 1 RATEEXCEEDED", got)
	}
}

func TestPolicyHotReload(t *testing.T) {
	_, hss, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	g.writePolicy(t, policyBase)
	eventually(t, "policy reloaded", func() bool { return g.logged("authorization policy reloaded") })
	c := g.scs(t, "scs1")
	c2 := g.scs(t, "scs2")

	// An SCS keeps sending while the policy changes under it.
	var stop atomic.Bool
	var failed atomic.Int32
	var sent atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ref := uint32(1000); !stop.Load() && ref < 1400; ref++ {
			if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: ref}); st != tsp.StatusSuccess {
				t.Errorf("in-flight trigger %d during reloads: %s (%s)", ref, st, msg)
				failed.Add(1)
			}
			sent.Add(1)
		}
	}()
	eventually(t, "some triggers sent", func() bool { return sent.Load() >= 5 })

	// 1. A valid edit: meter-1 now denied for scs2, allowed for scs1 still.
	g.writePolicy(t, policyBase+"      - {deny: {external_id: meter-1@iot.example.com}}\n")
	defer func() {
		if t.Failed() {
			for _, l := range g.logs.All() {
				if l.LoggerName == "policy" || l.LoggerName == "audit" || l.Message == "authorization policy reloaded" {
					t.Logf("%s %s %v", l.LoggerName, l.Message, l.ContextMap())
				}
			}
		}
	}()
	eventually(t, "new policy in force", func() bool {
		st, _ := c2.send(trig{extID: "meter-1@iot.example.com", scsID: "491719900002", ref: uint32(time.Now().UnixNano() & 0xffffff)})
		return st == tsp.StatusNotAuthorized
	})

	// 2. An invalid edit: the previous policy stays in force and the error
	// is logged with the file and line.
	g.writePolicy(t, "scs:\n  - id: scs1\n    peers: nonsense\n")
	eventually(t, "invalid policy logged with file and line", func() bool {
		return g.logged("policy reload failed; the previous policy stays in force", "policy.yaml:3")
	})
	if st, _ := c2.send(trig{extID: "meter-1@iot.example.com", scsID: "491719900002", ref: 77}); st != tsp.StatusNotAuthorized {
		t.Fatalf("after an invalid edit scs2 got %s: the previous policy should still deny it", st)
	}

	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 || sent.Load() == 0 {
		t.Fatalf("%d of %d triggers failed while the policy was reloaded", failed.Load(), sent.Load())
	}

	// 3. A peer removed from the policy is disconnected with DPR.
	g.writePolicy(t, `
scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    scs_identity: "491719900001"
    rules: [{allow: {external_id_domain: iot.example.com}}]
`)
	select {
	case <-c2.conn.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("scs2 still connected after its policy entry was removed")
	}
	select {
	case <-c.conn.Done():
		t.Fatal("scs1 was disconnected although its entry stayed")
	case <-time.After(300 * time.Millisecond):
	}
}

func fmtContains(m map[string]any, s string) bool {
	for _, v := range m {
		if str, ok := v.(string); ok && strings.Contains(str, s) {
			return true
		}
	}
	return false
}
