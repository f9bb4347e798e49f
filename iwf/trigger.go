package iwf

import (
	"context"
	"errors"
	"fmt"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/diam/t4"
	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/security"
	"github.com/mtciwf/mtciwf/security/policy"
)

// ServeDiameter is the Tsp handler: every DAR that passed the transport
// (steps 1-4 of DESIGN.md: TLS, CER binding, frame guard, dictionary) comes
// here. It returns the DAA.
func (g *Gateway) ServeDiameter(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
	if req.Header.CommandCode != tsp.CmdDeviceAction {
		return g.errorAnswer(c, req, &diam.ProtocolError{Code: diam.ResultCommandUnsupported,
			Reason: fmt.Sprintf("command %d is not a request an SCS sends", req.Header.CommandCode)})
	}
	// Step 4: typed request; missing or malformed AVPs are answered with
	// 5005/5004 and Failed-AVP.
	dar, perr := tsp.DecodeDAR(req)
	if perr != nil {
		return g.errorAnswer(c, req, perr)
	}
	tx := g.begin()
	var status tsp.RequestStatus
	var reason string
	switch dar.DeviceAction.ActionType {
	case tsp.DeviceTriggerRequest:
		status, reason = g.trigger(ctx, c, dar, tx)
	case tsp.DeviceTriggerReplace, tsp.DeviceTriggerRecall:
		status, reason = g.replaceOrRecall(ctx, c, dar, tx)
	default:
		status, reason = tsp.StatusPermanentError, fmt.Sprintf("Action-Type %s is not a request", dar.DeviceAction.ActionType)
	}
	return g.answer(c, req, dar, tx, status, reason)
}

// transaction carries what the one log line of a DAR needs beyond the DAR
// itself. Identities are masked only when that line is written (answer):
// at warn, the usual production level, masking them for every DAR cost
// allocations for nothing.
type transaction struct {
	start time.Time
	imsi  string // once known; UNMASKED: log it only through security.MaskIMSI
	diag  *tsp.MTCErrorDiagnostic
}

func (g *Gateway) begin() *transaction {
	return &transaction{start: g.cfg.Now()}
}

// maskedUE is the device a Device-Action names, masked for the log.
func maskedUE(da *tsp.DeviceAction) string {
	if id := da.ExternalIdentifier; id != "" {
		return security.MaskExternalID(id)
	}
	return security.MaskMSISDN(da.MSISDN)
}

// trigger is the device-trigger procedure (TS 23.682 5.2.1, Action-Type 1),
// DESIGN.md steps 5-9 in order.
func (g *Gateway) trigger(ctx context.Context, c *diam.Conn, dar *tsp.DAR, tx *transaction) (tsp.RequestStatus, string) {
	da := &dar.DeviceAction
	g.Stats.Triggers.Add(1)

	// Step 5: what this SCS may ask: the daemon-wide ceilings, then the
	// operator's policy (identity, limits, UE x service, rate, quota).
	scs, status, reason := g.authorize(ctx, c, dar)
	if status != tsp.StatusSuccess {
		return status, reason
	}
	unlock := g.refs.lock(refKey(dar.OriginHost, da.ReferenceNumber))
	defer unlock()
	if status, reason := g.checkRefFree(ctx, dar.OriginHost, da.ReferenceNumber, tsp.StatusPermanentError); status != tsp.StatusSuccess {
		return status, reason
	}

	// Step 6: the HSS maps the identity to the IMSI, authorizes this SCS
	// for this UE and names the serving nodes (TS 29.336 5.2).
	sia, status, reason := g.resolve(ctx, scs, da)
	if status != tsp.StatusSuccess {
		return status, reason
	}
	imsi := sia.IMSI()
	tx.imsi = imsi
	t4d := sia.T4()
	if t4d != nil && t4d.HSSCause != nil && t4d.HSSCause.Has(s6m.AbsentSubscriber) {
		// Absent subscriber: the SMS-SC stores the trigger and delivers it
		// when the UE is back (TS 23.682 5.2.1), so we still submit.
		g.log.Debug("HSS reports the subscriber absent; submitting for store and forward", zap.String("scs", dar.OriginHost))
	}

	// Step 7: the trigger is written durably before anything says it was
	// accepted.
	validity := g.validity(da)
	rec := g.newRecord(scs, dar, imsi, validity)
	if status, reason := g.record(ctx, rec, tsp.StatusPermanentError); status != tsp.StatusSuccess {
		return status, reason
	}

	// Step 8: submit to the SMS-SC.
	dtr := g.newDTR(scs, da, sia, imsi, validity, t4.Trigger, nil)
	if status, reason := g.submitRecorded(ctx, rec, dtr, tx); status != tsp.StatusSuccess {
		return status, reason
	}
	g.Stats.Accepted.Add(1)
	return tsp.StatusSuccess, ""
}

