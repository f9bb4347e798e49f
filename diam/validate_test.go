package diam

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/mtciwf/mtciwf/dictionaries"
)

// Test helpers here carry a "vt" prefix: this is an internal test file and
// shares package diam with code and tests owned by others.

const vt3GPP = dictionaries.VendorID3GPP

func vtDict(t testing.TB, load func() (*dict.Parser, error)) *dict.Parser {
	t.Helper()
	d, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// vtAVP builds an AVP; vendor 3GPP implies the V-bit.
func vtAVP(code uint32, flags uint8, vendor uint32, data datatype.Type) *godiam.AVP {
	if vendor != 0 {
		flags |= avp.Vbit
	}
	return godiam.NewAVP(code, flags, vendor, data)
}

func vtGroup(code uint32, flags uint8, vendor uint32, members ...*godiam.AVP) *godiam.AVP {
	return vtAVP(code, flags, vendor, &godiam.GroupedAVP{AVP: members})
}

const vtM = avp.Mbit

// vtTriggerData, vtDeviceAction and vtDARAVPs are the parts of a good DAR
// (Action-Type 1, device trigger); the table below swaps parts for bad ones.
func vtTriggerData(extra ...*godiam.AVP) *godiam.AVP {
	return vtGroup(3003, vtM, vt3GPP, append([]*godiam.AVP{
		vtAVP(3004, vtM, vt3GPP, datatype.OctetString("\x01\x02wake up")), // Payload
		vtAVP(3006, vtM, vt3GPP, datatype.Enumerated(0)),                  // Priority-Indication
		vtAVP(3010, vtM, vt3GPP, datatype.Unsigned32(9200)),               // Application-Port-Identifier
	}, extra...)...)
}

func vtDeviceAction(members ...*godiam.AVP) *godiam.AVP {
	return vtGroup(3001, vtM, vt3GPP, members...)
}

func vtGoodDeviceActionMembers() []*godiam.AVP {
	return []*godiam.AVP{
		vtAVP(3111, vtM, vt3GPP, datatype.UTF8String("meter-42@iot.example")), // External-Identifier
		vtAVP(3104, vtM, vt3GPP, datatype.OctetString("\x21\x43\x65")),        // SCS-Identity
		vtAVP(3007, vtM, vt3GPP, datatype.Unsigned32(1001)),                   // Reference-Number
		vtAVP(3005, vtM, vt3GPP, datatype.Enumerated(1)),                      // Action-Type
		vtTriggerData(),
		vtAVP(448, vtM, 0, datatype.Unsigned32(3600)), // Validity-Time
	}
}

func vtDARHead() []*godiam.AVP {
	return []*godiam.AVP{
		vtAVP(263, vtM, 0, datatype.UTF8String("scs1.example;1;1")),
		vtAVP(258, vtM, 0, datatype.Unsigned32(dictionaries.AppTsp)),
		vtAVP(277, vtM, 0, datatype.Enumerated(1)),
		vtAVP(264, vtM, 0, datatype.DiameterIdentity("scs1.example")),
		vtAVP(296, vtM, 0, datatype.DiameterIdentity("example")),
		vtAVP(283, vtM, 0, datatype.DiameterIdentity("operator.example")),
	}
}

func vtGoodDAR() []*godiam.AVP {
	return append(vtDARHead(), vtDeviceAction(vtGoodDeviceActionMembers()...))
}

// vtDecode serializes a message of the given command and AVPs and decodes it
// with godiam.ReadMessage, as the connection does.
func vtDecode(t testing.TB, d *dict.Parser, cmd uint32, flags uint8, app uint32, avps []*godiam.AVP) *godiam.Message {
	t.Helper()
	m := godiam.NewMessage(cmd, flags, app, 7, 8, d)
	for _, a := range avps {
		m.AddAVP(a)
	}
	b, err := m.Serialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	got, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return got
}

const (
	vtDA  = 8388639
	vtReq = godiam.RequestFlag | godiam.ProxiableFlag
	vtAns = godiam.ProxiableFlag
)

func vtDeviceNotification() *godiam.AVP {
	return vtGroup(3002, vtM, vt3GPP,
		vtAVP(3007, vtM, vt3GPP, datatype.Unsigned32(1001)), // Reference-Number
		vtAVP(3005, vtM, vt3GPP, datatype.Enumerated(1)),    // Action-Type
		vtAVP(3008, vtM, vt3GPP, datatype.Enumerated(0)),    // Request-Status
	)
}

func vtDAAHead() []*godiam.AVP {
	return []*godiam.AVP{
		vtAVP(263, vtM, 0, datatype.UTF8String("scs1.example;1;1")),
		vtAVP(258, vtM, 0, datatype.Unsigned32(dictionaries.AppTsp)),
		vtAVP(277, vtM, 0, datatype.Enumerated(1)),
		vtAVP(264, vtM, 0, datatype.DiameterIdentity("mtciwf.operator.example")),
		vtAVP(296, vtM, 0, datatype.DiameterIdentity("operator.example")),
		vtAVP(268, vtM, 0, datatype.Unsigned32(2001)),
	}
}

func TestValidateTsp(t *testing.T) {
	d := vtDict(t, dictionaries.Tsp)
	type want struct {
		code   uint32
		reason string // substring of Reason; empty: not checked
		failed uint32 // Failed-AVP code; 0: no Failed-AVP expected
		vendor uint32 // Failed-AVP Vendor-Id
	}
	rows := []struct {
		name  string
		flags uint8
		avps  func() []*godiam.AVP
		want  *want // nil: valid
	}{
		{"good DAR", vtReq, vtGoodDAR, nil},
		{"DAR without Device-Action (optional)", vtReq, vtDARHead, nil},
		{"unknown AVP with M-bit clear where *[AVP] is allowed", vtReq, func() []*godiam.AVP {
			return append(vtGoodDAR(), vtAVP(9999, 0, vt3GPP, datatype.OctetString("x")))
		}, nil},
		{"5001 unknown AVP with M-bit", vtReq, func() []*godiam.AVP {
			return append(vtGoodDAR(), vtAVP(9999, vtM, vt3GPP, datatype.OctetString("x")))
		}, &want{ResultAVPUnsupported, "unsupported AVP 9999 (vendor 10415) with the M-bit set in DAR", 9999, vt3GPP}},
		{"5001 unknown AVP with M-bit inside Trigger-Data", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[4] = vtTriggerData(vtAVP(4242, vtM, 0, datatype.Unsigned32(1)))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultAVPUnsupported, "in Trigger-Data", 4242, 0}},
		{"5001 known code under a foreign Vendor-Id", vtReq, func() []*godiam.AVP {
			// Reference-Number's code without the 3GPP vendor: go-diameter
			// decodes it as Reference-Number anyway (vendor fallback).
			return append(vtGoodDAR(), vtAVP(3007, vtM, 0, datatype.Unsigned32(5)))
		}, &want{ResultAVPUnsupported, "unsupported AVP 3007 (vendor 0)", 3007, 0}},
		{"5005 missing Reference-Number in Device-Action", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m = append(m[:2], m[3:]...)
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultMissingAVP, "missing mandatory AVP Reference-Number (3007) in Device-Action", 3007, vt3GPP}},
		{"5005 missing Origin-Host", vtReq, func() []*godiam.AVP {
			a := vtGoodDAR()
			return append(a[:3], a[4:]...)
		}, &want{ResultMissingAVP, "missing mandatory AVP Origin-Host (264) in DAR", 264, 0}},
		{"5005 missing Payload in Trigger-Data", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[4] = vtGroup(3003, vtM, vt3GPP, vtAVP(3006, vtM, vt3GPP, datatype.Enumerated(1)))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultMissingAVP, "missing mandatory AVP Payload (3004) in Trigger-Data", 3004, vt3GPP}},
		{"5009 Session-Id twice", vtReq, func() []*godiam.AVP {
			return append(vtGoodDAR(), vtAVP(263, vtM, 0, datatype.UTF8String("second")))
		}, &want{ResultAVPOccursTooManyTimes, "AVP Session-Id (263) occurs more than once in DAR", 263, 0}},
		{"5009 Reference-Number twice in Device-Action", vtReq, func() []*godiam.AVP {
			m := append(vtGoodDeviceActionMembers(), vtAVP(3007, vtM, vt3GPP, datatype.Unsigned32(2)))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultAVPOccursTooManyTimes, "in Device-Action", 3007, vt3GPP}},
		{"5004 Action-Type 9", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[3] = vtAVP(3005, vtM, vt3GPP, datatype.Enumerated(9))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPValue, "AVP Action-Type (3005) in Device-Action has value 9, which is not defined", 3005, vt3GPP}},
		{"5004 Action-Type 0 (OMEC's artefact)", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[3] = vtAVP(3005, vtM, vt3GPP, datatype.Enumerated(0))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPValue, "value 0", 3005, vt3GPP}},
		{"5004 Auth-Session-State 7", vtReq, func() []*godiam.AVP {
			a := vtGoodDAR()
			a[2] = vtAVP(277, vtM, 0, datatype.Enumerated(7))
			return a
		}, &want{ResultInvalidAVPValue, "Auth-Session-State (277) in DAR has value 7", 277, 0}},
		{"5004 External-Identifier not UTF-8", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[0] = vtAVP(3111, vtM, vt3GPP, datatype.UTF8String("\xff\xfe@x"))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPValue, "External-Identifier (3111) in Device-Action is not valid UTF-8", 3111, vt3GPP}},
		{"3009 Old-Reference-Number with M-bit", vtReq, func() []*godiam.AVP {
			m := append(vtGoodDeviceActionMembers(), vtAVP(3011, vtM, vt3GPP, datatype.Unsigned32(1000)))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPBits, "AVP Old-Reference-Number (3011) in Device-Action has the M-bit set", 3011, vt3GPP}},
		{"Old-Reference-Number without M-bit is fine", vtReq, func() []*godiam.AVP {
			m := append(vtGoodDeviceActionMembers(), vtAVP(3011, 0, vt3GPP, datatype.Unsigned32(1000)))
			return append(vtDARHead(), vtDeviceAction(m...))
		}, nil},
		{"3009 Origin-Host with V-bit and Vendor-Id 0", vtReq, func() []*godiam.AVP {
			a := vtGoodDAR()
			a[3] = godiam.NewAVP(264, vtM|avp.Vbit, 0, datatype.DiameterIdentity("scs1.example"))
			return a
		}, &want{ResultInvalidAVPBits, "V-bit", 264, 0}},
		{"5014 Reference-Number of 3 bytes", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[2] = vtAVP(3007, vtM, vt3GPP, datatype.Unknown{0, 3, 0xe9})
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPLength, "AVP Reference-Number (3007) in Device-Action has a 3-byte value; Unsigned32 takes 4", 3007, vt3GPP}},
		// Only lengths with the same padded size as the right one reach
		// Validate: go-diameter advances by the decoded value's length, so
		// a 5-byte Unsigned32 shifts its parse offset (and v4.3.0 panics).
		// The frame guard refuses those before go-diameter reads them.
		{"5014 before 5004: Action-Type of 2 bytes", vtReq, func() []*godiam.AVP {
			// go-diameter decodes it as 0, which is no Action-Type either.
			m := vtGoodDeviceActionMembers()
			m[3] = vtAVP(3005, vtM, vt3GPP, datatype.Unknown{0, 9})
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPLength, "2-byte value; Enumerated takes 4", 3005, vt3GPP}},
		{"5014 Validity-Time of 1 byte", vtReq, func() []*godiam.AVP {
			m := vtGoodDeviceActionMembers()
			m[5] = vtAVP(448, vtM, 0, datatype.Unknown{5})
			return append(vtDARHead(), vtDeviceAction(m...))
		}, &want{ResultInvalidAVPLength, "Validity-Time (448) in Device-Action has a 1-byte value", 448, 0}},
		{"5014 top-level Auth-Application-Id of 3 bytes", vtReq, func() []*godiam.AVP {
			a := vtGoodDAR()
			a[1] = vtAVP(258, vtM, 0, datatype.Unknown{1, 0, 0})
			return a
		}, &want{ResultInvalidAVPLength, "Auth-Application-Id (258) in DAR has a 3-byte value", 258, 0}},
		{"first fault in message order wins", vtReq, func() []*godiam.AVP {
			// A bad Action-Type inside Device-Action comes before the
			// unknown M-bit AVP appended after it.
			m := vtGoodDeviceActionMembers()
			m[3] = vtAVP(3005, vtM, vt3GPP, datatype.Enumerated(9))
			return append(append(vtDARHead(), vtDeviceAction(m...)), vtAVP(9999, vtM, 0, datatype.Unsigned32(1)))
		}, &want{ResultInvalidAVPValue, "Action-Type", 3005, vt3GPP}},
		{"3008 request with the E-bit", vtReq | godiam.ErrorFlag, vtGoodDAR,
			&want{ResultInvalidHdrBits, "E-bit", 0, 0}},
		{"good DAA", vtAns, func() []*godiam.AVP { return append(vtDAAHead(), vtDeviceNotification()) }, nil},
		{"5005 DAA without Device-Notification", vtAns, vtDAAHead,
			&want{ResultMissingAVP, "missing mandatory AVP Device-Notification (3002) in DAA", 3002, vt3GPP}},
		{"E-bit answer follows RFC 6733 7.2, not the DAA ABNF", vtAns | godiam.ErrorFlag, func() []*godiam.AVP {
			return []*godiam.AVP{
				vtAVP(263, vtM, 0, datatype.UTF8String("scs1.example;1;1")),
				vtAVP(264, vtM, 0, datatype.DiameterIdentity("mtciwf.operator.example")),
				vtAVP(296, vtM, 0, datatype.DiameterIdentity("operator.example")),
				vtAVP(268, vtM, 0, datatype.Unsigned32(3009)),
				vtAVP(281, 0, 0, datatype.UTF8String("bad bits")),
			}
		}, nil},
		{"5005 E-bit answer without Result-Code", vtAns | godiam.ErrorFlag, func() []*godiam.AVP {
			return []*godiam.AVP{
				vtAVP(264, vtM, 0, datatype.DiameterIdentity("mtciwf.operator.example")),
				vtAVP(296, vtM, 0, datatype.DiameterIdentity("operator.example")),
			}
		}, &want{ResultMissingAVP, "Result-Code (268)", 268, 0}},
		{"5008 Result-Code inside Experimental-Result", vtAns, func() []*godiam.AVP {
			return append(vtDAAHead()[:5], vtDeviceNotification(), vtGroup(297, vtM, 0,
				vtAVP(266, vtM, 0, datatype.Unsigned32(vt3GPP)),
				vtAVP(298, vtM, 0, datatype.Unsigned32(5001)),
				vtAVP(268, vtM, 0, datatype.Unsigned32(2001)),
			))
		}, &want{ResultAVPNotAllowed, "AVP Result-Code (268) is not allowed in Experimental-Result", 268, 0}},
		{"Failed-AVP contents are not checked", vtAns, func() []*godiam.AVP {
			return append(vtDAAHead(), vtDeviceNotification(), vtGroup(279, vtM, 0,
				vtAVP(9999, vtM, vt3GPP, datatype.OctetString("unknown")),
				vtAVP(3005, vtM, vt3GPP, datatype.Enumerated(77)),
				vtAVP(3007, vtM, vt3GPP, datatype.Unknown{1}),
			))
		}, nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			m := vtDecode(t, d, vtDA, r.flags, dictionaries.AppTsp, r.avps())
			pe := Validate(m, d)
			if r.want == nil {
				if pe != nil {
					t.Fatalf("Validate = %d %q, want nil", pe.Code, pe.Reason)
				}
				return
			}
			if pe == nil {
				t.Fatalf("Validate = nil, want %d", r.want.code)
			}
			if pe.Code != r.want.code || !strings.Contains(pe.Reason, r.want.reason) {
				t.Fatalf("Validate = %d %q, want %d containing %q", pe.Code, pe.Reason, r.want.code, r.want.reason)
			}
			if pe.Header != m.Header {
				t.Error("Header is not the message's header")
			}
			if pe.Close {
				t.Error("Close set for a well-framed message")
			}
			if r.want.failed == 0 {
				if len(pe.FailedAVP) != 0 {
					t.Errorf("Failed-AVP = %v, want none", pe.FailedAVP)
				}
				return
			}
			if len(pe.FailedAVP) != 1 {
				t.Fatalf("Failed-AVP has %d AVPs, want 1", len(pe.FailedAVP))
			}
			f := pe.FailedAVP[0]
			if f.Code != r.want.failed || f.VendorID != r.want.vendor {
				t.Fatalf("Failed-AVP holds AVP %d vendor %d, want %d vendor %d", f.Code, f.VendorID, r.want.failed, r.want.vendor)
			}
			if pe.Code != ResultInvalidAVPBits && (f.VendorID != 0) != (f.Flags&avp.Vbit != 0) {
				t.Errorf("Failed-AVP flags %#x do not match Vendor-Id %d", f.Flags, f.VendorID)
			}
			if _, err := f.Serialize(); err != nil {
				t.Errorf("Failed-AVP does not serialize: %v", err)
			}
		})
	}
}

