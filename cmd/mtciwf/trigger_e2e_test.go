package main

// End-to-end device triggering: the wired daemon, real TLS on Tsp, and
// coresim's HSS and SMS-SC as real Diameter peers, all on 127.0.0.1.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// startCore runs coresim on 127.0.0.1 with the example subscriber file.
func startCore(t *testing.T, delivery time.Duration) (*sim.Sim, string, string) {
	t.Helper()
	return startSim(t, "127.0.0.1:0", "127.0.0.1:0", delivery)
}

// gateway is a daemon started for triggering tests; restart keeps its data.
type gateway struct {
	*e2e
}

func startGateway(t *testing.T, hssAddrs []string, smscAddr string, mod func(*Config)) *gateway {
	t.Helper()
	g := &gateway{}
	t.Cleanup(func() {
		// DESIGN.md step 9: the egress check must never have to refuse
		// anything the procedures built.
		if g.e2e != nil && g.run != nil {
			if n := g.run.Gateway.Stats.EgressRefusals.Load(); n != 0 {
				t.Errorf("%d Tsp messages refused by the egress check", n)
			}
		}
	})
	g.e2e = startDaemonWith(t, func(cfg *Config) {
		cfg.Tsp.Peers = []PeerConfig{
			{OriginHost: "scs1.scs.example", OriginRealm: "scs.example", Kind: PeerKindSCS},
			{OriginHost: "scs2.scs.example", OriginRealm: "scs.example", Kind: PeerKindSCS},
		}
		cfg.HSS.Peers = nil
		for i, a := range hssAddrs {
			cfg.HSS.Peers = append(cfg.HSS.Peers, CorePeerConfig{OriginHost: fmt.Sprintf("hss%d.operator.example", i), Address: a})
		}
		cfg.HSS.Peers[len(cfg.HSS.Peers)-1].OriginHost = "hss.operator.example"
		cfg.SMSC.Peers = []CorePeerConfig{{OriginHost: "smsc.operator.example", Address: smscAddr}}
		cfg.HSS.RequestTimeout = 500 * time.Millisecond
		cfg.SMSC.RequestTimeout = 500 * time.Millisecond
		cfg.Triggers.ReportRetryMin = 50 * time.Millisecond
		cfg.Triggers.ReportRetryMax = 200 * time.Millisecond
		if mod != nil {
			mod(cfg)
		}
	})
	return g
}

// scsClient is an SCS on Tsp that records every message the daemon sends
// it, and answers DNRs.
type scsClient struct {
	t    *testing.T
	conn *diam.Conn
	*reportBook
}

// reportBook holds the delivery reports an SCS received, across its
// reconnections (one per daemon under test).
type reportBook struct {
	mu      sync.Mutex
	reports map[uint32][]tsp.DeliveryOutcome
	seen    []*godiam.Message // every message from the daemon
	// e2e holds the End-to-End ids of the DNRs received: like any SCS doing
	// RFC 6733 5.5.4 duplicate detection, a retransmission (T flag, same
	// End-to-End id, possibly on a new connection) is acknowledged again but
	// is not a second report.
	e2e        map[uint32]bool
	duplicates int
}

