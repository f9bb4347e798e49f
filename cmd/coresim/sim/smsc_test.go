package sim_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/t4"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func t4Dict(t *testing.T) *dict.Parser {
	t.Helper()
	d, err := dictionaries.T4()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	meterUser   = core.UserIdentifier{IMSI: "001010000000001", MSISDN: "491710000001"}
	sensorUser  = core.UserIdentifier{IMSI: "001010000000003", MSISDN: "491710000003"}
	sleeperUser = core.UserIdentifier{IMSI: "001010000000004"}
	unknownUser = core.UserIdentifier{IMSI: "001019999999999"}
	smeaA       = core.InternationalSMEAddress(scsA)
	smeaB       = core.InternationalSMEAddress(scsB)
)

// dtr builds the DTR an MTC-IWF sends after a successful SIR.
func dtr(user core.UserIdentifier, smea core.SMEAddress, ref uint32, action t4.TriggerAction, oldRef uint32) *t4.DTR {
	r := &t4.DTR{
		Routing:         core.Routing{OriginHost: iwfHost, OriginRealm: iwfRealm, DestinationRealm: "operator.example"},
		UserIdentifier:  user,
		SMRPSMEA:        smea,
		Payload:         []byte("wake up"),
		ReferenceNumber: new(ref),
		TriggerAction:   new(action),
	}
	if action != t4.Trigger {
		r.OldReferenceNumber = new(oldRef)
	}
	return r
}

func submit(t *testing.T, c *diam.Conn, d *dict.Parser, req *t4.DTR) *t4.DTA {
	t.Helper()
	m, err := req.Message(d)
	if err != nil {
		t.Fatalf("DTR: %v", err)
	}
	ans, err := c.Request(ctxT(t), m)
	if err != nil {
		t.Fatalf("DTR: no DTA: %v", err)
	}
	dta, pe := t4.DecodeDTA(ans)
	if pe != nil {
		t.Fatalf("DTA undecodable: %v", pe)
	}
	return dta
}

// received is one DRR as the MTC-IWF saw it.
type received struct {
	drr   *t4.DRR
	flags uint8
	e2e   uint32
	conn  *diam.Conn
}

// sink is the MTC-IWF's DRR handler: it records every DRR and answers with
// what answer says for the n-th one (nil: 2001). A held DRR is answered
// only after let (or never, if the connection closes first).
type sink struct {
	t       *testing.T
	ch      chan received
	n       atomic.Int32
	answer  func(n int) (core.Result, bool)
	release chan struct{}
	once    sync.Once
}

func newSink(t *testing.T, answer func(n int) (res core.Result, hold bool)) *sink {
	s := &sink{t: t, ch: make(chan received, 64), answer: answer, release: make(chan struct{})}
	t.Cleanup(s.let)
	return s
}

func (s *sink) ServeDiameter(ctx context.Context, c *diam.Conn, m *godiam.Message) (*godiam.Message, error) {
	drr, pe := t4.DecodeDRR(m)
	if pe != nil {
		s.t.Errorf("DRR undecodable: %v", pe)
		return (&t4.DRA{Result: core.ResultCode(pe.Code)}).Answer(m, c.Identity())
	}
	n := int(s.n.Add(1))
	s.ch <- received{drr: drr, flags: m.Header.CommandFlags, e2e: m.Header.EndToEndID, conn: c}
	res, hold := core.ResultCode(2001), false
	if s.answer != nil {
		res, hold = s.answer(n)
	}
	if hold {
		select {
		case <-s.release:
		case <-c.Done():
			return nil, context.Canceled
		}
	}
	return (&t4.DRA{Result: res}).Answer(m, c.Identity())
}

// let releases the held DRRs: they are answered now.
func (s *sink) let() { s.once.Do(func() { close(s.release) }) }

// next waits for the next DRR.
func (s *sink) next() received {
	s.t.Helper()
	select {
	case r := <-s.ch:
		return r
	case <-time.After(10 * time.Second):
		s.t.Fatal("no DRR")
		return received{}
	}
}

// none asserts no DRR is waiting.
func (s *sink) none() {
	s.t.Helper()
	select {
	case r := <-s.ch:
		s.t.Fatalf("unexpected DRR: ref %v outcome %v", r.drr.ReferenceNumber, r.drr.SMDeliveryOutcome)
	default:
	}
}

