package tsp

import (
	"bytes"
	"reflect"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
)

// BenchmarkDecodeDAR: DecodeDAR on a DAR already read by go-diameter (the
// typed-decode step alone).
func BenchmarkDecodeDAR(b *testing.B) {
	d := tspDict(b)
	m := darMessage(b, goodDAR(), d)
	b.ReportAllocs()
	for b.Loop() {
		if _, pe := DecodeDAR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkReadValidateDecodeDAR: the receive path from bytes: frame guard,
// go-diameter decode, dictionary validation, DecodeDAR.
func BenchmarkReadValidateDecodeDAR(b *testing.B) {
	d := tspDict(b)
	frame, err := darMessage(b, goodDAR(), d).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	types := diam.AVPTypesFromDict(d)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if pe := diam.CheckFrame(frame, diam.FrameLimits{}, types); pe != nil {
			b.Fatal(pe)
		}
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if pe := diam.Validate(m, d); pe != nil {
			b.Fatal(pe)
		}
		if _, pe := DecodeDAR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

func benchDAA() *DAA {
	return &DAA{Result: core.ResultCode(diam.ResultSuccess), DeviceNotification: &DeviceNotification{
		ExternalIdentifier: "meter-17@iot.example.org", SCSIdentity: "491710000001", ReferenceNumber: 4711,
		ActionType: DeviceTriggerRequest, RequestStatus: new(StatusSuccess),
	}}
}

// BenchmarkDAAEncode: DAA.Answer and serialization.
func BenchmarkDAAEncode(b *testing.B) {
	d := tspDict(b)
	req := darMessage(b, goodDAR(), d)
	a := benchDAA()
	b.ReportAllocs()
	for b.Loop() {
		m, err := a.Answer(req, testID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDAAEncodeEgress: DAA.Answer, CheckEgress and serialization, what
// every DAA costs on its way out.
func BenchmarkDAAEncodeEgress(b *testing.B) {
	d := tspDict(b)
	req := darMessage(b, goodDAR(), d)
	a := benchDAA()
	b.ReportAllocs()
	for b.Loop() {
		m, err := a.Answer(req, testID)
		if err != nil {
			b.Fatal(err)
		}
		if err := CheckEgress(m, d); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmarks below give every Tsp message an encode and a decode
// benchmark. Encode is typed message -> wire bytes (Message or Answer, then
// Serialize); decode is wire bytes -> typed message (go-diameter reads the
// bytes with the Tsp dictionary, then DecodeX). Before timing, each checks
// once that its bytes decode to the struct it encodes, so a benchmark that
// measures a refusal or an empty message fails instead.

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

// BenchmarkDAREncode: DAR.Message and serialization.
func BenchmarkDAREncode(b *testing.B) {
	d := tspDict(b)
	r := goodDAR()
	m, err := r.Message(d)
	wantDecoded(b, serialized(b, m, err), d, DecodeDAR, goodDAR())
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

// BenchmarkDARDecode: go-diameter read and DecodeDAR (no frame guard, no
// dictionary validation: BenchmarkReadValidateDecodeDAR adds them).
func BenchmarkDARDecode(b *testing.B) {
	d := tspDict(b)
	m, err := goodDAR().Message(d)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDAR, goodDAR())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDAR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkDAADecode: go-diameter read and DecodeDAA.
func BenchmarkDAADecode(b *testing.B) {
	d := tspDict(b)
	m, err := benchDAA().Answer(darMessage(b, goodDAR(), d), testID)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDAA, benchDAA())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDAA(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// benchDNR is a delivery report to the SCS that sent goodDAR.
func benchDNR() *DNR {
	r := routing("mtciwf.operator.example;7;8")
	r.OriginHost, r.OriginRealm = testID.OriginHost, testID.OriginRealm
	r.DestinationHost, r.DestinationRealm = "scs1.example.org", "example.org"
	return &DNR{Routing: r, DeviceNotification: DeviceNotification{
		ExternalIdentifier: "meter-17@iot.example.org", SCSIdentity: "491710000001", ReferenceNumber: 4711,
		ActionType: DeliveryReport, DeliveryOutcome: new(OutcomeSuccess),
	}}
}

// benchDNA is the SCS's acceptance of benchDNR.
func benchDNA() *DNA { return &DNA{Result: core.ResultCode(diam.ResultSuccess)} }

// scsID is the identity the SCS answers a DNR as.
var scsID = &diam.Identity{OriginHost: "scs1.example.org", OriginRealm: "example.org"}

// dnrMessage builds, sends and receives benchDNR.
func dnrMessage(tb testing.TB, d *dict.Parser) *godiam.Message {
	tb.Helper()
	m, err := benchDNR().Message(d)
	if err != nil {
		tb.Fatalf("DNR.Message: %v", err)
	}
	return wire(tb, m, d)
}

// BenchmarkDNREncode: DNR.Message and serialization.
func BenchmarkDNREncode(b *testing.B) {
	d := tspDict(b)
	r := benchDNR()
	m, err := r.Message(d)
	wantDecoded(b, serialized(b, m, err), d, DecodeDNR, benchDNR())
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

// BenchmarkDNRDecode: go-diameter read and DecodeDNR.
func BenchmarkDNRDecode(b *testing.B) {
	d := tspDict(b)
	m, err := benchDNR().Message(d)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDNR, benchDNR())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDNR(m); pe != nil {
			b.Fatal(pe)
		}
	}
}

// BenchmarkDNAEncode: DNA.Answer and serialization.
func BenchmarkDNAEncode(b *testing.B) {
	d := tspDict(b)
	req := dnrMessage(b, d)
	a := benchDNA()
	m, err := a.Answer(req, scsID)
	wantDecoded(b, serialized(b, m, err), d, DecodeDNA, benchDNA())
	b.ReportAllocs()
	for b.Loop() {
		m, err := a.Answer(req, scsID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDNADecode: go-diameter read and DecodeDNA.
func BenchmarkDNADecode(b *testing.B) {
	d := tspDict(b)
	m, err := benchDNA().Answer(dnrMessage(b, d), scsID)
	frame := serialized(b, m, err)
	wantDecoded(b, frame, d, DecodeDNA, benchDNA())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := DecodeDNA(m); pe != nil {
			b.Fatal(pe)
		}
	}
}