// TestValidateFailedAVPShapes pins what RFC 6733 7.5 asks of Failed-AVP for
// the codes whose copy is built rather than taken from the message.
func TestValidateFailedAVPShapes(t *testing.T) {
	d := vtDict(t, dictionaries.Tsp)

	t.Run("5005 example: zero value of the minimum length, V and M bits", func(t *testing.T) {
		m := vtGoodDeviceActionMembers()
		m = append(m[:2], m[3:]...)
		pe := Validate(vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, append(vtDARHead(), vtDeviceAction(m...))), d)
		if pe == nil || pe.Code != ResultMissingAVP {
			t.Fatalf("Validate = %v", pe)
		}
		b, err := pe.FailedAVP[0].Serialize()
		if err != nil {
			t.Fatal(err)
		}
		// Reference-Number: code 3007, flags V|M, length 16, vendor 10415, value 0.
		want := []byte{0, 0, 0x0b, 0xbf, 0xc0, 0, 0, 16, 0, 0, 0x28, 0xaf, 0, 0, 0, 0}
		if !bytes.Equal(b, want) {
			t.Fatalf("Failed-AVP = %x, want %x", b, want)
		}
	})

	t.Run("5005 example of a grouped AVP is empty", func(t *testing.T) {
		pe := Validate(vtDecode(t, d, vtDA, vtAns, dictionaries.AppTsp, vtDAAHead()), d)
		b, err := pe.FailedAVP[0].Serialize()
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{0, 0, 0x0b, 0xba, 0xc0, 0, 0, 12, 0, 0, 0x28, 0xaf}
		if !bytes.Equal(b, want) {
			t.Fatalf("Failed-AVP = %x, want %x", b, want)
		}
	})

	t.Run("5014 copy keeps the wire length", func(t *testing.T) {
		m := vtGoodDeviceActionMembers()
		m[2] = vtAVP(3007, vtM, vt3GPP, datatype.Unknown{0, 3, 0xe9})
		pe := Validate(vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, append(vtDARHead(), vtDeviceAction(m...))), d)
		b, err := pe.FailedAVP[0].Serialize()
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{0, 0, 0x0b, 0xbf, 0xc0, 0, 0, 15, 0, 0, 0x28, 0xaf, 0, 0, 0, 0}
		if !bytes.Equal(b, want) {
			t.Fatalf("Failed-AVP = %x, want %x", b, want)
		}
	})

	t.Run("5009 holds the first instance over the limit", func(t *testing.T) {
		avps := append(vtGoodDAR(),
			vtAVP(263, vtM, 0, datatype.UTF8String("second")),
			vtAVP(263, vtM, 0, datatype.UTF8String("third")))
		pe := Validate(vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, avps), d)
		if got := pe.FailedAVP[0].Data; got != datatype.UTF8String("second") {
			t.Fatalf("Failed-AVP value = %v, want the second Session-Id", got)
		}
	})
}