// refInUse is the Error-Message for a Reference-Number an open trigger of
// the SCS already holds.
func refInUse(ref uint32) string {
	return fmt.Sprintf("Reference-Number %d is already used by an open trigger of this SCS", ref)
}

// checkRefFree says whether ref names no open trigger of the SCS (before
// the HSS is asked: a taken reference costs no SIR). inUse is the status
// when it is taken: PERMANENT_ERROR for a trigger, the replace failure for a
// replacement's new reference. The caller holds the reference's lock.
func (g *Gateway) checkRefFree(ctx context.Context, scs string, ref uint32, inUse tsp.RequestStatus) (tsp.RequestStatus, string) {
	_, err := g.store.Get(ctx, scs, ref)
	switch {
	case err == nil:
		return inUse, refInUse(ref)
	case errors.Is(err, ErrNotFound):
		return tsp.StatusSuccess, ""
	}
	g.log.Error("store read failed", zap.Error(err), zap.String("scs", scs), zap.Uint32("reference", ref))
	return tsp.StatusTemporaryError, fmt.Sprintf("temporary error: the state of Reference-Number %d could not be read", ref)
}

// record is step 7: the trigger is written durably before anything says it
// was accepted. A reference (or SM-RP-SMEA and reference) another open
// trigger holds is answered with inUse, as in checkRefFree.
func (g *Gateway) record(ctx context.Context, rec *Trigger, inUse tsp.RequestStatus) (tsp.RequestStatus, string) {
	err := g.store.Create(ctx, rec)
	switch {
	case err == nil:
		return tsp.StatusSuccess, ""
	case errors.Is(err, ErrDuplicate):
		return inUse, refInUse(rec.Reference)
	}
	g.log.Error("store write failed: trigger refused", zap.Error(err), zap.String("scs", rec.SCS), zap.Uint32("reference", rec.Reference))
	return tsp.StatusTemporaryError, fmt.Sprintf("temporary error: trigger %d could not be stored", rec.Reference)
}

// newRecord is the stored form of a trigger about to be submitted. SCS is
// the requester's Origin-Host: the DNR's Destination-Host.
func (g *Gateway) newRecord(scs policy.SCS, dar *tsp.DAR, imsi string, validity time.Duration) *Trigger {
	da := &dar.DeviceAction
	now := g.cfg.Now()
	rec := &Trigger{
		SCS: dar.OriginHost, SCSRealm: dar.OriginRealm, Reference: da.ReferenceNumber,
		ExternalID: da.ExternalIdentifier, MSISDN: da.MSISDN, SCSIdentity: scs.Identity,
		IMSI: imsi, SMEA: scs.Identity, AcceptedAt: now, ExpiresAt: now.Add(validity),
		State: TriggerAccepted,
	}
	if up := g.smsc.Up(); len(up) > 0 {
		rec.SMSC = up[0] // where the DTR will go unless it fails over
	}
	if td := da.TriggerData; td != nil {
		if td.ApplicationPortIdentifier != nil {
			rec.AppPort = *td.ApplicationPortIdentifier
		}
		if td.PriorityIndication != nil {
			rec.Priority = uint8(*td.PriorityIndication)
		}
	}
	return rec
}

