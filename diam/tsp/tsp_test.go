package tsp

import (
	"reflect"
	"strings"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codectest"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func TestTspDARRoundTrip(t *testing.T) {
	d := tspDict(t)
	msisdn := goodDAR()
	msisdn.DeviceAction.ExternalIdentifier = ""
	msisdn.DeviceAction.MSISDN = "491234567"
	msisdn.DeviceAction.TriggerData = &TriggerData{Payload: []byte{0}}
	msisdn.DeviceAction.SCSIdentity = ""
	msisdn.DeviceAction.ValidityTime = nil
	msisdn.DestinationHost = "mtciwf.operator.example"

	recall := goodDAR()
	recall.DeviceAction.ActionType = DeviceTriggerRecall
	recall.DeviceAction.OldReferenceNumber = new(uint32(4710))
	recall.DeviceAction.TriggerData = nil

	replace := goodDAR()
	replace.DeviceAction.ActionType = DeviceTriggerReplace
	replace.DeviceAction.OldReferenceNumber = new(uint32(0))
	replace.DeviceAction.TriggerData.PriorityIndication = new(NonPriority)

	cases := map[string]*DAR{"trigger": goodDAR(), "msisdn": msisdn, "recall": recall, "replace": replace}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			m := darMessage(t, in, d)
			valid(t, m, d)
			if m.Header.CommandFlags != godiam.RequestFlag|godiam.ProxiableFlag || m.Header.ApplicationID != AppID ||
				m.Header.CommandCode != CmdDeviceAction {
				t.Fatalf("header %+v", m.Header)
			}
			if m.AVP[0].Code != avp.SessionID {
				t.Fatalf("first AVP is %d, not Session-Id", m.AVP[0].Code)
			}
			codectest.DecodesTo(t, DecodeDAR, m, in)
		})
	}
}

func TestTspDARNewSessionID(t *testing.T) {
	d := tspDict(t)
	r := goodDAR()
	r.SessionID = ""
	got, pe := DecodeDAR(darMessage(t, r, d))
	if pe != nil {
		t.Fatal(pe)
	}
	if !strings.HasPrefix(got.SessionID, "scs1.example.org;") || strings.Count(got.SessionID, ";") != 2 {
		t.Fatalf("Session-Id %q", got.SessionID)
	}
}

func TestTspDAREncodeRefuses(t *testing.T) {
	d := tspDict(t)
	cases := map[string]func(r *DAR){
		"no origin host":    func(r *DAR) { r.OriginHost = "" },
		"no dest realm":     func(r *DAR) { r.DestinationRealm = "" },
		"action 2":          func(r *DAR) { r.DeviceAction.ActionType = DeliveryReport },
		"action 0":          func(r *DAR) { r.DeviceAction.ActionType = 0 },
		"no identifier":     func(r *DAR) { r.DeviceAction.ExternalIdentifier = "" },
		"bad msisdn":        func(r *DAR) { r.DeviceAction.ExternalIdentifier = ""; r.DeviceAction.MSISDN = "+49" },
		"bad scs":           func(r *DAR) { r.DeviceAction.SCSIdentity = "1234567890123456" },
		"bad ext id":        func(r *DAR) { r.DeviceAction.ExternalIdentifier = "nobody" },
		"no trigger data":   func(r *DAR) { r.DeviceAction.TriggerData = nil },
		"replace no oldref": func(r *DAR) { r.DeviceAction.ActionType = DeviceTriggerReplace },
		"port":              func(r *DAR) { r.DeviceAction.TriggerData.ApplicationPortIdentifier = new(uint32(65536)) },
		"priority":          func(r *DAR) { r.DeviceAction.TriggerData.PriorityIndication = new(PriorityIndication(2)) },
	}
	for name, mutate := range cases {
		r := goodDAR()
		mutate(r)
		if m, err := r.Message(d); err == nil {
			t.Errorf("%s: built %v", name, m)
		}
	}
	s6m, err := dictionaries.S6m()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goodDAR().Message(s6m); err == nil {
		t.Error("built a DAR with the S6m dictionary")
	}
}

