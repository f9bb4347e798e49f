package iwf

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// replaceOrRecall is the replace (Action-Type 4) and recall (3) procedure
// (TS 23.682 5.2.2 / 5.2.3): Old-Reference-Number names an open trigger of
// the same SCS; the SMS-SC is asked to replace or remove the pending message
// (T4 Trigger-Action REPLACE/RECALL); DIAMETER_ERROR_TRIGGER_REPLACE_FAILURE,
// _RECALL_FAILURE and _ORIGINAL_MESSAGE_NOT_PENDING map to 110/111/112.
func (g *Gateway) replaceOrRecall(ctx context.Context, c *diam.Conn, dar *tsp.DAR, tx *transaction) (tsp.RequestStatus, string) {
	da := &dar.DeviceAction
	recall := da.ActionType == tsp.DeviceTriggerRecall
	action, _ := tsp.T4TriggerAction(da.ActionType) // REPLACE or RECALL: ServeDiameter sends only those here
	fail := tsp.StatusReplaceFail
	if recall {
		fail = tsp.StatusRecallFail
	}

	// Step 5: the same gate as a trigger (the policy names the actions
	// each rule allows).
	scs, status, reason := g.authorize(ctx, c, dar)
	if status != tsp.StatusSuccess {
		return status, reason
	}
	if !g.cfg.RecallReplace {
		// Feature-Supported-In-Final-Target bit 0 was not offered: the SCS
		// must not recall and must send a replace as a new trigger
		// (TS 29.368 6.4.13).
		return fail, "the SMS-SC of this MTC-IWF does not support recall or replace"
	}
	oldRef := *da.OldReferenceNumber
	if !recall && oldRef == da.ReferenceNumber {
		return fail, "a replacement needs a new Reference-Number"
	}
	unlockOld := g.refs.lock(refKey(dar.OriginHost, oldRef))
	defer unlockOld()
	old, err := g.store.Get(ctx, dar.OriginHost, oldRef)
	if errors.Is(err, ErrNotFound) {
		return fail, fmt.Sprintf("Old-Reference-Number %d names no open trigger of this SCS", oldRef)
	} else if err != nil {
		g.log.Error("store read failed", zap.Error(err), zap.String("scs", dar.OriginHost), zap.Uint32("reference", oldRef))
		return tsp.StatusTemporaryError, fmt.Sprintf("temporary error: the state of Old-Reference-Number %d could not be read", oldRef)
	}
	if old.State != TriggerAccepted {
		// The SMS-SC already reported on it: nothing is pending any more.
		return tsp.StatusOriginalMessageSent, fmt.Sprintf("trigger %d was already delivered or reported", oldRef)
	}
	if (da.ExternalIdentifier != "" && da.ExternalIdentifier != old.ExternalID) || (da.MSISDN != "" && da.MSISDN != old.MSISDN) {
		return fail, fmt.Sprintf("the device named differs from the one of trigger %d", oldRef)
	}
	tx.imsi = old.IMSI

	if recall {
		dtr := g.newDTR(scs, da, nil, old.IMSI, g.validity(da), action, &oldRef)
		dtr.UserIdentifier.MSISDN = old.MSISDN
		dtr.Payload = nil
		status, reason, _ := g.submit(ctx, dtr, tx)
		if status != tsp.StatusSuccess {
			return status, reason
		}
		// Recalled: no delivery report is owed for it any more.
		if err := g.store.CloseTrigger(ctx, dar.OriginHost, oldRef); err != nil && !errors.Is(err, ErrNotFound) {
			g.log.Error("recalled trigger not closed in the store", zap.Error(err))
		}
		return tsp.StatusSuccess, ""
	}

	// Replace: the new trigger goes through the HSS again (it is a new
	// authorization; a live cached answer counts when the SCS's policy
	// has hss_cache) and is recorded before the SMS-SC is asked.
	unlockNew := g.refs.lock(refKey(dar.OriginHost, da.ReferenceNumber))
	defer unlockNew()
	if status, reason := g.checkRefFree(ctx, dar.OriginHost, da.ReferenceNumber, fail); status != tsp.StatusSuccess {
		return status, reason
	}
	sia, status, reason := g.resolve(ctx, scs, da)
	if status != tsp.StatusSuccess {
		return status, reason
	}
	validity := g.validity(da)
	rec := g.newRecord(scs, dar, sia.IMSI(), validity)
	if status, reason := g.record(ctx, rec, fail); status != tsp.StatusSuccess {
		return status, reason
	}
	dtr := g.newDTR(scs, da, sia, rec.IMSI, validity, action, &oldRef)
	if status, reason := g.submitRecorded(ctx, rec, dtr, tx); status != tsp.StatusSuccess {
		return status, reason
	}
	// The old message is gone from the SMS-SC: its report will never come.
	if err := g.store.CloseTrigger(ctx, dar.OriginHost, oldRef); err != nil && !errors.Is(err, ErrNotFound) {
		g.log.Error("replaced trigger not closed in the store", zap.Error(err))
	}
	g.Stats.Accepted.Add(1)
	return tsp.StatusSuccess, ""
}