// authorize is step 5: the daemon-wide ceilings (INVPAYLOAD 101,
// INVPERIOD 104), then the policy. It returns the SCS's policy entry.
func (g *Gateway) authorize(ctx context.Context, c *diam.Conn, dar *tsp.DAR) (policy.SCS, tsp.RequestStatus, string) {
	da := &dar.DeviceAction
	if td := da.TriggerData; td != nil && len(td.Payload) > g.cfg.MaxPayloadBytes {
		return policy.SCS{}, tsp.StatusInvPayload, fmt.Sprintf("payload of %d bytes exceeds the limit of %d", len(td.Payload), g.cfg.MaxPayloadBytes)
	}
	if da.ValidityTime != nil && time.Duration(*da.ValidityTime)*time.Second > g.cfg.MaxValidity {
		return policy.SCS{}, tsp.StatusInvPeriod, fmt.Sprintf("Validity-Time %d s exceeds the limit of %d s", *da.ValidityTime, int64(g.cfg.MaxValidity/time.Second))
	}
	scs, ok := g.auth.Lookup(dar.OriginHost)
	if !ok {
		return policy.SCS{}, tsp.StatusNotAuthorized, fmt.Sprintf("SCS %q has no entry in the authorization policy", dar.OriginHost)
	}
	d := g.auth.Authorize(ctx, query(c, dar, g.validity(da)))
	if !d.Allowed {
		return scs, tsp.RequestStatus(d.Code.RequestStatus()), d.Reason
	}
	return scs, tsp.StatusSuccess, ""
}

func (g *Gateway) validity(da *tsp.DeviceAction) time.Duration {
	if da.ValidityTime != nil {
		return time.Duration(*da.ValidityTime) * time.Second
	}
	return g.cfg.DefaultValidity
}

// resolve asks the HSS who the UE is and whether this SCS may trigger it:
// from the HSS answer cache when the SCS's policy enables it and a live
// answer is there (TS 23.682 5.2.1 NOTE 2, hsscache.go), else by a SIR.
func (g *Gateway) resolve(ctx context.Context, scs policy.SCS, da *tsp.DeviceAction) (*s6m.SIA, tsp.RequestStatus, string) {
	ttl := scs.HSSCache.TTL
	if ttl <= 0 {
		sia, status, reason, _ := g.askHSS(ctx, scs, da)
		return sia, status, reason
	}
	key := hssKeyFor(scs.ID, scs.Identity, da)
	if e, ok := g.hssCache.get(key, g.cfg.Now()); ok {
		g.Stats.HSSCacheHits.Add(1)
		g.cfg.Metrics.hssCache(true)
		return e.sia, e.status, e.reason
	}
	g.Stats.HSSCacheMisses.Add(1)
	g.cfg.Metrics.hssCache(false)
	sia, status, reason, permanent := g.askHSS(ctx, scs, da)
	now := g.cfg.Now()
	switch {
	case status == tsp.StatusSuccess:
		g.hssCache.put(key, hssEntry{sia: sia, status: status, expires: now.Add(ttl)}, now)
	case permanent && scs.HSSCache.NegativeTTL > 0:
		g.hssCache.put(key, hssEntry{status: status, reason: reason, expires: now.Add(scs.HSSCache.NegativeTTL)}, now)
	}
	return sia, status, reason
}

// askHSS sends the SIR (TS 29.336 5.2.1.3) and maps its result; permanent
// says the HSS refused with a 5xxx result (a refusal it will repeat, which
// may be cached), as opposed to a transient failure or no answer.
func (g *Gateway) askHSS(ctx context.Context, scs policy.SCS, da *tsp.DeviceAction) (sia *s6m.SIA, status tsp.RequestStatus, reason string, permanent bool) {
	svc := s6m.DeviceTrigger
	sir := s6m.SIR{
		Routing:        core.Routing{OriginHost: g.cfg.Identity.OriginHost, OriginRealm: g.cfg.Identity.OriginRealm, DestinationRealm: g.cfg.HSSRealm},
		UserIdentifier: core.UserIdentifier{ExternalIdentifier: da.ExternalIdentifier, MSISDN: da.MSISDN},
		ServiceID:      &svc,
		SCSIdentity:    scs.Identity,
		Flags:          s6m.S6mIndicator, // the request comes over S6m from an MTC-IWF (TS 29.336 6.4.10)
	}
	smea := core.InternationalSMEAddress(scs.Identity)
	params := &s6m.ServiceParameters{T4Parameters: &s6m.T4Parameters{SMRPSMEA: &smea}}
	if td := da.TriggerData; td != nil {
		params.T4Parameters.PriorityIndication = td.PriorityIndication
		params.ApplicationPortIdentifier = td.ApplicationPortIdentifier
	}
	sir.ServiceParameters = params
	m, err := sir.Message(g.s6mDict)
	if err != nil {
		g.log.Error("cannot build SIR", zap.Error(err))
		return nil, tsp.StatusTemporaryError, "internal error building the HSS request", false
	}
	sent := g.cfg.Now()
	ans, _, err := g.hss.Request(ctx, m)
	if err == nil {
		g.cfg.Metrics.s6m(g.cfg.Now().Sub(sent))
	}
	if err != nil {
		return nil, tsp.StatusTemporaryError, "HSS not reachable: " + errText(err), false
	}
	sia, perr := s6m.DecodeSIA(ans)
	if perr != nil {
		return nil, tsp.StatusTemporaryError, "unreadable HSS answer: " + perr.Reason, false
	}
	if st := tsp.RequestStatusFromS6m(sia.Result); st != tsp.StatusSuccess {
		return nil, st, "HSS: " + sia.Result.String(), sia.Result.Class() == 5
	}
	if sia.IMSI() == "" {
		return nil, tsp.StatusTemporaryError, "HSS answer carries no IMSI", false
	}
	return sia, tsp.StatusSuccess, "", false
}

