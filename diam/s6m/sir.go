package s6m

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// SIR is the Subscriber-Information-Request (TS 29.336, reference 2.2),
// MTC-IWF -> HSS:
//
//	< Session-Id > [ DRMP ] { Auth-Session-State } { Origin-Host }
//	{ Origin-Realm } [ Destination-Host ] { Destination-Realm }
//	{ User-Identifier } [ Service-ID ] [ SCS-Identity ] [ Service-Parameters ]
//	{ SIR-Flags } [ OC-Supported-Features ] *[ Supported-Features ]
//	*[ Proxy-Info ] *[ Route-Record ] *[ AVP ]
//
// No Auth-Application-Id: the application is only in the header (reference
// 2.2). For a device trigger, User-Identifier holds the External-Identifier
// or MSISDN the SCS named, Service-ID is DEVICE_TRIGGER and Flags has
// S6mIndicator (reference 5.1 step 4). DRMP, OC-Supported-Features,
// Supported-Features, Proxy-Info and Route-Record are not kept.
type SIR struct {
	core.Routing
	UserIdentifier    core.UserIdentifier
	ServiceID         *ServiceID
	SCSIdentity       string // E.164 digits, TBCD on the wire
	ServiceParameters *ServiceParameters
	Flags             SIRFlags
}

// ServiceParameters is the Service-Parameters AVP (3105):
// [ T4-Parameters ] [ Application-Port-Identifier ] *[ AVP ].
type ServiceParameters struct {
	T4Parameters              *T4Parameters
	ApplicationPortIdentifier *uint32 // 0..core.MaxApplicationPort
}

// T4Parameters is the T4-Parameters AVP (3106):
// [ Priority-Indication ] [ SM-RP-SMEA ] *[ AVP ].
type T4Parameters struct {
	PriorityIndication *PriorityIndication
	SMRPSMEA           *core.SMEAddress // the SCS's SME address
}

// Message builds the SIR with dictionary d (an S6m parser).
func (r *SIR) Message(d *dict.Parser) (*godiam.Message, error) {
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
	b.U32(codec.ServiceID, codec.Raw(r.ServiceID))
	b.TBCD(codec.SCSIdentity, r.SCSIdentity)
	if sp := r.ServiceParameters; sp != nil {
		var sb codec.Builder
		if t := sp.T4Parameters; t != nil {
			var tb codec.Builder
			tb.U32(codec.PriorityIndication, codec.Raw(t.PriorityIndication))
			if t.SMRPSMEA != nil {
				tb.SMEA(codec.SMRPSMEA, *t.SMRPSMEA)
			}
			if tb.Err != nil {
				b.Fail(tb.Err)
			}
			sb.Add(codec.T4Parameters.Group(tb.AVPs...))
		}
		sb.U32(codec.ApplicationPortIdentifier, sp.ApplicationPortIdentifier)
		b.Add(codec.ServiceParameters.Group(sb.AVPs...))
	}
	b.Add(codec.SIRFlags.U32(uint32(r.Flags)))
	return codec.FinishRequest(&b, cmdSI, d)
}

func (r *SIR) check() *codec.Problem {
	if err := r.UserIdentifier.Check(); err != nil {
		return codec.BadAVP(codec.UserIdentifier, "SIR", err.Error())
	}
	if r.ServiceID != nil && !r.ServiceID.Valid() {
		return codec.BadAVP(codec.ServiceID, "SIR", fmt.Sprintf("Service-ID %d is not defined", uint32(*r.ServiceID)))
	}
	if r.SCSIdentity != "" {
		if err := core.CheckE164(r.SCSIdentity); err != nil {
			return codec.BadAVP(codec.SCSIdentity, "SIR", "SCS-Identity: "+err.Error())
		}
	}
	if sp := r.ServiceParameters; sp != nil {
		if err := core.CheckApplicationPort(sp.ApplicationPortIdentifier); err != nil {
			return codec.BadAVP(codec.ApplicationPortIdentifier, "Service-Parameters", "Application-Port-Identifier in Service-Parameters: "+err.Error())
		}
		if t := sp.T4Parameters; t != nil {
			if t.PriorityIndication != nil && !t.PriorityIndication.Valid() {
				return codec.BadAVP(codec.PriorityIndication, "T4-Parameters",
					fmt.Sprintf("Priority-Indication %d is not defined", uint32(*t.PriorityIndication)))
			}
			if t.SMRPSMEA != nil {
				if err := t.SMRPSMEA.Check(); err != nil {
					return codec.BadAVP(codec.SMRPSMEA, "T4-Parameters", err.Error())
				}
			}
		}
	}
	return nil
}

// DecodeSIR reads an SIR (the HSS side: cmd/coresim).
func DecodeSIR(m *godiam.Message) (*SIR, *diam.ProtocolError) {
	if pe := cmdSI.CheckHeader(m, true); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdSI.Req())
	r := &SIR{Routing: codec.DecodeRouting(top, 0, false)}
	if g, ok := top.Group(codec.UserIdentifier); ok {
		r.UserIdentifier = codec.DecodeUserIdentifier(g)
	} else {
		top.Missing(codec.UserIdentifier)
	}
	r.ServiceID = codec.Enum[ServiceID](top.OptU32(codec.ServiceID))
	r.SCSIdentity = top.TBCD(codec.SCSIdentity)
	var levels []codec.Level
	if sp, ok := top.Group(codec.ServiceParameters); ok {
		levels = append(levels, sp)
		r.ServiceParameters = &ServiceParameters{ApplicationPortIdentifier: sp.OptU32(codec.ApplicationPortIdentifier)}
		if t4, ok := sp.Group(codec.T4Parameters); ok {
			levels = append(levels, t4)
			tp := &T4Parameters{PriorityIndication: codec.Enum[PriorityIndication](t4.OptU32(codec.PriorityIndication))}
			if t4.Has(codec.SMRPSMEA) {
				a := t4.SMEA(codec.SMRPSMEA)
				tp.SMRPSMEA = &a
			}
			r.ServiceParameters.T4Parameters = tp
		}
	}
	r.Flags = SIRFlags(top.ReqU32(codec.SIRFlags))
	if !dec.Failed() {
		dec.Report(r.check(), append(levels, top)...)
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return r, nil
}
