package s6m

import (
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
	"github.com/mtciwf/mtciwf/dictionaries"
)

const v = ct.Vendor3GPP

func s6mDict(tb testing.TB) *dict.Parser {
	tb.Helper()
	return ct.Dict(tb, dictionaries.S6m)
}

func goodSIR() *SIR {
	smea := core.InternationalSMEAddress("491710000001")
	return &SIR{
		Routing: core.Routing{
			SessionID: "mtciwf.operator.example;1;2", OriginHost: "mtciwf.operator.example", OriginRealm: "operator.example",
			DestinationHost: "hss1.operator.example", DestinationRealm: "operator.example",
		},
		UserIdentifier: core.UserIdentifier{ExternalIdentifier: "meter-17@iot.example.org"},
		ServiceID:      new(DeviceTrigger),
		SCSIdentity:    "491710000001",
		ServiceParameters: &ServiceParameters{
			T4Parameters:              &T4Parameters{PriorityIndication: new(core.Priority), SMRPSMEA: &smea},
			ApplicationPortIdentifier: new(uint32(9200)),
		},
		Flags: S6mIndicator,
	}
}

func sirMessage(tb testing.TB, r *SIR, d *dict.Parser) *godiam.Message {
	tb.Helper()
	return ct.Sent(tb, r, (*SIR).Message, d)
}

func goodSIA() *SIA {
	return &SIA{
		Result: core.ResultCode(diam.ResultSuccess),
		UserIdentifiers: []core.UserIdentifier{{
			IMSI: "001010000000123", MSISDN: "491234567", ExternalIdentifier: "meter-17@iot.example.org",
		}},
		ServiceData: &ServiceData{T4Data: &T4Data{
			ServingNode: &core.ServingNode{MMEName: "mme1.epc.operator.example", MMERealm: "epc.operator.example", MMENumberForMTSMS: "491720000001",
				MSCNumber: "491720000009"},
			AdditionalServingNodes: []core.ServingNode{{SGSNName: "sgsn1.operator.example", SGSNRealm: "operator.example", SGSNNumber: "491720000002"}},
		}},
	}
}

func TestS6mSIRRoundTrip(t *testing.T) {
	d := s6mDict(t)
	minimal := &SIR{Routing: goodSIR().Routing, UserIdentifier: core.UserIdentifier{MSISDN: "491234567"}}
	minimal.DestinationHost = ""
	smsMO := goodSIR()
	smsMO.UserIdentifier = core.UserIdentifier{IMSI: "001010000000123"}
	smsMO.ServiceID = new(SMSMO)
	smsMO.ServiceParameters = &ServiceParameters{T4Parameters: &T4Parameters{}}
	for name, in := range map[string]*SIR{"trigger": goodSIR(), "minimal": minimal, "sms-mo": smsMO} {
		t.Run(name, func(t *testing.T) {
			m := sirMessage(t, in, d)
			ct.Valid(t, m, d)
			h := m.Header
			if h.CommandFlags != godiam.RequestFlag|godiam.ProxiableFlag || h.ApplicationID != AppID || h.CommandCode != CmdSubscriberInformation {
				t.Fatalf("header %+v", h)
			}
			if m.AVP[0].Code != avp.SessionID {
				t.Fatal("Session-Id is not first")
			}
			if a, _ := m.FindAVP(avp.AuthApplicationID, 0); a != nil {
				t.Fatal("SIR carries Auth-Application-Id, which its ABNF does not have")
			}
			ct.DecodesTo(t, DecodeSIR, m, in)
		})
	}
}

