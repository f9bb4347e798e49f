package t4

import (
	"bytes"
	"reflect"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	ct "github.com/mtciwf/mtciwf/diam/internal/codectest"
	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/dictionaries"
)

const v = ct.Vendor3GPP

func t4Dict(tb testing.TB) *dict.Parser {
	tb.Helper()
	return ct.Dict(tb, dictionaries.T4)
}

var mtciwfRouting = core.Routing{
	SessionID: "mtciwf.operator.example;3;4", OriginHost: "mtciwf.operator.example", OriginRealm: "operator.example",
	DestinationRealm: "operator.example",
}

func goodDTR() *DTR {
	return &DTR{
		Routing:        mtciwfRouting,
		UserIdentifier: core.UserIdentifier{IMSI: "001010000000123", MSISDN: "491234567"},
		SMRPSMEA:       core.InternationalSMEAddress("491710000001"),
		Payload:        []byte("wake up"),
		ServingNode: &core.ServingNode{MMEName: "mme1.epc.operator.example", MMERealm: "epc.operator.example",
			MMENumberForMTSMS: "491720000001"},
		AdditionalServingNodes:    []core.ServingNode{{MSCNumber: "491720000009"}},
		ReferenceNumber:           new(uint32(77)),
		ValidityTime:              new(uint32(3600)),
		PriorityIndication:        new(core.NonPriority),
		ApplicationPortIdentifier: new(uint32(9200)),
		TriggerAction:             new(Trigger),
	}
}

func dtrMessage(tb testing.TB, r *DTR, d *dict.Parser) *godiam.Message {
	tb.Helper()
	return ct.Sent(tb, r, (*DTR).Message, d)
}

func goodDRR() *DRR {
	r := core.Routing{SessionID: "smsc1.operator.example;5;6", OriginHost: "smsc1.operator.example", OriginRealm: "operator.example",
		DestinationHost: "mtciwf.operator.example", DestinationRealm: "operator.example"}
	return &DRR{
		Routing:                    r,
		UserIdentifier:             core.UserIdentifier{IMSI: "001010000000123"},
		SMRPSMEA:                   core.InternationalSMEAddress("491710000001"),
		SMDeliveryOutcome:          AbsentSubscriber,
		AbsentSubscriberDiagnostic: new(UEDetached),
		ReferenceNumber:            new(uint32(77)),
	}
}

func drrMessage(tb testing.TB, r *DRR, d *dict.Parser) *godiam.Message {
	tb.Helper()
	return ct.Sent(tb, r, (*DRR).Message, d)
}

func TestT4DTRRoundTrip(t *testing.T) {
	d := t4Dict(t)
	minimal := &DTR{Routing: mtciwfRouting, UserIdentifier: core.UserIdentifier{IMSI: "001010000000123"},
		SMRPSMEA: core.SMEAddress{TypeOfNumber: core.TONNational, NumberingPlan: core.NPIISDN, Digits: "4711"}}
	replace := goodDTR()
	replace.TriggerAction, replace.OldReferenceNumber = new(Replace), new(uint32(76))
	recall := goodDTR()
	recall.TriggerAction, recall.OldReferenceNumber, recall.Payload = new(Recall), new(uint32(76)), []byte{0}
	for name, in := range map[string]*DTR{"trigger": goodDTR(), "minimal": minimal, "replace": replace, "recall": recall} {
		t.Run(name, func(t *testing.T) {
			m := dtrMessage(t, in, d)
			ct.Valid(t, m, d)
			h := m.Header
			if h.CommandFlags != godiam.RequestFlag|godiam.ProxiableFlag || h.ApplicationID != AppID || h.CommandCode != CmdDeviceTrigger {
				t.Fatalf("header %+v", h)
			}
			ct.DecodesTo(t, DecodeDTR, m, in)
		})
	}
	// SM-RP-SMEA on the wire: address-length, type-of-address, TBCD.
	m := dtrMessage(t, goodDTR(), d)
	a, _ := m.FindAVP(uint32(3309), v)
	if want := []byte{0x0C, 0x91, 0x94, 0x71, 0x01, 0x00, 0x00, 0x10}; a == nil || !bytes.Equal(a.Data.Serialize(), want) {
		t.Fatalf("SM-RP-SMEA %v, want % X", a, want)
	}
}