func (e *e2e) scs(t *testing.T, name string) *scsClient {
	t.Helper()
	if e.book == nil {
		e.book = &reportBook{reports: map[uint32][]tsp.DeliveryOutcome{}, e2e: map[uint32]bool{}}
	}
	c := &scsClient{t: t, reportBook: e.book}
	d, _ := dictionaries.Tsp()
	cfg := diam.Config{
		Identity: diam.Identity{OriginHost: name + ".scs.example", OriginRealm: "scs.example", ProductName: "e2e-scs"},
		App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
		Handler: diam.HandlerFunc(func(ctx context.Context, conn *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
			c.record(req)
			dnr, perr := tsp.DecodeDNR(req)
			if perr != nil {
				t.Errorf("undecodable DNR: %v", perr)
				return conn.NewErrorAnswer(req, perr.Code, perr.Reason), nil
			}
			c.mu.Lock()
			if c.e2e[req.Header.EndToEndID] {
				if req.Header.CommandFlags&godiam.RetransmittedFlag == 0 {
					t.Errorf("DNR %d repeated without the T flag", dnr.DeviceNotification.ReferenceNumber)
				}
				c.duplicates++
			} else {
				c.e2e[req.Header.EndToEndID] = true
				c.reports[dnr.DeviceNotification.ReferenceNumber] = append(c.reports[dnr.DeviceNotification.ReferenceNumber], *dnr.DeviceNotification.DeliveryOutcome)
			}
			c.mu.Unlock()
			return (&tsp.DNA{Result: core.ResultCode(diam.ResultSuccess)}).Answer(req, conn.Identity())
		}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc := &tls.Config{RootCAs: e.pool(), ServerName: "mtciwf.operator.example", Certificates: []tls.Certificate{e.leaves[name].TLS}}
	conn, err := diam.Dial(ctx, "tcp", e.addr, cfg, diam.DialOptions{TLSConfig: tc})
	if err != nil {
		t.Fatalf("SCS %s: %v", name, err)
	}
	c.conn = conn
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// record keeps a message the daemon sent and checks the privacy rules on
// it at once: nothing outside the ABNF, no User-Name / User-Identifier /
// Serving-Node, and no IMSI of the subscriber file anywhere in its bytes.
func (c *scsClient) record(m *godiam.Message) {
	d, _ := dictionaries.Tsp()
	if err := tsp.CheckEgress(m, d); err != nil {
		c.t.Errorf("daemon sent a Tsp message that fails the egress check: %v", err)
	}
	b, _ := m.Serialize()
	for _, imsi := range []string{"001010000000001", "001010000000002", "001010000000003", "001010000000004", "001010000000005"} {
		if bytes.Contains(b, []byte(imsi)) {
			c.t.Errorf("daemon sent an IMSI over Tsp (command %d)", m.Header.CommandCode)
		}
		if tb, err := diam.EncodeTBCD(imsi); err == nil && bytes.Contains(b, tb) {
			c.t.Errorf("daemon sent a TBCD IMSI over Tsp (command %d)", m.Header.CommandCode)
		}
	}
	c.mu.Lock()
	c.seen = append(c.seen, m)
	c.mu.Unlock()
}

type trig struct {
	action        tsp.ActionType
	extID, msisdn string
	scsID         string
	ref, oldRef   uint32
	payload       []byte
	validity      uint32
}

// send sends one DAR and returns the DAA's Request-Status and Error-Message.
func (c *scsClient) send(tr trig) (tsp.RequestStatus, string) {
	c.t.Helper()
	if tr.action == 0 {
		tr.action = tsp.DeviceTriggerRequest
	}
	if tr.scsID == "" {
		tr.scsID = "491719900001"
	}
	da := tsp.DeviceAction{ExternalIdentifier: tr.extID, MSISDN: tr.msisdn, SCSIdentity: tr.scsID,
		ReferenceNumber: tr.ref, ActionType: tr.action}
	if tr.action != tsp.DeviceTriggerRecall {
		port := uint32(9000)
		p := tr.payload
		if p == nil {
			p = []byte("wake-up")
		}
		da.TriggerData = &tsp.TriggerData{Payload: p, ApplicationPortIdentifier: &port}
	}
	if tr.validity != 0 {
		da.ValidityTime = &tr.validity
	}
	if tr.oldRef != 0 {
		o := tr.oldRef
		da.OldReferenceNumber = &o
	}
	dar := tsp.DAR{Routing: core.Routing{OriginHost: c.conn.Identity().OriginHost, OriginRealm: "scs.example", DestinationRealm: "operator.example"},
		DeviceAction: da}
	d, _ := dictionaries.Tsp()
	m, err := dar.Message(d)
	if err != nil {
		c.t.Fatalf("build DAR: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, err := c.conn.Request(ctx, m)
	if err != nil {
		c.t.Fatalf("DAR %d: %v", tr.ref, err)
	}
	c.record(ans)
	daa, perr := tsp.DecodeDAA(ans)
	if perr != nil {
		c.t.Fatalf("DAA: %v", perr)
	}
	if daa.DeviceNotification == nil || daa.DeviceNotification.RequestStatus == nil {
		c.t.Fatalf("DAA without Request-Status: result %v %q", daa.Result, daa.ErrorMessage)
	}
	return *daa.DeviceNotification.RequestStatus, daa.ErrorMessage
}

func (c *scsClient) waitReport(ref uint32) tsp.DeliveryOutcome {
	c.t.Helper()
	var out tsp.DeliveryOutcome
	eventually(c.t, fmt.Sprintf("delivery report for %d", ref), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if r := c.reports[ref]; len(r) > 0 {
			out = r[0]
			return true
		}
		return false
	})
	return out
}

func (c *scsClient) reportCount(ref uint32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reports[ref])
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTriggerWithDeliveryReport(t *testing.T) {
	core, hss, smsc := startCore(t, 100*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 1}); st != tsp.StatusSuccess {
		t.Fatalf("Request-Status %s (%s)", st, msg)
	}
	if o := c.waitReport(1); o != tsp.OutcomeSuccess {
		t.Fatalf("Delivery-Outcome %s", o)
	}
	ctr := core.Counters()
	if ctr.SIRReceived != 1 || ctr.DTRReceived != 1 {
		t.Errorf("coresim saw %d SIR, %d DTR; want 1, 1", ctr.SIRReceived, ctr.DTRReceived)
	}
	eventually(t, "trigger closed after the DNA", func() bool { return g.openTriggers(t) == 0 })
	if !g.logged("device action", "SUCCESS", "001010*****0001") {
		t.Error("no transaction log line with the masked IMSI")
	}
	for _, l := range g.logs.All() {
		if strings.Contains(fmt.Sprint(l.Context), "001010000000001") {
			t.Fatalf("clear IMSI in a log line: %s", l.Message)
		}
	}
}

func (g *gateway) openTriggers(t *testing.T) int {
	n, err := g.run.Store.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTriggerRefusals(t *testing.T) {
	coreSim, hss, smsc := startCore(t, 100*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	cases := []struct {
		name   string
		tr     trig
		inject *sim.Injection
		want   tsp.RequestStatus
	}{
		{"unknown UE (HSS 5001)", trig{extID: "nobody@iot.example.com"}, nil, tsp.StatusInvExtID},
		{"SCS not allowed for UE (HSS 5510)", trig{extID: "private-6@iot.example.com"}, nil, tsp.StatusNotAuthorized},
		{"trigger service off (HSS 5511)", trig{extID: "legacy-5@iot.example.com"}, nil, tsp.StatusServiceUnavailable},
		{"wrong SCS-Identity", trig{extID: "meter-1@iot.example.com", scsID: "491719900002"}, nil, tsp.StatusInvSCSID},
		{"payload too long", trig{extID: "meter-1@iot.example.com", payload: bytes.Repeat([]byte("x"), 141)}, nil, tsp.StatusInvPayload},
		{"validity too long", trig{extID: "meter-1@iot.example.com", validity: 48 * 3600}, nil, tsp.StatusInvPeriod},
		{"SMS-SC congested (5531)", trig{extID: "meter-1@iot.example.com"}, &sim.Injection{Target: sim.TargetSMSC, Result: 5531, Count: 1}, tsp.StatusTemporaryError},
		{"SMS-SC user unknown (5001)", trig{extID: "meter-1@iot.example.com"}, &sim.Injection{Target: sim.TargetSMSC, Result: 5001, Count: 1}, tsp.StatusPermanentError},
		{"HSS drops the request", trig{extID: "meter-1@iot.example.com"}, &sim.Injection{Target: sim.TargetHSS, Drop: true, Count: 1}, tsp.StatusTemporaryError},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.inject != nil {
				if err := coreSim.Inject(*tc.inject); err != nil {
					t.Fatal(err)
				}
				defer coreSim.ClearInjections(tc.inject.Target)
			}
			tc.tr.ref = uint32(100 + i)
			if st, msg := c.send(tc.tr); st != tc.want {
				t.Fatalf("Request-Status %s (%s), want %s", st, msg, tc.want)
			} else if msg == "" {
				t.Errorf("no Error-Message with %s", st)
			}
		})
	}
	if n := g.openTriggers(t); n != 0 {
		t.Errorf("%d triggers left open after refusals", n)
	}
}

func TestTriggerNoSIRWhenRefusedLocally(t *testing.T) {
	coreSim, hss, smsc := startCore(t, 100*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	c.send(trig{extID: "meter-1@iot.example.com", ref: 7, payload: bytes.Repeat([]byte("x"), 500)})
	if n := coreSim.Counters().SIRReceived; n != 0 {
		t.Fatalf("%d SIR sent for a request refused before the HSS", n)
	}
}

func TestAbsentSubscriberAndDuplicateReference(t *testing.T) {
	// Reports take 1 s: long enough for reference 12 to be still open when
	// it is used again, however slow the machine.
	_, hss, smsc := startCore(t, time.Second)
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	// Absent: still submitted (store and forward); the SMS-SC reports it.
	if st, msg := c.send(trig{extID: "sleeper-4@iot.example.com", ref: 11}); st != tsp.StatusSuccess {
		t.Fatalf("absent subscriber: %s (%s)", st, msg)
	}
	if o := c.waitReport(11); o != tsp.OutcomeUndeliverable {
		t.Errorf("absent subscriber reported %s, want UNDELIVERABLE", o)
	}
	// A Reference-Number still open is refused.
	if st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 12}); st != tsp.StatusSuccess {
		t.Fatal("first trigger refused")
	}
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 12}); st != tsp.StatusPermanentError || !strings.Contains(msg, "already used") {
		t.Fatalf("duplicate reference: %s (%s)", st, msg)
	}
}

