package t4

import (
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
)

// Every T4 message has an encode and a decode benchmark, built on
// codectest.BenchEncode and codectest.BenchDecode (what they measure and
// check is described there).

// smscID is the identity the SMS-SC answers a DTR as.
var smscID = &diam.Identity{OriginHost: "smsc1.operator.example", OriginRealm: "operator.example"}

// benchDTA is the SMS-SC's answer to a replace it could not do: every DTA
// field set.
func benchDTA() *DTA {
	return &DTA{Result: core.Experimental3GPP(ErrorTriggerReplaceFailure), MTCErrorDiagnostic: new(NewMessageNotStored),
		OldReferenceNumber: new(uint32(76)), TriggerAction: new(Replace)}
}

// benchDRA is the MTC-IWF's acceptance of goodDRR.
func benchDRA() *DRA { return &DRA{Result: core.ResultCode(diam.ResultSuccess)} }

// BenchmarkDTREncode: DTR.Message and serialization.
func BenchmarkDTREncode(b *testing.B) {
	d, r := t4Dict(b), goodDTR()
	ct.BenchEncode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDTR, goodDTR())
}

// BenchmarkDTRDecode: go-diameter read and DecodeDTR.
func BenchmarkDTRDecode(b *testing.B) {
	d, r := t4Dict(b), goodDTR()
	ct.BenchDecode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDTR, goodDTR())
}

// BenchmarkDTAEncode: DTA.Answer and serialization.
func BenchmarkDTAEncode(b *testing.B) {
	d, a := t4Dict(b), benchDTA()
	req := dtrMessage(b, goodDTR(), d)
	ct.BenchEncode(b, d, func() (*godiam.Message, error) { return a.Answer(req, smscID) }, DecodeDTA, benchDTA())
}

// BenchmarkDTADecode: go-diameter read and DecodeDTA.
func BenchmarkDTADecode(b *testing.B) {
	d, a := t4Dict(b), benchDTA()
	req := dtrMessage(b, goodDTR(), d)
	ct.BenchDecode(b, d, func() (*godiam.Message, error) { return a.Answer(req, smscID) }, DecodeDTA, benchDTA())
}

// BenchmarkDRREncode: DRR.Message and serialization.
func BenchmarkDRREncode(b *testing.B) {
	d, r := t4Dict(b), goodDRR()
	ct.BenchEncode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDRR, goodDRR())
}

// BenchmarkDRRDecode: go-diameter read and DecodeDRR.
func BenchmarkDRRDecode(b *testing.B) {
	d, r := t4Dict(b), goodDRR()
	ct.BenchDecode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDRR, goodDRR())
}

// BenchmarkDRAEncode: DRA.Answer and serialization.
func BenchmarkDRAEncode(b *testing.B) {
	d, a := t4Dict(b), benchDRA()
	req := drrMessage(b, goodDRR(), d)
	ct.BenchEncode(b, d, func() (*godiam.Message, error) { return a.Answer(req, ct.ID) }, DecodeDRA, benchDRA())
}

// BenchmarkDRADecode: go-diameter read and DecodeDRA.
func BenchmarkDRADecode(b *testing.B) {
	d, a := t4Dict(b), benchDRA()
	req := drrMessage(b, goodDRR(), d)
	ct.BenchDecode(b, d, func() (*godiam.Message, error) { return a.Answer(req, ct.ID) }, DecodeDRA, benchDRA())
}
