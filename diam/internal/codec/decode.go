package codec

import (
	"fmt"
	"unicode/utf8"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/mtciwf/mtciwf/diam"
)

// Decoder reads a decoded message into a struct and keeps the first fault
// as a *diam.ProtocolError (5005 for a missing AVP with an example
// Failed-AVP, 5004 for a bad value with the AVP itself, RFC 6733 7.1.5, 7.5).
// Every read after a fault returns zero values, so decode functions read
// straight through and check Err once. It never panics on any message
// godiam.ReadMessage returns, validated or not.
type Decoder struct {
	Header *godiam.Header
	Err    *diam.ProtocolError
}

// Level is one level of a message: its top-level AVPs or the members of one
// grouped AVP. Where names it in error reasons ("DAR", "Device-Action").
type Level struct {
	dec   *Decoder
	avps  []*godiam.AVP
	Where string
}

// Top returns the top level of m, named where.
func (d *Decoder) Top(m *godiam.Message, where string) Level {
	d.Header = m.Header
	return Level{dec: d, avps: m.AVP, Where: where}
}

// Failed reports whether a fault has been recorded.
func (d *Decoder) Failed() bool { return d.Err != nil }

// Fail records a fault unless one is already recorded.
func (d *Decoder) Fail(code uint32, failed []*godiam.AVP, format string, args ...any) {
	if d.Err != nil {
		return
	}
	d.Err = &diam.ProtocolError{Code: code, Reason: fmt.Sprintf(format, args...), FailedAVP: failed, Header: d.Header}
}

// Missing records 5005 for def missing from l.
func (l Level) Missing(def Def) {
	l.dec.Fail(diam.ResultMissingAVP, []*godiam.AVP{def.Example()}, "missing mandatory AVP %s (%d) in %s", def.Name, def.Code, l.Where)
}

// MissingOneOf records 5005 for a level that must hold at least one of defs;
// Failed-AVP holds an example of each (RFC 6733 7.5 allows several).
func (l Level) MissingOneOf(defs ...Def) {
	failed := make([]*godiam.AVP, len(defs))
	names := ""
	for i, d := range defs {
		failed[i] = d.Example()
		if i > 0 {
			names += " or "
		}
		names += d.Name
	}
	l.dec.Fail(diam.ResultMissingAVP, failed, "%s needs %s", l.Where, names)
}

// Invalid records 5004 for a, an instance of def in l.
func (l Level) Invalid(a *godiam.AVP, def Def, format string, args ...any) {
	var failed []*godiam.AVP
	if a != nil {
		failed = []*godiam.AVP{a}
	} else {
		failed = []*godiam.AVP{def.Example()}
	}
	l.dec.Fail(diam.ResultInvalidAVPValue, failed, "%s (%d) in %s: %s", def.Name, def.Code, l.Where, fmt.Sprintf(format, args...))
}

// Find returns the first AVP of l with def's code and Vendor-Id, or nil.
func (l Level) Find(def Def) *godiam.AVP {
	if l.dec.Err != nil {
		return nil
	}
	for _, a := range l.avps {
		if a != nil && a.Code == def.Code && a.VendorID == def.Vendor {
			return a
		}
	}
	return nil
}

// Has reports whether l holds def.
func (l Level) Has(def Def) bool { return l.Find(def) != nil }

// All returns every AVP of l with def's code and Vendor-Id.
func (l Level) All(def Def) []*godiam.AVP {
	if l.dec.Err != nil {
		return nil
	}
	var out []*godiam.AVP
	for _, a := range l.avps {
		if a != nil && a.Code == def.Code && a.VendorID == def.Vendor {
			out = append(out, a)
		}
	}
	return out
}

// wrongType records 5004 for an AVP whose decoded value is not of its
// dictionary type: the message was decoded with another dictionary.
func (l Level) wrongType(a *godiam.AVP, def Def) {
	l.Invalid(a, def, "decoded as %T, not the type its definition gives; was the message read with this interface's dictionary?", a.Data)
}

// U32 reads an Unsigned32 or Enumerated AVP.
func (l Level) U32(def Def) (uint32, bool) {
	a := l.Find(def)
	if a == nil {
		return 0, false
	}
	return l.u32Of(a, def)
}