func TestReplaceAndRecall(t *testing.T) {
	// Replace and recall act on pending triggers: the delivery delay is far
	// longer than the test, so none is delivered under it, however slow the
	// machine (2 s was not always enough under go test -race ./...).
	_, hss, smsc := startCore(t, time.Minute)
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	if st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 21}); st != tsp.StatusSuccess {
		t.Fatal("trigger refused")
	}
	// Replace 21 by 22.
	if st, msg := c.send(trig{action: tsp.DeviceTriggerReplace, extID: "meter-1@iot.example.com", ref: 22, oldRef: 21}); st != tsp.StatusSuccess {
		t.Fatalf("replace: %s (%s)", st, msg)
	}
	// Recall 22.
	if st, msg := c.send(trig{action: tsp.DeviceTriggerRecall, extID: "meter-1@iot.example.com", ref: 23, oldRef: 22}); st != tsp.StatusSuccess {
		t.Fatalf("recall: %s (%s)", st, msg)
	}
	// Recall of something not open.
	if st, _ := c.send(trig{action: tsp.DeviceTriggerRecall, extID: "meter-1@iot.example.com", ref: 24, oldRef: 999}); st != tsp.StatusRecallFail {
		t.Fatalf("recall of unknown: %s", st)
	}
	// The replaced-and-recalled meter-1 takes a new trigger.
	if st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 25}); st != tsp.StatusSuccess {
		t.Fatal("trigger refused")
	}
	time.Sleep(10 * time.Millisecond)
	if n := g.openTriggers(t); n != 1 {
		t.Errorf("%d open triggers, want 1 (25)", n)
	}
	if rec, err := g.run.Store.Get(context.Background(), "scs1.scs.example", 25); err != nil {
		t.Errorf("trigger 25 not in the store: %v", err)
	} else if rec.SMSC != "smsc.operator.example" {
		t.Errorf("stored trigger 25 names SMS-SC %q, want smsc.operator.example", rec.SMSC)
	}
	for _, ref := range []uint32{21, 22} {
		if c.reportCount(ref) != 0 {
			t.Errorf("replaced/recalled trigger %d got a report", ref)
		}
	}
}

