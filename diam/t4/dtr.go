package t4

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// DTR is the Device-Trigger-Request (TS 29.337, reference 3.2), MTC-IWF ->
// SMS-SC:
//
//	< Session-Id > [ DRMP ] { Auth-Session-State } { Origin-Host }
//	{ Origin-Realm } [ Destination-Host ] { Destination-Realm }
//	{ User-Identifier } { SM-RP-SMEA } { Payload } [ Serving-Node ]
//	*[ Additional-Serving-Node ] [ Reference-Number ] [ Validity-Time ]
//	[ Priority-Indication ] [ SMS-Application-Port-ID ]
//	[ Old-Reference-Number ] [ Trigger-Action ] *[ Supported-Features ]
//	*[ AVP ] *[ Proxy-Info ] *[ Route-Record ]
//
// SMS-Application-Port-ID has no code of its own; it is encoded as
// Application-Port-Identifier (3010), as Mobius does (reference 3.2, 8.9).
// Beyond the ABNF: Trigger-Action RECALL or REPLACE needs
// Old-Reference-Number (5005), as on Tsp; values must be defined (5004).
// User-Identifier carries the IMSI and MSISDN from the SIA (reference 5.2
// step 1); only "at least one identifier" is enforced.
type DTR struct {
	core.Routing
	UserIdentifier         core.UserIdentifier
	SMRPSMEA               core.SMEAddress // the SCS's SME address
	Payload                []byte          // nil when empty
	ServingNode            *core.ServingNode
	AdditionalServingNodes []core.ServingNode
	ReferenceNumber        *uint32
	ValidityTime           *uint32 // seconds
	PriorityIndication     *PriorityIndication
	// ApplicationPortIdentifier is SMS-Application-Port-ID,
	// 0..core.MaxApplicationPort.
	ApplicationPortIdentifier *uint32
	OldReferenceNumber        *uint32
	TriggerAction             *TriggerAction
}

// Message builds the DTR with dictionary d (a T4 parser).
func (r *DTR) Message(d *dict.Parser) (*godiam.Message, error) {
	var b codec.Builder
	codec.AddRouting(&b, r.Routing, 0, false)
	if p := r.check(); p != nil {
		b.Fail(p)
	}
	ui, err := codec.UserIdentifierAVP(r.UserIdentifier)
	if err != nil {
		b.Fail(err)
	}
	b.Add(ui)
	b.SMEA(codec.SMRPSMEA, r.SMRPSMEA)
	b.Add(codec.Payload.Octets(r.Payload))
	codec.AddServingNodes(&b, r.ServingNode, r.AdditionalServingNodes)
	b.U32(codec.ReferenceNumber, r.ReferenceNumber)
	b.U32(codec.ValidityTime, r.ValidityTime)
	b.U32(codec.PriorityIndication, codec.Raw(r.PriorityIndication))
	b.U32(codec.ApplicationPortIdentifier, r.ApplicationPortIdentifier)
	b.U32(codec.OldReferenceNumber, r.OldReferenceNumber)
	b.U32(codec.TriggerAction, codec.Raw(r.TriggerAction))
	return codec.FinishRequest(&b, cmdDT, d)
}

func (r *DTR) check() *codec.Problem {
	const in = "DTR"
	if err := r.UserIdentifier.Check(); err != nil {
		return codec.BadAVP(codec.UserIdentifier, in, err.Error())
	}
	if err := r.SMRPSMEA.Check(); err != nil {
		return codec.BadAVP(codec.SMRPSMEA, in, err.Error())
	}
	if r.PriorityIndication != nil && !r.PriorityIndication.Valid() {
		return codec.BadAVP(codec.PriorityIndication, in, fmt.Sprintf("Priority-Indication %d is not defined", uint32(*r.PriorityIndication)))
	}
	if err := core.CheckApplicationPort(r.ApplicationPortIdentifier); err != nil {
		return codec.BadAVP(codec.ApplicationPortIdentifier, in, "SMS-Application-Port-ID in DTR: "+err.Error())
	}
	if a := r.TriggerAction; a != nil {
		if !a.Valid() {
			return codec.BadAVP(codec.TriggerAction, in, fmt.Sprintf("Trigger-Action %d is not defined", uint32(*a)))
		}
		if a.NeedsOldReference() && r.OldReferenceNumber == nil {
			return codec.MissingAVP(in, fmt.Sprintf("DTR with Trigger-Action %s needs Old-Reference-Number: the trigger to act on", *a), codec.OldReferenceNumber)
		}
	}
	return nil
}

