package codectest

import (
	"bytes"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
)

// Every Tsp, S6m and T4 message has an encode and a decode benchmark built
// on BenchEncode and BenchDecode. Encode is typed message -> wire bytes
// (Message or Answer, then Serialize); decode is wire bytes -> typed message
// (go-diameter reads the bytes with the interface's dictionary, then
// DecodeX). Before timing, each checks once that its bytes decode to the
// struct it encodes, so a benchmark that measures a refusal or an empty
// message fails instead.

// Encoder builds one message: a request's Message(d) or an answer's
// Answer(req, id), wrapped in a closure.
type Encoder func() (*godiam.Message, error)

// Decode is a typed decoder: DecodeDAR, DecodeSIA, DecodeDTR, ...
type Decode[T any] func(*godiam.Message) (T, *diam.ProtocolError)

// Serialized returns the wire bytes of the message encode builds.
func Serialized(tb testing.TB, encode Encoder) []byte {
	tb.Helper()
	m, err := encode()
	if err != nil {
		tb.Fatalf("encode: %v", err)
	}
	frame, err := m.Serialize()
	if err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return frame
}

// WantDecoded fails tb unless frame, read with d and decoded, equals want.
func WantDecoded[T any](tb testing.TB, frame []byte, d *dict.Parser, decode Decode[T], want T) {
	tb.Helper()
	m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
	if err != nil {
		tb.Fatalf("read back: %v", err)
	}
	DecodesTo(tb, decode, m, want)
}

// BenchEncode measures encode and Serialize, after checking once that the
// bytes decode to want.
func BenchEncode[T any](b *testing.B, d *dict.Parser, encode Encoder, decode Decode[T], want T) {
	b.Helper()
	WantDecoded(b, Serialized(b, encode), d, decode, want)
	b.ReportAllocs()
	for b.Loop() {
		m, err := encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchDecode measures go-diameter's read (with d) and decode of the bytes
// of the message encode builds, after checking once that they decode to
// want. The bytes per operation are the frame's length.
func BenchDecode[T any](b *testing.B, d *dict.Parser, encode Encoder, decode Decode[T], want T) {
	b.Helper()
	frame := Serialized(b, encode)
	WantDecoded(b, frame, d, decode, want)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := decode(m); pe != nil {
			b.Fatal(pe)
		}
	}
}
