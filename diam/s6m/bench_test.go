package s6m

import (
	"bytes"
	"reflect"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
)

// Every S6m message has an encode and a decode benchmark, as the Tsp ones in
// diam/tsp/bench_test.go. Encode is typed message -> wire bytes (Message or
// Answer, then Serialize); decode is wire bytes -> typed message
// (go-diameter reads the bytes with the S6m dictionary, then DecodeX).
// Before timing, each checks once that its bytes decode to the struct it
// encodes, so a benchmark that measures a refusal or an empty message fails
// instead.

// hssID is the identity the HSS answers an SIR as.
var hssID = &diam.Identity{OriginHost: "hss1.operator.example", OriginRealm: "operator.example"}

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

// BenchmarkSIREncode: SIR.Message and serialization.
func BenchmarkSIREncode(b *testing.B) {
	d := s6mDict(b)
	r := goodSIR()
	m, err := r.Message(d)
	wantDecoded(b, serialized(b, m, err), d, DecodeSIR, goodSIR())
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

// BenchmarkSIRDecode: go-diameter read and DecodeSIR.
func BenchmarkSIRDecode(b *testing.B) {
	d := s6mDict(b)
	m, err := goodSIR().Message(d)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeSIR, goodSIR())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeSIR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkSIAEncode: SIA.Answer and serialization.
func BenchmarkSIAEncode(b *testing.B) {
	d := s6mDict(b)
	req := sirMessage(b, goodSIR(), d)
	a := goodSIA()
	m, err := a.Answer(req, hssID)
	wantDecoded(b, serialized(b, m, err), d, DecodeSIA, goodSIA())
	b.ReportAllocs()
	for b.Loop() {
		m, err := a.Answer(req, hssID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSIADecode: go-diameter read and DecodeSIA.
func BenchmarkSIADecode(b *testing.B) {
	d := s6mDict(b)
	m, err := goodSIA().Answer(sirMessage(b, goodSIR(), d), hssID)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeSIA, goodSIA())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeSIA(m); pe != nil {
			b.Fatal(pe)
		}
	}
}
