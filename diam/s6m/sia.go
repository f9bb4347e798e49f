package s6m

import (
	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// SIA is the Subscriber-Information-Answer (TS 29.336, reference 2.2),
// HSS -> MTC-IWF:
//
//	< Session-Id > [ DRMP ] [ Result-Code ] [ Experimental-Result ]
//	{ Auth-Session-State } { Origin-Host } { Origin-Realm }
//	[ OC-Supported-Features ] [ OC-OLR ] *[ Load ] *[ Supported-Features ]
//	*[ User-Identifier ] [ Service-Data ] [ Failed-AVP ] *[ Proxy-Info ]
//	*[ Route-Record ] *[ AVP ]
//
// Result is a Result-Code (2001 on success) or an Experimental-Result with
// ErrorUserUnknown, ErrorUnauthorizedRequestingEntity or
// ErrorUnauthorizedService (reference 2.4); tsp.RequestStatusFromS6m maps
// it to a Tsp Request-Status. UserIdentifiers hold the IMSI (User-Name) and
// the MSISDN / External-Identifier the HSS knows; ServiceData the serving
// nodes for T4.
type SIA struct {
	Result          core.Result
	UserIdentifiers []core.UserIdentifier
	ServiceData     *ServiceData
}

// ServiceData is the Service-Data AVP (3107): [ T4-Data ] *[ AVP ].
type ServiceData struct {
	T4Data *T4Data
}

// T4Data is the T4-Data AVP (3108):
// [ HSS-Cause ] [ Serving-Node ] *[ Additional-Serving-Node ] *[ AVP ].
// An Additional-Serving-Node without a Serving-Node is refused (reference
// 2.3). That "Absent Subscriber" comes without serving nodes is the HSS's
// rule (single source) and is not enforced: the nodes are passed on as given.
type T4Data struct {
	HSSCause               *HSSCause
	ServingNode            *core.ServingNode
	AdditionalServingNodes []core.ServingNode
}

// IMSI is the first IMSI among the answer's User-Identifiers, or "".
func (a *SIA) IMSI() string {
	for _, u := range a.UserIdentifiers {
		if u.IMSI != "" {
			return u.IMSI
		}
	}
	return ""
}

// T4 is the answer's T4-Data, or nil.
func (a *SIA) T4() *T4Data {
	if a.ServiceData == nil {
		return nil
	}
	return a.ServiceData.T4Data
}

// Answer builds the SIA to req, an SIR (the HSS side: cmd/coresim).
func (a *SIA) Answer(req *godiam.Message, id *diam.Identity) (*godiam.Message, error) {
	var b codec.Builder
	codec.NewAnswer(&b, cmdSI, req, id, 0)
	codec.AddResult(&b, a.Result)
	for _, u := range a.UserIdentifiers {
		ui, err := codec.UserIdentifierAVP(u)
		if err != nil {
			b.Fail(err)
		}
		b.Add(ui)
	}
	if sd := a.ServiceData; sd != nil {
		var sb codec.Builder
		if t := sd.T4Data; t != nil {
			var tb codec.Builder
			tb.U32(codec.HSSCause, codec.Raw(t.HSSCause))
			codec.AddServingNodes(&tb, t.ServingNode, t.AdditionalServingNodes)
			if tb.Err != nil {
				b.Fail(tb.Err)
			}
			sb.Add(codec.T4Data.Group(tb.AVPs...))
		}
		b.Add(codec.ServiceData.Group(sb.AVPs...))
	}
	return codec.FinishAnswer(&b, req, a.Result)
}

// DecodeSIA reads an SIA.
func DecodeSIA(m *godiam.Message) (*SIA, *diam.ProtocolError) {
	if pe := cmdSI.CheckHeader(m, false); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdSI.Ans())
	a := &SIA{}
	a.Result, _ = codec.DecodeAnswerHead(top, m, 0)
	for _, g := range top.Groups(codec.UserIdentifier) {
		a.UserIdentifiers = append(a.UserIdentifiers, codec.DecodeUserIdentifier(g))
	}
	if sd, ok := top.Group(codec.ServiceData); ok {
		a.ServiceData = &ServiceData{}
		if t4, ok := sd.Group(codec.T4Data); ok {
			t := &T4Data{HSSCause: codec.Enum[HSSCause](t4.OptU32(codec.HSSCause))}
			t.ServingNode, t.AdditionalServingNodes = codec.DecodeServingNodes(t4)
			a.ServiceData.T4Data = t
		}
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return a, nil
}