func TestTspDecodeDARErrors(t *testing.T) {
	d := tspDict(t)
	const da, td = 3001, 3003
	v := uint32(dictionaries.VendorID3GPP)
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no Session-Id", func(m *godiam.Message) { drop(m, 263) }, 5005, []uint32{263}, "Session-Id"},
		{"no Auth-Application-Id", func(m *godiam.Message) { drop(m, 258) }, 5005, []uint32{258}, "Auth-Application-Id"},
		{"wrong Auth-Application-Id", func(m *godiam.Message) { put(m, u32(258, 0, 16777310)) }, 5004, []uint32{258}, "application 16777309"},
		{"no Auth-Session-State", func(m *godiam.Message) { drop(m, 277) }, 5005, []uint32{277}, "Auth-Session-State"},
		{"no Origin-Host", func(m *godiam.Message) { drop(m, 264) }, 5005, []uint32{264}, "Origin-Host"},
		{"no Origin-Realm", func(m *godiam.Message) { drop(m, 296) }, 5005, []uint32{296}, "Origin-Realm"},
		{"no Destination-Realm", func(m *godiam.Message) { drop(m, 283) }, 5005, []uint32{283}, "Destination-Realm"},
		{"no Device-Action", func(m *godiam.Message) { drop(m, da) }, 5005, []uint32{da}, "Device-Action"},
		{"no Reference-Number", func(m *godiam.Message) { drop(m, 3007, da) }, 5005, []uint32{3007}, "Reference-Number (3007) in Device-Action"},
		{"no Action-Type", func(m *godiam.Message) { drop(m, 3005, da) }, 5005, []uint32{3005}, "Action-Type"},
		{"unknown Action-Type", func(m *godiam.Message) { put(m, enum(3005, v, 9), da) }, 5004, []uint32{3005}, "Action-Type 9 in Device-Action is not defined"},
		{"Action-Type delivery report", func(m *godiam.Message) { put(m, enum(3005, v, 2), da) }, 5004, []uint32{3005}, "DELIVERY_REPORT"},
		{"Action-Type MO-SMS", func(m *godiam.Message) { put(m, enum(3005, v, 5), da) }, 5004, []uint32{3005}, "MSISDN_LESS_MO_SMS_DELIVERY"},
		{"neither identifier", func(m *godiam.Message) { drop(m, 3111, da) }, 5005, []uint32{3111, 701}, "External-Identifier or MSISDN"},
		{"both identifiers", func(m *godiam.Message) { put(m, octets(701, v, []byte{0x94, 0xF1}), da) }, 5004, []uint32{701}, "both"},
		{"External-Identifier without @", func(m *godiam.Message) { put(m, utf8s(3111, v, "meter-17"), da) }, 5004, []uint32{3111}, "no '@'"},
		{"External-Identifier with two @", func(m *godiam.Message) { put(m, utf8s(3111, v, "a@b@c.example"), da) }, 5004, []uint32{3111}, "more than one '@'"},
		{"External-Identifier empty local", func(m *godiam.Message) { put(m, utf8s(3111, v, "@iot.example"), da) }, 5004, []uint32{3111}, "empty Local Identifier"},
		{"External-Identifier empty domain", func(m *godiam.Message) { put(m, utf8s(3111, v, "meter@"), da) }, 5004, []uint32{3111}, "empty Domain Identifier"},
		{"External-Identifier bad domain", func(m *godiam.Message) { put(m, utf8s(3111, v, "meter@iot_x.example"), da) }, 5004, []uint32{3111}, "not a letter"},
		{"External-Identifier space", func(m *godiam.Message) { put(m, utf8s(3111, v, "me ter@iot.example"), da) }, 5004, []uint32{3111}, "space"},
		{"External-Identifier empty", func(m *godiam.Message) { put(m, utf8s(3111, v, ""), da) }, 5004, []uint32{3111}, "empty"},
		{"MSISDN not TBCD", func(m *godiam.Message) {
			drop(m, 3111, da)
			put(m, octets(701, v, []byte{0x94, 0xAB}), da)
		}, 5004, []uint32{701}, "not an E.164 number in TBCD"},
		{"MSISDN empty", func(m *godiam.Message) {
			drop(m, 3111, da)
			put(m, octets(701, v, nil), da)
		}, 5004, []uint32{701}, "no digits"},
		{"SCS-Identity not TBCD", func(m *godiam.Message) { put(m, octets(3104, v, []byte{0x1F, 0x21}), da) }, 5004, []uint32{3104}, "SCS-Identity (3104) in Device-Action: not an E.164 number"},
		{"SCS-Identity too long", func(m *godiam.Message) {
			put(m, octets(3104, v, []byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}), da)
		}, 5004, []uint32{3104}, "more than the 15"},
		{"trigger without Trigger-Data", func(m *godiam.Message) { drop(m, td, da) }, 5005, []uint32{td}, "DEVICE_TRIGGER_REQUEST (1) needs Trigger-Data"},
		{"replace without Trigger-Data", func(m *godiam.Message) {
			drop(m, td, da)
			put(m, enum(3005, v, 4), da)
			put(m, u32(3011, v, 1), da)
		}, 5005, []uint32{td}, "DEVICE_TRIGGER_REPLACE (4) needs Trigger-Data"},
		{"recall without Old-Reference-Number", func(m *godiam.Message) { put(m, enum(3005, v, 3), da) }, 5005, []uint32{3011}, "needs Old-Reference-Number"},
		{"replace without Old-Reference-Number", func(m *godiam.Message) { put(m, enum(3005, v, 4), da) }, 5005, []uint32{3011}, "needs Old-Reference-Number"},
		{"Trigger-Data without Payload", func(m *godiam.Message) { drop(m, 3004, da, td) }, 5005, []uint32{3004}, "Payload (3004) in Trigger-Data"},
		{"unknown Priority-Indication", func(m *godiam.Message) { put(m, enum(3006, v, 2), da, td) }, 5004, []uint32{3006}, "Priority-Indication 2"},
		{"port beyond 16 bits", func(m *godiam.Message) { put(m, u32(3010, v, 65536), da, td) }, 5004, []uint32{3010}, "16-bit"},
		{"Auth-Session-State 7", func(m *godiam.Message) { put(m, enum(277, 0, 7)) }, 5004, []uint32{277}, "value 7"},
		{"empty Origin-Host", func(m *godiam.Message) {
			put(m, godiam.NewAVP(264, avp.Mbit, 0, datatype.DiameterIdentity("")))
		}, 5004, []uint32{264}, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := darMessage(t, goodDAR(), d)
			c.edit(m)
			m = reread(t, m, d)
			codectest.Refused(t, DecodeDAR, m, c.code, c.failed, c.reason)
		})
	}
}