func TestValidateHeader(t *testing.T) {
	d := vtDict(t, dictionaries.Tsp)
	for _, tc := range []struct {
		name     string
		cmd, app uint32
		code     uint32
	}{
		{"3007 S6m application on the Tsp dictionary", 8388641, dictionaries.AppS6m, ResultApplicationUnsupported},
		{"3001 unknown command", 8388642, dictionaries.AppTsp, ResultCommandUnsupported},
		{"3001 Tsp command under application 0", vtDA, 0, ResultCommandUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Built, not decoded: go-diameter cannot decode these.
			m := godiam.NewMessage(tc.cmd, vtReq, tc.app, 1, 1, d)
			pe := Validate(m, d)
			if pe == nil || pe.Code != tc.code || pe.Header != m.Header {
				t.Fatalf("Validate = %+v, want %d", pe, tc.code)
			}
		})
	}
	if pe := Validate(nil, d); pe == nil || pe.Code != ResultUnableToComply {
		t.Errorf("Validate(nil) = %v", pe)
	}
	if pe := Validate(&godiam.Message{}, d); pe == nil || pe.Code != ResultUnableToComply {
		t.Errorf("Validate(no header) = %v", pe)
	}
	m := vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, vtGoodDAR())
	if pe := Validate(m, nil); pe == nil || pe.Code != ResultUnableToComply {
		t.Errorf("Validate(nil dictionary) = %v", pe)
	}
}

