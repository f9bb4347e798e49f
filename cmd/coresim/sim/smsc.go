package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/t4"
)

// triggerKey identifies a pending trigger as the MTC-IWF does when it
// recalls or replaces one, and when it matches a DRR: the SCS's SME address
// and the Reference-Number (DESIGN.md step 10).
type triggerKey struct {
	smea core.SMEAddress
	ref  uint32
	// own marks a trigger that came without a Reference-Number: its ref is
	// a number of ours, so no DTR can name it.
	own bool
}

// trigger is an accepted DTR waiting for delivery, then for its DRA.
type trigger struct {
	key     triggerKey
	hasRef  bool
	user    core.UserIdentifier
	peer    string // the MTC-IWF's Origin-Host
	realm   string // and Origin-Realm
	conn    *diam.Conn
	outcome Outcome
	diag    AbsentDiagnostic
	drop    bool // injected: never reported
	label   string
	timer   *time.Timer
	// next is the connection report will switch to once it has been seen
	// for newConnGrace (since nextSeen).
	next     *diam.Conn
	nextSeen time.Time
}

// serveT4 is the SMS-SC: DTR with Trigger-Action TRIGGER, REPLACE or RECALL
// (TS 29.337 5.2, 6.2; reference 3).
func (s *Sim) serveT4(ctx context.Context, c *diam.Conn, m *godiam.Message) (*godiam.Message, error) {
	s.ctr.update(func(k *Counters) { k.DTRReceived++ })
	dtr, pe := t4.DecodeDTR(m)
	if pe != nil {
		// The dictionary check in diam ran first; what is left is a value
		// the decoder refused, or RECALL/REPLACE without
		// Old-Reference-Number (5005).
		s.countDTA(pe.Code)
		s.log.Warn("DTR refused", zap.Uint32("result", pe.Code), zap.String("reason", pe.Reason))
		return (&t4.DTA{Result: core.ResultCode(pe.Code)}).Answer(m, c.Identity())
	}
	action := t4.Trigger
	if dtr.TriggerAction != nil {
		action = *dtr.TriggerAction
	}
	s.ctr.update(func(k *Counters) { k.DTRActions[strings.ToLower(action.String())]++ })
	log := s.log.WithLazy(zap.String("peer", dtr.Routing.OriginHost), zap.String("user", maskUser(dtr.UserIdentifier)),
		zap.Stringer("sm_rp_smea", dtr.SMRPSMEA), zap.Stringer("trigger_action", action))
	if dtr.ReferenceNumber != nil {
		log = log.WithLazy(zap.Uint32("reference_number", *dtr.ReferenceNumber))
	}
	if dtr.OldReferenceNumber != nil {
		log = log.WithLazy(zap.Uint32("old_reference_number", *dtr.OldReferenceNumber))
	}

	if in, ok := s.inj.take(TargetSMSC); ok {
		if !s.hold(c, in.Delay) {
			return nil, errConnGone
		}
		if in.Drop {
			s.countDTA(0)
			log.Info("DTR dropped (injected): no DTA")
			<-c.Done()
			return nil, errConnGone
		}
		if in.Result != 0 {
			s.countDTA(in.Result)
			log.Info("DTR answered (injected)", zap.Uint32("result", in.Result))
			dta := &t4.DTA{Result: injectedResult(in.Result), TriggerAction: dtr.TriggerAction, OldReferenceNumber: dtr.OldReferenceNumber}
			if in.Result == t4.ErrorTriggerReplaceFailure {
				dta.MTCErrorDiagnostic = new(t4.NewMessageNotStored)
			}
			return dta.Answer(m, c.Identity())
		}
	}

	dta, why := s.trigger(c, dtr, action)
	s.countDTA(dta.Result.Code)
	log.Info("DTR answered", zap.Stringer("result", dta.Result), zap.String("why", why))
	return dta.Answer(m, c.Identity())
}

// trigger applies a DTR to the pending triggers and says what to answer,
// and why (the DTA has no Error-Message).
func (s *Sim) trigger(c *diam.Conn, dtr *t4.DTR, action t4.TriggerAction) (*t4.DTA, string) {
	dta := &t4.DTA{Result: core.ResultCode(resultSuccess), TriggerAction: dtr.TriggerAction, OldReferenceNumber: dtr.OldReferenceNumber}
	if action.NeedsOldReference() {
		// DecodeDTR guarantees Old-Reference-Number here.
		old := triggerKey{smea: dtr.SMRPSMEA, ref: *dtr.OldReferenceNumber}
		if !s.withdraw(old) {
			dta.Result = core.Experimental3GPP(t4.ErrorOriginalMessageNotPending)
			return dta, fmt.Sprintf("no trigger %d from %s is pending (unknown, delivered or recalled)", old.ref, old.smea)
		}
		if action == t4.Recall {
			return dta, "recalled: it will not be reported"
		}
	}
	s.accept(c, dtr)
	if action == t4.Replace {
		return dta, "replaced"
	}
	return dta, "stored for delivery"
}

