package t4

import (
	"bytes"
	"reflect"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
)

// Every T4 message has an encode and a decode benchmark, as the Tsp ones in
// diam/tsp/bench_test.go. Encode is typed message -> wire bytes (Message or
// Answer, then Serialize); decode is wire bytes -> typed message
// (go-diameter reads the bytes with the T4 dictionary, then DecodeX).
// Before timing, each checks once that its bytes decode to the struct it
// encodes, so a benchmark that measures a refusal or an empty message fails
// instead.

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

// serialized returns the wire bytes of m, built with error err.
func serialized(tb testing.TB, m *godiam.Message, err error) []byte {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
	frame, err := m.Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return frame
}

// wantDecoded fails tb unless frame, read with d and decoded, equals want.
func wantDecoded[T any](tb testing.TB, frame []byte, d *dict.Parser, decode func(*godiam.Message) (T, *diam.ProtocolError), want T) {
	tb.Helper()
	m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
	if err != nil {
		tb.Fatal(err)
	}
	got, pe := decode(m)
	if pe != nil {
		tb.Fatal(pe)
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("decoded\n %+v\nwant %+v", got, want)
	}
}

// BenchmarkDTREncode: DTR.Message and serialization.
func BenchmarkDTREncode(b *testing.B) {
	d := t4Dict(b)
	r := goodDTR()
	m, err := r.Message(d)
	wantDecoded(b, serialized(b, m, err), d, DecodeDTR, goodDTR())
	b.ReportAllocs()
	for b.Loop() {
		m, err := r.Message(d)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDTRDecode: go-diameter read and DecodeDTR.
func BenchmarkDTRDecode(b *testing.B) {
	d := t4Dict(b)
	m, err := goodDTR().Message(d)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDTR, goodDTR())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDTR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkDTAEncode: DTA.Answer and serialization.
func BenchmarkDTAEncode(b *testing.B) {
	d := t4Dict(b)
	req := dtrMessage(b, goodDTR(), d)
	a := benchDTA()
	m, err := a.Answer(req, smscID)
	wantDecoded(b, serialized(b, m, err), d, DecodeDTA, benchDTA())
	b.ReportAllocs()
	for b.Loop() {
		m, err := a.Answer(req, smscID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDTADecode: go-diameter read and DecodeDTA.
func BenchmarkDTADecode(b *testing.B) {
	d := t4Dict(b)
	m, err := benchDTA().Answer(dtrMessage(b, goodDTR(), d), smscID)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDTA, benchDTA())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDTA(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkDRREncode: DRR.Message and serialization.
func BenchmarkDRREncode(b *testing.B) {
	d := t4Dict(b)
	r := goodDRR()
	m, err := r.Message(d)
	wantDecoded(b, serialized(b, m, err), d, DecodeDRR, goodDRR())
	b.ReportAllocs()
	for b.Loop() {
		m, err := r.Message(d)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDRRDecode: go-diameter read and DecodeDRR.
func BenchmarkDRRDecode(b *testing.B) {
	d := t4Dict(b)
	m, err := goodDRR().Message(d)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDRR, goodDRR())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDRR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkDRAEncode: DRA.Answer and serialization.
func BenchmarkDRAEncode(b *testing.B) {
	d := t4Dict(b)
	req := drrMessage(b, goodDRR(), d)
	a := benchDRA()
	m, err := a.Answer(req, ct.ID)
	wantDecoded(b, serialized(b, m, err), d, DecodeDRA, benchDRA())
	b.ReportAllocs()
	for b.Loop() {
		m, err := a.Answer(req, ct.ID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDRADecode: go-diameter read and DecodeDRA.
func BenchmarkDRADecode(b *testing.B) {
	d := t4Dict(b)
	m, err := benchDRA().Answer(drrMessage(b, goodDRR(), d), ct.ID)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDRA, benchDRA())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDRA(m); pe != nil {
			b.Fatal(pe)
		}
	}
}