// TestValidateBuiltOddities feeds shapes only a hand-built message can have.
func TestValidateBuiltOddities(t *testing.T) {
	d := vtDict(t, dictionaries.Tsp)
	m := vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, vtGoodDAR())
	m.AVP = append(m.AVP, nil) // ignored
	if pe := Validate(m, d); pe != nil {
		t.Fatalf("nil AVP: %v", pe)
	}
	m.AVP = append(m.AVP, &godiam.AVP{Code: 4000, Flags: vtM}) // no value
	if pe := Validate(m, d); pe == nil || pe.Code != ResultInvalidAVPLength {
		t.Fatalf("AVP without Data: %v", pe)
	}
	// Raw grouped bytes (never produced by the decoder) are refused, not
	// decoded: go-diameter's DecodeGrouped panics on a truncated member.
	m = vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, vtDARHead())
	raw := (&godiam.GroupedAVP{AVP: vtGoodDeviceActionMembers()}).Serialize()
	for _, b := range [][]byte{raw, raw[:7]} {
		m.AVP = append(m.AVP[:6], &godiam.AVP{Code: 3001, Flags: vtM | avp.Vbit, VendorID: vt3GPP, Data: datatype.Grouped(b)})
		if pe := Validate(m, d); pe == nil || pe.Code != ResultInvalidAVPLength {
			t.Fatalf("raw grouped Device-Action of %d bytes: %v", len(b), pe)
		}
	}
}

