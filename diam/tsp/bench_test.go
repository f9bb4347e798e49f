package tsp

import (
	"bytes"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codectest"
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

// The benchmarks below give every Tsp message an encode and a decode
// benchmark, built on codectest.BenchEncode and codectest.BenchDecode (what
// they measure and check is described there).

// BenchmarkDAAEncode: DAA.Answer and serialization.
func BenchmarkDAAEncode(b *testing.B) {
	d, a := tspDict(b), benchDAA()
	req := darMessage(b, goodDAR(), d)
	codectest.BenchEncode(b, d, func() (*godiam.Message, error) { return a.Answer(req, testID) }, DecodeDAA, benchDAA())
}

// BenchmarkDAAEncodeEgress: DAA.Answer, CheckEgress and serialization, what
// every DAA costs on its way out.
func BenchmarkDAAEncodeEgress(b *testing.B) {
	d, a := tspDict(b), benchDAA()
	req := darMessage(b, goodDAR(), d)
	codectest.BenchEncode(b, d, func() (*godiam.Message, error) {
		m, err := a.Answer(req, testID)
		if err != nil {
			return nil, err
		}
		return m, CheckEgress(m, d)
	}, DecodeDAA, benchDAA())
}

// BenchmarkDAREncode: DAR.Message and serialization.
func BenchmarkDAREncode(b *testing.B) {
	d, r := tspDict(b), goodDAR()
	codectest.BenchEncode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDAR, goodDAR())
}

// BenchmarkDARDecode: go-diameter read and DecodeDAR (no frame guard, no
// dictionary validation: BenchmarkReadValidateDecodeDAR adds them).
func BenchmarkDARDecode(b *testing.B) {
	d, r := tspDict(b), goodDAR()
	codectest.BenchDecode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDAR, goodDAR())
}

// BenchmarkDAADecode: go-diameter read and DecodeDAA.
func BenchmarkDAADecode(b *testing.B) {
	d, a := tspDict(b), benchDAA()
	req := darMessage(b, goodDAR(), d)
	codectest.BenchDecode(b, d, func() (*godiam.Message, error) { return a.Answer(req, testID) }, DecodeDAA, benchDAA())
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
	return codectest.Sent(tb, benchDNR(), (*DNR).Message, d)
}

// BenchmarkDNREncode: DNR.Message and serialization.
func BenchmarkDNREncode(b *testing.B) {
	d, r := tspDict(b), benchDNR()
	codectest.BenchEncode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDNR, benchDNR())
}

// BenchmarkDNRDecode: go-diameter read and DecodeDNR.
func BenchmarkDNRDecode(b *testing.B) {
	d, r := tspDict(b), benchDNR()
	codectest.BenchDecode(b, d, func() (*godiam.Message, error) { return r.Message(d) }, DecodeDNR, benchDNR())
}

// BenchmarkDNAEncode: DNA.Answer and serialization.
func BenchmarkDNAEncode(b *testing.B) {
	d, a := tspDict(b), benchDNA()
	req := dnrMessage(b, d)
	codectest.BenchEncode(b, d, func() (*godiam.Message, error) { return a.Answer(req, scsID) }, DecodeDNA, benchDNA())
}

// BenchmarkDNADecode: go-diameter read and DecodeDNA.
func BenchmarkDNADecode(b *testing.B) {
	d, a := tspDict(b), benchDNA()
	req := dnrMessage(b, d)
	codectest.BenchDecode(b, d, func() (*godiam.Message, error) { return a.Answer(req, scsID) }, DecodeDNA, benchDNA())
}