func TestTspDecodeHeaderErrors(t *testing.T) {
	d := tspDict(t)
	m := darMessage(t, goodDAR(), d)

	daa := *m.Header
	daa.CommandFlags &^= godiam.RequestFlag
	ans := &godiam.Message{Header: &daa, AVP: m.AVP}
	if _, pe := DecodeDAR(ans); pe == nil || pe.Code != diam.ResultInvalidHdrBits {
		t.Fatalf("DAR without R bit: %v", pe)
	}
	ebit := *m.Header
	ebit.CommandFlags |= godiam.ErrorFlag
	if _, pe := DecodeDAR(&godiam.Message{Header: &ebit, AVP: m.AVP}); pe == nil || pe.Code != diam.ResultInvalidHdrBits {
		t.Fatalf("DAR with E bit: %v", pe)
	}
	app := *m.Header
	app.ApplicationID = 16777310
	if _, pe := DecodeDAR(&godiam.Message{Header: &app, AVP: m.AVP}); pe == nil || pe.Code != diam.ResultApplicationUnsupported {
		t.Fatalf("DAR in S6m: %v", pe)
	}
	if _, pe := DecodeDNR(m); pe == nil || pe.Code != diam.ResultCommandUnsupported {
		t.Fatalf("DAR as DNR: %v", pe)
	}
	if _, pe := DecodeDAA(m); pe == nil || pe.Code != diam.ResultInvalidHdrBits {
		t.Fatalf("DAR as DAA: %v", pe)
	}
	if _, pe := DecodeDAR(nil); pe == nil || pe.Code != diam.ResultUnableToComply {
		t.Fatalf("nil: %v", pe)
	}
}

