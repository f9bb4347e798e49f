package core

import (
	"strings"
	"testing"
)

func TestCheckExternalIdentifier(t *testing.T) {
	good := []string{
		"meter-17@iot.example.org",
		"a@b",
		"dev.ice+1@mno-1.example",
		"zähler@iot.example.org", // UTF-8 local part
		"x@" + strings.Repeat("a", 63) + ".example",
	}
	for _, s := range good {
		if err := CheckExternalIdentifier(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := map[string]string{
		"":                                     "empty",
		"meter":                                "no '@'",
		"a@b@c":                                "more than one '@'",
		"@iot.example":                         "empty Local Identifier",
		"meter@":                               "empty Domain Identifier",
		"me ter@iot.example":                   "space",
		"me\tter@iot.example":                  "space",
		"me\x00ter@iot.example":                "control",
		"\xff@iot.example":                     "UTF-8",
		"m@iot..example":                       "empty label",
		"m@-iot.example":                       "starts or ends",
		"m@iot_1.example":                      "not a letter",
		"m@" + strings.Repeat("a", 64):         "longer than 63",
		"m@iot.example.":                       "empty label",
		"m@" + strings.Repeat("ab.", 85) + "x": "longer than 253",
	}
	for s, want := range bad {
		err := CheckExternalIdentifier(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", s, err, want)
		}
	}
}

func TestCheckIMSIAndE164(t *testing.T) {
	for _, s := range []string{"001010000000123", "262025600010020", "123456"} {
		if err := CheckIMSI(s); err != nil {
			t.Errorf("IMSI %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "12345", "0010100000001234", "00101000000012a"} {
		if err := CheckIMSI(s); err == nil {
			t.Errorf("IMSI %q accepted", s)
		}
	}
	for _, s := range []string{"1", "491234567", "999999999999999"} {
		if err := CheckE164(s); err != nil {
			t.Errorf("E.164 %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "+49", "1234567890123456", "49 1"} {
		if err := CheckE164(s); err == nil {
			t.Errorf("E.164 %q accepted", s)
		}
	}
}

func TestCheckApplicationPort(t *testing.T) {
	for _, p := range []*uint32{nil, new(uint32(0)), new(uint32(MaxApplicationPort))} {
		if err := CheckApplicationPort(p); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}
	for _, p := range []uint32{MaxApplicationPort + 1, 1 << 31} {
		if err := CheckApplicationPort(&p); err == nil || !strings.Contains(err.Error(), "TS 23.040 9.2.3.24.4") {
			t.Errorf("%d: %v", p, err)
		}
	}
}

func TestUserIdentifierCheck(t *testing.T) {
	if err := (UserIdentifier{}).Check(); err == nil {
		t.Error("empty User-Identifier accepted")
	}
	if err := (UserIdentifier{IMSI: "001010000000123", MSISDN: "491234567", ExternalIdentifier: "a@b.example"}).Check(); err != nil {
		t.Error(err)
	}
	for _, u := range []UserIdentifier{{IMSI: "12"}, {MSISDN: "+1"}, {ExternalIdentifier: "ab"}} {
		if err := u.Check(); err == nil {
			t.Errorf("%+v accepted", u)
		}
	}
}

func TestServingNodeCheck(t *testing.T) {
	if err := (ServingNode{}).Check(); err == nil {
		t.Error("empty serving node accepted")
	}
	s := ServingNode{MMEName: "mme1.epc.example", MMERealm: "epc.example", MMENumberForMTSMS: "491720000001"}
	if err := s.Check(); err != nil || s.HasIPSMGW() {
		t.Errorf("%v %v", err, s.HasIPSMGW())
	}
	if err := (ServingNode{MSCNumber: "49x"}).Check(); err == nil {
		t.Error("bad MSC-Number accepted")
	}
	if !(ServingNode{IPSMGWRealm: "ims.example"}).HasIPSMGW() {
		t.Error("HasIPSMGW")
	}
}

func TestSMEAddress(t *testing.T) {
	a := InternationalSMEAddress("491234567")
	if err := a.Check(); err != nil || a.String() != "+491234567" {
		t.Fatalf("%v %q", err, a)
	}
	for _, bad := range []SMEAddress{
		{TypeOfNumber: TONAlphanumeric, Digits: "1"},
		{TypeOfNumber: 8, Digits: "1"},
		{NumberingPlan: 16, Digits: "1"},
		{TypeOfNumber: 1, NumberingPlan: 1},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if s := (SMEAddress{TypeOfNumber: TONNational, NumberingPlan: NPIISDN, Digits: "12345"}).String(); s != "ton=2,npi=1:12345" {
		t.Errorf("%q", s)
	}
}

func TestResult(t *testing.T) {
	r := Experimental3GPP(5001)
	if !r.IsExperimental() || r.IsSuccess() || r.Class() != 5 || r != (Result{Code: 5001, VendorID: VendorID3GPP}) {
		t.Fatalf("%+v", r)
	}
	if r == ResultCode(5001) {
		t.Fatal("Experimental 5001 equals Result-Code 5001")
	}
	if !ResultCode(2001).IsSuccess() || ResultCode(2001).IsExperimental() {
		t.Fatal("2001")
	}
	if PriorityIndication(2).Valid() || Priority.String() != "PRIORITY" || NonPriority.String() != "NON_PRIORITY" {
		t.Fatal("priority")
	}
	if MTCErrorDiagnostic(2).Valid() || NewMessageNotStored.String() != "NEW_MESSAGE_NOT_STORED" {
		t.Fatal("diagnostic")
	}
}