// TestValidateDepthBound nests Proxy-Info in Proxy-Info (allowed by its
// "*[ AVP ]") deeper than Validate follows.
func TestValidateDepthBound(t *testing.T) {
	d := vtDict(t, dictionaries.Tsp)
	proxy := func(inner *godiam.AVP) *godiam.AVP {
		members := []*godiam.AVP{
			vtAVP(280, vtM, 0, datatype.DiameterIdentity("p.example")),
			vtAVP(33, vtM, 0, datatype.OctetString("s")),
		}
		if inner != nil {
			members = append(members, inner)
		}
		return vtGroup(284, vtM, 0, members...)
	}
	var nest *godiam.AVP
	for range 10 {
		nest = proxy(nest)
	}
	if pe := Validate(vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, append(vtGoodDAR(), nest)), d); pe != nil {
		t.Fatalf("10 levels: %v", pe)
	}
	for range maxValidateDepth {
		nest = proxy(nest)
	}
	pe := Validate(vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, append(vtGoodDAR(), nest)), d)
	if pe == nil || pe.Code != ResultUnableToComply {
		t.Fatalf("deep nesting: %v", pe)
	}
}

// TestValidateEveryCommand fills every command of every interface with every
// AVP its rules list, recursively, and expects Validate to accept it: the
// dictionaries and the validator agree.
func TestValidateEveryCommand(t *testing.T) {
	for _, load := range []func() (*dict.Parser, error){dictionaries.Tsp, dictionaries.S6m, dictionaries.T4} {
		d := vtDict(t, load)
		for _, app := range d.Apps() {
			for _, cmd := range app.Command {
				for _, side := range []struct {
					flags uint8
					rules []*dict.Rule
					name  string
				}{{vtReq, cmd.Request.Rule, "R"}, {vtAns, cmd.Answer.Rule, "A"}} {
					t.Run(app.Name+"/"+cmd.Short+side.name, func(t *testing.T) {
						m := vtDecode(t, d, cmd.Code, side.flags, app.ID, vtFill(t, d, app.ID, side.rules))
						if pe := Validate(m, d); pe != nil {
							t.Fatalf("Validate = %d %q", pe.Code, pe.Reason)
						}
					})
				}
			}
		}
	}
}

