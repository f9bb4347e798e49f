package diam

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

// PeerBinding is what a successful capabilities exchange binds to a
// connection: who the peer is, and which Origin-Host values its requests may
// carry (step 3 of the request path: anti-spoofing).
type PeerBinding struct {
	OriginHost  string
	OriginRealm string
	// Kind is "scs" for an SCS, "agent" for an SCS-side Diameter agent such
	// as a DRA (TS 29.368 6.3.2), which relays requests of several SCSs.
	Kind string
	// Originators are the Origin-Host values allowed in application
	// requests on this connection: the SCS itself, or the SCSs an agent
	// may carry. Base-protocol requests (DWR, DPR) must always carry the
	// peer's own OriginHost: they are hop-by-hop.
	Originators map[string]bool
	// AnyOriginator lets application requests carry any Origin-Host: the
	// peer is a relay agent that forwards requests of nodes behind it
	// (RFC 6733 2.8; it keeps their Origin-Host, 6.1.9). Set only for a
	// connection we dialled to a peer whose CEA offers the relay
	// application; peers that connect to us are bound by Originators.
	AnyOriginator bool
}

// PeerAdmitter decides at CER whether a peer may connect. It is supplied by
// the security package (like OTP diameter's capabilities_cb): the diam layer
// only knows how to ask. A refusal is an error whose text becomes the CEA's
// Error-Message and the log line's reason.
type PeerAdmitter interface {
	AdmitPeer(originHost, originRealm string, cs *tls.ConnectionState) (*PeerBinding, error)
}

// capabilities is what a CER or CEA says about the sender (RFC 6733 5.3).
type capabilities struct {
	originHost, originRealm string
	apps                    []uint32 // Auth-/Acct-Application-Id, top level or inside VSAI
	inbandSecurity          []uint32
}

func readCapabilities(m *godiam.Message) capabilities {
	var c capabilities
	c.originHost = stringAVP(m, avp.OriginHost)
	c.originRealm = stringAVP(m, avp.OriginRealm)
	for _, a := range m.AVP {
		if a == nil || a.VendorID != 0 {
			continue
		}
		switch a.Code {
		case avp.AuthApplicationID, avp.AcctApplicationID:
			if v, ok := a.Data.(datatype.Unsigned32); ok {
				c.apps = append(c.apps, uint32(v))
			}
		case avp.InbandSecurityID:
			if v, ok := a.Data.(datatype.Unsigned32); ok {
				c.inbandSecurity = append(c.inbandSecurity, uint32(v))
			}
		case avp.VendorSpecificApplicationID:
			g, ok := a.Data.(*godiam.GroupedAVP)
			if !ok {
				continue
			}
			for _, in := range g.AVP {
				if in == nil || in.VendorID != 0 {
					continue
				}
				if in.Code == avp.AuthApplicationID || in.Code == avp.AcctApplicationID {
					if v, ok := in.Data.(datatype.Unsigned32); ok {
						c.apps = append(c.apps, uint32(v))
					}
				}
			}
		}
	}
	return c
}

// offers reports whether the peer offered app or the relay application
// (RFC 6733 5.3: a relay advertises 0xffffffff and carries every application).
func (c capabilities) offers(app uint32) bool {
	return slices.Contains(c.apps, app) || c.offersRelay()
}

// offersRelay reports whether the peer advertised the relay application:
// it is a relay agent (RFC 6733 2.4, 2.8).
func (c capabilities) offersRelay() bool {
	return slices.Contains(c.apps, AppRelay)
}

// checkCER decides the answer to a CER received on an accepted connection.
// It returns the binding on success, or the Result-Code and reason of the
// refusal. Order follows DESIGN.md step 2: identity first (3010), then the
// common application (5010).
func checkCER(cer *godiam.Message, app uint32, admit PeerAdmitter, cs *tls.ConnectionState) (*PeerBinding, uint32, string) {
	caps := readCapabilities(cer)
	b, err := admit.AdmitPeer(caps.originHost, caps.originRealm, cs)
	if err != nil {
		return nil, ResultUnknownPeer, err.Error()
	}
	// Inband-Security-Id: with TLS at connect the value must be 0
	// (NO_INBAND_SECURITY); 1 (TLS) is tolerated because the link already is
	// TLS (RFC 6733 6.10; go-diameter master accepts it the same way, #242).
	for _, v := range caps.inbandSecurity {
		if v > 1 {
			return nil, ResultNoCommonSecurity, fmt.Sprintf("Inband-Security-Id %d not supported: this node uses TLS at connect (offer 0, NO_INBAND_SECURITY)", v)
		}
	}
	if !caps.offers(app) {
		return nil, ResultNoCommonApplication,
			fmt.Sprintf("no common application: CER must offer application %d (or the relay application 4294967295)", app)
	}
	return b, ResultSuccess, ""
}

// capabilitiesAVPs appends the CER/CEA body that describes this node
// (RFC 6733 5.3.1/5.3.2): Host-IP-Address, Vendor-Id, Product-Name,
// Origin-State-Id, the application, Firmware-Revision.
func capabilitiesAVPs(m *godiam.Message, id *Identity, app *Application, local net.Addr) {
	ips := id.HostIPAddresses
	if len(ips) == 0 {
		if ta, ok := local.(*net.TCPAddr); ok && ta.IP != nil {
			ips = []net.IP{ta.IP}
		} else {
			ips = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
	}
	for _, ip := range ips {
		m.AddAVP(godiam.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(ip)))
	}
	m.AddAVP(godiam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(id.VendorID)))
	// Product-Name: M-bit must not be set (RFC 6733 5.3.7).
	m.AddAVP(godiam.NewAVP(avp.ProductName, 0, 0, datatype.UTF8String(id.ProductName)))
	m.AddAVP(godiam.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(id.OriginStateID)))
	if app.VendorID != 0 {
		// A vendor application goes in Vendor-Specific-Application-Id
		// (RFC 6733 6.11), with the vendor in Supported-Vendor-Id (5.3.6).
		m.AddAVP(godiam.NewAVP(avp.SupportedVendorID, avp.Mbit, 0, datatype.Unsigned32(app.VendorID)))
		m.AddAVP(godiam.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{
			godiam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(app.VendorID)),
			godiam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app.ID)),
		}}))
	} else {
		m.AddAVP(godiam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app.ID)))
	}
	// Firmware-Revision: M-bit must not be set (RFC 6733 5.3.4).
	m.AddAVP(godiam.NewAVP(avp.FirmwareRevision, 0, 0, datatype.Unsigned32(id.FirmwareRev)))
}

// newCEA answers a CER. Success and 5xxx CEAs carry no E-bit; 3xxx ones do
// (RFC 6733 7.1.3, 7.2). A refused CEA still describes us, so the peer's
// operator can see whom it reached.
func newCEA(cer *godiam.Message, code uint32, reason string, id *Identity, app *Application, local net.Addr) *godiam.Message {
	cea := answerFor(cer, code, id)
	capabilitiesAVPs(cea, id, app, local)
	if reason != "" {
		cea.AddAVP(godiam.NewAVP(avp.ErrorMessage, 0, 0, datatype.UTF8String(reason)))
	}
	return cea
}

// newCER builds the CER a dialling node sends (RFC 6733 5.3.1).
func newCER(id *Identity, app *Application, local net.Addr) *godiam.Message {
	cer := godiam.NewRequest(CmdCapabilitiesExchange, 0, app.Dict)
	cer.AddAVP(id.OriginHostAVP())
	cer.AddAVP(id.OriginRealmAVP())
	capabilitiesAVPs(cer, id, app, local)
	return cer
}
