package iwf

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// The delivery-report outbox (DESIGN.md step 10). A trigger whose outcome
// is known (the SMS-SC's DRR, or the expiry sweep) is stored as Reported
// with NextAttemptAt; Run sends its DNR to the SCS, and only the SCS's DNA
// closes it. The report is therefore at least once on the wire; the DNR of
// every attempt carries the same End-to-End id (and the T flag from the
// second attempt), so an SCS doing RFC 6733 5.5.4 duplicate detection sees
// exactly one.

// outboxWorkers must stay below outboxBatch (see Run).
const (
	outboxBatch   = 256
	outboxWorkers = 128 // DNR round trips and store writes overlap: group commit batches the writes
	outboxTick    = 500 * time.Millisecond
	dnrTimeout    = 10 * time.Second
)

// Run drives the outbox and the expiry sweep until ctx ends, then waits for
// the DNRs in flight.
//
// The outbox is a pipeline: every pass hands the owed reports that are not
// already in flight to at most outboxWorkers concurrent deliveries and goes
// on at once while the store may have more (a full batch: with fewer
// workers than a batch holds, a full batch always has reports not yet in
// flight); it sleeps until a DRR kicks it, or the tick (retries whose time
// has come), only when nothing more is due. A slow SCS therefore holds at most
// the workers its own reports occupy, and a backlog drains as fast as the
// SCSs answer, not one batch per tick.
func (g *Gateway) Run(ctx context.Context) {
	t := time.NewTicker(outboxTick)
	defer t.Stop()
	ob := &outbox{sem: make(chan struct{}, outboxWorkers), known: map[string]delivery{}}
	defer ob.wg.Wait()
	for {
		more := g.sweepExpired(ctx)
		if g.flushOutbox(ctx, ob) {
			more = true
		}
		if ctx.Err() != nil {
			return
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.kick:
		}
	}
}

// outbox is Run's state: the worker slots and the reports being delivered
// or just delivered, by refKey.
//
// A pass reads the store before it dispatches, so its list can hold a
// report whose delivery finished (closed or rescheduled) after the read: a
// stale copy that must not be sent again. Each pass therefore has a number,
// a finished delivery remembers the number of the pass running when it
// finished, and a pass skips what finished during it (or is in flight).
type outbox struct {
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	pass  uint64
	known map[string]delivery
}

type delivery struct {
	inFlight bool
	finished uint64 // the pass number when it finished
}

// begin starts a pass: forgets deliveries that finished before it and
// returns its number.
func (ob *outbox) begin() uint64 {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	ob.pass++
	for k, d := range ob.known {
		if !d.inFlight && d.finished < ob.pass {
			delete(ob.known, k)
		}
	}
	return ob.pass
}

// claim marks key in flight unless it is, or finished during pass.
func (ob *outbox) claim(key string, pass uint64) bool {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if d, ok := ob.known[key]; ok && (d.inFlight || d.finished >= pass) {
		return false
	}
	ob.known[key] = delivery{inFlight: true}
	return true
}

func (ob *outbox) done(key string) {
	ob.mu.Lock()
	ob.known[key] = delivery{finished: ob.pass}
	ob.mu.Unlock()
}

func (ob *outbox) unclaim(key string) {
	ob.mu.Lock()
	delete(ob.known, key)
	ob.mu.Unlock()
}

func (g *Gateway) kickOutbox() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// sweepExpired turns accepted triggers that outlived validity + grace with
// no delivery report into EXPIRED reports (Delivery-Outcome 1, TS 29.368
// 6.4.10: "validity period ran out before delivery"). It says whether a
// full batch was found (more may be waiting).
func (g *Gateway) sweepExpired(ctx context.Context) bool {
	now := g.cfg.Now()
	list, err := g.store.Expired(ctx, now.Add(-g.cfg.ExpiryGrace), outboxBatch)
	if err != nil {
		// A corrupt record is reported with the readable ones: one bad
		// record must not stop every other trigger's report.
		g.log.Error("expiry sweep: store", zap.Error(err))
		var ce *CorruptError
		if !errors.As(err, &ce) {
			return false
		}
	}
	updated := 0
	for _, t := range list {
		t.State = TriggerReported
		t.Outcome = uint8(tsp.OutcomeExpired)
		t.NextAttemptAt = now
		if err := g.store.Update(ctx, t); err != nil {
			if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
				g.log.Error("expiry sweep: update", zap.Error(err))
			}
			continue // a DRR got there first
		}
		updated++
		g.Stats.Expired.Add(1)
		g.log.Info("trigger expired without a delivery report", zap.String("scs", t.SCS), zap.Uint32("reference", t.Reference))
	}
	// A full batch of which nothing could be updated (store errors) must
	// not spin: the tick retries.
	return len(list) == outboxBatch && updated > 0
}

// flushOutbox starts a delivery for every owed report of one batch that is
// not in flight yet, waiting for a worker slot when all are busy. It says
// whether another pass should follow at once: something was started and
// the batch was full.
func (g *Gateway) flushOutbox(ctx context.Context, ob *outbox) bool {
	pass := ob.begin()
	list, err := g.store.Pending(ctx, g.cfg.Now(), outboxBatch)
	if err != nil {
		g.log.Error("outbox: store", zap.Error(err))
		var ce *CorruptError
		if !errors.As(err, &ce) {
			return false
		}
	}
	started := 0
	for _, t := range list {
		key := refKey(t.SCS, t.Reference)
		if !ob.claim(key, pass) {
			continue
		}
		select {
		case ob.sem <- struct{}{}:
		case <-ctx.Done():
			ob.unclaim(key)
			return false
		}
		started++
		ob.wg.Add(1)
		go func() {
			defer ob.wg.Done()
			g.deliverReport(ctx, t)
			ob.done(key)
			<-ob.sem
		}()
	}
	return started > 0 && len(list) == outboxBatch
}

