package tsp

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// DAA is the Device-Action-Answer (TS 29.368 6.6.3, reference 1.2),
// MTC-IWF -> SCS:
//
//	< Session-Id > { Auth-Application-Id } { Auth-Session-State }
//	{ Origin-Host } { Origin-Realm } [ Result-Code ] [ Experimental-Result ]
//	[ Error-Message ] [ Error-Reporting-Host ] [ Failed-AVP ]
//	[ Origin-State-Id ] { Device-Notification } *[ Redirect-Host ]
//	[ Redirect-Host-Usage ] [ Redirect-Max-Cache-Time ] *[ Proxy-Info ]
//	*[ Supported-Features ] [ Feature-Supported-In-Final-Target ] *[ Load ]
//	*[ AVP ]
//
// The outcome of the action is DeviceNotification.RequestStatus; Result is
// the Diameter-level outcome, normally Result-Code 2001 (reference 1.6).
// Device-Notification is mandatory in the ABNF; DAA requires it when Result
// is a success and allows it absent on a failure answer, where the request
// may have been too broken to echo (see ErrorAnswer).
type DAA struct {
	Result             core.Result
	ErrorMessage       string
	DeviceNotification *DeviceNotification
	// FeatureSupportedInFinalTarget tells the SCS whether the SMS-SC
	// supports recall/replace; nil when nothing is supported (reference 1.5).
	FeatureSupportedInFinalTarget *FinalTargetFeatures
}

// DeviceNotification is the Device-Notification AVP (3002, reference 1.4),
// in DAA (status of a request) and DNR (a report):
//
//	[ External-Identifier ] [ MSISDN ] [ SCS-Identity ] { Reference-Number }
//	{ Action-Type } [ Request-Status ] [ MTC-Error-Diagnostic ]
//	[ Delivery-Outcome ] [ SM-RP-UI ] [ Application-Port-Identifier ] *[ AVP ]
//
// It can name the device only by External-Identifier or MSISDN: there is
// no field for an IMSI, and the egress check refuses one anyway.
type DeviceNotification struct {
	ExternalIdentifier        string // <local-id>@<domain-id>
	MSISDN                    string // E.164 digits
	SCSIdentity               string // E.164 digits
	ReferenceNumber           uint32
	ActionType                ActionType
	RequestStatus             *RequestStatus      // DAA
	MTCErrorDiagnostic        *MTCErrorDiagnostic // DAA after a failed replace
	DeliveryOutcome           *DeliveryOutcome    // DNR, Action-Type DELIVERY_REPORT
	SMRPUI                    []byte              // DNR, MSISDN-less MO-SMS payload
	ApplicationPortIdentifier *uint32             // 0..MaxApplicationPort
}

// Answer builds the DAA to req, a DAR (see the package comment).
func (a *DAA) Answer(req *godiam.Message, id *diam.Identity) (*godiam.Message, error) {
	var b codec.Builder
	codec.NewAnswer(&b, cmdDA, req, id, AppID)
	codec.AddResult(&b, a.Result)
	b.String(codec.ErrorMessage, a.ErrorMessage)
	if p := a.check(); p != nil {
		b.Fail(p)
	}
	if a.DeviceNotification != nil {
		dn, err := a.DeviceNotification.avp()
		if err != nil {
			b.Fail(err)
		}
		b.Add(dn)
	}
	b.U32(codec.FeatureSupportedInFinalTarget, codec.Raw(a.FeatureSupportedInFinalTarget))
	return codec.FinishAnswer(&b, req, a.Result)
}

func (a *DAA) check() *codec.Problem {
	if a.DeviceNotification == nil {
		if a.Result.IsSuccess() {
			return codec.MissingAVP(cmdDA.Ans(), "a successful DAA needs Device-Notification", codec.DeviceNotification)
		}
		return nil
	}
	if at := a.DeviceNotification.ActionType; at.Valid() && !at.IsRequestAction() {
		return codec.BadAVP(codec.ActionType, "Device-Notification",
			fmt.Sprintf("Action-Type %s in a DAA's Device-Notification: a DAA answers a trigger, recall or replace", at))
	}
	return a.DeviceNotification.check()
}

