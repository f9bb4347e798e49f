package tsp

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// DAR is the Device-Action-Request (TS 29.368 6.6.2, reference 1.2), SCS ->
// MTC-IWF:
//
//	< Session-Id > { Auth-Application-Id } { Auth-Session-State }
//	{ Origin-Host } { Origin-Realm } { Destination-Realm } [ Destination-Host ]
//	[ Origin-State-Id ] [ Device-Action ] *[ Proxy-Info ] *[ Route-Record ]
//	*[ Supported-Features ] *[ AVP ]
//
// The ABNF makes Device-Action optional; a DAR without one asks for nothing,
// so DecodeDAR refuses it (5005) and Message requires it. Origin-State-Id,
// Proxy-Info, Route-Record and Supported-Features are not kept.
type DAR struct {
	core.Routing
	DeviceAction DeviceAction
}

// DeviceAction is the Device-Action AVP (3001, reference 1.4):
//
//	[ External-Identifier ] [ MSISDN ] [ SCS-Identity ] { Reference-Number }
//	[ Old-Reference-Number ] { Action-Type } [ Trigger-Data ]
//	[ Validity-Time ] *[ AVP ]
//
// Rules beyond the ABNF, checked on encode and decode (see check):
//   - Action-Type is DEVICE_TRIGGER_REQUEST, DEVICE_TRIGGER_RECALL or
//     DEVICE_TRIGGER_REPLACE (the others flow MTC-IWF -> SCS in DNR): 5004;
//   - exactly one of External-Identifier and MSISDN (TS 23.682 5.2.1 step 2
//     names one device by one identifier; with both, authorization could
//     check one while the HSS resolves the other): none 5005, both 5004;
//   - External-Identifier is <local>@<domain> (core.CheckExternalIdentifier),
//     MSISDN and SCS-Identity are E.164 digits in TBCD: 5004;
//   - Trigger-Data is present for trigger and replace, Old-Reference-Number
//     for recall and replace: 5005 (RFC 6733 7.1.5: a required AVP is
//     missing; Failed-AVP gives an example of it).
type DeviceAction struct {
	ExternalIdentifier string // <local-id>@<domain-id>
	MSISDN             string // E.164 digits, TBCD on the wire
	SCSIdentity        string // E.164 digits of the SCS, TBCD on the wire (reference 1.7)
	ReferenceNumber    uint32
	OldReferenceNumber *uint32 // recall/replace: the trigger to act on
	ActionType         ActionType
	TriggerData        *TriggerData
	ValidityTime       *uint32 // seconds (RFC 4006 Validity-Time)
}

// TriggerData is the Trigger-Data AVP (3003, reference 1.4):
//
//	{ Payload } [ Priority-Indication ] [ Application-Port-Identifier ] *[ AVP ]
type TriggerData struct {
	// Payload is the bytes for the device application; nil when empty.
	Payload                   []byte
	PriorityIndication        *PriorityIndication
	ApplicationPortIdentifier *uint32 // 0..MaxApplicationPort
}

// Message builds the DAR with dictionary d (a Tsp parser).
func (r *DAR) Message(d *dict.Parser) (*godiam.Message, error) {
	var b codec.Builder
	codec.AddRouting(&b, r.Routing, AppID, false)
	a, err := r.DeviceAction.avp()
	if err != nil {
		b.Fail(err)
	}
	b.Add(a)
	return codec.FinishRequest(&b, cmdDA, d)
}

// DecodeDAR reads a DAR. See DAR and DeviceAction for what is refused.
func DecodeDAR(m *godiam.Message) (*DAR, *diam.ProtocolError) {
	if pe := cmdDA.CheckHeader(m, true); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDA.Req())
	r := &DAR{Routing: codec.DecodeRouting(top, AppID, false)}
	g, ok := top.Group(codec.DeviceAction)
	if !ok && !dec.Failed() {
		top.Missing(codec.DeviceAction)
	}
	r.DeviceAction = decodeDeviceAction(&dec, g)
	if dec.Err != nil {
		return nil, dec.Err
	}
	return r, nil
}

func decodeDeviceAction(dec *codec.Decoder, g codec.Level) DeviceAction {
	var a DeviceAction
	a.ExternalIdentifier = g.NonEmpty(codec.ExternalIdentifier)
	a.MSISDN = g.TBCD(codec.MSISDN)
	a.SCSIdentity = g.TBCD(codec.SCSIdentity)
	a.ReferenceNumber = g.ReqU32(codec.ReferenceNumber)
	a.OldReferenceNumber = g.OptU32(codec.OldReferenceNumber)
	a.ActionType = ActionType(g.ReqU32(codec.ActionType))
	a.ValidityTime = g.OptU32(codec.ValidityTime)
	td, hasTD := g.Group(codec.TriggerData)
	if hasTD {
		a.TriggerData = decodeTriggerData(td)
	}
	if !dec.Failed() {
		dec.Report(a.check(), g, td)
	}
	return a
}

