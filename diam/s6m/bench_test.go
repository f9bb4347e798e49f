package s6m

import (
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/mtciwf/mtciwf/diam"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
)

// Every S6m message has an encode and a decode benchmark, built on
// codectest.BenchEncode and codectest.BenchDecode (what they measure and
// check is described there).

// hssID is the identity the HSS answers an SIR as.
var hssID = &diam.Identity{OriginHost: "hss1.operator.example", OriginRealm: "operator.example"}

// BenchmarkSIREncode: SIR.Message and serialization.
func BenchmarkSIREncode(b *testing.B) {
	d, r := s6mDict(b), goodSIR()
	ct.BenchEncode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeSIR, goodSIR())
}

// BenchmarkSIRDecode: go-diameter read and DecodeSIR.
func BenchmarkSIRDecode(b *testing.B) {
	d, r := s6mDict(b), goodSIR()
	ct.BenchDecode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeSIR, goodSIR())
}

// BenchmarkSIAEncode: SIA.Answer and serialization.
func BenchmarkSIAEncode(b *testing.B) {
	d, a := s6mDict(b), goodSIA()
	req := sirMessage(b, goodSIR(), d)
	ct.BenchEncode(b, d, func() (*godiam.Message, error) { return a.Answer(req, hssID) }, DecodeSIA, goodSIA())
}

// BenchmarkSIADecode: go-diameter read and DecodeSIA.
func BenchmarkSIADecode(b *testing.B) {
	d, a := s6mDict(b), goodSIA()
	req := sirMessage(b, goodSIR(), d)
	ct.BenchDecode(b, d, func() (*godiam.Message, error) { return a.Answer(req, hssID) }, DecodeSIA, goodSIA())
}
