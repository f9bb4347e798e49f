package codec

import (
	"errors"
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
)

// Command describes one command for header checks and error reasons.
type Command struct {
	Code  uint32
	App   uint32
	Short string // "DA", "SI", ...: "DAR"/"DAA" in reasons
}

// Req is the request's short name ("DAR").
func (c Command) Req() string { return c.Short + "R" }

// Ans is the answer's short name ("DAA").
func (c Command) Ans() string { return c.Short + "A" }

// CheckHeader reports a message that is not this command's request (request
// true) or answer: wrong application (3007) or command (3001), or the R bit
// the other way round, or the E bit on a request (3008).
func (c Command) CheckHeader(m *godiam.Message, request bool) *diam.ProtocolError {
	h := (*godiam.Header)(nil)
	if m != nil {
		h = m.Header
	}
	if h != nil && h.ApplicationID == c.App && h.CommandCode == c.Code &&
		(h.CommandFlags&godiam.RequestFlag != 0) == request &&
		(!request || h.CommandFlags&godiam.ErrorFlag == 0) {
		return nil // the common case, without building the name (it showed in CPU profiles)
	}
	name := c.Ans()
	if request {
		name = c.Req()
	}
	if m == nil || m.Header == nil {
		return &diam.ProtocolError{Code: diam.ResultUnableToComply, Reason: "no message to decode as " + name}
	}
	isReq := h.CommandFlags&godiam.RequestFlag != 0
	switch {
	case h.ApplicationID != c.App:
		return &diam.ProtocolError{Code: diam.ResultApplicationUnsupported, Header: h,
			Reason: fmt.Sprintf("%s expected in application %d, got application %d", name, c.App, h.ApplicationID)}
	case h.CommandCode != c.Code:
		return &diam.ProtocolError{Code: diam.ResultCommandUnsupported, Header: h,
			Reason: fmt.Sprintf("%s expected (command %d), got command %d", name, c.Code, h.CommandCode)}
	case isReq != request:
		return &diam.ProtocolError{Code: diam.ResultInvalidHdrBits, Header: h,
			Reason: fmt.Sprintf("%s expected, but the R bit is %v", name, isReq)}
	case isReq && h.CommandFlags&godiam.ErrorFlag != 0:
		return &diam.ProtocolError{Code: diam.ResultInvalidHdrBits, Header: h,
			Reason: fmt.Sprintf("%s has the E bit set, which only answers may carry", name)}
	}
	return nil
}

// DecodeRouting reads the head of a request: Session-Id, Auth-Application-Id
// (when authApp != 0: mandatory and equal to authApp, as in the Tsp ABNF),
// Auth-Session-State (mandatory, either value: RFC 6733 8.11 leaves the
// server free to answer NO_STATE_MAINTAINED), Origin-Host, Origin-Realm,
// Destination-Host (mandatory when destHostRequired) and Destination-Realm.
func DecodeRouting(top Level, authApp uint32, destHostRequired bool) core.Routing {
	var r core.Routing
	r.SessionID = top.ReqString(SessionID)
	decodeAuth(top, authApp)
	r.OriginHost = top.ReqString(OriginHost)
	r.OriginRealm = top.ReqString(OriginRealm)
	if destHostRequired {
		r.DestinationHost = top.ReqString(DestinationHost)
	} else if top.Has(DestinationHost) {
		r.DestinationHost = top.ReqString(DestinationHost) // present: must not be empty
	}
	r.DestinationRealm = top.ReqString(DestinationRealm)
	return r
}

func decodeAuth(top Level, authApp uint32) {
	if authApp != 0 {
		if app := top.ReqU32(AuthApplicationID); !top.dec.Failed() && app != authApp {
			top.Invalid(top.Find(AuthApplicationID), AuthApplicationID, "is %d; this interface is application %d", app, authApp)
		}
	}
	if st := top.ReqU32(AuthSessionState); !top.dec.Failed() && st != StateMaintained && st != NoStateMaintained {
		top.Invalid(top.Find(AuthSessionState), AuthSessionState, "value %d is not defined", st)
	}
}

// DecodeAnswerHead reads the head every answer of ours carries: Session-Id,
// [Auth-Application-Id when authApp != 0], Auth-Session-State, Origin-Host,
// Origin-Realm, the Result and an optional Error-Message. An answer with the
// E bit follows the RFC 6733 7.2 answer-message format, which has no
// Auth-* AVPs, so those are not required there.
func DecodeAnswerHead(top Level, m *godiam.Message, authApp uint32) (core.Result, string) {
	top.ReqString(SessionID)
	if m.Header.CommandFlags&godiam.ErrorFlag == 0 {
		decodeAuth(top, authApp)
	}
	top.ReqString(OriginHost)
	top.ReqString(OriginRealm)
	res := DecodeResult(top)
	msg, _ := top.String(ErrorMessage)
	return res, msg
}