// A message read with another interface's dictionary has the Tsp AVPs as
// Unknown: refused with 5004, not a panic.
func TestTspDecodeWrongDictionary(t *testing.T) {
	d := tspDict(t)
	m := darMessage(t, goodDAR(), d)
	base, err := dictionaries.Base()
	if err != nil {
		t.Fatal(err)
	}
	// The base dictionary does not know the command either; graft the
	// body onto a parser-independent message instead.
	if err := base.Load(strings.NewReader(`<diameter><application id="16777309" type="auth" name="Tsp-stub">
<command code="8388639" short="DA" name="Device-Action"><request><rule avp="Session-Id" required="true"/></request>
<answer><rule avp="Session-Id" required="true"/></answer></command></application></diameter>`)); err != nil {
		t.Fatal(err)
	}
	stub := reread(t, &godiam.Message{Header: m.Header, AVP: m.AVP}, base)
	_, pe := DecodeDAR(stub)
	checkPE(t, pe, 5004, []uint32{3001}, "decoded as")
}

func TestTspDAARoundTrip(t *testing.T) {
	d := tspDict(t)
	req := darMessage(t, goodDAR(), d)
	// A proxy on the way added Proxy-Info: the answer must carry it back.
	pi := godiam.NewAVP(avp.ProxyInfo, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{
		godiam.NewAVP(avp.ProxyHost, avp.Mbit, 0, datatype.DiameterIdentity("dra.example.org")),
		godiam.NewAVP(avp.ProxyState, avp.Mbit, 0, datatype.OctetString("s1")),
	}})
	req.AddAVP(pi)
	req = reread(t, req, d)
	req.Header.CommandFlags |= godiam.RetransmittedFlag

	cases := map[string]*DAA{
		"success": {
			Result: core.ResultCode(diam.ResultSuccess),
			DeviceNotification: &DeviceNotification{
				ExternalIdentifier: "meter-17@iot.example.org", SCSIdentity: "491710000001",
				ReferenceNumber: 4711, ActionType: DeviceTriggerRequest,
				RequestStatus: new(StatusSuccess), ApplicationPortIdentifier: new(uint32(9200)),
			},
			FeatureSupportedInFinalTarget: new(FeatureRecallReplace),
		},
		"refused": {
			Result:       core.ResultCode(diam.ResultSuccess),
			ErrorMessage: "SCS may not trigger this device",
			DeviceNotification: &DeviceNotification{
				MSISDN: "491234567", ReferenceNumber: 4711, ActionType: DeviceTriggerReplace,
				RequestStatus: new(StatusReplaceFail), MTCErrorDiagnostic: new(core.NewMessageNotStored),
			},
		},
		"protocol error without notification": {Result: core.ResultCode(diam.ResultMissingAVP), ErrorMessage: "missing"},
		"experimental":                        {Result: core.Experimental3GPP(5555), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: DeviceTriggerRecall}},
		"3xxx":                                {Result: core.ResultCode(3004)},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := in.Answer(req, testID)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckEgress(m, d); err != nil {
				t.Fatalf("egress refuses our own DAA: %v", err)
			}
			m = wire(t, m, d)
			h := m.Header
			if h.HopByHopID != req.Header.HopByHopID || h.EndToEndID != req.Header.EndToEndID ||
				h.CommandCode != CmdDeviceAction || h.ApplicationID != AppID {
				t.Fatalf("header %+v for request %+v", h, req.Header)
			}
			wantFlags := uint8(godiam.ProxiableFlag)
			if in.Result == core.ResultCode(3004) {
				wantFlags |= godiam.ErrorFlag
			}
			if h.CommandFlags != wantFlags {
				t.Fatalf("flags 0x%x, want 0x%x", h.CommandFlags, wantFlags)
			}
			if m.AVP[0].Code != avp.SessionID || string(m.AVP[0].Data.(datatype.UTF8String)) != "scs1.example.org;1;2" {
				t.Fatalf("Session-Id not copied first: %v", m.AVP[0])
			}
			if last := m.AVP[len(m.AVP)-1]; last.Code != avp.ProxyInfo {
				t.Fatalf("Proxy-Info not copied: last AVP %v", last)
			}
			if oh, _ := m.FindAVP(avp.OriginHost, 0); oh == nil || string(oh.Data.(datatype.DiameterIdentity)) != testID.OriginHost {
				t.Fatalf("Origin-Host %v", oh)
			}
			if in.DeviceNotification != nil {
				valid(t, m, d)
			}
			codectest.DecodesTo(t, DecodeDAA, m, in)
		})
	}
}

