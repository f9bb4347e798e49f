package codec

import (
	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/mtciwf/mtciwf/diam"
)

// Problem is a rule a typed message breaks beyond single-AVP syntax (a
// conditional AVP missing, a value out of range for this command). The
// message types find problems with one check method, and both directions use
// it: an encoder returns the Problem as its error, a decoder reports it as
// the ProtocolError to answer with. So what one side refuses, the other
// refuses too.
type Problem struct {
	// Missing: 5005 with an example of each of Defs in Failed-AVP;
	// otherwise 5004 with the AVP Defs[0] found in the level named In.
	Missing bool
	Defs    []Def
	In      string
	Reason  string
}

func (p *Problem) Error() string { return p.Reason }

// MissingAVP is a Problem for absent defs (at least one needed).
func MissingAVP(in, reason string, defs ...Def) *Problem {
	return &Problem{Missing: true, Defs: defs, In: in, Reason: reason}
}

// BadAVP is a Problem for def's value in the level named in.
func BadAVP(def Def, in, reason string) *Problem {
	return &Problem{Defs: []Def{def}, In: in, Reason: reason}
}

// Report records p (when not nil) as the decoder's fault. The offending AVP
// is looked up in the level among levels whose Where is p.In.
func (d *Decoder) Report(p *Problem, levels ...Level) {
	if p == nil || d.Err != nil {
		return
	}
	if p.Missing {
		failed := make([]*godiam.AVP, len(p.Defs))
		for i, def := range p.Defs {
			failed[i] = def.Example()
		}
		d.Fail(diam.ResultMissingAVP, failed, "%s", p.Reason)
		return
	}
	var a *godiam.AVP
	for _, l := range levels {
		if l.Where == p.In {
			for _, x := range l.avps {
				if x != nil && x.Code == p.Defs[0].Code && x.VendorID == p.Defs[0].Vendor {
					a = x
					break
				}
			}
			break
		}
	}
	if a == nil {
		a = p.Defs[0].Example()
	}
	d.Fail(diam.ResultInvalidAVPValue, []*godiam.AVP{a}, "%s", p.Reason)
}

// Enum converts an optional raw value to an optional enumeration.
func Enum[T ~uint32](p *uint32) *T {
	if p == nil {
		return nil
	}
	v := T(*p)
	return &v
}

// Raw converts an optional enumeration to an optional raw value.
func Raw[T ~uint32](p *T) *uint32 {
	if p == nil {
		return nil
	}
	v := uint32(*p)
	return &v
}
