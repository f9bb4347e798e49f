package s6m

import (
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
)

// FuzzDecodeS6m: bytes the frame guard accepts are read with the S6m
// dictionary and decoded as SIR or SIA. Decoders never panic and refuse
// with a well-formed ProtocolError; what they accept re-encodes (Message or
// Answer), passes the frame guard (and, for a request, the dictionary
// validation) and decodes to the same struct.
func FuzzDecodeS6m(f *testing.F) {
	d := s6mDict(f)
	types := diam.AVPTypesFromDict(d)
	f.Fuzz(func(t *testing.T, frame []byte) {
		fuzzS6m(t, frame, d, types)
	})
}

func fuzzS6m(t *testing.T, frame []byte, d *dict.Parser, types diam.AVPTypeFunc) {
	m := ct.Guarded(frame, d, types)
	if m == nil || m.Header.CommandCode != CmdSubscriberInformation {
		return
	}
	if m.Header.CommandFlags&godiam.RequestFlag != 0 {
		ct.FuzzRequest(t, m, d, DecodeSIR, (*SIR).Message, nil)
		return
	}
	ct.FuzzAnswer(t, m, d, DecodeSIA, (*SIA).Answer, nil)
}

func s6mSeeds(t *testing.T) map[string][]byte {
	d := s6mDict(t)
	seeds := map[string][]byte{}
	add := func(name string, m *godiam.Message) { seeds[name] = ct.Bytes(t, m) }
	add("sir-trigger", sirMessage(t, goodSIR(), d))
	mo := goodSIR()
	mo.UserIdentifier, mo.ServiceID, mo.ServiceParameters = core.UserIdentifier{IMSI: "001010000000123"}, new(SMSMO), nil
	add("sir-sms-mo", sirMessage(t, mo, d))
	bad := sirMessage(t, goodSIR(), d)
	ct.Drop(bad, 3111, 3102)
	add("sir-empty-user-identifier", ct.Reread(t, bad, d))
	req := sirMessage(t, goodSIR(), d)
	for name, a := range map[string]*SIA{
		"sia-success":      goodSIA(),
		"sia-absent":       {Result: core.ResultCode(2001), UserIdentifiers: []core.UserIdentifier{{IMSI: "001010000000123"}}, ServiceData: &ServiceData{T4Data: &T4Data{HSSCause: new(AbsentSubscriber)}}},
		"sia-user-unknown": {Result: core.Experimental3GPP(ErrorUserUnknown)},
		"sia-3002":         {Result: core.ResultCode(3002)},
	} {
		m, err := a.Answer(req, ct.ID)
		if err != nil {
			t.Fatal(err)
		}
		add(name, m)
	}
	return seeds
}

// TestS6mFuzzSeedCorpus keeps testdata/fuzz/FuzzDecodeS6m equal to
// s6mSeeds, so `go test` runs every seed through FuzzDecodeS6m.
func TestS6mFuzzSeedCorpus(t *testing.T) {
	ct.WriteOrCheckSeeds(t, "FuzzDecodeS6m", s6mSeeds(t))
}