func TestTspDAARefuses(t *testing.T) {
	d := tspDict(t)
	req := darMessage(t, goodDAR(), d)
	dn := func() *DeviceNotification {
		return &DeviceNotification{ReferenceNumber: 1, ActionType: DeviceTriggerRequest}
	}
	cases := map[string]*DAA{
		"no result":               {DeviceNotification: dn()},
		"success without DN":      {Result: core.ResultCode(2001)},
		"DN with delivery report": {Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: DeliveryReport}},
		"DN with bad status":      {Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: 1, RequestStatus: new(RequestStatus(99))}},
		"DN with bad ext id":      {Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: 1, ExternalIdentifier: "x"}},
		"DN with bad outcome":     {Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: 1, DeliveryOutcome: new(DeliveryOutcome(5))}},
		"DN with bad diagnostic":  {Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: 1, MTCErrorDiagnostic: new(MTCErrorDiagnostic(2))}},
	}
	for name, a := range cases {
		if m, err := a.Answer(req, testID); err == nil {
			t.Errorf("%s: built %v", name, m)
		}
	}
	good := &DAA{Result: core.ResultCode(2001), DeviceNotification: dn()}
	if _, err := good.Answer(req, nil); err == nil {
		t.Error("answered without an identity")
	}
	ans, err := good.Answer(req, testID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Answer(ans, testID); err == nil {
		t.Error("answered an answer")
	}
}

