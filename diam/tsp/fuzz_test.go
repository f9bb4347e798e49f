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

// FuzzDecodeTsp: bytes the frame guard accepts are read with the Tsp
// dictionary and decoded with the decoder their header selects. The
// decoders never panic; a refusal is a well-formed ProtocolError, and
// ErrorAnswer turns a refused request into an answer that passes
// CheckEgress; an accepted message re-encodes (Message or Answer), passes
// the frame guard, the dictionary validation (requests) and CheckEgress
// (what we send), and decodes to the same struct.
func FuzzDecodeTsp(f *testing.F) {
	d := tspDict(f)
	types := diam.AVPTypesFromDict(d)
	f.Fuzz(func(t *testing.T, frame []byte) {
		fuzzTsp(t, frame, d, types)
	})
}

func fuzzTsp(t *testing.T, frame []byte, d *dict.Parser, types diam.AVPTypeFunc) {
	m := codectest.Guarded(frame, d, types)
	if m == nil {
		return
	}
	isReq := m.Header.CommandFlags&godiam.RequestFlag != 0
	switch {
	case m.Header.CommandCode == CmdDeviceAction && isReq:
		fuzzErrorAnswer(t, m, codectest.FuzzRequest(t, m, d, DecodeDAR, (*DAR).Message, CheckEgress), d)
	case m.Header.CommandCode == CmdDeviceNotification && isReq:
		fuzzErrorAnswer(t, m, codectest.FuzzRequest(t, m, d, DecodeDNR, (*DNR).Message, CheckEgress), d)
	case m.Header.CommandCode == CmdDeviceAction:
		codectest.FuzzAnswer(t, m, d, DecodeDAA, (*DAA).Answer, CheckEgress)
	case m.Header.CommandCode == CmdDeviceNotification:
		codectest.FuzzAnswer(t, m, d, DecodeDNA, (*DNA).Answer, CheckEgress)
	}
}

// fuzzErrorAnswer checks the error answer to req built from its refusal pe
// (nil: req was accepted, nothing to check).
func fuzzErrorAnswer(t *testing.T, req *godiam.Message, pe *diam.ProtocolError, d *dict.Parser) {
	t.Helper()
	if pe == nil {
		return
	}
	ans, err := ErrorAnswer(req, pe, testID)
	if err != nil {
		t.Fatalf("no error answer for %v: %v", pe, err)
	}
	if err := CheckEgress(ans, d); err != nil {
		t.Fatalf("error answer for %v refused on egress: %v", pe, err)
	}
	wire(t, ans, d)
}