func TestSMSCReportsDelivery(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*sim.Config)
		inject  string
		user    core.UserIdentifier
		outcome t4.SMDeliveryOutcome
		diag    *t4.AbsentSubscriberDiagnostic
	}{
		{name: "default: successful transfer", user: meterUser, outcome: t4.SuccessfulTransfer},
		{name: "subscriber override: memory", user: sensorUser, outcome: t4.UEMemoryCapacityExceeded},
		{name: "absent subscriber, with diagnostic", user: sleeperUser, outcome: t4.AbsentSubscriber, diag: new(t4.UEDetached)},
		{name: "user unknown to the file: global outcome", user: unknownUser, outcome: t4.SuccessfulTransfer},
		{name: "global outcome expired", cfg: func(c *sim.Config) { c.DeliveryOutcome = sim.OutcomeExpired },
			user: meterUser, outcome: t4.ValidityTimeExpired},
		{name: "global outcome does not beat the subscriber's", cfg: func(c *sim.Config) { c.DeliveryOutcome = sim.OutcomeExpired },
			user: sensorUser, outcome: t4.UEMemoryCapacityExceeded},
		{name: "injected outcome beats the subscriber's", inject: "target=delivery,outcome=absent,count=1",
			user: sensorUser, outcome: t4.AbsentSubscriber},
		{name: "injected outcome replaces the absent diagnostic", inject: "target=delivery,outcome=successful,count=1",
			user: sleeperUser, outcome: t4.SuccessfulTransfer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.cfg)
			if tt.inject != "" {
				in, err := sim.ParseInjectionFlag(tt.inject)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.sim.Inject(in); err != nil {
					t.Fatal(err)
				}
			}
			sk := newSink(t, nil)
			c := r.dialSMSC(sk)
			d := t4Dict(t)
			dta := submit(t, c, d, dtr(tt.user, smeaA, 42, t4.Trigger, 0))
			if dta.Result != core.ResultCode(2001) {
				t.Fatalf("DTA %v", dta.Result)
			}
			got := sk.next()
			drr := got.drr
			if got.conn != c {
				t.Error("DRR did not come on the DTR's connection")
			}
			if drr.OriginHost != sim.DefaultSMSCHost || drr.OriginRealm != sim.DefaultRealm ||
				drr.DestinationHost != iwfHost || drr.DestinationRealm != iwfRealm {
				t.Errorf("DRR routing %+v", drr.Routing)
			}
			if drr.ReferenceNumber == nil || *drr.ReferenceNumber != 42 || drr.SMRPSMEA != smeaA || drr.UserIdentifier != tt.user {
				t.Errorf("DRR does not name the trigger: ref %v smea %v user %+v", drr.ReferenceNumber, drr.SMRPSMEA, drr.UserIdentifier)
			}
			if drr.SMDeliveryOutcome != tt.outcome {
				t.Errorf("SM-Delivery-Outcome-T4 %v, want %v", drr.SMDeliveryOutcome, tt.outcome)
			}
			if (drr.AbsentSubscriberDiagnostic == nil) != (tt.diag == nil) ||
				tt.diag != nil && *drr.AbsentSubscriberDiagnostic != *tt.diag {
				t.Errorf("Absent-Subscriber-Diagnostic-T4 %v, want %v", drr.AbsentSubscriberDiagnostic, tt.diag)
			}
			if got.flags&godiam.RetransmittedFlag != 0 {
				t.Error("first DRR has the T bit")
			}
			eventually(t, "DRA counted", func() bool { return r.sim.Counters().DRAReceived == 1 })
			k := r.sim.Counters()
			if k.DTRReceived != 1 || k.DTRActions["trigger"] != 1 || k.DTAResults["2001"] != 1 || k.DRRSent != 1 ||
				k.DRRRetries != 0 || k.DRAResults["2001"] != 1 || k.Pending != 0 || k.SIRReceived != 0 {
				t.Errorf("counters %+v", k)
			}
			eventually(t, "report closed", func() bool { return r.sim.Counters().Reporting == 0 })
		})
	}
}