func decodeTriggerData(g codec.Level) *TriggerData {
	t := &TriggerData{}
	if !g.Has(codec.Payload) {
		g.Missing(codec.Payload)
	}
	t.Payload, _ = g.Bytes(codec.Payload)
	t.PriorityIndication = codec.Enum[PriorityIndication](g.OptU32(codec.PriorityIndication))
	t.ApplicationPortIdentifier = g.OptU32(codec.ApplicationPortIdentifier)
	return t
}

// check reports the first rule a breaks (see DeviceAction).
func (a *DeviceAction) check() *codec.Problem {
	const in = "Device-Action"
	switch {
	case !a.ActionType.Valid():
		return codec.BadAVP(codec.ActionType, in, fmt.Sprintf("Action-Type %d in Device-Action is not defined", uint32(a.ActionType)))
	case !a.ActionType.IsRequestAction():
		return codec.BadAVP(codec.ActionType, in, fmt.Sprintf("Action-Type %s in Device-Action: an SCS may only request a trigger, recall or replace", a.ActionType))
	case a.ExternalIdentifier == "" && a.MSISDN == "":
		return codec.MissingAVP(in, "Device-Action needs External-Identifier or MSISDN to name the device",
			codec.ExternalIdentifier, codec.MSISDN)
	case a.ExternalIdentifier != "" && a.MSISDN != "":
		return codec.BadAVP(codec.MSISDN, in, "Device-Action carries both External-Identifier and MSISDN; send exactly one")
	}
	if p := checkIdentities(in, a.ExternalIdentifier, a.MSISDN, a.SCSIdentity); p != nil {
		return p
	}
	if a.ActionType.NeedsTriggerData() && a.TriggerData == nil {
		return codec.MissingAVP(in, fmt.Sprintf("Device-Action with Action-Type %s (%d) needs Trigger-Data", a.ActionType, uint32(a.ActionType)), codec.TriggerData)
	}
	if a.ActionType.NeedsOldReference() && a.OldReferenceNumber == nil {
		return codec.MissingAVP(in, fmt.Sprintf("Device-Action with Action-Type %s (%d) needs Old-Reference-Number: the trigger to act on", a.ActionType, uint32(a.ActionType)), codec.OldReferenceNumber)
	}
	if a.TriggerData != nil {
		return a.TriggerData.check()
	}
	return nil
}

func (t *TriggerData) check() *codec.Problem {
	const in = "Trigger-Data"
	if t.PriorityIndication != nil && !t.PriorityIndication.Valid() {
		return codec.BadAVP(codec.PriorityIndication, in, fmt.Sprintf("Priority-Indication %d in Trigger-Data is not defined", uint32(*t.PriorityIndication)))
	}
	if err := core.CheckApplicationPort(t.ApplicationPortIdentifier); err != nil {
		return codec.BadAVP(codec.ApplicationPortIdentifier, in, "Application-Port-Identifier in Trigger-Data: "+err.Error())
	}
	return nil
}

func (a *DeviceAction) avp() (*godiam.AVP, error) {
	if p := a.check(); p != nil {
		return nil, p
	}
	var b codec.Builder
	b.String(codec.ExternalIdentifier, a.ExternalIdentifier)
	b.TBCD(codec.MSISDN, a.MSISDN)
	b.TBCD(codec.SCSIdentity, a.SCSIdentity)
	b.Add(codec.ReferenceNumber.U32(a.ReferenceNumber))
	b.U32(codec.OldReferenceNumber, a.OldReferenceNumber)
	b.Add(codec.ActionType.Enum(uint32(a.ActionType)))
	if t := a.TriggerData; t != nil {
		var tb codec.Builder
		tb.Add(codec.Payload.Octets(t.Payload))
		tb.U32(codec.PriorityIndication, codec.Raw(t.PriorityIndication))
		tb.U32(codec.ApplicationPortIdentifier, t.ApplicationPortIdentifier)
		b.Add(codec.TriggerData.Group(tb.AVPs...))
	}
	b.U32(codec.ValidityTime, a.ValidityTime)
	if b.Err != nil {
		return nil, b.Err
	}
	return codec.DeviceAction.Group(b.AVPs...), nil
}

// checkIdentities checks the identities a Device-Action or a
// Device-Notification (named in) carries, each when present: the device's
// External-Identifier (<local>@<domain>, TS 23.682 4.6.2) and MSISDN, and
// the SCS-Identity (E.164 digits, reference 1.7).
func checkIdentities(in, externalID, msisdn, scsIdentity string) *codec.Problem {
	if externalID != "" {
		if err := core.CheckExternalIdentifier(externalID); err != nil {
			return codec.BadAVP(codec.ExternalIdentifier, in, err.Error()+" in "+in)
		}
	}
	if msisdn != "" {
		if err := core.CheckE164(msisdn); err != nil {
			return codec.BadAVP(codec.MSISDN, in, "MSISDN in "+in+": "+err.Error())
		}
	}
	if scsIdentity != "" {
		if err := core.CheckE164(scsIdentity); err != nil {
			return codec.BadAVP(codec.SCSIdentity, in, "SCS-Identity in "+in+": "+err.Error())
		}
	}
	return nil
}