// accept stores the trigger and arms its delivery.
func (s *Sim) accept(c *diam.Conn, dtr *t4.DTR) {
	tr := &trigger{
		user:  dtr.UserIdentifier,
		peer:  dtr.Routing.OriginHost,
		realm: dtr.Routing.OriginRealm,
		conn:  c,
	}
	tr.key.smea = dtr.SMRPSMEA
	if dtr.ReferenceNumber != nil {
		tr.key.ref, tr.hasRef = *dtr.ReferenceNumber, true
	} else {
		tr.key.ref, tr.key.own = uint32(s.sessionSeq.Add(1)), true
	}
	delay := s.cfg.DeliveryDelay
	tr.outcome, tr.diag, tr.label = s.cfg.DeliveryOutcome, "", "unknown"
	if sub, ok := s.lookupUser(dtr.UserIdentifier); ok {
		tr.label = sub.Name
		switch {
		case sub.DeliveryOutcome != OutcomeUnset:
			tr.outcome = sub.DeliveryOutcome
		case sub.Absent:
			tr.outcome = OutcomeAbsent
		}
		if tr.outcome == OutcomeAbsent {
			tr.diag = sub.AbsentDiagnostic
		}
	}
	if in, ok := s.inj.take(TargetDelivery); ok {
		if in.Outcome != OutcomeUnset {
			tr.outcome, tr.diag = in.Outcome, ""
		}
		if in.Delay > 0 {
			delay = in.Delay
		}
		tr.drop = in.Drop
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if prev, ok := s.pending[tr.key]; ok {
		// A new trigger under a reference still pending: the old one is
		// superseded, as a store keyed by reference would do.
		prev.timer.Stop()
		s.log.Warn("trigger superseded by a new DTR with the same reference", zap.Uint32("reference_number", tr.key.ref))
	}
	s.pending[tr.key] = tr
	tr.timer = time.AfterFunc(delay, func() { s.deliver(tr) })
}

// withdraw removes a pending trigger (recall, or the old one of a replace).
// It fails once delivery has begun.
func (s *Sim) withdraw(k triggerKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr, ok := s.pending[k]
	if !ok || !tr.timer.Stop() {
		return false
	}
	delete(s.pending, k)
	return true
}

// lookupUser finds the DTR's subscriber by IMSI, MSISDN or External-Identifier.
func (s *Sim) lookupUser(u core.UserIdentifier) (*Subscriber, bool) {
	if u.IMSI != "" {
		if sub, ok := s.dir.byIMSIValue(u.IMSI); ok {
			return sub, true
		}
	}
	if u.MSISDN != "" {
		if sub, ok := s.dir.byMSISDN(u.MSISDN); ok {
			return sub, true
		}
	}
	if u.ExternalIdentifier != "" {
		return s.dir.byExternalID(u.ExternalIdentifier)
	}
	return nil, false
}

// deliver runs when the delivery delay is over: the trigger stops being
// pending (no more recall or replace) and its report starts.
func (s *Sim) deliver(tr *trigger) {
	s.mu.Lock()
	if s.closed || s.pending[tr.key] != tr {
		s.mu.Unlock()
		return
	}
	delete(s.pending, tr.key)
	if tr.drop {
		s.mu.Unlock()
		s.log.Info("trigger delivered, report dropped (injected): no DRR", zap.String("subscriber", tr.label),
			zap.Uint32("reference_number", tr.key.ref))
		return
	}
	s.reporting++
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.report(tr)
		s.mu.Lock()
		s.reporting--
		s.mu.Unlock()
	}()
}