// DecodeDAA reads a DAA.
func DecodeDAA(m *godiam.Message) (*DAA, *diam.ProtocolError) {
	if pe := cmdDA.CheckHeader(m, false); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDA.Ans())
	a := &DAA{}
	a.Result, a.ErrorMessage = codec.DecodeAnswerHead(top, m, AppID)
	var dn codec.Level
	if g, ok := top.Group(codec.DeviceNotification); ok {
		dn = g
		a.DeviceNotification = decodeDeviceNotification(g)
	}
	a.FeatureSupportedInFinalTarget = codec.Enum[FinalTargetFeatures](top.OptU32(codec.FeatureSupportedInFinalTarget))
	if !dec.Failed() {
		dec.Report(a.check(), top, dn)
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return a, nil
}

func decodeDeviceNotification(g codec.Level) *DeviceNotification {
	n := &DeviceNotification{}
	n.ExternalIdentifier = g.NonEmpty(codec.ExternalIdentifier)
	n.MSISDN = g.TBCD(codec.MSISDN)
	n.SCSIdentity = g.TBCD(codec.SCSIdentity)
	n.ReferenceNumber = g.ReqU32(codec.ReferenceNumber)
	n.ActionType = ActionType(g.ReqU32(codec.ActionType))
	n.RequestStatus = codec.Enum[RequestStatus](g.OptU32(codec.RequestStatus))
	n.MTCErrorDiagnostic = codec.Enum[MTCErrorDiagnostic](g.OptU32(codec.MTCErrorDiagnostic))
	n.DeliveryOutcome = codec.Enum[DeliveryOutcome](g.OptU32(codec.DeliveryOutcome))
	n.SMRPUI, _ = g.Bytes(codec.SMRPUI)
	n.ApplicationPortIdentifier = g.OptU32(codec.ApplicationPortIdentifier)
	return n
}

// check reports the first value of n that is not defined or malformed. Which
// Action-Types fit is the command's business (DAA, DNR).
func (n *DeviceNotification) check() *codec.Problem {
	const in = "Device-Notification"
	switch {
	case !n.ActionType.Valid():
		return codec.BadAVP(codec.ActionType, in, fmt.Sprintf("Action-Type %d in Device-Notification is not defined", uint32(n.ActionType)))
	case n.RequestStatus != nil && !n.RequestStatus.Valid():
		return codec.BadAVP(codec.RequestStatus, in, fmt.Sprintf("Request-Status %d in Device-Notification is not defined", uint32(*n.RequestStatus)))
	case n.MTCErrorDiagnostic != nil && !n.MTCErrorDiagnostic.Valid():
		return codec.BadAVP(codec.MTCErrorDiagnostic, in, fmt.Sprintf("MTC-Error-Diagnostic %d in Device-Notification is not defined", uint32(*n.MTCErrorDiagnostic)))
	case n.DeliveryOutcome != nil && !n.DeliveryOutcome.Valid():
		return codec.BadAVP(codec.DeliveryOutcome, in, fmt.Sprintf("Delivery-Outcome %d in Device-Notification is not defined", uint32(*n.DeliveryOutcome)))
	}
	if err := core.CheckApplicationPort(n.ApplicationPortIdentifier); err != nil {
		return codec.BadAVP(codec.ApplicationPortIdentifier, in, "Application-Port-Identifier in Device-Notification: "+err.Error())
	}
	return checkIdentities(in, n.ExternalIdentifier, n.MSISDN, n.SCSIdentity)
}