// The serving nodes an SIA returns go into a DTR unchanged, and arrive at
// the SMS-SC as the HSS sent them.
func TestT4ServingNodesFromSIA(t *testing.T) {
	s6d, err := dictionaries.S6m()
	if err != nil {
		t.Fatal(err)
	}
	sir := &s6m.SIR{Routing: mtciwfRouting, UserIdentifier: core.UserIdentifier{MSISDN: "491234567"}, Flags: s6m.S6mIndicator}
	req, err := sir.Message(s6d)
	if err != nil {
		t.Fatal(err)
	}
	req = ct.Wire(t, req, s6d)
	sent := &s6m.SIA{Result: core.ResultCode(2001), UserIdentifiers: []core.UserIdentifier{{IMSI: "001010000000123", MSISDN: "491234567"}},
		ServiceData: &s6m.ServiceData{T4Data: &s6m.T4Data{
			ServingNode: &core.ServingNode{SGSNName: "sgsn1.operator.example", SGSNRealm: "operator.example", SGSNNumber: "491720000002",
				IPSMGWNumber: "491720000003", IPSMGWName: "ipsmgw.ims.example", IPSMGWRealm: "ims.example"},
			AdditionalServingNodes: []core.ServingNode{{MMEName: "mme1.epc.example", MMERealm: "epc.example", MMENumberForMTSMS: "491720000001"}, {MSCNumber: "491720000009"}},
		}}}
	am, err := sent.Answer(req, &diam.Identity{OriginHost: "hss1.operator.example", OriginRealm: "operator.example"})
	if err != nil {
		t.Fatal(err)
	}
	sia, pe := s6m.DecodeSIA(ct.Wire(t, am, s6d))
	if pe != nil {
		t.Fatal(pe)
	}
	d := t4Dict(t)
	dtr := &DTR{Routing: mtciwfRouting, UserIdentifier: sia.UserIdentifiers[0], SMRPSMEA: core.InternationalSMEAddress("491710000001"),
		Payload: []byte{1}, ServingNode: sia.T4().ServingNode, AdditionalServingNodes: sia.T4().AdditionalServingNodes}
	got, pe := DecodeDTR(dtrMessage(t, dtr, d))
	if pe != nil {
		t.Fatal(pe)
	}
	if !reflect.DeepEqual(got.ServingNode, sent.T4().ServingNode) || !reflect.DeepEqual(got.AdditionalServingNodes, sent.T4().AdditionalServingNodes) {
		t.Fatalf("serving nodes changed on the way:\n got %+v %+v\nsent %+v %+v", got.ServingNode, got.AdditionalServingNodes,
			sent.T4().ServingNode, sent.T4().AdditionalServingNodes)
	}
}