func (l Level) u32Of(a *godiam.AVP, def Def) (uint32, bool) {
	switch x := a.Data.(type) {
	case datatype.Unsigned32:
		return uint32(x), true
	case datatype.Enumerated:
		return uint32(int32(x)), true
	}
	l.wrongType(a, def)
	return 0, false
}

// ReqU32 reads a mandatory Unsigned32 or Enumerated AVP.
func (l Level) ReqU32(def Def) uint32 {
	x, ok := l.U32(def)
	if !ok {
		l.Missing(def)
	}
	return x
}

// OptU32 reads an optional Unsigned32 or Enumerated AVP into a pointer.
func (l Level) OptU32(def Def) *uint32 {
	x, ok := l.U32(def)
	if !ok {
		return nil
	}
	return &x
}

// Bytes reads an OctetString AVP (a new slice; nil when absent or empty).
func (l Level) Bytes(def Def) ([]byte, bool) {
	a := l.Find(def)
	if a == nil {
		return nil, false
	}
	s, ok := l.stringOf(a, def)
	if !ok || s == "" {
		return nil, ok
	}
	return []byte(s), true
}

// String reads a UTF8String, DiameterIdentity or OctetString AVP.
func (l Level) String(def Def) (string, bool) {
	a := l.Find(def)
	if a == nil {
		return "", false
	}
	return l.stringOf(a, def)
}

func (l Level) stringOf(a *godiam.AVP, def Def) (string, bool) {
	var s string
	switch x := a.Data.(type) {
	case datatype.UTF8String:
		s = string(x)
	case datatype.DiameterIdentity:
		s = string(x)
	case datatype.OctetString:
		s = string(x)
	default:
		l.wrongType(a, def)
		return "", false
	}
	if def.Type == datatype.UTF8StringType && !utf8.ValidString(s) {
		l.Invalid(a, def, "not valid UTF-8")
		return "", false
	}
	return s, true
}

// NonEmpty reads an optional string AVP that must not be empty when present
// (an empty one is 5004).
func (l Level) NonEmpty(def Def) string {
	a := l.Find(def)
	if a == nil {
		return ""
	}
	s, ok := l.stringOf(a, def)
	if ok && s == "" {
		l.Invalid(a, def, "empty")
	}
	return s
}

// ReqString reads a mandatory string AVP; an empty value counts as bad.
func (l Level) ReqString(def Def) string {
	a := l.Find(def)
	if a == nil {
		l.Missing(def)
		return ""
	}
	s, ok := l.stringOf(a, def)
	if ok && s == "" {
		l.Invalid(a, def, "empty")
	}
	return s
}

// TBCD reads an OctetString AVP holding E.164 digits in TBCD
// (diam.DecodeTBCD); a malformed one is 5004.
func (l Level) TBCD(def Def) string {
	a := l.Find(def)
	if a == nil {
		return ""
	}
	s, ok := l.stringOf(a, def)
	if !ok {
		return ""
	}
	digits, err := diam.DecodeTBCD([]byte(s))
	if err != nil {
		l.Invalid(a, def, "not an E.164 number in TBCD: %v", err)
		return ""
	}
	return digits
}

// Group returns the members of the first grouped AVP def in l, named after
// def.
func (l Level) Group(def Def) (Level, bool) {
	a := l.Find(def)
	if a == nil {
		return Level{dec: l.dec, Where: def.Name}, false
	}
	return l.groupOf(a, def)
}

func (l Level) groupOf(a *godiam.AVP, def Def) (Level, bool) {
	g, ok := a.Data.(*godiam.GroupedAVP)
	if !ok {
		l.wrongType(a, def)
		return Level{dec: l.dec, Where: def.Name}, false
	}
	return Level{dec: l.dec, avps: g.AVP, Where: def.Name}, true
}

// Groups returns the members of every grouped AVP def in l.
func (l Level) Groups(def Def) []Level {
	var out []Level
	for _, a := range l.All(def) {
		g, ok := l.groupOf(a, def)
		if !ok {
			return nil
		}
		out = append(out, g)
	}
	return out
}

// Check records 5004 for def's AVP in l when err is not nil.
func (l Level) Check(def Def, err error) {
	if err != nil {
		l.Invalid(l.Find(def), def, "%v", err)
	}
}