func TestS6mSIRRefuses(t *testing.T) {
	d := s6mDict(t)
	cases := map[string]func(r *SIR){
		"no user identifier": func(r *SIR) { r.UserIdentifier = core.UserIdentifier{} },
		"bad IMSI":           func(r *SIR) { r.UserIdentifier.IMSI = "12" },
		"bad service id":     func(r *SIR) { r.ServiceID = new(ServiceID(2)) },
		"bad SCS identity":   func(r *SIR) { r.SCSIdentity = "x" },
		"bad port":           func(r *SIR) { r.ServiceParameters.ApplicationPortIdentifier = new(uint32(1 << 16)) },
		"bad priority":       func(r *SIR) { r.ServiceParameters.T4Parameters.PriorityIndication = new(PriorityIndication(5)) },
		"alphanumeric SMEA":  func(r *SIR) { r.ServiceParameters.T4Parameters.SMRPSMEA.TypeOfNumber = core.TONAlphanumeric },
		"no origin realm":    func(r *SIR) { r.OriginRealm = "" },
	}
	for name, mutate := range cases {
		r := goodSIR()
		mutate(r)
		if _, err := r.Message(d); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestS6mDecodeSIRErrors(t *testing.T) {
	d := s6mDict(t)
	const ui, sp, t4p = 3102, 3105, 3106
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no User-Identifier", func(m *godiam.Message) { ct.Drop(m, ui) }, 5005, []uint32{ui}, "User-Identifier"},
		{"empty User-Identifier", func(m *godiam.Message) { ct.Drop(m, 3111, ui) }, 5005, []uint32{1, 701, 3111}, "User-Identifier needs"},
		{"bad External-Identifier", func(m *godiam.Message) { ct.Put(m, ct.UTF8(3111, v, "x"), ui) }, 5004, []uint32{3111}, "no '@'"},
		{"IMSI with letters", func(m *godiam.Message) { ct.Put(m, ct.UTF8(1, 0, "00101abc"), ui) }, 5004, []uint32{1}, "not a decimal digit"},
		{"bad MSISDN", func(m *godiam.Message) { ct.Put(m, ct.Octets(701, v, []byte{0x1F}), ui) }, 5004, []uint32{701}, "TBCD"},
		{"no SIR-Flags", func(m *godiam.Message) { ct.Drop(m, 3110) }, 5005, []uint32{3110}, "SIR-Flags"},
		{"bad Service-ID", func(m *godiam.Message) { ct.Put(m, ct.Enum(3103, v, 7)) }, 5004, []uint32{3103}, "Service-ID 7"},
		{"bad SCS-Identity", func(m *godiam.Message) { ct.Put(m, ct.Octets(3104, v, []byte{0xCC})) }, 5004, []uint32{3104}, "TBCD"},
		{"bad port", func(m *godiam.Message) { ct.Put(m, ct.U32(3010, v, 1<<20), sp) }, 5004, []uint32{3010}, "16-bit"},
		{"bad priority", func(m *godiam.Message) { ct.Put(m, ct.Enum(3006, v, 3), sp, t4p) }, 5004, []uint32{3006}, "Priority-Indication 3"},
		{"SMEA too short", func(m *godiam.Message) { ct.Put(m, ct.Octets(3309, v, []byte{0x01, 0x91}), sp, t4p) }, 5004, []uint32{3309}, "address-length, type-of-address"},
		{"SMEA length mismatch", func(m *godiam.Message) {
			ct.Put(m, ct.Octets(3309, v, []byte{0x02, 0x91, 0x21, 0xF3}), sp, t4p)
		}, 5004, []uint32{3309}, "address-length says 2"},
		{"no Destination-Realm", func(m *godiam.Message) { ct.Drop(m, avp.DestinationRealm) }, 5005, []uint32{avp.DestinationRealm}, "Destination-Realm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sirMessage(t, goodSIR(), d)
			c.edit(m)
			ct.Refused(t, DecodeSIR, ct.Reread(t, m, d), c.code, c.failed, c.reason)
		})
	}
	m := sirMessage(t, goodSIR(), d)
	if _, pe := DecodeSIA(m); pe == nil || pe.Code != diam.ResultInvalidHdrBits {
		t.Fatalf("SIR as SIA: %v", pe)
	}
}

func TestS6mSIARoundTrip(t *testing.T) {
	d := s6mDict(t)
	req := sirMessage(t, goodSIR(), d)
	absent := &SIA{Result: core.ResultCode(2001),
		UserIdentifiers: []core.UserIdentifier{{IMSI: "001010000000123"}, {MSISDN: "491234567"}},
		ServiceData:     &ServiceData{T4Data: &T4Data{HSSCause: new(AbsentSubscriber | CallBarred)}}}
	ipsmgw := &SIA{Result: core.ResultCode(2001), UserIdentifiers: []core.UserIdentifier{{IMSI: "001010000000123"}},
		ServiceData: &ServiceData{T4Data: &T4Data{ServingNode: &core.ServingNode{
			IPSMGWNumber: "491720000003", IPSMGWName: "ipsmgw.ims.example", IPSMGWRealm: "ims.example"}}}}
	cases := map[string]*SIA{
		"success":        goodSIA(),
		"absent":         absent,
		"ip-sm-gw":       ipsmgw,
		"user unknown":   {Result: core.Experimental3GPP(ErrorUserUnknown)},
		"unauthorized":   {Result: core.Experimental3GPP(ErrorUnauthorizedRequestingEntity)},
		"empty service":  {Result: core.ResultCode(2001), ServiceData: &ServiceData{}},
		"unable":         {Result: core.ResultCode(diam.ResultUnableToComply)},
		"too busy (3xx)": {Result: core.ResultCode(3004)},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := in.Answer(req, ct.ID)
			if err != nil {
				t.Fatal(err)
			}
			m = ct.Wire(t, m, d)
			if in.Result.Class() != 3 {
				ct.Valid(t, m, d)
			}
			if m.Header.HopByHopID != req.Header.HopByHopID || m.Header.EndToEndID != req.Header.EndToEndID ||
				m.Header.CommandFlags&godiam.RequestFlag != 0 {
				t.Fatalf("header %+v", m.Header)
			}
			ct.DecodesTo(t, DecodeSIA, m, in)
		})
	}
	// The accessors iwf uses.
	sia := goodSIA()
	if sia.IMSI() != "001010000000123" || sia.T4().ServingNode.MMEName != "mme1.epc.operator.example" {
		t.Fatal("accessors")
	}
	if (&SIA{}).T4() != nil || (&SIA{}).IMSI() != "" {
		t.Fatal("accessors on an empty SIA")
	}
}

