package tsp

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// DNR is the Device-Notification-Request (TS 29.368 6.6.4, reference 1.2),
// MTC-IWF -> SCS:
//
//	< Session-Id > { Auth-Application-Id } { Auth-Session-State }
//	{ Origin-Host } { Origin-Realm } { Destination-Realm } { Destination-Host }
//	[ Origin-State-Id ] [ Device-Notification ] *[ Proxy-Info ]
//	*[ Route-Record ] *[ AVP ]
//
// Destination-Host is mandatory: the report goes to one specific SCS.
// Device-Notification is optional in the ABNF but a DNR without one reports
// nothing, so Message requires it and DecodeDNR refuses its absence (5005).
// Its Action-Type must be DELIVERY_REPORT or MSISDN_LESS_MO_SMS_DELIVERY
// (reference 1.5: the two values used MTC-IWF -> SCS).
type DNR struct {
	core.Routing
	DeviceNotification DeviceNotification
}

// Message builds the DNR with dictionary d (a Tsp parser).
func (r *DNR) Message(d *dict.Parser) (*godiam.Message, error) {
	var b codec.Builder
	codec.AddRouting(&b, r.Routing, AppID, true)
	if p := r.check(); p != nil {
		b.Fail(p)
	}
	dn, err := r.DeviceNotification.avp()
	if err != nil {
		b.Fail(err)
	}
	b.Add(dn)
	return codec.FinishRequest(&b, cmdDN, d)
}

func (r *DNR) check() *codec.Problem {
	if at := r.DeviceNotification.ActionType; at.Valid() && at != DeliveryReport && at != MSISDNLessMOSMSDelivery {
		return codec.BadAVP(codec.ActionType, "Device-Notification",
			fmt.Sprintf("Action-Type %s in a DNR: a DNR carries a delivery report or an MSISDN-less MO-SMS", at))
	}
	return nil
}

// DecodeDNR reads a DNR.
func DecodeDNR(m *godiam.Message) (*DNR, *diam.ProtocolError) {
	if pe := cmdDN.CheckHeader(m, true); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDN.Req())
	r := &DNR{Routing: codec.DecodeRouting(top, AppID, true)}
	g, ok := top.Group(codec.DeviceNotification)
	if !ok {
		top.Missing(codec.DeviceNotification)
	} else {
		r.DeviceNotification = *decodeDeviceNotification(g)
	}
	if !dec.Failed() {
		dec.Report(r.DeviceNotification.check(), g)
		dec.Report(r.check(), g)
	}
	if dec.Err != nil {
		return nil, dec.Err
	}
	return r, nil
}

// DNA is the Device-Notification-Answer (TS 29.368 6.6.5, reference 1.2),
// SCS -> MTC-IWF:
//
//	< Session-Id > { Auth-Application-Id } { Auth-Session-State }
//	{ Origin-Host } { Origin-Realm } [ Result-Code ] [ Experimental-Result ]
//	[ Origin-State-Id ] [ Error-Message ] [ Error-Reporting-Host ]
//	*[ Redirect-Host ] [ Redirect-Host-Usage ] [ Redirect-Max-Cache-Time ]
//	[ Failed-AVP ] *[ Proxy-Info ] *[ AVP ]
type DNA struct {
	Result       core.Result
	ErrorMessage string
}

// Answer builds the DNA to req, a DNR.
func (a *DNA) Answer(req *godiam.Message, id *diam.Identity) (*godiam.Message, error) {
	var b codec.Builder
	codec.NewAnswer(&b, cmdDN, req, id, AppID)
	codec.AddResult(&b, a.Result)
	b.String(codec.ErrorMessage, a.ErrorMessage)
	return codec.FinishAnswer(&b, req, a.Result)
}

// DecodeDNA reads a DNA.
func DecodeDNA(m *godiam.Message) (*DNA, *diam.ProtocolError) {
	if pe := cmdDN.CheckHeader(m, false); pe != nil {
		return nil, pe
	}
	var dec codec.Decoder
	top := dec.Top(m, cmdDN.Ans())
	a := &DNA{}
	a.Result, a.ErrorMessage = codec.DecodeAnswerHead(top, m, AppID)
	if dec.Err != nil {
		return nil, dec.Err
	}
	return a, nil
}