func vtFill(t *testing.T, d *dict.Parser, app uint32, rules []*dict.Rule) []*godiam.AVP {
	t.Helper()
	var out []*godiam.AVP
	for _, r := range rules {
		if r.AVP == wildcardRule {
			continue
		}
		def, err := d.FindAVP(app, r.AVP)
		if err != nil {
			t.Fatal(err)
		}
		var flags uint8
		if strings.ContainsRune(def.Must, 'M') {
			flags = vtM
		}
		var v datatype.Type
		switch def.Data.Type {
		case datatype.GroupedType:
			if isFailedAVP(def) {
				v = &godiam.GroupedAVP{AVP: []*godiam.AVP{vtAVP(264, vtM, 0, datatype.DiameterIdentity("x.example"))}}
			} else {
				v = &godiam.GroupedAVP{AVP: vtFill(t, d, app, def.Data.Rule)}
			}
		case datatype.EnumeratedType:
			v = datatype.Enumerated(def.Data.Enum[0].Code)
		case datatype.Unsigned32Type:
			v = datatype.Unsigned32(1)
		case datatype.Unsigned64Type:
			v = datatype.Unsigned64(1)
		case datatype.AddressType:
			v = datatype.Address(net.ParseIP("192.0.2.1"))
		case datatype.TimeType:
			v = datatype.Time(time.Unix(1700000000, 0))
		case datatype.UTF8StringType:
			v = datatype.UTF8String("v")
		case datatype.DiameterIdentityType:
			v = datatype.DiameterIdentity("node.example")
		case datatype.DiameterURIType:
			v = datatype.DiameterURI("aaa://node.example")
		case datatype.OctetStringType:
			v = datatype.OctetString("\x01")
		default:
			t.Fatalf("no sample for %s (%s)", def.Name, def.Data.TypeName)
		}
		out = append(out, vtAVP(def.Code, flags, def.VendorID, v))
	}
	return out
}

