package sim

import (
	"context"
	"errors"
	"strings"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/security"
)

// serveS6m is the HSS: it answers a SIR (TS 29.336 5.2.1, reference 2) from
// the subscriber directory, unless an injection says otherwise.
func (s *Sim) serveS6m(ctx context.Context, c *diam.Conn, m *godiam.Message) (*godiam.Message, error) {
	s.ctr.update(func(k *Counters) { k.SIRReceived++ })
	sir, pe := s6m.DecodeSIR(m)
	if pe != nil {
		// The dictionary check in diam ran first; what is left is a value
		// the decoder refused (a bad TBCD number, say).
		s.countSIA(pe.Code)
		s.log.Warn("SIR refused", zap.Uint32("result", pe.Code), zap.String("reason", pe.Reason))
		return (&s6m.SIA{Result: core.ResultCode(pe.Code)}).Answer(m, c.Identity())
	}
	log := s.log.WithLazy(zap.String("peer", sir.Routing.OriginHost), zap.String("user", maskUser(sir.UserIdentifier)),
		zap.String("scs_identity", sir.SCSIdentity))

	if in, ok := s.inj.take(TargetHSS); ok {
		if !s.hold(c, in.Delay) {
			return nil, errConnGone
		}
		if in.Drop {
			s.countSIA(0)
			log.Info("SIR dropped (injected): no SIA")
			<-c.Done()
			return nil, errConnGone
		}
		if in.Result != 0 {
			s.countSIA(in.Result)
			log.Info("SIR answered (injected)", zap.Uint32("result", in.Result))
			return (&s6m.SIA{Result: injectedResult(in.Result)}).Answer(m, c.Identity())
		}
	}

	sia, label, why := s.resolve(sir)
	s.countSIA(sia.Result.Code)
	log.Info("SIR answered", zap.String("subscriber", label), zap.Stringer("result", sia.Result), zap.String("why", why))
	return sia.Answer(m, c.Identity())
}

// resolve runs the HSS's checks in order: known UE (5001), SCS allowed
// (5510), device triggering allowed (5511); then the subscriber data. It
// also says which subscriber answered and why (the SIA has no Error-Message).
func (s *Sim) resolve(sir *s6m.SIR) (*s6m.SIA, string, string) {
	sub, ok := s.lookupSIR(sir.UserIdentifier)
	switch {
	case !ok:
		return &s6m.SIA{Result: core.Experimental3GPP(s6m.ErrorUserUnknown)}, "unknown",
			"no subscriber with this External-Identifier or MSISDN"
	case sir.ServiceID != nil && *sir.ServiceID != s6m.DeviceTrigger:
		return &s6m.SIA{Result: core.Experimental3GPP(s6m.ErrorUnauthorizedService)}, sub.Name,
			"only the DEVICE_TRIGGER service is simulated"
	case !sub.allows(sir.SCSIdentity):
		return &s6m.SIA{Result: core.Experimental3GPP(s6m.ErrorUnauthorizedRequestingEntity)}, sub.Name,
			"SCS-Identity not in allowed_scs"
	case !sub.TriggerAllowed():
		return &s6m.SIA{Result: core.Experimental3GPP(s6m.ErrorUnauthorizedService)}, sub.Name,
			"trigger_service: false"
	}
	user := core.UserIdentifier{IMSI: sub.IMSI, MSISDN: sub.MSISDN, ExternalIdentifier: sir.UserIdentifier.ExternalIdentifier}
	if user.ExternalIdentifier == "" && len(sub.ExternalIdentifiers) > 0 {
		user.ExternalIdentifier = sub.ExternalIdentifiers[0]
	}
	t4 := &s6m.T4Data{}
	why := "served"
	if sub.Absent {
		// Absent Subscriber: no serving node (TS 29.336 T4-Data rules).
		t4.HSSCause = new(s6m.AbsentSubscriber)
		why = "absent subscriber"
	} else {
		t4.ServingNode = new(sub.ServingNode.core())
	}
	return &s6m.SIA{
		Result:          core.ResultCode(resultSuccess),
		UserIdentifiers: []core.UserIdentifier{user},
		ServiceData:     &s6m.ServiceData{T4Data: t4},
	}, sub.Name, why
}

// lookupSIR finds the subscriber by External-Identifier or, without one, by
// MSISDN.
func (s *Sim) lookupSIR(u core.UserIdentifier) (*Subscriber, bool) {
	if u.ExternalIdentifier != "" {
		return s.dir.byExternalID(u.ExternalIdentifier)
	}
	if u.MSISDN != "" {
		return s.dir.byMSISDN(u.MSISDN)
	}
	return nil, false
}

func (s *Sim) countSIA(code uint32) {
	s.ctr.update(func(k *Counters) { k.SIAResults[resultKey(code)]++ })
}

// core converts the file's serving node to the Serving-Node value.
func (n ServingNode) core() core.ServingNode {
	var out core.ServingNode
	if n.MME != nil {
		out.MMEName, out.MMERealm, out.MMENumberForMTSMS = n.MME.Name, n.MME.Realm, n.MME.Number
	}
	out.MSCNumber = n.MSCNumber
	out.SGSNNumber = n.SGSNNumber
	return out
}

// injectedResult is an injected code as a Result: 3004 and 5012 are base
// Result-Codes, the others 3GPP Experimental-Results.
func injectedResult(code uint32) core.Result {
	if isBaseResult(code) {
		return core.ResultCode(code)
	}
	return core.Experimental3GPP(code)
}

// errConnGone ends a handler whose connection closed while it waited: the
// answer has nowhere to go.
var errConnGone = errors.New("connection closed before the answer")

func maskUser(u core.UserIdentifier) string {
	var parts []string
	if u.IMSI != "" {
		parts = append(parts, "imsi="+security.MaskIMSI(u.IMSI))
	}
	if u.MSISDN != "" {
		parts = append(parts, "msisdn="+security.MaskMSISDN(u.MSISDN))
	}
	if u.ExternalIdentifier != "" {
		parts = append(parts, "ext="+security.MaskExternalID(u.ExternalIdentifier))
	}
	return strings.Join(parts, " ")
}

// hold waits d (when positive) unless the connection closes first; it
// reports whether the connection is still there.
func (s *Sim) hold(c *diam.Conn, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.Done():
		return false
	}
}