// TestSMSCRecallAndReplace runs the trigger life cycle. The rig's delivery
// delay is an hour, so a trigger stays pending until the test lets one go
// with an injected short delay; no step depends on timing.
func TestSMSCRecallAndReplace(t *testing.T) {
	type step struct {
		dtr     *t4.DTR
		release bool // the trigger this step stores is delivered at once
		want    core.Result
	}
	notPending := core.Experimental3GPP(t4.ErrorOriginalMessageNotPending)
	ok := core.ResultCode(2001)
	tests := []struct {
		name      string
		steps     []step
		reported  []uint32 // references reported, in order
		delivered bool     // wait for the reports before the last step
		last      *step
	}{
		{name: "recall a pending trigger", steps: []step{
			{dtr: dtr(meterUser, smeaA, 1, t4.Trigger, 0), want: ok},
			{dtr: dtr(meterUser, smeaA, 2, t4.Recall, 1), want: ok},
			{dtr: dtr(meterUser, smeaA, 3, t4.Recall, 1), want: notPending},  // already recalled
			{dtr: dtr(meterUser, smeaA, 4, t4.Replace, 1), want: notPending}, // nothing left to replace
			{dtr: dtr(meterUser, smeaA, 5, t4.Trigger, 0), release: true, want: ok},
		}, reported: []uint32{5}},
		{name: "replace a pending trigger", steps: []step{
			{dtr: dtr(meterUser, smeaA, 1, t4.Trigger, 0), want: ok},
			{dtr: dtr(meterUser, smeaA, 2, t4.Replace, 1), release: true, want: ok},
			{dtr: dtr(meterUser, smeaA, 3, t4.Recall, 1), want: notPending}, // replaced: gone
		}, reported: []uint32{2}},
		{name: "recall and replace of unknown references", steps: []step{
			{dtr: dtr(meterUser, smeaA, 1, t4.Recall, 77), want: notPending},
			{dtr: dtr(meterUser, smeaA, 2, t4.Replace, 77), want: notPending},
			{dtr: dtr(meterUser, smeaA, 3, t4.Trigger, 0), want: ok},
			{dtr: dtr(meterUser, smeaB, 4, t4.Recall, 3), want: notPending}, // another SCS's reference 3
			{dtr: dtr(meterUser, smeaA, 5, t4.Recall, 3), want: ok},
		}},
		{name: "recall after delivery", steps: []step{
			{dtr: dtr(meterUser, smeaA, 1, t4.Trigger, 0), release: true, want: ok},
		}, reported: []uint32{1}, delivered: true,
			last: &step{dtr: dtr(meterUser, smeaA, 2, t4.Recall, 1), want: notPending}},
		{name: "replace after delivery", steps: []step{
			{dtr: dtr(meterUser, smeaA, 1, t4.Trigger, 0), release: true, want: ok},
		}, reported: []uint32{1}, delivered: true,
			last: &step{dtr: dtr(meterUser, smeaA, 2, t4.Replace, 1), want: notPending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(c *sim.Config) { c.DeliveryDelay = time.Hour })
			sk := newSink(t, nil)
			c := r.dialSMSC(sk)
			d := t4Dict(t)
			run := func(i int, s step) {
				t.Helper()
				if s.release {
					if err := r.sim.Inject(sim.Injection{Target: sim.TargetDelivery, Delay: time.Millisecond, Count: 1}); err != nil {
						t.Fatal(err)
					}
				}
				dta := submit(t, c, d, s.dtr)
				if dta.Result != s.want {
					t.Fatalf("step %d (%v ref %d): DTA %v, want %v", i+1, *s.dtr.TriggerAction, *s.dtr.ReferenceNumber, dta.Result, s.want)
				}
				if s.dtr.OldReferenceNumber != nil && (dta.OldReferenceNumber == nil || *dta.OldReferenceNumber != *s.dtr.OldReferenceNumber) {
					t.Errorf("step %d: DTA Old-Reference-Number %v", i+1, dta.OldReferenceNumber)
				}
				if dta.TriggerAction == nil || *dta.TriggerAction != *s.dtr.TriggerAction {
					t.Errorf("step %d: DTA Trigger-Action %v", i+1, dta.TriggerAction)
				}
			}
			for i, s := range tt.steps {
				run(i, s)
			}
			for _, ref := range tt.reported {
				got := sk.next()
				if *got.drr.ReferenceNumber != ref {
					t.Fatalf("DRR for reference %d, want %d", *got.drr.ReferenceNumber, ref)
				}
			}
			if tt.last != nil {
				eventually(t, "reports done", func() bool { return r.sim.Counters().Reporting == 0 })
				run(len(tt.steps), *tt.last)
			}
			// A recalled or replaced trigger is never reported: what is still
			// pending waits an hour, and nothing else arrived.
			sk.none()
			k := r.sim.Counters()
			if k.DRRSent != uint64(len(tt.reported)) {
				t.Errorf("drr_sent %d, want %d", k.DRRSent, len(tt.reported))
			}
		})
	}
}

