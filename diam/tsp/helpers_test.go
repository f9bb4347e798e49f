package tsp

import (
	"bytes"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/dictionaries"
)

var testID = &diam.Identity{OriginHost: "mtciwf.operator.example", OriginRealm: "operator.example"}

func tspDict(tb testing.TB) *dict.Parser {
	tb.Helper()
	d, err := dictionaries.Tsp()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// wire serializes m, passes it through the frame guard and reads it back
// with d, as a peer would receive it.
func wire(tb testing.TB, m *godiam.Message, d *dict.Parser) *godiam.Message {
	tb.Helper()
	b, err := m.Serialize()
	if err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	if pe := diam.CheckFrame(b, diam.FrameLimits{}, diam.AVPTypesFromDict(d)); pe != nil {
		tb.Fatalf("frame guard refuses our own message: %v", pe)
	}
	got, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		tb.Fatalf("read back: %v", err)
	}
	return got
}

// valid checks m against the dictionary like the receiving side does.
func valid(tb testing.TB, m *godiam.Message, d *dict.Parser) {
	tb.Helper()
	if pe := diam.Validate(m, d); pe != nil {
		tb.Fatalf("dictionary validation refuses our message: %v", pe)
	}
}

func routing(sid string) core.Routing {
	return core.Routing{
		SessionID:        sid,
		OriginHost:       "scs1.example.org",
		OriginRealm:      "example.org",
		DestinationRealm: "operator.example",
	}
}

// goodDAR is a device trigger with every field set.
func goodDAR() *DAR {
	return &DAR{
		Routing: routing("scs1.example.org;1;2"),
		DeviceAction: DeviceAction{
			ExternalIdentifier: "meter-17@iot.example.org",
			SCSIdentity:        "491710000001",
			ReferenceNumber:    4711,
			ActionType:         DeviceTriggerRequest,
			TriggerData: &TriggerData{
				Payload:                   []byte("wake up"),
				PriorityIndication:        new(Priority),
				ApplicationPortIdentifier: new(uint32(9200)),
			},
			ValidityTime: new(uint32(3600)),
		},
	}
}

// darMessage builds, sends and receives r.
func darMessage(tb testing.TB, r *DAR, d *dict.Parser) *godiam.Message {
	tb.Helper()
	m, err := r.Message(d)
	if err != nil {
		tb.Fatalf("DAR.Message: %v", err)
	}
	return wire(tb, m, d)
}

// --- message surgery for the error cases ---

// path finds the AVP list at the end of a path of grouped codes (vendor
// 10415 for codes >= 700, else 0).
func members(m *godiam.Message, path ...uint32) *[]*godiam.AVP {
	list := &m.AVP
	for _, code := range path {
		var next *[]*godiam.AVP
		for _, a := range *list {
			if a.Code == code {
				next = &a.Data.(*godiam.GroupedAVP).AVP
				break
			}
		}
		if next == nil {
			panic("no grouped AVP on the path")
		}
		list = next
	}
	return list
}

// drop removes every AVP with code at path.
func drop(m *godiam.Message, code uint32, path ...uint32) {
	l := members(m, path...)
	out := (*l)[:0]
	for _, a := range *l {
		if a.Code != code {
			out = append(out, a)
		}
	}
	*l = out
}

// put replaces the AVP with a's code at path, or appends a.
func put(m *godiam.Message, a *godiam.AVP, path ...uint32) {
	l := members(m, path...)
	for i, x := range *l {
		if x.Code == a.Code {
			(*l)[i] = a
			return
		}
	}
	*l = append(*l, a)
}

func u32(code uint32, vendor uint32, v uint32) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.Unsigned32(v))
}

func enum(code uint32, vendor uint32, v int32) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.Enumerated(v))
}

func octets(code uint32, vendor uint32, v []byte) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.OctetString(v))
}

func utf8s(code uint32, vendor uint32, v string) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.UTF8String(v))
}

// reread serializes a hand-edited message and reads it back, so AVP lengths
// and types are what a receiver would see.
func reread(tb testing.TB, m *godiam.Message, d *dict.Parser) *godiam.Message {
	tb.Helper()
	m.Header.MessageLength = uint32(m.Len()) // the edits bypassed AddAVP
	b, err := m.Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	got, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// checkPE checks a decode refusal: code, the Failed-AVP codes, a reason
// containing want.
func checkPE(tb testing.TB, pe *diam.ProtocolError, code uint32, failed []uint32, want string) {
	tb.Helper()
	if pe == nil {
		tb.Fatalf("decoded; want %d (%s)", code, want)
	}
	if pe.Code != code {
		tb.Fatalf("code %d (%s); want %d", pe.Code, pe.Reason, code)
	}
	if !bytes.Contains([]byte(pe.Reason), []byte(want)) {
		tb.Fatalf("reason %q does not contain %q", pe.Reason, want)
	}
	if pe.Header == nil && code >= 5000 {
		tb.Fatalf("no Header in %v", pe)
	}
	if failed == nil {
		return
	}
	if len(pe.FailedAVP) != len(failed) {
		tb.Fatalf("Failed-AVP %v; want codes %v", pe.FailedAVP, failed)
	}
	for i, c := range failed {
		a := pe.FailedAVP[i]
		if a.Code != c {
			tb.Fatalf("Failed-AVP[%d] is %d; want %d", i, a.Code, c)
		}
		if (a.VendorID != 0) != (a.Flags&avp.Vbit != 0) {
			tb.Fatalf("Failed-AVP[%d] vendor %d with flags 0x%x", i, a.VendorID, a.Flags)
		}
		if _, err := a.Serialize(); err != nil {
			tb.Fatalf("Failed-AVP[%d] does not serialize: %v", i, err)
		}
	}
}