// deliverReport sends one DNR and closes the trigger on the SCS's DNA, or
// schedules the next attempt.
func (g *Gateway) deliverReport(ctx context.Context, t *Trigger) {
	start := g.cfg.Now()
	outcome := tsp.DeliveryOutcome(t.Outcome)
	// WithLazy: With would encode these fields on every report even when
	// nothing is logged at the configured level (it showed in the alloc
	// profile of make bench).
	log := g.log.WithLazy(zap.String("scs", t.SCS), zap.String("action", "delivery-report"),
		zap.Uint32("reference", t.Reference), zap.Stringer("delivery_outcome", outcome))
	var conn *diam.Conn
	if g.conns != nil {
		conn = g.conns.ConnFor(t.SCS)
	}
	if conn == nil {
		g.retryReport(ctx, t, log, "SCS not connected")
		return
	}
	dn := tsp.DeviceNotification{
		ExternalIdentifier: t.ExternalID,
		MSISDN:             t.MSISDN,
		SCSIdentity:        t.SCSIdentity,
		ReferenceNumber:    t.Reference,
		ActionType:         tsp.DeliveryReport,
		DeliveryOutcome:    &outcome,
	}
	if t.AppPort != 0 {
		port := t.AppPort
		dn.ApplicationPortIdentifier = &port
	}
	dnr := tsp.DNR{
		Routing: core.Routing{OriginHost: g.cfg.Identity.OriginHost, OriginRealm: g.cfg.Identity.OriginRealm,
			DestinationHost: t.SCS, DestinationRealm: t.SCSRealm},
		DeviceNotification: dn,
	}
	m, err := dnr.Message(g.tspDict)
	if err != nil {
		log.Error("cannot build DNR", zap.Error(err))
		g.retryReport(ctx, t, log, "internal error")
		return
	}
	if err := g.egress(m); err != nil {
		g.retryReport(ctx, t, log, "egress check refused the DNR")
		return
	}
	m.Header.EndToEndID = reportE2E(t)
	if t.ReportAttempts > 0 {
		m.Header.CommandFlags |= godiam.RetransmittedFlag
	}
	rctx, cancel := context.WithTimeout(ctx, dnrTimeout)
	ans, err := conn.Request(rctx, m)
	cancel()
	if err != nil {
		g.retryReport(ctx, t, log, err.Error())
		return
	}
	dna, perr := tsp.DecodeDNA(ans)
	if perr != nil {
		g.retryReport(ctx, t, log, "unreadable DNA: "+perr.Reason)
		return
	}
	if !dna.Result.IsSuccess() && dna.Result.Class() != 5 {
		// 3xxx/4xxx: the SCS (or an agent) could not take it now.
		g.retryReport(ctx, t, log, "DNA "+dna.Result.String())
		return
	}
	if err := g.store.CloseTrigger(ctx, t.SCS, t.Reference); err != nil && !errors.Is(err, ErrNotFound) {
		log.Error("report delivered but the trigger could not be closed; it will be sent again", zap.Error(err))
		return
	}
	g.Stats.Reports.Add(1)
	g.cfg.Metrics.report(t.SCS, outcome)
	if dna.Result.IsSuccess() {
		log.Info("delivery report delivered", zap.Duration("latency", g.cfg.Now().Sub(start)), zap.Int("attempts", t.ReportAttempts+1))
	} else {
		// A permanent failure (5xxx) is the SCS's final word on this
		// report: sending it again would be refused the same way.
		log.Warn("SCS refused the delivery report; closed", zap.Stringer("result", dna.Result), zap.String("error_message", dna.ErrorMessage))
	}
}

func (g *Gateway) retryReport(ctx context.Context, t *Trigger, log *zap.Logger, why string) {
	t.ReportAttempts++
	back := g.cfg.ReportRetryMin << min(t.ReportAttempts-1, 20)
	back = min(back, g.cfg.ReportRetryMax)
	back = back/2 + time.Duration(rand.Int64N(int64(back)/2+1))
	t.NextAttemptAt = g.cfg.Now().Add(back)
	if err := g.store.Update(ctx, t); err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
		log.Error("outbox: cannot reschedule", zap.Error(err))
	}
	log.Info("delivery report postponed", zap.String("reason", why), zap.Int("attempts", t.ReportAttempts), zap.Duration("retry_in", back))
}

// reportE2E is the End-to-End id every DNR attempt of one trigger carries,
// so retransmissions are recognisable (RFC 6733 5.5.4). It is derived from
// what identifies the trigger, so it survives restarts without being stored.
func reportE2E(t *Trigger) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(t.SCS))
	var b [16]byte
	b[0], b[1], b[2], b[3] = byte(t.Reference>>24), byte(t.Reference>>16), byte(t.Reference>>8), byte(t.Reference)
	ns := t.AcceptedAt.UnixNano()
	for i := 0; i < 8; i++ {
		b[4+i] = byte(ns >> (8 * i))
	}
	_, _ = h.Write(b[:])
	return h.Sum32()
}

// egress runs the last check on an outgoing Tsp message (DESIGN.md step 9):
// a refusal is an internal error, counted and logged, and nothing is sent.
func (g *Gateway) egress(m *godiam.Message) error {
	if err := tsp.CheckEgress(m, g.tspDict); err != nil {
		g.Stats.EgressRefusals.Add(1)
		g.cfg.Metrics.egressRefused()
		g.log.Error("egress check refused a Tsp message: not sent", zap.Error(err), zap.Uint32("command", m.Header.CommandCode))
		return err
	}
	return nil
}