func TestSMSCInjection(t *testing.T) {
	tests := []struct {
		inject string
		action t4.TriggerAction
		want   core.Result
		diag   *t4.MTCErrorDiagnostic
	}{
		{"target=smsc,result=5531,count=1", t4.Trigger, core.Experimental3GPP(t4.ErrorSCCongestion), nil},
		{"target=smsc,result=5001,count=1", t4.Trigger, core.Experimental3GPP(t4.ErrorUserUnknown), nil},
		{"target=smsc,result=5530,count=1", t4.Trigger, core.Experimental3GPP(t4.ErrorInvalidSMEAddress), nil},
		{"target=smsc,result=5533,count=1", t4.Replace, core.Experimental3GPP(t4.ErrorTriggerReplaceFailure), new(t4.NewMessageNotStored)},
		{"target=smsc,result=5534,count=1", t4.Recall, core.Experimental3GPP(t4.ErrorTriggerRecallFailure), nil},
		{"target=smsc,result=5535,count=1", t4.Recall, core.Experimental3GPP(t4.ErrorOriginalMessageNotPending), nil},
		{"target=smsc,result=3004,count=1", t4.Trigger, core.ResultCode(3004), nil},
		{"target=smsc,result=5012,delay=20ms,count=1", t4.Trigger, core.ResultCode(5012), nil},
	}
	for _, tt := range tests {
		t.Run(tt.inject, func(t *testing.T) {
			r := newRig(t, nil)
			in, err := sim.ParseInjectionFlag(tt.inject)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.sim.Inject(in); err != nil {
				t.Fatal(err)
			}
			sk := newSink(t, nil)
			c := r.dialSMSC(sk)
			d := t4Dict(t)
			dta := submit(t, c, d, dtr(meterUser, smeaA, 9, tt.action, 8))
			if dta.Result != tt.want {
				t.Fatalf("DTA %v, want %v", dta.Result, tt.want)
			}
			if (dta.MTCErrorDiagnostic == nil) != (tt.diag == nil) || tt.diag != nil && *dta.MTCErrorDiagnostic != *tt.diag {
				t.Errorf("MTC-Error-Diagnostic %v, want %v", dta.MTCErrorDiagnostic, tt.diag)
			}
			// A refused trigger is not stored, so never reported; the next
			// one is processed normally.
			if got := submit(t, c, d, dtr(meterUser, smeaA, 10, t4.Trigger, 0)).Result; got != core.ResultCode(2001) {
				t.Fatalf("next DTR: %v", got)
			}
			if ref := *sk.next().drr.ReferenceNumber; ref != 10 {
				t.Errorf("DRR for reference %d, want 10", ref)
			}
			k := r.sim.Counters()
			if k.DTRReceived != 2 || k.DTAResults[strconv.FormatUint(uint64(tt.want.Code), 10)] != 1 || k.DTAResults["2001"] != 1 {
				t.Errorf("counters %+v", k)
			}
		})
	}
}

// TestSMSCDrop: a dropped DTR gets no DTA; the connection stays usable.
func TestSMSCDrop(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.Inject = []sim.Injection{{Target: sim.TargetSMSC, Drop: true, Count: 1}} })
	sk := newSink(t, nil)
	c := r.dialSMSC(sk)
	d := t4Dict(t)
	m, err := dtr(meterUser, smeaA, 1, t4.Trigger, 0).Message(d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(300 * time.Millisecond)
	defer cancel()
	if ans, err := c.Request(ctx, m); err == nil {
		t.Fatalf("dropped DTR answered: %v", ans)
	}
	if got := submit(t, c, d, dtr(meterUser, smeaA, 2, t4.Trigger, 0)).Result; got != core.ResultCode(2001) {
		t.Fatalf("DTR after the dropped one: %v", got)
	}
	if ref := *sk.next().drr.ReferenceNumber; ref != 2 {
		t.Errorf("DRR for %d, want 2 (the dropped trigger was not stored)", ref)
	}
	k := r.sim.Counters()
	if k.DTRReceived != 2 || k.DTAResults["drop"] != 1 || k.DTAResults["2001"] != 1 {
		t.Errorf("counters %+v", k)
	}
}

// TestDeliveryDropped: an injected delivery drop means the trigger is never
// reported (an SMS-SC that loses the report).
func TestDeliveryDropped(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.Inject = []sim.Injection{{Target: sim.TargetDelivery, Drop: true, Count: 1}} })
	sk := newSink(t, nil)
	c := r.dialSMSC(sk)
	d := t4Dict(t)
	submit(t, c, d, dtr(meterUser, smeaA, 1, t4.Trigger, 0))
	submit(t, c, d, dtr(meterUser, smeaA, 2, t4.Trigger, 0))
	if ref := *sk.next().drr.ReferenceNumber; ref != 2 {
		t.Fatalf("DRR for %d, want only 2", ref)
	}
	eventually(t, "nothing pending", func() bool { k := r.sim.Counters(); return k.Pending == 0 && k.Reporting == 0 })
	sk.none()
	if k := r.sim.Counters(); k.DRRSent != 1 {
		t.Errorf("drr_sent %d, want 1", k.DRRSent)
	}
}