func TestS6mSIARefuses(t *testing.T) {
	d := s6mDict(t)
	req := sirMessage(t, goodSIR(), d)
	cases := map[string]*SIA{
		"no result":         {},
		"empty user id":     {Result: core.ResultCode(2001), UserIdentifiers: []core.UserIdentifier{{}}},
		"additional alone":  {Result: core.ResultCode(2001), ServiceData: &ServiceData{T4Data: &T4Data{AdditionalServingNodes: []core.ServingNode{{MSCNumber: "49"}}}}},
		"additional ipsmgw": {Result: core.ResultCode(2001), ServiceData: &ServiceData{T4Data: &T4Data{ServingNode: &core.ServingNode{MSCNumber: "49"}, AdditionalServingNodes: []core.ServingNode{{IPSMGWName: "x"}}}}},
		"empty node":        {Result: core.ResultCode(2001), ServiceData: &ServiceData{T4Data: &T4Data{ServingNode: &core.ServingNode{}}}},
		"bad node number":   {Result: core.ResultCode(2001), ServiceData: &ServiceData{T4Data: &T4Data{ServingNode: &core.ServingNode{SGSNNumber: "+49"}}}},
	}
	for name, a := range cases {
		if _, err := a.Answer(req, ct.ID); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestS6mDecodeSIAErrors(t *testing.T) {
	d := s6mDict(t)
	req := sirMessage(t, goodSIR(), d)
	const sd, t4d, sn = 3107, 3108, 2401
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no result", func(m *godiam.Message) { ct.Drop(m, avp.ResultCode) }, 5005, []uint32{268, 297}, "Result-Code or Experimental-Result"},
		{"no Auth-Session-State", func(m *godiam.Message) { ct.Drop(m, avp.AuthSessionState) }, 5005, []uint32{277}, "Auth-Session-State"},
		{"additional without serving node", func(m *godiam.Message) { ct.Drop(m, sn, sd, t4d) }, 5004, []uint32{2406}, "without a Serving-Node"},
		{"empty serving node", func(m *godiam.Message) { ct.Put(m, ct.Group(sn, v), sd, t4d) }, 5004, []uint32{sn}, "no serving-node member"},
		{"bad MSC-Number", func(m *godiam.Message) { ct.Put(m, ct.Octets(2403, v, []byte{0x9A}), sd, t4d, sn) }, 5004, []uint32{2403}, "TBCD"},
		{"User-Identifier with bad IMSI", func(m *godiam.Message) { ct.Put(m, ct.UTF8(1, 0, "1"), 3102) }, 5004, []uint32{1}, "IMSI"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := goodSIA().Answer(req, ct.ID)
			if err != nil {
				t.Fatal(err)
			}
			m = ct.Wire(t, m, d)
			c.edit(m)
			ct.Refused(t, DecodeSIA, ct.Reread(t, m, d), c.code, c.failed, c.reason)
		})
	}
	// IP-SM-GW members in an Additional-Serving-Node are not its ABNF's:
	// dropped, like other unknown members.
	m, err := goodSIA().Answer(req, ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	m = ct.Wire(t, m, d)
	ct.Add(m, ct.Ident(3101, v, "ipsmgw.example"), sd, t4d, 2406)
	got, pe := DecodeSIA(ct.Reread(t, m, d))
	if pe != nil || got.T4().AdditionalServingNodes[0].HasIPSMGW() {
		t.Fatalf("%+v %v", got, pe)
	}
}

func TestS6mEnums(t *testing.T) {
	if DeviceTrigger.String() != "DEVICE_TRIGGER" || SMSMO.String() != "SMS_MO" || ServiceID(9).String() != "ServiceID(9)" || ServiceID(2).Valid() {
		t.Error("ServiceID")
	}
	if s := (AbsentSubscriber | CallBarred | 1<<7).String(); s != "ABSENT_SUBSCRIBER|CALL_BARRED|0x80" {
		t.Errorf("HSSCause %q", s)
	}
	if HSSCause(0).String() != "0" || !(AbsentSubscriber | CallBarred).Has(CallBarred) || AbsentSubscriber.Has(CallBarred) {
		t.Error("HSSCause")
	}
	if S6mIndicator.String() != "S6M_S6N_INDICATOR" {
		t.Error("SIRFlags")
	}
	for code, name := range map[uint32]string{5001: "DIAMETER_ERROR_USER_UNKNOWN", 5510: "DIAMETER_ERROR_UNAUTHORIZED_REQUESTING_ENTITY",
		5511: "DIAMETER_ERROR_UNAUTHORIZED_SERVICE", 5002: ""} {
		if got := ExperimentalName(code); got != name {
			t.Errorf("ExperimentalName(%d) = %q", code, got)
		}
	}
}