// FuzzValidate checks that whatever go-diameter manages to decode, Validate
// answers without panicking. The seeds are a good DAR and a good DAA and a
// one-byte corruption at every third position of each; go test runs the seeds
// without -fuzz.
func FuzzValidate(f *testing.F) {
	d := vtDict(f, dictionaries.Tsp)
	for _, avps := range [][]*godiam.AVP{vtGoodDAR(), append(vtDAAHead(), vtDeviceNotification())} {
		m := godiam.NewMessage(vtDA, vtReq, dictionaries.AppTsp, 1, 2, d)
		for _, a := range avps {
			m.AddAVP(a)
		}
		b, err := m.Serialize()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		// One-byte corruptions of every position, as seeds.
		for i := godiam.HeaderLength; i < len(b); i += 3 {
			c := bytes.Clone(b)
			c[i] ^= 0x5a
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := vtReadNoPanic(b, d)
		if m == nil {
			return
		}
		_ = Validate(m, d)
	})
}

// vtReadNoPanic decodes b, or returns nil where go-diameter v4.3.0 fails or
// panics (its nil-Data panic on short AVPs; the frame guard keeps such
// frames from it in production).
func vtReadNoPanic(b []byte, d *dict.Parser) (m *godiam.Message) {
	if len(b) < godiam.HeaderLength || int(uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])) != len(b) {
		return nil
	}
	defer func() {
		if recover() != nil {
			m = nil
		}
	}()
	m, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		return nil
	}
	return m
}

func TestValidateNoAllocations(t *testing.T) {
	d := vtDict(t, dictionaries.Tsp)
	m := vtDecode(t, d, vtDA, vtReq, dictionaries.AppTsp, vtGoodDAR())
	if n := testing.AllocsPerRun(100, func() {
		if Validate(m, d) != nil {
			t.Fatal("good DAR refused")
		}
	}); n != 0 {
		t.Fatalf("Validate of a good DAR allocates %.0f times", n)
	}
}

func BenchmarkValidateDAR(b *testing.B) {
	d := vtDict(b, dictionaries.Tsp)
	m := vtDecode(b, d, vtDA, vtReq, dictionaries.AppTsp, vtGoodDAR())
	b.ReportAllocs()
	for b.Loop() {
		if Validate(m, d) != nil {
			b.Fatal("good DAR refused")
		}
	}
}