// TestRecallDeliveredTrigger: a trigger the SMS-SC has delivered cannot be
// recalled, even before its report: the SMS-SC says the original is no
// longer pending (5535) and the SCS is told it was already sent (112).
func TestRecallDeliveredTrigger(t *testing.T) {
	coreSim, hss, smsc := startCore(t, 50*time.Millisecond)
	// Delivered but never reported, so the gateway still holds it open.
	if err := coreSim.Inject(sim.Injection{Target: sim.TargetDelivery, Drop: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 31}); st != tsp.StatusSuccess {
		t.Fatalf("trigger: %s (%s)", st, msg)
	}
	eventually(t, "trigger 31 delivered", func() bool { return coreSim.Counters().Pending == 0 })
	if st, msg := c.send(trig{action: tsp.DeviceTriggerRecall, extID: "meter-1@iot.example.com", ref: 32, oldRef: 31}); st != tsp.StatusOriginalMessageSent {
		t.Fatalf("recall of a delivered trigger: %s (%s), want ORIGINALMESSAGESENT", st, msg)
	}
	if n := c.reportCount(31); n != 0 {
		t.Errorf("trigger 31 got %d reports, want none (its report was dropped)", n)
	}
}

func TestHSSFailoverAndAllDown(t *testing.T) {
	_, hss, smsc := startCore(t, 50*time.Millisecond)
	deadAddr := freeAddr(t) // nothing listens there: the primary is down
	g := startGateway(t, []string{deadAddr, hss}, smsc, nil)
	c := g.scs(t, "scs1")
	eventually(t, "secondary HSS up", func() bool { return len(g.run.HSS.Up()) == 1 })
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 31}); st != tsp.StatusSuccess {
		t.Fatalf("with the primary HSS down: %s (%s)", st, msg)
	}

	// All HSS down: 201 at once, never a hang.
	g2 := startGateway(t, []string{deadAddr}, smsc, nil)
	c2 := g2.scs(t, "scs1")
	if st, msg := c2.send(trig{extID: "meter-1@iot.example.com", ref: 32}); st != tsp.StatusTemporaryError {
		t.Fatalf("no HSS: %s (%s)", st, msg)
	}
}