// newDTR builds the T4 Device-Trigger-Request (TS 29.337 5.2.1.3).
func (g *Gateway) newDTR(scs policy.SCS, da *tsp.DeviceAction, sia *s6m.SIA, imsi string, validity time.Duration,
	action t4.TriggerAction, oldRef *uint32) *t4.DTR {
	ref := da.ReferenceNumber
	vt := uint32(validity / time.Second)
	dtr := &t4.DTR{
		Routing:            core.Routing{OriginHost: g.cfg.Identity.OriginHost, OriginRealm: g.cfg.Identity.OriginRealm, DestinationRealm: g.cfg.SMSCRealm},
		UserIdentifier:     core.UserIdentifier{IMSI: imsi, MSISDN: msisdnOf(sia, da)},
		SMRPSMEA:           core.InternationalSMEAddress(scs.Identity),
		ReferenceNumber:    &ref,
		ValidityTime:       &vt,
		OldReferenceNumber: oldRef,
		TriggerAction:      &action,
	}
	if td := da.TriggerData; td != nil {
		dtr.Payload = td.Payload
		dtr.PriorityIndication = td.PriorityIndication
		dtr.ApplicationPortIdentifier = td.ApplicationPortIdentifier
	}
	if sia != nil {
		if t := sia.T4(); t != nil {
			dtr.ServingNode = t.ServingNode
			dtr.AdditionalServingNodes = t.AdditionalServingNodes
		}
	}
	return dtr
}

func msisdnOf(sia *s6m.SIA, da *tsp.DeviceAction) string {
	if sia != nil {
		for _, u := range sia.UserIdentifiers {
			if u.MSISDN != "" {
				return u.MSISDN
			}
		}
	}
	return da.MSISDN
}

// submitRecorded submits the DTR of a trigger already in the store. A
// refused DTR removes the record again. The record names the SMS-SC that
// took it; newRecord guessed the first open peer, so only a failover costs
// another durable write.
func (g *Gateway) submitRecorded(ctx context.Context, rec *Trigger, dtr *t4.DTR, tx *transaction) (tsp.RequestStatus, string) {
	status, reason, smsc := g.submit(ctx, dtr, tx)
	if status != tsp.StatusSuccess {
		if err := g.store.CloseTrigger(ctx, rec.SCS, rec.Reference); err != nil {
			g.log.Error("could not drop a refused trigger from the store", zap.Error(err))
		}
		return status, reason
	}
	if smsc != rec.SMSC {
		rec.SMSC = smsc
		if err := g.store.Update(ctx, rec); err != nil && !errors.Is(err, ErrConflict) {
			// Accepted and stored; only the SMS-SC's name is stale. (A
			// conflict means its DRR already came: that write wins.)
			g.log.Warn("could not record the SMS-SC of an accepted trigger", zap.Error(err))
		}
	}
	return tsp.StatusSuccess, ""
}

// submit sends the DTR and maps the DTA (TS 29.337 7, reference 1.5).
func (g *Gateway) submit(ctx context.Context, dtr *t4.DTR, tx *transaction) (tsp.RequestStatus, string, string) {
	m, err := dtr.Message(g.t4Dict)
	if err != nil {
		g.log.Error("cannot build DTR", zap.Error(err))
		return tsp.StatusTemporaryError, "internal error building the SMS-SC request", ""
	}
	sent := g.cfg.Now()
	ans, conn, err := g.smsc.Request(ctx, m)
	if err == nil {
		g.cfg.Metrics.t4(g.cfg.Now().Sub(sent))
	}
	if err != nil {
		return tsp.StatusTemporaryError, "SMS-SC not reachable: " + errText(err), ""
	}
	dta, perr := t4.DecodeDTA(ans)
	if perr != nil {
		return tsp.StatusTemporaryError, "unreadable SMS-SC answer: " + perr.Reason, ""
	}
	tx.diag = dta.MTCErrorDiagnostic
	if st := tsp.RequestStatusFromT4(dta.Result); st != tsp.StatusSuccess {
		return st, "SMS-SC: " + dta.Result.String(), ""
	}
	smsc := ""
	if b := conn.Binding(); b != nil {
		smsc = b.OriginHost
	}
	return tsp.StatusSuccess, "", smsc
}