func (n *DeviceNotification) avp() (*godiam.AVP, error) {
	if p := n.check(); p != nil {
		return nil, p
	}
	var b codec.Builder
	b.String(codec.ExternalIdentifier, n.ExternalIdentifier)
	b.TBCD(codec.MSISDN, n.MSISDN)
	b.TBCD(codec.SCSIdentity, n.SCSIdentity)
	b.Add(codec.ReferenceNumber.U32(n.ReferenceNumber))
	b.Add(codec.ActionType.Enum(uint32(n.ActionType)))
	b.U32(codec.RequestStatus, codec.Raw(n.RequestStatus))
	b.U32(codec.MTCErrorDiagnostic, codec.Raw(n.MTCErrorDiagnostic))
	b.U32(codec.DeliveryOutcome, codec.Raw(n.DeliveryOutcome))
	if len(n.SMRPUI) > 0 {
		b.Add(codec.SMRPUI.Octets(n.SMRPUI))
	}
	b.U32(codec.ApplicationPortIdentifier, n.ApplicationPortIdentifier)
	if b.Err != nil {
		return nil, b.Err
	}
	return codec.DeviceNotification.Group(b.AVPs...), nil
}

// ErrorAnswer builds the answer to a Tsp request that DecodeDAR or DecodeDNR
// (or the dictionary validation before them) refused: a DAA to a DAR, a DNA
// to a DNR, carrying pe.Code as Result-Code, pe.Reason as Error-Message and
// pe.FailedAVP as Failed-AVP (RFC 6733 7.2-7.5), with the Tsp head
// (Auth-Application-Id, Auth-Session-State). A 3xxx code sets the E bit and
// adds Error-Reporting-Host (7.3).
//
// A DAA also echoes the request's Reference-Number and a request-side
// Action-Type in a Device-Notification when both can be read, so the SCS can
// match the refusal to its transaction; nothing else of the request is
// echoed. The answer still goes through CheckEgress like any other: a
// Failed-AVP that copies a forbidden AVP the SCS sent (User-Name, say) is
// refused there, and the caller should answer without the Failed-AVP.
func ErrorAnswer(req *godiam.Message, pe *diam.ProtocolError, id *diam.Identity) (*godiam.Message, error) {
	if pe == nil {
		return nil, fmt.Errorf("tsp: ErrorAnswer without an error")
	}
	if req == nil || req.Header == nil {
		return nil, fmt.Errorf("tsp: ErrorAnswer without a request")
	}
	cmd := cmdDA
	if req.Header.CommandCode == CmdDeviceNotification {
		cmd = cmdDN
	}
	res := core.ResultCode(pe.Code)
	var b codec.Builder
	codec.NewAnswer(&b, cmd, req, id, AppID)
	codec.AddResult(&b, res)
	b.String(codec.ErrorMessage, pe.Reason)
	if diam.IsProtocolErrorCode(pe.Code) && id != nil {
		b.Ident(codec.ErrorReportingHost, id.OriginHost)
	}
	if len(pe.FailedAVP) > 0 {
		b.Add(codec.FailedAVP.Group(pe.FailedAVP...))
	}
	if cmd == cmdDA {
		if dn := echoDeviceNotification(req); dn != nil {
			b.Add(dn)
		}
	}
	return codec.FinishAnswer(&b, req, res)
}

// echoDeviceNotification reads Reference-Number and Action-Type from the
// request's Device-Action, best effort, without trusting anything else.
func echoDeviceNotification(req *godiam.Message) *godiam.AVP {
	var dec codec.Decoder
	top := dec.Top(req, cmdDA.Req())
	g, ok := top.Group(codec.DeviceAction)
	if !ok {
		return nil
	}
	ref, okRef := g.U32(codec.ReferenceNumber)
	at, okAT := g.U32(codec.ActionType)
	if dec.Failed() || !okRef || !okAT || !ActionType(at).IsRequestAction() {
		return nil
	}
	return codec.DeviceNotification.Group(codec.ReferenceNumber.U32(ref), codec.ActionType.Enum(at))
}