func TestReportWaitsForDisconnectedSCS(t *testing.T) {
	_, hss, smsc := startCore(t, 300*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, nil)
	c := g.scs(t, "scs1")
	if st, _ := c.send(trig{extID: "meter-1@iot.example.com", ref: 41}); st != tsp.StatusSuccess {
		t.Fatal("trigger refused")
	}
	_ = c.conn.Close() // gone before the report comes
	eventually(t, "report recorded and owed", func() bool { return g.logged("delivery report postponed") })
	c2 := g.scs(t, "scs1")
	if o := c2.waitReport(41); o != tsp.OutcomeSuccess {
		t.Fatalf("outcome %s", o)
	}
	eventually(t, "closed", func() bool { return g.openTriggers(t) == 0 })
}

func TestTriggerExpiresWithoutReport(t *testing.T) {
	coreSim, hss, smsc := startCore(t, 50*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, func(cfg *Config) { cfg.Triggers.ExpiryGrace = 100 * time.Millisecond })
	c := g.scs(t, "scs1")
	// The SMS-SC takes the trigger but never reports it.
	if err := coreSim.Inject(sim.Injection{Target: sim.TargetDelivery, Drop: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 51, validity: 1}); st != tsp.StatusSuccess {
		t.Fatalf("trigger: %s (%s)", st, msg)
	}
	if o := c.waitReport(51); o != tsp.OutcomeExpired {
		t.Fatalf("outcome %s, want EXPIRED", o)
	}
	if g.run.Gateway.Stats.Expired.Load() != 1 {
		t.Errorf("expired count %d", g.run.Gateway.Stats.Expired.Load())
	}
	if n := g.run.Gateway.Stats.EgressRefusals.Load(); n != 0 {
		t.Errorf("%d Tsp messages refused by the egress check", n)
	}
}