// DecodeResult reads Result-Code or Experimental-Result (exactly one, with a
// non-zero code; an Experimental-Result needs a non-zero Vendor-Id, or it
// would be a Result-Code).
func DecodeResult(top Level) core.Result {
	rc, hasRC := top.U32(ResultCode)
	er, hasER := top.Group(ExperimentalResult)
	switch {
	case top.dec.Failed():
		return core.Result{}
	case hasRC && hasER:
		top.Invalid(top.Find(ExperimentalResult), ExperimentalResult, "present together with Result-Code %d; an answer carries one of them", rc)
	case hasRC:
		if rc == 0 {
			top.Invalid(top.Find(ResultCode), ResultCode, "0 is not a result code")
		}
		return core.ResultCode(rc)
	case hasER:
		vendor := er.ReqU32(VendorID)
		code := er.ReqU32(ExperimentalResCode)
		switch {
		case er.dec.Failed():
		case vendor == 0:
			er.Invalid(er.Find(VendorID), VendorID, "0 in Experimental-Result; an IETF code goes in Result-Code")
		case code == 0:
			er.Invalid(er.Find(ExperimentalResCode), ExperimentalResCode, "0 is not a result code")
		}
		return core.Result{Code: code, VendorID: vendor}
	default:
		top.MissingOneOf(ResultCode, ExperimentalResult)
	}
	return core.Result{}
}

// DecodeUserIdentifier reads a User-Identifier group: User-Name (an IMSI),
// MSISDN (TBCD), External-Identifier; at least one (reference 2.3). LMSI,
// Type-Of-External-Identifier and unknown members are not kept.
func DecodeUserIdentifier(g Level) core.UserIdentifier {
	var u core.UserIdentifier
	if s, ok := g.String(UserName); ok {
		g.Check(UserName, core.CheckIMSI(s))
		u.IMSI = s
	}
	u.MSISDN = g.TBCD(MSISDN)
	if s, ok := g.String(ExternalIdentifier); ok {
		g.Check(ExternalIdentifier, core.CheckExternalIdentifier(s))
		u.ExternalIdentifier = s
	}
	if !g.dec.Failed() && u.IsZero() {
		g.MissingOneOf(UserName, MSISDN, ExternalIdentifier)
	}
	return u
}

// UserIdentifierAVP encodes u as a User-Identifier group.
func UserIdentifierAVP(u core.UserIdentifier) (*godiam.AVP, error) {
	if err := u.Check(); err != nil {
		return nil, err
	}
	var b Builder
	b.String(UserName, u.IMSI)
	b.TBCD(MSISDN, u.MSISDN)
	b.String(ExternalIdentifier, u.ExternalIdentifier)
	if b.Err != nil {
		return nil, b.Err
	}
	return UserIdentifier.Group(b.AVPs...), nil
}

// DecodeServingNode reads a Serving-Node group, or an Additional-Serving-Node
// one when additional is set (then IP-SM-GW members, which that group does
// not define, are dropped). A group with no known member is 5004.
func DecodeServingNode(g Level, a *godiam.AVP, additional bool) core.ServingNode {
	var s core.ServingNode
	s.SGSNName, _ = g.String(SGSNName)
	s.SGSNRealm, _ = g.String(SGSNRealm)
	s.SGSNNumber = g.TBCD(SGSNNumber)
	s.MMEName, _ = g.String(MMEName)
	s.MMERealm, _ = g.String(MMERealm)
	s.MMENumberForMTSMS = g.TBCD(MMENumberForMTSMS)
	s.MSCNumber = g.TBCD(MSCNumber)
	if !additional {
		s.IPSMGWNumber = g.TBCD(IPSMGWNumber)
		s.IPSMGWName, _ = g.String(IPSMGWName)
		s.IPSMGWRealm, _ = g.String(IPSMGWRealm)
	}
	def := ServingNode
	if additional {
		def = AdditionalServingNode
	}
	if !g.dec.Failed() && s.IsZero() {
		g.dec.Fail(diam.ResultInvalidAVPValue, []*godiam.AVP{a}, "%s in %s has no serving-node member", def.Name, g.Where)
	}
	return s
}

