package diam

import (
	"net"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// Base protocol command codes (RFC 6733 3.1) and the relay application id
// (RFC 6733 2.4).
const (
	CmdCapabilitiesExchange = 257
	CmdDeviceWatchdog       = 280
	CmdDisconnectPeer       = 282
	AppRelay                = 0xffffffff
)

// Disconnect-Cause values (RFC 6733 5.4.3).
const (
	DisconnectRebooting            = 0
	DisconnectBusy                 = 1
	DisconnectDoNotWantToTalkToYou = 2
)

// Identity is this node's Diameter identity and what it says about itself
// in CER/CEA (RFC 6733 5.3.1, 5.3.2).
type Identity struct {
	OriginHost  string
	OriginRealm string
	// OriginStateID changes each time the daemon restarts (RFC 6733 8.16),
	// so peers can tell a restart from a reconnect.
	OriginStateID uint32
	// HostIPAddresses to advertise; empty means the connection's local IP.
	HostIPAddresses []net.IP
	ProductName     string
	VendorID        uint32
	FirmwareRev     uint32
}

// Application is the one Diameter application a connection carries
// (one dictionary per interface: DESIGN.md, go-diameter.md §3).
type Application struct {
	ID       uint32
	VendorID uint32 // 0 for an IETF application
	Dict     *dict.Parser
}

// AnswerFlags returns the command flags of the answer to a request whose
// flags are reqFlags (RFC 6733 6.2): the P bit is kept; R, T and E are
// cleared (T marks a retransmitted request, not its answer, 3); E is set again
// when the answer carries a protocol error, a 3xxx Result-Code (7.1.3, 7.2).
func AnswerFlags(reqFlags uint8, protocolError bool) uint8 {
	flags := reqFlags &^ (godiam.RequestFlag | godiam.RetransmittedFlag | godiam.ErrorFlag)
	if protocolError {
		flags |= godiam.ErrorFlag
	}
	return flags
}

// NewAnswerMessage returns an answer without AVPs to the request with header
// h: same command code, Application-Id, Hop-by-Hop and End-to-End ids
// (RFC 6733 6.2), flags from AnswerFlags, dictionary d.
func NewAnswerMessage(h *godiam.Header, protocolError bool, d *dict.Parser) *godiam.Message {
	return godiam.NewMessage(h.CommandCode, AnswerFlags(h.CommandFlags, protocolError), h.ApplicationID,
		h.HopByHopID, h.EndToEndID, d)
}

// AnswerSessionID returns the Session-Id AVP for the answer to req (RFC 6733
// 6.2, 8.8: the answer carries the request's Session-Id), or nil when req has
// none.
func AnswerSessionID(req *godiam.Message) *godiam.AVP {
	for _, a := range req.AVP {
		if a != nil && a.Code == avp.SessionID && a.VendorID == 0 && a.Data != nil {
			return godiam.NewAVP(avp.SessionID, avp.Mbit, 0, a.Data)
		}
	}
	return nil
}

// OriginHostAVP is id's Origin-Host AVP (RFC 6733 6.3).
func (id *Identity) OriginHostAVP() *godiam.AVP {
	return godiam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(id.OriginHost))
}

// OriginRealmAVP is id's Origin-Realm AVP (RFC 6733 6.4).
func (id *Identity) OriginRealmAVP() *godiam.AVP {
	return godiam.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(id.OriginRealm))
}

// answerFor builds an answer to req with the fields every base answer
// carries (RFC 6733 6.2): the header from NewAnswerMessage, Session-Id first
// when the request had one, Result-Code, our Origin-Host/Realm. The caller
// copies Proxy-Info last (CopyProxyInfo).
func answerFor(req *godiam.Message, code uint32, id *Identity) *godiam.Message {
	ans := NewAnswerMessage(req.Header, IsProtocolErrorCode(code), req.Dictionary())
	if sid := AnswerSessionID(req); sid != nil {
		ans.AddAVP(sid)
	}
	ans.AddAVP(godiam.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(code)))
	ans.AddAVP(id.OriginHostAVP())
	ans.AddAVP(id.OriginRealmAVP())
	return ans
}

// CopyProxyInfo appends the request's Proxy-Info AVPs to the answer
// (RFC 6733 6.2: "the Proxy-Info AVPs ... MUST be copied ... in the same order").
func CopyProxyInfo(req, ans *godiam.Message) {
	for _, a := range req.AVP {
		if a != nil && a.Code == avp.ProxyInfo && a.VendorID == 0 {
			ans.AddAVP(a)
		}
	}
}

// errorAnswer builds the answer to a request that failed a protocol check,
// in the format of RFC 6733 7.2: Result-Code, Error-Message, Failed-AVP.
func errorAnswer(req *godiam.Message, pe *ProtocolError, id *Identity) *godiam.Message {
	ans := answerFor(req, pe.Code, id)
	addErrorDetail(ans, pe, id)
	CopyProxyInfo(req, ans)
	return ans
}

// errorAnswerFromHeader answers a request whose body could not be decoded:
// only its header is known, so there is no Session-Id to echo.
func errorAnswerFromHeader(h *godiam.Header, d *dict.Parser, pe *ProtocolError, id *Identity) *godiam.Message {
	ans := NewAnswerMessage(h, IsProtocolErrorCode(pe.Code), d)
	ans.AddAVP(godiam.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(pe.Code)))
	ans.AddAVP(id.OriginHostAVP())
	ans.AddAVP(id.OriginRealmAVP())
	addErrorDetail(ans, pe, id)
	return ans
}

func addErrorDetail(ans *godiam.Message, pe *ProtocolError, id *Identity) {
	if pe.Reason != "" {
		// Error-Message: M-bit must not be set (RFC 6733 7.3).
		ans.AddAVP(godiam.NewAVP(avp.ErrorMessage, 0, 0, datatype.UTF8String(pe.Reason)))
	}
	if IsProtocolErrorCode(pe.Code) {
		// Error-Reporting-Host tells the peer which node found the fault
		// (RFC 6733 7.4); cheap and useful when a DRA sits between us.
		ans.AddAVP(godiam.NewAVP(avp.ErrorReportingHost, 0, 0, datatype.DiameterIdentity(id.OriginHost)))
	}
	if len(pe.FailedAVP) > 0 {
		ans.AddAVP(godiam.NewAVP(avp.FailedAVP, avp.Mbit, 0, &godiam.GroupedAVP{AVP: pe.FailedAVP}))
	}
}

// OriginHost is the Origin-Host of m, or "" (for logging a message the
// typed decoders refused).
func OriginHost(m *godiam.Message) string { return stringAVP(m, avp.OriginHost) }

// stringAVP returns the string value of the first top-level AVP with code
// (vendor 0), or "".
func stringAVP(m *godiam.Message, code uint32) string {
	for _, a := range m.AVP {
		if a == nil || a.Code != code || a.VendorID != 0 {
			continue
		}
		switch v := a.Data.(type) {
		case datatype.DiameterIdentity:
			return string(v)
		case datatype.UTF8String:
			return string(v)
		case datatype.OctetString:
			return string(v)
		}
	}
	return ""
}

// uint32AVP returns the first top-level AVP with code (vendor 0) as uint32.
func uint32AVP(m *godiam.Message, code uint32) (uint32, bool) {
	for _, a := range m.AVP {
		if a == nil || a.Code != code || a.VendorID != 0 {
			continue
		}
		switch v := a.Data.(type) {
		case datatype.Unsigned32:
			return uint32(v), true
		case datatype.Enumerated:
			return uint32(v), true
		}
	}
	return 0, false
}