func TestTspDecodeDAAErrors(t *testing.T) {
	d := tspDict(t)
	req := darMessage(t, goodDAR(), d)
	v := uint32(dictionaries.VendorID3GPP)
	good := &DAA{Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{ReferenceNumber: 1, ActionType: DeviceTriggerRequest}}
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no result", func(m *godiam.Message) { drop(m, 268) }, 5005, []uint32{268, 297}, "Result-Code or Experimental-Result"},
		{"both results", func(m *godiam.Message) {
			put(m, godiam.NewAVP(297, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{u32(266, 0, v), u32(298, 0, 5001)}}))
		}, 5004, []uint32{297}, "together with Result-Code"},
		{"Result-Code 0", func(m *godiam.Message) { put(m, u32(268, 0, 0)) }, 5004, []uint32{268}, "not a result code"},
		{"experimental vendor 0", func(m *godiam.Message) {
			drop(m, 268)
			put(m, godiam.NewAVP(297, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{u32(266, 0, 0), u32(298, 0, 5001)}}))
		}, 5004, []uint32{266}, "Experimental-Result"},
		{"experimental without code", func(m *godiam.Message) {
			drop(m, 268)
			put(m, godiam.NewAVP(297, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{u32(266, 0, v)}}))
		}, 5005, []uint32{298}, "Experimental-Result-Code"},
		{"success without Device-Notification", func(m *godiam.Message) { drop(m, 3002) }, 5005, []uint32{3002}, "Device-Notification"},
		{"DN without Reference-Number", func(m *godiam.Message) { drop(m, 3007, 3002) }, 5005, []uint32{3007}, "Reference-Number"},
		{"DN with Request-Status 99", func(m *godiam.Message) { put(m, enum(3008, v, 99), 3002) }, 5004, []uint32{3008}, "Request-Status 99"},
		{"DN with delivery report", func(m *godiam.Message) { put(m, enum(3005, v, 2), 3002) }, 5004, []uint32{3005}, "DAA"},
		{"no Auth-Application-Id", func(m *godiam.Message) { drop(m, 258) }, 5005, []uint32{258}, "Auth-Application-Id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := good.Answer(req, testID)
			if err != nil {
				t.Fatal(err)
			}
			m = wire(t, m, d)
			c.edit(m)
			m = reread(t, m, d)
			codectest.Refused(t, DecodeDAA, m, c.code, c.failed, c.reason)
		})
	}
	// An E-bit answer follows RFC 6733 7.2: no Auth-* needed.
	m, err := (&DAA{Result: core.ResultCode(3002)}).Answer(req, testID)
	if err != nil {
		t.Fatal(err)
	}
	drop(m, 258)
	drop(m, 277)
	got, pe := DecodeDAA(reread(t, m, d))
	if pe != nil || got.Result.Code != 3002 {
		t.Fatalf("E-bit DAA: %+v %v", got, pe)
	}
}

func TestTspDNRRoundTrip(t *testing.T) {
	d := tspDict(t)
	r := routing("mtciwf.operator.example;7;8")
	r.OriginHost, r.OriginRealm = testID.OriginHost, testID.OriginRealm
	r.DestinationHost, r.DestinationRealm = "scs1.example.org", "example.org"
	cases := map[string]*DNR{
		"delivered": {Routing: r, DeviceNotification: DeviceNotification{
			ExternalIdentifier: "meter-17@iot.example.org", ReferenceNumber: 4711, ActionType: DeliveryReport,
			DeliveryOutcome: new(OutcomeSuccess),
		}},
		"mo-sms": {Routing: r, DeviceNotification: DeviceNotification{
			ExternalIdentifier: "meter-17@iot.example.org", SCSIdentity: "491710000001", ReferenceNumber: 9,
			ActionType: MSISDNLessMOSMSDelivery, SMRPUI: []byte{1, 2, 3}, ApplicationPortIdentifier: new(uint32(0)),
		}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := in.Message(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckEgress(m, d); err != nil {
				t.Fatalf("egress refuses our own DNR: %v", err)
			}
			m = wire(t, m, d)
			valid(t, m, d)
			codectest.DecodesTo(t, DecodeDNR, m, in)

			// ... and its DNA.
			for _, dna := range []*DNA{
				{Result: core.ResultCode(2001)},
				{Result: core.ResultCode(5012), ErrorMessage: "SCS database down"},
			} {
				am, err := dna.Answer(m, &diam.Identity{OriginHost: "scs1.example.org", OriginRealm: "example.org"})
				if err != nil {
					t.Fatal(err)
				}
				am = wire(t, am, d)
				valid(t, am, d)
				codectest.DecodesTo(t, DecodeDNA, am, dna)
			}
		})
	}
}

