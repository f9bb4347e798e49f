package t4

import (
	"reflect"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
)

// FuzzDecodeT4: bytes the frame guard accepts are read with the T4
// dictionary and decoded as DTR, DTA, DRR or DRA. Decoders never panic and
// refuse with a well-formed ProtocolError; what they accept re-encodes
// (Message or Answer), passes the frame guard (and, for a request, the
// dictionary validation) and decodes to the same struct.
func FuzzDecodeT4(f *testing.F) {
	d := t4Dict(f)
	types := diam.AVPTypesFromDict(d)
	f.Fuzz(func(t *testing.T, frame []byte) {
		fuzzT4(t, frame, d, types)
	})
}

func fuzzT4(t *testing.T, frame []byte, d *dict.Parser, types diam.AVPTypeFunc) {
	m := ct.Guarded(frame, d, types)
	if m == nil {
		return
	}
	isReq := m.Header.CommandFlags&godiam.RequestFlag != 0
	switch {
	case m.Header.CommandCode == CmdDeviceTrigger && isReq:
		r, pe := DecodeDTR(m)
		if pe != nil {
			ct.FuzzPE(t, pe)
			return
		}
		out, err := r.Message(d)
		if err != nil {
			t.Fatalf("decoded DTR does not encode: %v\n%+v", err, r)
		}
		again := ct.Wire(t, out, d)
		ct.Valid(t, again, d)
		r2, pe := DecodeDTR(again)
		same(t, r, r2, pe)
	case m.Header.CommandCode == CmdDeliveryReport && isReq:
		r, pe := DecodeDRR(m)
		if pe != nil {
			ct.FuzzPE(t, pe)
			return
		}
		out, err := r.Message(d)
		if err != nil {
			t.Fatalf("decoded DRR does not encode: %v\n%+v", err, r)
		}
		again := ct.Wire(t, out, d)
		ct.Valid(t, again, d)
		r2, pe := DecodeDRR(again)
		same(t, r, r2, pe)
	case m.Header.CommandCode == CmdDeviceTrigger:
		a, pe := DecodeDTA(m)
		if pe != nil {
			ct.FuzzPE(t, pe)
			return
		}
		out, err := a.Answer(ct.RequestFor(m, d), ct.ID)
		if err != nil {
			t.Fatalf("decoded DTA does not encode: %v\n%+v", err, a)
		}
		a2, pe := DecodeDTA(ct.Wire(t, out, d))
		same(t, a, a2, pe)
	case m.Header.CommandCode == CmdDeliveryReport:
		a, pe := DecodeDRA(m)
		if pe != nil {
			ct.FuzzPE(t, pe)
			return
		}
		out, err := a.Answer(ct.RequestFor(m, d), ct.ID)
		if err != nil {
			t.Fatalf("decoded DRA does not encode: %v\n%+v", err, a)
		}
		a2, pe := DecodeDRA(ct.Wire(t, out, d))
		same(t, a, a2, pe)
	}
}

func same(t *testing.T, first, second any, pe *diam.ProtocolError) {
	t.Helper()
	if pe != nil {
		t.Fatalf("re-encoded message refused: %v\nfirst %+v", pe, first)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("decode -> encode -> decode changed the message:\nfirst  %+v\nsecond %+v", first, second)
	}
}

func t4Seeds(t *testing.T) map[string][]byte {
	d := t4Dict(t)
	seeds := map[string][]byte{}
	add := func(name string, m *godiam.Message) { seeds[name] = ct.Bytes(t, m) }
	dtr := dtrMessage(t, goodDTR(), d)
	add("dtr-trigger", dtr)
	replace := goodDTR()
	replace.TriggerAction, replace.OldReferenceNumber = new(Replace), new(uint32(76))
	add("dtr-replace", dtrMessage(t, replace, d))
	bad := dtrMessage(t, goodDTR(), d)
	ct.Drop(bad, 3011)
	ct.Put(bad, ct.U32(3202, v, 1))
	add("dtr-recall-no-oldref", ct.Reread(t, bad, d))
	for name, a := range map[string]*DTA{
		"dta-accepted":       {Result: core.ResultCode(2001)},
		"dta-replace-failed": {Result: core.Experimental3GPP(ErrorTriggerReplaceFailure), MTCErrorDiagnostic: new(OriginalMessageNotDeleted), OldReferenceNumber: new(uint32(76)), TriggerAction: new(Replace)},
		"dta-congestion":     {Result: core.Experimental3GPP(ErrorSCCongestion)},
	} {
		m, err := a.Answer(dtr, ct.ID)
		if err != nil {
			t.Fatal(err)
		}
		add(name, m)
	}
	drr := drrMessage(t, goodDRR(), d)
	add("drr-absent", drr)
	ok := goodDRR()
	ok.SMDeliveryOutcome, ok.AbsentSubscriberDiagnostic = SuccessfulTransfer, nil
	add("drr-delivered", drrMessage(t, ok, d))
	dra, err := (&DRA{Result: core.ResultCode(2001)}).Answer(drr, ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	add("dra-success", dra)
	return seeds
}

// TestT4FuzzSeedCorpus keeps testdata/fuzz/FuzzDecodeT4 equal to t4Seeds,
// so `go test` runs every seed through FuzzDecodeT4.
func TestT4FuzzSeedCorpus(t *testing.T) {
	ct.WriteOrCheckSeeds(t, "FuzzDecodeT4", t4Seeds(t))
}
