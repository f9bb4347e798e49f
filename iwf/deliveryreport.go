package iwf

import (
	"context"
	"errors"
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/t4"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// T4Handler serves the requests an SMS-SC sends us (DRR), on the
// connections the daemon dialled (and on inbound core connections).
func (g *Gateway) T4Handler() diam.Handler {
	return diam.HandlerFunc(g.serveDRR)
}

// serveDRR is the delivery-report procedure, SMS-SC side (TS 23.682 5.2.1
// steps 10-11; DESIGN.md step 10): find the trigger by (SM-RP-SMEA,
// Reference-Number), record the outcome durably as a report owed to the
// SCS, answer the SMS-SC at once, and let the outbox send the DNR.
//
// Order: the DRA goes back as soon as the outcome is on disk, before the SCS
// has the DNR. The SMS-SC is not held hostage by an SCS that is slow or
// disconnected, and the durable outbox keeps the promise of exactly one
// report to the SCS.
func (g *Gateway) serveDRR(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
	if req.Header.CommandCode != t4.CmdDeliveryReport {
		return c.NewErrorAnswer(req, diam.ResultCommandUnsupported,
			fmt.Sprintf("command %d is not a request an SMS-SC sends", req.Header.CommandCode)), nil
	}
	drr, perr := t4.DecodeDRR(req)
	if perr != nil {
		return c.NewErrorAnswer(req, perr.Code, perr.Reason), nil
	}
	if drr.ReferenceNumber == nil {
		// Without a Reference-Number the report cannot name a trigger
		// (the DRR ABNF makes it optional; a device trigger always has one).
		return g.dra(c, req, core.ResultCode(diam.ResultMissingAVP), "DRR without Reference-Number cannot be matched to a trigger")
	}
	ref := *drr.ReferenceNumber
	outcome, ok := tsp.DeliveryOutcomeFromT4(drr.SMDeliveryOutcome)
	if !ok {
		// The decoder refuses undefined values; keep the SCS informed anyway.
		outcome = tsp.OutcomeUnconfirmed
	}
	// WithLazy: With would encode these fields on every report even when
	// nothing is logged at the configured level (it showed in the alloc
	// profile of make bench).
	log := g.log.WithLazy(zap.String("action", "delivery-report-received"), zap.Uint32("reference", ref),
		zap.Stringer("sm_delivery_outcome", drr.SMDeliveryOutcome), zap.Stringer("delivery_outcome", outcome))

	t, err := g.store.BySMEA(ctx, drr.SMRPSMEA.Digits, ref)
	if errors.Is(err, ErrNotFound) {
		// Already reported (a retransmitted DRR), recalled, or never ours:
		// acknowledge so the SMS-SC stops, and say so in the log.
		log.Warn("DRR for no open trigger: acknowledged and ignored")
		return g.dra(c, req, core.ResultCode(diam.ResultSuccess), "")
	} else if err != nil {
		log.Error("store read failed", zap.Error(err))
		return g.dra(c, req, core.ResultCode(diam.ResultUnableToComply),
			fmt.Sprintf("the trigger of SM-RP-SMEA %s, Reference-Number %d could not be read", drr.SMRPSMEA.Digits, ref))
	}
	unlock := g.refs.lock(refKey(t.SCS, t.Reference))
	defer unlock()
	// The record read above may be stale by now (a replace, recall or the
	// expiry sweep); Update's revision check says so, and only then is it
	// read again (one store read per DRR in the common case, not two).
	for attempt := 0; ; attempt++ {
		if t.State != TriggerAccepted {
			log.Info("duplicate DRR for a trigger already reported: acknowledged")
			return g.dra(c, req, core.ResultCode(diam.ResultSuccess), "")
		}
		t.State = TriggerReported
		t.Outcome = uint8(outcome)
		t.NextAttemptAt = g.cfg.Now()
		err := g.store.Update(ctx, t)
		if err == nil {
			break
		}
		if errors.Is(err, ErrConflict) && attempt < 3 {
			if t, err = g.store.Get(ctx, t.SCS, t.Reference); err == nil {
				continue
			}
		}
		if errors.Is(err, ErrNotFound) {
			log.Warn("trigger closed meanwhile: DRR acknowledged and ignored")
			return g.dra(c, req, core.ResultCode(diam.ResultSuccess), "")
		}
		log.Error("store write failed: DRR not acknowledged, the SMS-SC will retry", zap.Error(err))
		return g.dra(c, req, core.ResultCode(diam.ResultUnableToComply),
			fmt.Sprintf("the delivery report for Reference-Number %d could not be stored", ref))
	}
	log.Info("delivery report recorded", zap.String("scs", t.SCS))
	g.kickOutbox()
	return g.dra(c, req, core.ResultCode(diam.ResultSuccess), "")
}

func (g *Gateway) dra(c *diam.Conn, req *godiam.Message, res core.Result, msg string) (*godiam.Message, error) {
	if !res.IsSuccess() {
		// The DRA type has no Error-Message; a failure is answered in the
		// RFC 6733 7.2 shape, which carries one.
		return c.NewErrorAnswer(req, res.Code, msg), nil
	}
	a := t4.DRA{Result: res}
	return a.Answer(req, c.Identity())
}