// DecodeServingNodes reads [Serving-Node] and *[Additional-Serving-Node] from
// l. An Additional-Serving-Node without a Serving-Node is 5004 (reference
// 2.3: "Additional-Serving-Node never without Serving-Node").
func DecodeServingNodes(l Level) (*core.ServingNode, []core.ServingNode) {
	var primary *core.ServingNode
	if a := l.Find(ServingNode); a != nil {
		if g, ok := l.groupOf(a, ServingNode); ok {
			g.Where = ServingNode.Name + " in " + l.Where
			s := DecodeServingNode(g, a, false)
			primary = &s
		}
	}
	var more []core.ServingNode
	for _, a := range l.All(AdditionalServingNode) {
		g, ok := l.groupOf(a, AdditionalServingNode)
		if !ok {
			break
		}
		g.Where = AdditionalServingNode.Name + " in " + l.Where
		more = append(more, DecodeServingNode(g, a, true))
	}
	if l.dec.Failed() {
		return nil, nil
	}
	if primary == nil && len(more) > 0 {
		l.Invalid(l.Find(AdditionalServingNode), AdditionalServingNode, "present without a Serving-Node")
		return nil, nil
	}
	return primary, more
}

// AddServingNodes appends [Serving-Node] and *[Additional-Serving-Node].
func AddServingNodes(b *Builder, primary *core.ServingNode, more []core.ServingNode) {
	if primary == nil {
		if len(more) > 0 {
			b.Fail(errors.New("Additional-Serving-Node without a Serving-Node"))
		}
		return
	}
	a, err := servingNodeAVP(ServingNode, *primary)
	if err != nil {
		b.Fail(err)
		return
	}
	b.Add(a)
	for i, s := range more {
		if s.HasIPSMGW() {
			b.Fail(fmt.Errorf("Additional-Serving-Node %d has IP-SM-GW members, which only Serving-Node may carry", i+1))
			return
		}
		a, err := servingNodeAVP(AdditionalServingNode, s)
		if err != nil {
			b.Fail(fmt.Errorf("Additional-Serving-Node %d: %w", i+1, err))
			return
		}
		b.Add(a)
	}
}

func servingNodeAVP(def Def, s core.ServingNode) (*godiam.AVP, error) {
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", def.Name, err)
	}
	var b Builder
	b.Ident(SGSNName, s.SGSNName)
	b.Ident(SGSNRealm, s.SGSNRealm)
	b.TBCD(SGSNNumber, s.SGSNNumber)
	b.Ident(MMEName, s.MMEName)
	b.Ident(MMERealm, s.MMERealm)
	b.TBCD(MMENumberForMTSMS, s.MMENumberForMTSMS)
	b.TBCD(MSCNumber, s.MSCNumber)
	b.TBCD(IPSMGWNumber, s.IPSMGWNumber)
	b.Ident(IPSMGWName, s.IPSMGWName)
	b.Ident(IPSMGWRealm, s.IPSMGWRealm)
	if b.Err != nil {
		return nil, b.Err
	}
	return def.Group(b.AVPs...), nil
}

// smeaTOAExt is bit 8 of the type-of-address octet, always 1 (TS 23.040
// 9.1.2.5).
const smeaTOAExt = 0x80

// EncodeSMEA encodes a as an SM-RP-SMEA value: address-length (digits),
// type-of-address, TBCD digits (see core.SMEAddress for the source).
func EncodeSMEA(a core.SMEAddress) ([]byte, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	digits, err := diam.EncodeTBCD(a.Digits)
	if err != nil {
		return nil, fmt.Errorf("SM-RP-SMEA: %w", err)
	}
	out := make([]byte, 0, 2+len(digits))
	out = append(out, byte(len(a.Digits)), smeaTOAExt|a.TypeOfNumber<<4|a.NumberingPlan)
	return append(out, digits...), nil
}

// DecodeSMEA decodes an SM-RP-SMEA value written by EncodeSMEA, refusing
// anything else: fewer than 3 octets, bit 8 of the type-of-address clear, an
// alphanumeric address, digits that are not TBCD, or an address-length that
// does not match the digits.
func DecodeSMEA(b []byte) (core.SMEAddress, error) {
	if len(b) < 3 {
		return core.SMEAddress{}, fmt.Errorf("%d octets; an address field needs address-length, type-of-address and at least one digit octet", len(b))
	}
	n, toa := int(b[0]), b[1]
	if toa&smeaTOAExt == 0 {
		return core.SMEAddress{}, fmt.Errorf("type-of-address 0x%02X has bit 8 clear", toa)
	}
	a := core.SMEAddress{TypeOfNumber: toa >> 4 & 0x07, NumberingPlan: toa & 0x0F}
	if a.TypeOfNumber == core.TONAlphanumeric {
		return core.SMEAddress{}, fmt.Errorf("alphanumeric addresses are not supported")
	}
	digits, err := diam.DecodeTBCD(b[2:])
	if err != nil {
		return core.SMEAddress{}, err
	}
	if len(digits) != n {
		return core.SMEAddress{}, fmt.Errorf("address-length says %d digits, the value holds %d", n, len(digits))
	}
	a.Digits = digits
	return a, nil
}