// DecodeDTR reads a DTR (the SMS-SC side: cmd/coresim).
func DecodeDTR(m *godiam.Message) (*DTR, *diam.ProtocolError) {
	if pe := cmdDT.CheckHeader(m, true); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDT.Req())
	r := &DTR{Routing: codec.DecodeRouting(top, 0, false)}
	if g, ok := top.Group(codec.UserIdentifier); ok {
		r.UserIdentifier = codec.DecodeUserIdentifier(g)
	} else {
		top.Missing(codec.UserIdentifier)
	}
	r.SMRPSMEA = top.SMEA(codec.SMRPSMEA)
	if !top.Has(codec.Payload) {
		top.Missing(codec.Payload)
	}
	r.Payload, _ = top.Bytes(codec.Payload)
	r.ServingNode, r.AdditionalServingNodes = codec.DecodeServingNodes(top)
	r.ReferenceNumber = top.OptU32(codec.ReferenceNumber)
	r.ValidityTime = top.OptU32(codec.ValidityTime)
	r.PriorityIndication = codec.Enum[PriorityIndication](top.OptU32(codec.PriorityIndication))
	r.ApplicationPortIdentifier = top.OptU32(codec.ApplicationPortIdentifier)
	r.OldReferenceNumber = top.OptU32(codec.OldReferenceNumber)
	r.TriggerAction = codec.Enum[TriggerAction](top.OptU32(codec.TriggerAction))
	if !dec.Failed() {
		dec.Report(r.check(), top)
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return r, nil
}

// DTA is the Device-Trigger-Answer (TS 29.337, reference 3.2), SMS-SC ->
// MTC-IWF:
//
//	< Session-Id > [ DRMP ] [ Vendor-Specific-Application-Id ]
//	[ Result-Code ] [ Experimental-Result ] [ MTC-Error-Diagnostic ]
//	{ Auth-Session-State } { Origin-Host } { Origin-Realm }
//	[ Old-Reference-Number ] [ Trigger-Action ] *[ Supported-Features ]
//	*[ AVP ] [ Failed-AVP ] *[ Proxy-Info ] *[ Route-Record ]
//
// tsp.RequestStatusFromT4 maps Result to a Tsp Request-Status;
// MTCErrorDiagnostic goes into the DAA's Device-Notification as is.
type DTA struct {
	Result             core.Result
	MTCErrorDiagnostic *MTCErrorDiagnostic
	OldReferenceNumber *uint32
	TriggerAction      *TriggerAction
}

// Answer builds the DTA to req, a DTR (the SMS-SC side: cmd/coresim).
func (a *DTA) Answer(req *godiam.Message, id *diam.Identity) (*godiam.Message, error) {
	var b codec.Builder
	codec.NewAnswer(&b, cmdDT, req, id, 0)
	codec.AddResult(&b, a.Result)
	if p := a.check(); p != nil {
		b.Fail(p)
	}
	b.U32(codec.MTCErrorDiagnostic, codec.Raw(a.MTCErrorDiagnostic))
	b.U32(codec.OldReferenceNumber, a.OldReferenceNumber)
	b.U32(codec.TriggerAction, codec.Raw(a.TriggerAction))
	return codec.FinishAnswer(&b, req, a.Result)
}

func (a *DTA) check() *codec.Problem {
	if d := a.MTCErrorDiagnostic; d != nil && !d.Valid() {
		return codec.BadAVP(codec.MTCErrorDiagnostic, "DTA", fmt.Sprintf("MTC-Error-Diagnostic %d is not defined", uint32(*d)))
	}
	if t := a.TriggerAction; t != nil && !t.Valid() {
		return codec.BadAVP(codec.TriggerAction, "DTA", fmt.Sprintf("Trigger-Action %d is not defined", uint32(*t)))
	}
	return nil
}

// DecodeDTA reads a DTA.
func DecodeDTA(m *godiam.Message) (*DTA, *diam.ProtocolError) {
	if pe := cmdDT.CheckHeader(m, false); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDT.Ans())
	a := &DTA{}
	a.Result, _ = codec.DecodeAnswerHead(top, m, 0)
	a.MTCErrorDiagnostic = codec.Enum[MTCErrorDiagnostic](top.OptU32(codec.MTCErrorDiagnostic))
	a.OldReferenceNumber = top.OptU32(codec.OldReferenceNumber)
	a.TriggerAction = codec.Enum[TriggerAction](top.OptU32(codec.TriggerAction))
	if !dec.Failed() {
		dec.Report(a.check(), top)
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return a, nil
}