func TestTspDNRErrors(t *testing.T) {
	d := tspDict(t)
	r := &DNR{Routing: routing("s;1;2"), DeviceNotification: DeviceNotification{ReferenceNumber: 1, ActionType: DeliveryReport}}
	if _, err := r.Message(d); err == nil {
		t.Fatal("built a DNR without Destination-Host")
	}
	r.DestinationHost = "scs1.example.org"
	r.DeviceNotification.ActionType = DeviceTriggerRequest
	if _, err := r.Message(d); err == nil {
		t.Fatal("built a DNR with Action-Type 1")
	}
	r.DeviceNotification.ActionType = DeliveryReport
	v := uint32(dictionaries.VendorID3GPP)
	cases := []struct {
		name   string
		edit   func(m *godiam.Message)
		code   uint32
		failed []uint32
		reason string
	}{
		{"no Destination-Host", func(m *godiam.Message) { drop(m, 293) }, 5005, []uint32{293}, "Destination-Host"},
		{"no Device-Notification", func(m *godiam.Message) { drop(m, 3002) }, 5005, []uint32{3002}, "Device-Notification"},
		{"trigger in DNR", func(m *godiam.Message) { put(m, enum(3005, v, 1), 3002) }, 5004, []uint32{3005}, "in a DNR"},
		{"bad outcome", func(m *godiam.Message) { put(m, enum(3009, v, 7), 3002) }, 5004, []uint32{3009}, "Delivery-Outcome 7"},
		{"bad MSISDN", func(m *godiam.Message) { put(m, octets(701, v, []byte{0xFF}), 3002) }, 5004, []uint32{701}, "TBCD"},
		{"port beyond 16 bits", func(m *godiam.Message) { put(m, u32(3010, v, 65536), 3002) }, 5004, []uint32{3010}, "16-bit SMS application port (TS 23.040"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := r.Message(d)
			if err != nil {
				t.Fatal(err)
			}
			m = wire(t, m, d)
			c.edit(m)
			codectest.Refused(t, DecodeDNR, reread(t, m, d), c.code, c.failed, c.reason)
		})
	}
}

func TestTspErrorAnswer(t *testing.T) {
	d := tspDict(t)
	req := darMessage(t, goodDAR(), d)
	drop(req, 3003, 3001) // a trigger without Trigger-Data
	req = reread(t, req, d)
	_, pe := DecodeDAR(req)
	if pe == nil {
		t.Fatal("decoded")
	}
	m, err := ErrorAnswer(req, pe, testID)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckEgress(m, d); err != nil {
		t.Fatalf("egress refuses the error answer: %v", err)
	}
	m = wire(t, m, d)
	valid(t, m, d)
	daa, dpe := DecodeDAA(m)
	if dpe != nil {
		t.Fatal(dpe)
	}
	want := &DAA{Result: core.ResultCode(5005), ErrorMessage: pe.Reason,
		DeviceNotification: &DeviceNotification{ReferenceNumber: 4711, ActionType: DeviceTriggerRequest}}
	if !reflect.DeepEqual(daa, want) {
		t.Fatalf("got %+v, want %+v", daa, want)
	}
	fa, _ := m.FindAVP(avp.FailedAVP, 0)
	if fa == nil || fa.Data.(*godiam.GroupedAVP).AVP[0].Code != 3003 {
		t.Fatalf("Failed-AVP %v", fa)
	}

	// Nothing readable to echo: no Device-Notification.
	drop(req, 3001)
	m, err = ErrorAnswer(req, &diam.ProtocolError{Code: 5005, Reason: "missing Device-Action"}, testID)
	if err != nil {
		t.Fatal(err)
	}
	if dn, _ := m.FindAVP(3002, dictionaries.VendorID3GPP); dn != nil {
		t.Fatalf("echoed %v", dn)
	}
	// A 3xxx error: E bit and Error-Reporting-Host.
	m, err = ErrorAnswer(req, &diam.ProtocolError{Code: 3009, Reason: "bad bits"}, testID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.CommandFlags&godiam.ErrorFlag == 0 {
		t.Fatal("no E bit")
	}
	if erh, _ := m.FindAVP(avp.ErrorReportingHost, 0); erh == nil {
		t.Fatal("no Error-Reporting-Host")
	}
	if err := CheckEgress(m, d); err != nil {
		t.Fatalf("egress refuses the E-bit answer: %v", err)
	}
}
