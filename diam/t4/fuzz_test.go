package t4

import (
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
		ct.FuzzRequest(t, m, d, DecodeDTR, (*DTR).Message, nil)
	case m.Header.CommandCode == CmdDeliveryReport && isReq:
		ct.FuzzRequest(t, m, d, DecodeDRR, (*DRR).Message, nil)
	case m.Header.CommandCode == CmdDeviceTrigger:
		ct.FuzzAnswer(t, m, d, DecodeDTA, (*DTA).Answer, nil)
	case m.Header.CommandCode == CmdDeliveryReport:
		ct.FuzzAnswer(t, m, d, DecodeDRA, (*DRA).Answer, nil)
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