// report sends the DRR until a final DRA comes back, on the DTR's connection
// while it is open, else on another connection of the same MTC-IWF (it may
// have reconnected), with the wait doubling from RetryMin to RetryMax, for at
// most RetryAttempts attempts (an attempt without a connection counts too).
// A DRR that got no answer is retransmitted; one answered "try again"
// (retryable) is sent anew.
func (s *Sim) report(tr *trigger) {
	log := s.log.WithLazy(zap.String("peer", tr.peer), zap.String("subscriber", tr.label),
		zap.String("user", maskUser(tr.user)), zap.Stringer("sm_rp_smea", tr.key.smea), zap.String("outcome", string(tr.outcome)))
	if tr.hasRef {
		log = log.WithLazy(zap.Uint32("reference_number", tr.key.ref))
	}
	drr := &t4.DRR{
		Routing: core.Routing{
			SessionID:        s.newSessionID(s.cfg.SMSC.OriginHost),
			OriginHost:       s.cfg.SMSC.OriginHost,
			OriginRealm:      s.cfg.Realm,
			DestinationHost:  tr.peer,
			DestinationRealm: tr.realm,
		},
		UserIdentifier:    tr.user,
		SMRPSMEA:          tr.key.smea,
		SMDeliveryOutcome: t4.SMDeliveryOutcome(tr.outcome.Code()),
	}
	if tr.hasRef {
		drr.ReferenceNumber = new(tr.key.ref)
	}
	if tr.diag != "" {
		drr.AbsentSubscriberDiagnostic = new(t4.AbsentSubscriberDiagnostic(tr.diag.Code()))
	}
	msg, err := drr.Message(s.t4Dict)
	if err != nil {
		log.Error("DRR not built", zap.Error(err))
		s.ctr.update(func(k *Counters) { k.DRRAbandoned++ })
		return
	}
	s.ctr.update(func(k *Counters) { k.DRROutcomes[string(tr.outcome)]++ })

	wait := s.cfg.RetryMin
	unanswered := false // the last DRR sent got no answer
	for attempt := 1; attempt <= s.cfg.RetryAttempts; attempt++ {
		if attempt > 1 {
			if !s.sleep(wait) {
				return
			}
			wait = min(2*wait, s.cfg.RetryMax)
		}
		c := s.connFor(tr)
		if c == nil {
			log.Info("DRR waiting: the MTC-IWF is not connected", zap.Int("attempt", attempt))
			continue
		}
		if unanswered {
			// A retransmission: same End-to-End id, T bit (RFC 6733 5.5.4),
			// so a receiver with duplicate detection answers it from its
			// cache instead of reporting twice.
			msg.Header.CommandFlags |= godiam.RetransmittedFlag
		} else {
			// The first DRR, or a new one after an answer that asked for
			// another try: a fresh End-to-End id, no T bit (the answer to
			// the old one would otherwise be replayed).
			msg.Header.CommandFlags &^= godiam.RetransmittedFlag
			msg.Header.EndToEndID = 0
		}
		s.ctr.update(func(k *Counters) {
			k.DRRSent++
			if attempt > 1 {
				k.DRRRetries++
			}
		})
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DRATimeout)
		ans, err := c.Request(ctx, msg)
		cancel()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			unanswered = true
			log.Info("DRR got no DRA; will retransmit", zap.Int("attempt", attempt), zap.Error(err))
			continue
		}
		unanswered = false
		dra, pe := t4.DecodeDRA(ans)
		s.ctr.update(func(k *Counters) { k.DRAReceived++ })
		if pe != nil {
			// Not a DRA we can read (the peer's transport layer answering
			// "unable to comply" without the T4 head, say): try again.
			s.ctr.update(func(k *Counters) { k.DRAResults["invalid"]++ })
			log.Warn("DRA unreadable; will retry", zap.Int("attempt", attempt), zap.String("reason", pe.Reason))
			continue
		}
		s.ctr.update(func(k *Counters) { k.DRAResults[resultKey(dra.Result.Code)]++ })
		if retryable(dra.Result) {
			log.Info("DRA asks for a retry", zap.Int("attempt", attempt), zap.Stringer("result", dra.Result))
			continue
		}
		log.Info("DRR answered", zap.Int("attempt", attempt), zap.Stringer("result", dra.Result))
		return
	}
	s.ctr.update(func(k *Counters) { k.DRRAbandoned++ })
	log.Warn("DRR abandoned after the last attempt", zap.Int("attempts", s.cfg.RetryAttempts))
}

// retryable: the DRA says "not now" (3002 unable to deliver, 3004 too busy)
// or the MTC-IWF could not comply (5012, e.g. while it disconnects); any
// other answer is final.
func retryable(r core.Result) bool {
	return !r.IsExperimental() && (r.Code == 3002 || r.Code == resultTooBusy || r.Code == resultUnableToComply)
}

// newConnGrace is how long a connection must have been seen before a DRR
// goes out on it when the DTR's own connection is gone. diam binds the peer
// just before it queues the CEA, and a dialling diam.Conn treats a request
// that arrives right behind the CEA as one before it and hangs up; a report
// sent at once on a reconnected MTC-IWF would lose that race.
const newConnGrace = 100 * time.Millisecond

// connFor picks the connection for a trigger's DRR: the DTR's own while it
// is open, else an open connection of the same MTC-IWF that has been up for
// newConnGrace. nil means none (yet).
func (s *Sim) connFor(tr *trigger) *diam.Conn {
	if isOpen(tr.conn) {
		return tr.conn
	}
	for _, c := range s.smsc.Conns() {
		if b := c.Binding(); b == nil || !strings.EqualFold(b.OriginHost, tr.peer) || !isOpen(c) {
			continue
		}
		if c != tr.next {
			tr.next, tr.nextSeen = c, time.Now()
		}
		if time.Since(tr.nextSeen) < newConnGrace {
			return nil
		}
		tr.conn = c
		return c
	}
	return nil
}

func isOpen(c *diam.Conn) bool {
	select {
	case <-c.Done():
		return false
	default:
		return true
	}
}

// sleep waits d unless the simulator closes first.
func (s *Sim) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Sim) countDTA(code uint32) {
	s.ctr.update(func(k *Counters) { k.DTAResults[resultKey(code)]++ })
}