// SMEA reads a mandatory SM-RP-SMEA AVP.
func (l Level) SMEA(def Def) core.SMEAddress {
	a := l.Find(def)
	if a == nil {
		l.Missing(def)
		return core.SMEAddress{}
	}
	s, ok := l.stringOf(a, def)
	if !ok {
		return core.SMEAddress{}
	}
	addr, err := DecodeSMEA([]byte(s))
	if err != nil {
		l.Invalid(a, def, "%v", err)
		return core.SMEAddress{}
	}
	return addr
}

// SMEA appends an SM-RP-SMEA AVP.
func (b *Builder) SMEA(def Def, a core.SMEAddress) {
	if b.Err != nil {
		return
	}
	v, err := EncodeSMEA(a)
	if err != nil {
		b.Fail(err)
		return
	}
	b.Add(def.Octets(v))
}

// NewAnswer checks that req is a request of cmd and id is usable, and starts
// the answer's AVPs with the head of RFC 6733 6.2: Session-Id copied from the
// request, [Auth-Application-Id authApp], Auth-Session-State
// NO_STATE_MAINTAINED, our Origin-Host and Origin-Realm.
func NewAnswer(b *Builder, cmd Command, req *godiam.Message, id *diam.Identity, authApp uint32) {
	if pe := cmd.CheckHeader(req, true); pe != nil {
		b.Fail(fmt.Errorf("answering: %s", pe.Reason))
		return
	}
	if id == nil || id.OriginHost == "" || id.OriginRealm == "" {
		b.Fail(errors.New("answering: no Origin-Host/Origin-Realm in our identity"))
		return
	}
	if sid := diam.AnswerSessionID(req); sid != nil {
		b.Add(sid)
	}
	if authApp != 0 {
		b.Add(AuthApplicationID.U32(authApp))
	}
	b.Add(AuthSessionState.Enum(NoStateMaintained))
	b.Add(id.OriginHostAVP())
	b.Add(id.OriginRealmAVP())
}

// FinishAnswer builds the answer message to req from b: the header of
// diam.NewAnswerMessage (same command code, application, Hop-by-Hop and
// End-to-End ids, the P bit kept and R, T, E cleared, E set again for a 3xxx
// Result-Code, RFC 6733 7.2), the request's Proxy-Info AVPs copied last in
// order (diam.CopyProxyInfo, 6.2). It uses req's dictionary.
func FinishAnswer(b *Builder, req *godiam.Message, res core.Result) (*godiam.Message, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	if err := checkResult(res); err != nil {
		return nil, err
	}
	ans := diam.NewAnswerMessage(req.Header, !res.IsExperimental() && diam.IsProtocolErrorCode(res.Code), req.Dictionary())
	ans.AVP = make([]*godiam.AVP, 0, len(b.AVPs)+2)
	for _, a := range b.AVPs {
		ans.AddAVP(a)
	}
	diam.CopyProxyInfo(req, ans)
	return ans, nil
}

// FinishRequest builds the request message of cmd from b with dictionary d,
// which must define the command (a parser of another interface is refused:
// one dictionary per interface, dictionaries.go).
func FinishRequest(b *Builder, cmd Command, d *dict.Parser) (*godiam.Message, error) {
	if b.Err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.Req(), b.Err)
	}
	if d == nil {
		return nil, fmt.Errorf("%s: no dictionary", cmd.Req())
	}
	if c, err := d.FindCommand(cmd.App, cmd.Code); err != nil || c == nil {
		return nil, fmt.Errorf("%s: the dictionary does not define command %d in application %d", cmd.Req(), cmd.Code, cmd.App)
	}
	m := NewRequest(cmd.Code, cmd.App, d)
	m.AVP = make([]*godiam.AVP, 0, len(b.AVPs))
	for _, a := range b.AVPs {
		m.AddAVP(a)
	}
	return m, nil
}

func checkResult(r core.Result) error {
	if r.Code == 0 {
		return errors.New("answer without a Result-Code or Experimental-Result-Code")
	}
	return nil
}