// tspSeeds are the seed corpus: every message kind, good and refused.
func tspSeeds(t *testing.T) map[string][]byte {
	d := tspDict(t)
	seeds := map[string][]byte{}
	add := func(name string, m *godiam.Message) { seeds[name] = codectest.Bytes(t, m) }
	dar := goodDAR()
	add("dar-trigger", darMessage(t, dar, d))
	recall := goodDAR()
	recall.DeviceAction.ActionType, recall.DeviceAction.OldReferenceNumber, recall.DeviceAction.TriggerData = DeviceTriggerRecall, new(uint32(1)), nil
	add("dar-recall", darMessage(t, recall, d))
	replace := goodDAR()
	replace.DeviceAction.ActionType, replace.DeviceAction.OldReferenceNumber = DeviceTriggerReplace, new(uint32(1))
	replace.DeviceAction.ExternalIdentifier, replace.DeviceAction.MSISDN = "", "491234567"
	add("dar-replace-msisdn", darMessage(t, replace, d))
	bad := darMessage(t, goodDAR(), d)
	drop(bad, 3003, 3001)
	add("dar-no-trigger-data", reread(t, bad, d))
	bad = darMessage(t, goodDAR(), d)
	put(bad, octets(701, 10415, []byte{0x94, 0xF1, 0x11}), 3001)
	add("dar-both-ids-bad-msisdn", reread(t, bad, d))

	req := darMessage(t, goodDAR(), d)
	for name, a := range map[string]*DAA{
		"daa-success": {Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{
			ExternalIdentifier: "meter-17@iot.example.org", SCSIdentity: "491710000001", ReferenceNumber: 4711,
			ActionType: DeviceTriggerRequest, RequestStatus: new(StatusSuccess), ApplicationPortIdentifier: new(uint32(9200)),
		}, FeatureSupportedInFinalTarget: new(FeatureRecallReplace)},
		"daa-replacefail": {Result: core.ResultCode(2001), ErrorMessage: "x", DeviceNotification: &DeviceNotification{
			MSISDN: "491234567", ReferenceNumber: 1, ActionType: DeviceTriggerReplace,
			RequestStatus: new(StatusReplaceFail), MTCErrorDiagnostic: new(core.OriginalMessageNotDeleted),
		}},
		"daa-3004": {Result: core.ResultCode(3004)},
	} {
		m, err := a.Answer(req, testID)
		if err != nil {
			t.Fatal(err)
		}
		add(name, m)
	}
	_, pe := DecodeDAR(seedsReread(t, seeds["dar-no-trigger-data"], d))
	ea, err := ErrorAnswer(req, pe, testID)
	if err != nil {
		t.Fatal(err)
	}
	add("daa-error-5005", ea)

	r := routing("mtciwf.operator.example;7;8")
	r.DestinationHost = "scs1.example.org"
	for name, n := range map[string]*DNR{
		"dnr-delivered": {Routing: r, DeviceNotification: DeviceNotification{
			ExternalIdentifier: "meter-17@iot.example.org", ReferenceNumber: 4711, ActionType: DeliveryReport,
			DeliveryOutcome: new(OutcomeUndeliverable)}},
		"dnr-mo-sms": {Routing: r, DeviceNotification: DeviceNotification{
			ExternalIdentifier: "meter-17@iot.example.org", ReferenceNumber: 2, ActionType: MSISDNLessMOSMSDelivery,
			SMRPUI: []byte{1, 2, 3}, ApplicationPortIdentifier: new(uint32(16))}},
	} {
		m, err := n.Message(d)
		if err != nil {
			t.Fatal(err)
		}
		add(name, m)
		dna, err := (&DNA{Result: core.ResultCode(2001)}).Answer(wire(t, m, d), testID)
		if err != nil {
			t.Fatal(err)
		}
		add("dna-for-"+name, dna)
	}
	return seeds
}

func seedsReread(t *testing.T, b []byte, d *dict.Parser) *godiam.Message {
	m, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTspFuzzSeedCorpus keeps testdata/fuzz/FuzzDecodeTsp equal to
// tspSeeds, so `go test` runs every seed through FuzzDecodeTsp.
func TestTspFuzzSeedCorpus(t *testing.T) {
	codectest.WriteOrCheckSeeds(t, "FuzzDecodeTsp", tspSeeds(t))
}

// Crashers found by FuzzDecodeTsp, kept as named tests (their inputs also
// stay in testdata/fuzz/FuzzDecodeTsp as crash-*).

// TestCrashTspSessionIDNotUTF8: a DNR whose Session-Id is not UTF-8 decoded
// and re-encoded into a message the dictionary validation refuses (5004).
// Decoders now refuse a UTF8String that is not UTF-8 themselves.
func TestCrashTspSessionIDNotUTF8(t *testing.T) {
	d := tspDict(t)
	frame := codectest.CorpusFile(t, "FuzzDecodeTsp", "crash-session-id-not-utf8")
	fuzzTsp(t, frame, d, diam.AVPTypesFromDict(d))
	m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
	if err != nil {
		t.Fatal(err)
	}
	_, pe := DecodeDNR(m)
	checkPE(t, pe, 5004, []uint32{263}, "not valid UTF-8")
}
