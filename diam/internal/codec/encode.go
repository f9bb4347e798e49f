package codec

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
)

// U32 builds an Unsigned32 AVP, or an Enumerated one when d is Enumerated.
func (d Def) U32(x uint32) *godiam.AVP {
	if d.Type == datatype.EnumeratedType {
		return d.Enum(x)
	}
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, datatype.Unsigned32(x))
}

// Enum builds an Enumerated AVP.
func (d Def) Enum(x uint32) *godiam.AVP {
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, datatype.Enumerated(int32(x)))
}

// Octets builds an OctetString AVP.
func (d Def) Octets(b []byte) *godiam.AVP {
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, datatype.OctetString(b))
}

// UTF8 builds a UTF8String AVP.
func (d Def) UTF8(s string) *godiam.AVP {
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, datatype.UTF8String(s))
}

// Ident builds a DiameterIdentity AVP.
func (d Def) Ident(s string) *godiam.AVP {
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, datatype.DiameterIdentity(s))
}

// Group builds a Grouped AVP holding members.
func (d Def) Group(members ...*godiam.AVP) *godiam.AVP {
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, &godiam.GroupedAVP{AVP: members})
}

// TBCD builds an OctetString AVP holding digits as a TBCD string
// (diam.EncodeTBCD).
func (d Def) TBCD(digits string) (*godiam.AVP, error) {
	b, err := diam.EncodeTBCD(digits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	return d.Octets(b), nil
}

// Example is the Failed-AVP of RFC 6733 7.5 for a missing AVP: its code,
// flags and Vendor-Id with a zero-filled value of the type's minimum length.
func (d Def) Example() *godiam.AVP {
	var data datatype.Type
	switch d.Type {
	case datatype.GroupedType:
		data = &godiam.GroupedAVP{}
	case datatype.Unsigned32Type, datatype.EnumeratedType:
		data = datatype.Unknown(make([]byte, 4))
	default:
		data = datatype.OctetString("")
	}
	return godiam.NewAVP(d.Code, d.Flags, d.Vendor, data)
}

// Builder collects the AVPs of one level (message or group) and the first
// encoding error; every Add* is a no-op after an error.
type Builder struct {
	AVPs []*godiam.AVP
	Err  error
}

// Add appends a.
func (b *Builder) Add(a *godiam.AVP) {
	if b.Err == nil && a != nil {
		if b.AVPs == nil {
			b.AVPs = make([]*godiam.AVP, 0, 8) // one allocation for most levels
		}
		b.AVPs = append(b.AVPs, a)
	}
}

// Fail records err (the first one wins).
func (b *Builder) Fail(err error) {
	if b.Err == nil {
		b.Err = err
	}
}

// U32 appends d = *x when x is set.
func (b *Builder) U32(d Def, x *uint32) {
	if x != nil {
		b.Add(d.U32(*x))
	}
}

// String appends d = s as a UTF8String when s is not empty.
func (b *Builder) String(d Def, s string) {
	if s != "" {
		b.Add(d.UTF8(s))
	}
}

// Ident appends d = s as a DiameterIdentity when s is not empty.
func (b *Builder) Ident(d Def, s string) {
	if s != "" {
		b.Add(d.Ident(s))
	}
}

// TBCD appends d = digits in TBCD when digits is not empty.
func (b *Builder) TBCD(d Def, digits string) {
	if digits == "" || b.Err != nil {
		return
	}
	a, err := d.TBCD(digits)
	if err != nil {
		b.Fail(err)
		return
	}
	b.Add(a)
}

// NewRequest starts a request of command code in application app, with the R
// and P bits (all our commands are proxiable: reference 1.1, 2.2, 3.2).
// Hop-by-Hop and End-to-End ids are random here and set again by
// diam.Conn.Request.
func NewRequest(code, app uint32, d *dict.Parser) *godiam.Message {
	return godiam.NewMessage(code, godiam.RequestFlag|godiam.ProxiableFlag, app, 0, 0, d)
}

// AddRouting adds Session-Id (made up when r.SessionID is empty),
// [Auth-Application-Id when app != 0], Auth-Session-State NO_STATE_MAINTAINED,
// Origin-Host, Origin-Realm, Destination-Host (when set or required) and
// Destination-Realm, the common head of every request we send. It refuses an
// empty Origin-Host, Origin-Realm or Destination-Realm, and an empty
// Destination-Host when destHostRequired.
func AddRouting(b *Builder, r core.Routing, authApp uint32, destHostRequired bool) {
	switch {
	case r.OriginHost == "":
		b.Fail(fmt.Errorf("Origin-Host is empty"))
	case r.OriginRealm == "":
		b.Fail(fmt.Errorf("Origin-Realm is empty"))
	case r.DestinationRealm == "":
		b.Fail(fmt.Errorf("Destination-Realm is empty"))
	case destHostRequired && r.DestinationHost == "":
		b.Fail(fmt.Errorf("Destination-Host is empty; this request must name its destination"))
	}
	sid := r.SessionID
	if sid == "" {
		sid = NewSessionID(r.OriginHost)
	}
	b.Add(SessionID.UTF8(sid))
	if authApp != 0 {
		b.Add(AuthApplicationID.U32(authApp))
	}
	b.Add(AuthSessionState.Enum(NoStateMaintained))
	b.Add(OriginHost.Ident(r.OriginHost))
	b.Add(OriginRealm.Ident(r.OriginRealm))
	b.Ident(DestinationHost, r.DestinationHost)
	b.Add(DestinationRealm.Ident(r.DestinationRealm))
}

// NewSessionID makes a Session-Id in the RFC 6733 8.8 form
// "<DiameterIdentity>;<high 32 bits>;<low 32 bits>": the high part is the
// current Unix time in seconds, the low part 32 random bits, so ids stay
// unique across restarts without any shared counter.
func NewSessionID(originHost string) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%s;%d;%d", originHost, uint32(time.Now().Unix()), binary.BigEndian.Uint32(b[:]))
}

// AddResult appends Result-Code, or Experimental-Result{Vendor-Id,
// Experimental-Result-Code} when r is experimental. A zero code is refused:
// every answer needs an outcome.
func AddResult(b *Builder, r core.Result) {
	switch {
	case r.Code == 0:
		b.Fail(fmt.Errorf("answer without a Result-Code or Experimental-Result-Code"))
	case r.IsExperimental():
		b.Add(ExperimentalResult.Group(VendorID.U32(r.VendorID), ExperimentalResCode.U32(r.Code)))
	default:
		b.Add(ResultCode.U32(r.Code))
	}
}