func errText(err error) string {
	switch {
	case errors.Is(err, diam.ErrNoPeer):
		return "no peer is up"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return err.Error()
}

// answer builds the DAA (step 9) from a typed struct that cannot hold an
// IMSI, runs the egress check, and writes the transaction's log line.
func (g *Gateway) answer(c *diam.Conn, req *godiam.Message, dar *tsp.DAR, tx *transaction,
	status tsp.RequestStatus, reason string) (*godiam.Message, error) {
	da := &dar.DeviceAction
	st := status
	daa := tsp.DAA{
		Result:       core.ResultCode(diam.ResultSuccess), // Request-Status carries the outcome (reference 1.6)
		ErrorMessage: reason,
		DeviceNotification: &tsp.DeviceNotification{
			ExternalIdentifier: da.ExternalIdentifier,
			MSISDN:             da.MSISDN,
			SCSIdentity:        da.SCSIdentity,
			ReferenceNumber:    da.ReferenceNumber,
			ActionType:         da.ActionType,
			RequestStatus:      &st,
			MTCErrorDiagnostic: tx.diag,
		},
	}
	if td := da.TriggerData; td != nil {
		daa.DeviceNotification.ApplicationPortIdentifier = td.ApplicationPortIdentifier
	}
	if g.cfg.RecallReplace {
		f := tsp.FeatureRecallReplace
		daa.FeatureSupportedInFinalTarget = &f
	}
	m, err := daa.Answer(req, c.Identity())
	if err == nil {
		err = g.egress(m)
	}
	latency := g.cfg.Now().Sub(tx.start)
	// One line per transaction; the fields are built only when the level
	// is enabled (at warn, the usual production level, this line costs
	// nothing: building them showed in the allocation profile).
	logLine := func(lvl zapcore.Level, msg string, extra ...zap.Field) {
		ce := g.log.Check(lvl, msg)
		if ce == nil {
			return
		}
		fields := make([]zap.Field, 0, 9)
		fields = append(fields, zap.String("scs", dar.OriginHost), zap.Stringer("action", da.ActionType),
			zap.Uint32("reference", da.ReferenceNumber), zap.Stringer("request_status", status),
			zap.Duration("latency", latency), zap.String("ue", maskedUE(da)))
		if tx.imsi != "" {
			fields = append(fields, zap.String("imsi", security.MaskIMSI(tx.imsi)))
		}
		if reason != "" {
			fields = append(fields, zap.String("reason", reason))
		}
		ce.Write(append(fields, extra...)...)
	}
	if err != nil {
		logLine(zapcore.ErrorLevel, "DAA not sent", zap.Error(err))
		return nil, err
	}
	logLine(zapcore.InfoLevel, "device action")
	g.cfg.Metrics.request(dar.OriginHost, da.ActionType, status, latency)
	return m, nil
}

// errorAnswer answers a DAR that could not be decoded (5005/5004 with
// Failed-AVP) in the DAA shape, through the egress check.
func (g *Gateway) errorAnswer(c *diam.Conn, req *godiam.Message, pe *diam.ProtocolError) (*godiam.Message, error) {
	g.log.Info("device action refused", zap.String("scs", diam.OriginHost(req)), zap.Uint32("result_code", pe.Code), zap.String("reason", pe.Reason))
	m, err := tsp.ErrorAnswer(req, pe, c.Identity())
	if err != nil {
		return nil, err
	}
	if err := tsp.CheckEgress(m, g.tspDict); err != nil {
		// The Failed-AVP copied something the SCS may not get back (e.g.
		// a User-Name it sent): answer without it.
		pe2 := *pe
		pe2.FailedAVP = nil
		if m, err = tsp.ErrorAnswer(req, &pe2, c.Identity()); err != nil {
			return nil, err
		}
		if err := g.egress(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}