func TestT4DTRRefuses(t *testing.T) {
	d := t4Dict(t)
	cases := map[string]func(r *DTR){
		"no user id":       func(r *DTR) { r.UserIdentifier = core.UserIdentifier{} },
		"no SMEA":          func(r *DTR) { r.SMRPSMEA = core.SMEAddress{} },
		"bad action":       func(r *DTR) { r.TriggerAction = new(TriggerAction(3)) },
		"recall no oldref": func(r *DTR) { r.TriggerAction = new(Recall) },
		"bad port":         func(r *DTR) { r.ApplicationPortIdentifier = new(uint32(70000)) },
		"bad priority":     func(r *DTR) { r.PriorityIndication = new(core.PriorityIndication(9)) },
		"additional alone": func(r *DTR) { r.ServingNode = nil },
		"additional ipsmgw": func(r *DTR) {
			r.AdditionalServingNodes = []core.ServingNode{{IPSMGWNumber: "49"}}
		},
	}
	for name, mutate := range cases {
		r := goodDTR()
		mutate(r)
		if _, err := r.Message(d); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestT4DecodeDTRErrors(t *testing.T) {
	d := t4Dict(t)
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no User-Identifier", func(m *godiam.Message) { ct.Drop(m, 3102) }, 5005, []uint32{3102}, "User-Identifier"},
		{"no SM-RP-SMEA", func(m *godiam.Message) { ct.Drop(m, 3309) }, 5005, []uint32{3309}, "SM-RP-SMEA"},
		{"no Payload", func(m *godiam.Message) { ct.Drop(m, 3004) }, 5005, []uint32{3004}, "Payload"},
		{"bad SMEA", func(m *godiam.Message) { ct.Put(m, ct.Octets(3309, v, []byte{0x03, 0x11, 0x21, 0xF3})) }, 5004, []uint32{3309}, "bit 8"},
		{"Trigger-Action 7", func(m *godiam.Message) { ct.Put(m, godiam.NewAVP(3202, avp.Vbit, v, ct.U32(0, 0, 7).Data)) }, 5004, []uint32{3202}, "Trigger-Action 7"},
		{"recall without Old-Reference-Number", func(m *godiam.Message) {
			ct.Put(m, godiam.NewAVP(3202, avp.Vbit, v, ct.U32(0, 0, 1).Data))
		}, 5005, []uint32{3011}, "needs Old-Reference-Number"},
		{"additional without serving node", func(m *godiam.Message) { ct.Drop(m, 2401) }, 5004, []uint32{2406}, "without a Serving-Node"},
		{"bad SGSN-Number", func(m *godiam.Message) { ct.Put(m, ct.Octets(1489, v, []byte{0xBB}), 2401) }, 5004, []uint32{1489}, "TBCD"},
		{"bad port", func(m *godiam.Message) { ct.Put(m, ct.U32(3010, v, 1<<16)) }, 5004, []uint32{3010}, "16-bit SMS application port (TS 23.040"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := dtrMessage(t, goodDTR(), d)
			c.edit(m)
			ct.Refused(t, DecodeDTR, ct.Reread(t, m, d), c.code, c.failed, c.reason)
		})
	}
}

func TestT4DTARoundTrip(t *testing.T) {
	d := t4Dict(t)
	req := dtrMessage(t, goodDTR(), d)
	for name, in := range map[string]*DTA{
		"accepted":       {Result: core.ResultCode(2001)},
		"replace failed": {Result: core.Experimental3GPP(ErrorTriggerReplaceFailure), MTCErrorDiagnostic: new(NewMessageNotStored), OldReferenceNumber: new(uint32(76)), TriggerAction: new(Replace)},
		"congestion":     {Result: core.Experimental3GPP(ErrorSCCongestion)},
		"recalled":       {Result: core.ResultCode(2001), OldReferenceNumber: new(uint32(76)), TriggerAction: new(Recall)},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := in.Answer(req, &diam.Identity{OriginHost: "smsc1.operator.example", OriginRealm: "operator.example"})
			if err != nil {
				t.Fatal(err)
			}
			m = ct.Wire(t, m, d)
			ct.Valid(t, m, d)
			ct.DecodesTo(t, DecodeDTA, m, in)
		})
	}
	if _, err := (&DTA{Result: core.ResultCode(2001), MTCErrorDiagnostic: new(MTCErrorDiagnostic(4))}).Answer(req, ct.ID); err == nil {
		t.Error("DTA with MTC-Error-Diagnostic 4 built")
	}
	m, err := (&DTA{Result: core.ResultCode(2001)}).Answer(req, ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	m = ct.Wire(t, m, d)
	ct.Put(m, godiam.NewAVP(3203, avp.Vbit, v, ct.U32(0, 0, 9).Data))
	_, pe := DecodeDTA(ct.Reread(t, m, d))
	ct.CheckPE(t, pe, 5004, []uint32{3203}, "MTC-Error-Diagnostic 9")
}

func TestT4DRRRoundTrip(t *testing.T) {
	d := t4Dict(t)
	delivered := goodDRR()
	delivered.SMDeliveryOutcome, delivered.AbsentSubscriberDiagnostic = SuccessfulTransfer, nil
	for name, in := range map[string]*DRR{"absent": goodDRR(), "delivered": delivered} {
		t.Run(name, func(t *testing.T) {
			m := drrMessage(t, in, d)
			ct.Valid(t, m, d)
			ct.DecodesTo(t, DecodeDRR, m, in)
			for _, dra := range []*DRA{{Result: core.ResultCode(2001)}, {Result: core.ResultCode(diam.ResultUnableToComply)}} {
				am, err := dra.Answer(m, ct.ID)
				if err != nil {
					t.Fatal(err)
				}
				am = ct.Wire(t, am, d)
				ct.Valid(t, am, d)
				if am.Header.HopByHopID != m.Header.HopByHopID || am.Header.EndToEndID != m.Header.EndToEndID {
					t.Fatal("ids not copied")
				}
				ct.DecodesTo(t, DecodeDRA, am, dra)
			}
		})
	}
}

