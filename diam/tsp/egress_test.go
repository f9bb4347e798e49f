package tsp

import (
	"errors"
	"strings"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func goodDAAMessage(t *testing.T) *godiam.Message {
	t.Helper()
	d := tspDict(t)
	req := darMessage(t, goodDAR(), d)
	m, err := (&DAA{Result: core.ResultCode(2001), DeviceNotification: &DeviceNotification{
		ExternalIdentifier: "meter-17@iot.example.org", ReferenceNumber: 4711,
		ActionType: DeviceTriggerRequest, RequestStatus: new(StatusSuccess),
	}}).Answer(req, testID)
	if err != nil {
		t.Fatal(err)
	}
	return wire(t, m, d)
}

func goodDNRMessage(t *testing.T) *godiam.Message {
	t.Helper()
	d := tspDict(t)
	r := routing("")
	r.DestinationHost = "scs1.example.org"
	m, err := (&DNR{Routing: r, DeviceNotification: DeviceNotification{
		MSISDN: "491234567", ReferenceNumber: 4711, ActionType: DeliveryReport, DeliveryOutcome: new(OutcomeExpired),
	}}).Message(d)
	if err != nil {
		t.Fatal(err)
	}
	return wire(t, m, d)
}

func TestEgressRefuses(t *testing.T) {
	d := tspDict(t)
	v := uint32(dictionaries.VendorID3GPP)
	imsi := godiam.NewAVP(avp.UserName, avp.Mbit, 0, datatype.UTF8String("001010000000123"))
	userID := godiam.NewAVP(3102, avp.Mbit, v, &godiam.GroupedAVP{AVP: []*godiam.AVP{imsi}})
	serving := godiam.NewAVP(2401, avp.Mbit, v, &godiam.GroupedAVP{AVP: []*godiam.AVP{
		godiam.NewAVP(2403, avp.Mbit, v, datatype.OctetString([]byte{0x94, 0x71}))}})
	addServing := godiam.NewAVP(2406, avp.Mbit, v, &godiam.GroupedAVP{AVP: []*godiam.AVP{
		godiam.NewAVP(2403, avp.Mbit, v, datatype.OctetString([]byte{0x94, 0x71}))}})
	failed := func(members ...*godiam.AVP) *godiam.AVP {
		return godiam.NewAVP(avp.FailedAVP, avp.Mbit, 0, &godiam.GroupedAVP{AVP: members})
	}
	cases := []struct {
		name  string
		msg   func(t *testing.T) *godiam.Message
		edit  func(m *godiam.Message)
		want  []string // in the error text
		avpNm string
	}{
		{"DAA with User-Name nested in Device-Notification", goodDAAMessage,
			func(m *godiam.Message) { put(m, imsi, 3002) }, []string{"DAA", "User-Name", "DAA/Device-Notification"}, "User-Name"},
		{"DAA with User-Name at the top", goodDAAMessage,
			func(m *godiam.Message) { put(m, imsi) }, []string{"DAA", "User-Name"}, "User-Name"},
		{"DAA with User-Identifier", goodDAAMessage,
			func(m *godiam.Message) { put(m, userID) }, []string{"User-Identifier"}, "User-Identifier"},
		{"DAA with Serving-Node in Device-Notification", goodDAAMessage,
			func(m *godiam.Message) { put(m, serving, 3002) }, []string{"Serving-Node"}, "Serving-Node"},
		{"DAA with Additional-Serving-Node", goodDAAMessage,
			func(m *godiam.Message) { put(m, addServing) }, []string{"Additional-Serving-Node"}, "Additional-Serving-Node"},
		{"DAA with User-Name copied into Failed-AVP", goodDAAMessage,
			func(m *godiam.Message) { put(m, failed(imsi)) }, []string{"Failed-AVP", "User-Name"}, "User-Name"},
		{"DAA with User-Name deep in Failed-AVP", goodDAAMessage,
			func(m *godiam.Message) {
				put(m, failed(godiam.NewAVP(3002, avp.Mbit, v, &godiam.GroupedAVP{AVP: []*godiam.AVP{imsi}})))
			}, []string{"User-Name", "Failed-AVP/3002"}, "User-Name"},
		{"DNR with an unknown vendor AVP", goodDNRMessage,
			func(m *godiam.Message) { put(m, godiam.NewAVP(1, 0, 99999, datatype.OctetString("x"))) },
			[]string{"DNR", "not defined"}, "AVP 1"},
		{"DNR with an unknown 3GPP AVP in Device-Notification", goodDNRMessage,
			func(m *godiam.Message) { put(m, godiam.NewAVP(3999, 0, v, datatype.OctetString("x")), 3002) },
			[]string{"DNR/Device-Notification", "not defined"}, "AVP 3999"},
		{"DAA with a known AVP its ABNF does not list", goodDAAMessage,
			func(m *godiam.Message) {
				put(m, godiam.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("x")))
			},
			[]string{"Destination-Realm", "not in its ABNF"}, "Destination-Realm"},
		{"Device-Notification with a known AVP it does not list", goodDAAMessage,
			func(m *godiam.Message) { put(m, godiam.NewAVP(3004, avp.Mbit, v, datatype.OctetString("x")), 3002) },
			[]string{"Payload", "DAA/Device-Notification"}, "Payload"},
		{"DAA with two Device-Notifications", goodDAAMessage,
			func(m *godiam.Message) { m.AVP = append(m.AVP, m.AVP[len(m.AVP)-1]) }, []string{"more than 1"}, "Device-Notification"},
		{"Proxy-Info with an extra member", goodDAAMessage,
			func(m *godiam.Message) {
				put(m, godiam.NewAVP(avp.ProxyInfo, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{
					godiam.NewAVP(avp.ProxyHost, avp.Mbit, 0, datatype.DiameterIdentity("dra")),
					godiam.NewAVP(avp.ProxyState, avp.Mbit, 0, datatype.OctetString("s")),
					godiam.NewAVP(3111, avp.Mbit, v, datatype.UTF8String("x@y.example")),
				}}))
			}, []string{"Proxy-Info", "External-Identifier"}, "External-Identifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.msg(t)
			if err := CheckEgress(m, d); err != nil {
				t.Fatalf("the good message is refused: %v", err)
			}
			c.edit(m)
			err := CheckEgress(m, d)
			var ee *EgressError
			if !errors.As(err, &ee) {
				t.Fatalf("passed (err %v)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
			if ee.AVP != c.avpNm {
				t.Errorf("AVP %q, want %q", ee.AVP, c.avpNm)
			}
		})
	}
}

