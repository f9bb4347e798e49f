package t4

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// DRR is the Delivery-Report-Request (TS 29.337, reference 3.2), SMS-SC ->
// MTC-IWF:
//
//	< Session-Id > [ DRMP ] { Auth-Session-State } { Origin-Host }
//	{ Origin-Realm } { Destination-Host } { Destination-Realm }
//	{ User-Identifier } { SM-RP-SMEA } { SM-Delivery-Outcome-T4 }
//	[ Absent-Subscriber-Diagnostic-T4 ] [ Reference-Number ]
//	*[ Supported-Features ] *[ AVP ] *[ Proxy-Info ] *[ Route-Record ]
//
// The MTC-IWF finds the trigger by (SM-RP-SMEA, Reference-Number) (DESIGN.md
// step 10); User-Identifier may hold the IMSI and never goes into the DNR.
type DRR struct {
	core.Routing
	UserIdentifier             core.UserIdentifier
	SMRPSMEA                   core.SMEAddress
	SMDeliveryOutcome          SMDeliveryOutcome
	AbsentSubscriberDiagnostic *AbsentSubscriberDiagnostic
	ReferenceNumber            *uint32
}

// Message builds the DRR with dictionary d (a T4 parser; the SMS-SC side:
// cmd/coresim).
func (r *DRR) Message(d *dict.Parser) (*godiam.Message, error) {
	var b codec.Builder
	codec.AddRouting(&b, r.Routing, 0, true)
	if p := r.check(); p != nil {
		b.Fail(p)
	}
	ui, err := codec.UserIdentifierAVP(r.UserIdentifier)
	if err != nil {
		b.Fail(err)
	}
	b.Add(ui)
	b.SMEA(codec.SMRPSMEA, r.SMRPSMEA)
	b.Add(codec.SMDeliveryOutcomeT4.Enum(uint32(r.SMDeliveryOutcome)))
	b.U32(codec.AbsentSubscriberDiagnosticT4, codec.Raw(r.AbsentSubscriberDiagnostic))
	b.U32(codec.ReferenceNumber, r.ReferenceNumber)
	return codec.FinishRequest(&b, cmdDR, d)
}

func (r *DRR) check() *codec.Problem {
	const in = "DRR"
	if err := r.UserIdentifier.Check(); err != nil {
		return codec.BadAVP(codec.UserIdentifier, in, err.Error())
	}
	if err := r.SMRPSMEA.Check(); err != nil {
		return codec.BadAVP(codec.SMRPSMEA, in, err.Error())
	}
	if !r.SMDeliveryOutcome.Valid() {
		return codec.BadAVP(codec.SMDeliveryOutcomeT4, in, fmt.Sprintf("SM-Delivery-Outcome-T4 %d is not defined", uint32(r.SMDeliveryOutcome)))
	}
	if d := r.AbsentSubscriberDiagnostic; d != nil && !d.Valid() {
		return codec.BadAVP(codec.AbsentSubscriberDiagnosticT4, in, fmt.Sprintf("Absent-Subscriber-Diagnostic-T4 %d is not defined", uint32(*d)))
	}
	return nil
}

// DecodeDRR reads a DRR.
func DecodeDRR(m *godiam.Message) (*DRR, *diam.ProtocolError) {
	if pe := cmdDR.CheckHeader(m, true); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDR.Req())
	r := &DRR{Routing: codec.DecodeRouting(top, 0, true)}
	if g, ok := top.Group(codec.UserIdentifier); ok {
		r.UserIdentifier = codec.DecodeUserIdentifier(g)
	} else {
		top.Missing(codec.UserIdentifier)
	}
	r.SMRPSMEA = top.SMEA(codec.SMRPSMEA)
	r.SMDeliveryOutcome = SMDeliveryOutcome(top.ReqU32(codec.SMDeliveryOutcomeT4))
	r.AbsentSubscriberDiagnostic = codec.Enum[AbsentSubscriberDiagnostic](top.OptU32(codec.AbsentSubscriberDiagnosticT4))
	r.ReferenceNumber = top.OptU32(codec.ReferenceNumber)
	if !dec.Failed() {
		dec.Report(r.check(), top)
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return r, nil
}

// DRA is the Delivery-Report-Answer (TS 29.337, reference 3.2), MTC-IWF ->
// SMS-SC:
//
//	< Session-Id > [ DRMP ] [ Vendor-Specific-Application-Id ]
//	[ Result-Code ] [ Experimental-Result ] { Auth-Session-State }
//	{ Origin-Host } { Origin-Realm } *[ Supported-Features ] *[ AVP ]
//	[ Failed-AVP ] *[ Proxy-Info ] *[ Route-Record ]
//
// The MTC-IWF sends it only after the SCS answered the DNR (reference 5.2
// step 8).
type DRA struct {
	Result core.Result
}

// Answer builds the DRA to req, a DRR.
func (a *DRA) Answer(req *godiam.Message, id *diam.Identity) (*godiam.Message, error) {
	var b codec.Builder
	codec.NewAnswer(&b, cmdDR, req, id, 0)
	codec.AddResult(&b, a.Result)
	return codec.FinishAnswer(&b, req, a.Result)
}

// DecodeDRA reads a DRA (the SMS-SC side).
func DecodeDRA(m *godiam.Message) (*DRA, *diam.ProtocolError) {
	if pe := cmdDR.CheckHeader(m, false); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDR.Ans())
	a := &DRA{}
	a.Result, _ = codec.DecodeAnswerHead(top, m, 0)
	if dec.Err != nil {
		return nil, dec.Err
	}
	return a, nil
}