func TestT4DecodeDRRErrors(t *testing.T) {
	d := t4Dict(t)
	r := goodDRR()
	r.DestinationHost = ""
	if _, err := r.Message(d); err == nil {
		t.Fatal("DRR without Destination-Host built")
	}
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no Destination-Host", func(m *godiam.Message) { ct.Drop(m, avp.DestinationHost) }, 5005, []uint32{avp.DestinationHost}, "Destination-Host"},
		{"no outcome", func(m *godiam.Message) { ct.Drop(m, 3200) }, 5005, []uint32{3200}, "SM-Delivery-Outcome-T4"},
		{"outcome 4", func(m *godiam.Message) { ct.Put(m, ct.Enum(3200, v, 4)) }, 5004, []uint32{3200}, "SM-Delivery-Outcome-T4 4"},
		{"diagnostic 6", func(m *godiam.Message) { ct.Put(m, ct.Enum(3201, v, 6)) }, 5004, []uint32{3201}, "Absent-Subscriber-Diagnostic-T4 6"},
		{"no SM-RP-SMEA", func(m *godiam.Message) { ct.Drop(m, 3309) }, 5005, []uint32{3309}, "SM-RP-SMEA"},
		{"no User-Identifier", func(m *godiam.Message) { ct.Drop(m, 3102) }, 5005, []uint32{3102}, "User-Identifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := drrMessage(t, goodDRR(), d)
			c.edit(m)
			ct.Refused(t, DecodeDRR, ct.Reread(t, m, d), c.code, c.failed, c.reason)
		})
	}
	m := drrMessage(t, goodDRR(), d)
	if _, pe := DecodeDTR(m); pe == nil || pe.Code != diam.ResultCommandUnsupported {
		t.Fatalf("DRR as DTR: %v", pe)
	}
}

func TestT4Enums(t *testing.T) {
	for o, s := range map[SMDeliveryOutcome]string{0: "ABSENT_SUBSCRIBER", 1: "UE_MEMORY_CAPACITY_EXCEEDED", 2: "SUCCESSFUL_TRANSFER", 3: "VALIDITY_TIME_EXPIRED", 4: "SMDeliveryOutcome(4)"} {
		if o.String() != s || o.Valid() != (o <= 3) {
			t.Errorf("%d: %s", o, o)
		}
	}
	for a, s := range map[AbsentSubscriberDiagnostic]string{0: "NO_PAGING_RESPONSE", 1: "UE_DETACHED", 2: "UE_DEREGISTERED", 3: "UE_PURGED",
		4: "ROAMING_RESTRICTION", 5: "UNIDENTIFIED_SUBSCRIBER", 6: "AbsentSubscriberDiagnostic(6)"} {
		if a.String() != s || a.Valid() != (a <= 5) {
			t.Errorf("%d: %s", a, a)
		}
	}
	for a, s := range map[TriggerAction]string{0: "TRIGGER", 1: "RECALL", 2: "REPLACE", 3: "TriggerAction(3)"} {
		if a.String() != s || a.Valid() != (a <= 2) {
			t.Errorf("%d: %s", a, a)
		}
	}
	if Trigger.NeedsOldReference() || !Recall.NeedsOldReference() || !Replace.NeedsOldReference() {
		t.Error("NeedsOldReference")
	}
	for code, name := range map[uint32]string{5001: "DIAMETER_ERROR_USER_UNKNOWN", 5530: "DIAMETER_ERROR_INVALID_SME_ADDRESS",
		5531: "DIAMETER_ERROR_SC_CONGESTION", 5532: "", 5533: "DIAMETER_ERROR_TRIGGER_REPLACE_FAILURE",
		5534: "DIAMETER_ERROR_TRIGGER_RECALL_FAILURE", 5535: "DIAMETER_ERROR_ORIGINAL_MESSAGE_NOT_PENDING"} {
		if got := ExperimentalName(code); got != name {
			t.Errorf("ExperimentalName(%d) = %q", code, got)
		}
	}
}
