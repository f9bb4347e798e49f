package tsp

import (
	"bytes"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
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