func TestEgressPasses(t *testing.T) {
	d := tspDict(t)
	v := uint32(dictionaries.VendorID3GPP)
	if err := CheckEgress(goodDAAMessage(t), d); err != nil {
		t.Fatalf("good DAA: %v", err)
	}
	if err := CheckEgress(goodDNRMessage(t), d); err != nil {
		t.Fatalf("good DNR: %v", err)
	}
	// Failed-AVP may hold any copy but the forbidden ones.
	m := goodDAAMessage(t)
	put(m, godiam.NewAVP(avp.FailedAVP, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{
		godiam.NewAVP(3999, avp.Mbit, v, datatype.OctetString("?")),
		godiam.NewAVP(701, avp.Mbit, v, datatype.OctetString("")),
	}}))
	if err := CheckEgress(m, d); err != nil {
		t.Fatalf("DAA with Failed-AVP: %v", err)
	}
	// Our own DAR (the scs tool sends it) passes too.
	dar, err := goodDAR().Message(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckEgress(dar, d); err != nil {
		t.Fatalf("DAR: %v", err)
	}
	if err := CheckEgress(nil, d); err == nil {
		t.Fatal("nil message passed")
	}
	if err := CheckEgress(dar, nil); err == nil {
		t.Fatal("passed without a dictionary")
	}
	other := *dar.Header
	other.CommandCode = 8388641
	if err := CheckEgress(&godiam.Message{Header: &other}, d); err == nil {
		t.Fatal("an SIR passed the Tsp egress check")
	}
}
