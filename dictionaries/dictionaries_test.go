package dictionaries

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/fiorix/go-diameter/v4/diam/sm"
)

var parsers = []struct {
	name string
	load func() (*dict.Parser, error)
	app  uint32 // the one interface application, 0 for Base
}{
	{"Base", Base, 0},
	{"Tsp", Tsp, AppTsp},
	{"S6m", S6m, AppS6m},
	{"T4", T4, AppT4},
}

func mustLoad(t testing.TB, load func() (*dict.Parser, error)) *dict.Parser {
	t.Helper()
	p, err := load()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

// TestDictOneApplicationPerParser checks that each parser holds application 0
// and at most its own interface, typed "auth", and that go-diameter's CER/CEA
// state machine would advertise exactly that one application.
func TestDictOneApplicationPerParser(t *testing.T) {
	for _, tc := range parsers {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLoad(t, tc.load)
			var ids []uint32
			for _, app := range p.Apps() {
				ids = append(ids, app.ID)
				if app.ID != 0 && app.Type != "auth" {
					t.Errorf("application %d has type %q, want auth (go-diameter advertises an untyped app as code 0)", app.ID, app.Type)
				}
			}
			want := []uint32{0}
			if tc.app != 0 {
				want = append(want, tc.app)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("Apps() = %v, want %v", ids, want)
			}
			adv := sm.PrepareSupportedApps(p)
			if tc.app == 0 {
				if len(adv) != 0 {
					t.Fatalf("base parser advertises %d applications", len(adv))
				}
				return
			}
			if len(adv) != 1 || adv[0].ID != tc.app || adv[0].Vendor != VendorID3GPP || adv[0].AppType != "auth" {
				t.Fatalf("CEA would advertise %+v, want one auth app %d with vendor %d", adv, tc.app, VendorID3GPP)
			}
		})
	}
}

// TestDictNewParserEachCall checks that constructors never hand out a shared parser.
func TestDictNewParserEachCall(t *testing.T) {
	a, b := mustLoad(t, Tsp), mustLoad(t, Tsp)
	if a == b {
		t.Fatal("Tsp() returned the same parser twice")
	}
}

// TestDictRulesResolve checks every rule of every command and grouped AVP
// names an AVP the parser can find from that application (or is the "*[ AVP ]"
// wildcard), that every command side has at least one rule (go-diameter
// refuses to decode a command side without rules), and that every enumerated
// AVP lists its values.
func TestDictRulesResolve(t *testing.T) {
	for _, tc := range parsers {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLoad(t, tc.load)
			check := func(where string, app uint32, rules []*dict.Rule) {
				for _, r := range rules {
					if r.AVP == "AVP" {
						continue
					}
					if _, err := p.FindAVP(app, r.AVP); err != nil {
						t.Errorf("%s: rule names %q: %v", where, r.AVP, err)
					}
					if r.Max != 0 && r.Max < r.Min {
						t.Errorf("%s: rule %q has max %d < min %d", where, r.AVP, r.Max, r.Min)
					}
				}
			}
			for _, app := range p.Apps() {
				for _, cmd := range app.Command {
					if len(cmd.Request.Rule) == 0 || len(cmd.Answer.Rule) == 0 {
						t.Errorf("command %s has a side without rules", cmd.Name)
					}
					check(cmd.Name+"-Request", app.ID, cmd.Request.Rule)
					check(cmd.Name+"-Answer", app.ID, cmd.Answer.Rule)
				}
				for _, a := range app.AVP {
					switch a.Data.Type {
					case datatype.GroupedType:
						check(a.Name, app.ID, a.Data.Rule)
					case datatype.EnumeratedType:
						if len(a.Data.Enum) == 0 {
							t.Errorf("enumerated AVP %s lists no values", a.Name)
						}
					case datatype.IPv6Type, datatype.QoSFilterRuleType:
						t.Errorf("AVP %s uses type %s, which we do not round-trip", a.Name, a.Data.TypeName)
					}
				}
			}
		})
	}
}

// TestDictEachAVPDefinedOnce parses the XML files themselves: an AVP
// (code, vendor) or name defined in two files would shadow the other
// silently in go-diameter; two vendors sharing one code would collide in
// go-diameter's vendor-less fallback index.
func TestDictEachAVPDefinedOnce(t *testing.T) {
	type key struct{ code, vendor uint32 }
	byKey := map[key]string{}
	byName := map[string]string{}
	byCode := map[uint32]uint32{}
	names, err := fs.Glob(files, "*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"base.xml", "s6m.xml", "t4.xml", "tsp.xml"}) {
		t.Fatalf("embedded files = %v", names)
	}
	for _, name := range names {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var f dict.File
		if err := xml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, app := range f.App {
			for _, a := range app.AVP {
				k := key{a.Code, a.VendorID}
				where := fmt.Sprintf("%s app %d", name, app.ID)
				if prev, ok := byKey[k]; ok {
					t.Errorf("AVP %d vendor %d defined in %s and %s", a.Code, a.VendorID, prev, where)
				}
				if prev, ok := byName[a.Name]; ok {
					t.Errorf("AVP name %s defined in %s and %s", a.Name, prev, where)
				}
				if v, ok := byCode[a.Code]; ok && v != a.VendorID {
					t.Errorf("AVP code %d used with vendors %d and %d", a.Code, v, a.VendorID)
				}
				byKey[k], byName[a.Name], byCode[a.Code] = where, where, a.VendorID
				if strings.Contains(a.Must, "V") != (a.VendorID != 0) {
					t.Errorf("%s: AVP %s has vendor %d but must=%q", where, a.Name, a.VendorID, a.Must)
				}
			}
		}
	}
}

// TestDictRoundTrip builds, for every command of every parser, a request and
// an answer holding every AVP the rules list (grouped ones filled with every
// member, recursively), serializes them, decodes them with diam.ReadMessage and
// checks that the second serialization is byte-identical and that no AVP
// decoded as Unknown.
func TestDictRoundTrip(t *testing.T) {
	for _, tc := range parsers {
		p := mustLoad(t, tc.load)
		for _, app := range p.Apps() {
			for _, cmd := range app.Command {
				for _, side := range []struct {
					suffix string
					flags  uint8
					rules  []*dict.Rule
				}{
					{"R", diam.RequestFlag | diam.ProxiableFlag, cmd.Request.Rule},
					{"A", diam.ProxiableFlag, cmd.Answer.Rule},
				} {
					t.Run(tc.name+"/"+cmd.Short+side.suffix, func(t *testing.T) {
						m := diam.NewMessage(cmd.Code, side.flags, app.ID, 1, 2, p)
						for _, a := range fullAVPs(t, p, app.ID, side.rules, 0) {
							m.AddAVP(a)
						}
						b1, err := m.Serialize()
						if err != nil {
							t.Fatalf("serialize: %v", err)
						}
						got, err := diam.ReadMessage(bytes.NewReader(b1), p)
						if err != nil {
							t.Fatalf("decode: %v", err)
						}
						b2, err := got.Serialize()
						if err != nil {
							t.Fatalf("re-serialize: %v", err)
						}
						if !bytes.Equal(b1, b2) {
							t.Fatalf("re-serialization differs:\n%x\n%x", b1, b2)
						}
						if n := countAVPs(got.AVP); n != countAVPs(m.AVP) {
							t.Fatalf("decoded %d AVPs, built %d", n, countAVPs(m.AVP))
						}
						walk(got.AVP, func(a *diam.AVP) {
							if a.Data.Type() == datatype.UnknownType {
								t.Errorf("AVP %d vendor %d decoded as Unknown", a.Code, a.VendorID)
							}
						})
					})
				}
			}
		}
	}
}

// fullAVPs returns one AVP per rule (two for repeatable ones), with grouped
// AVPs filled the same way.
func fullAVPs(t *testing.T, p *dict.Parser, app uint32, rules []*dict.Rule, depth int) []*diam.AVP {
	t.Helper()
	if depth > 8 {
		t.Fatal("grouped AVPs nest deeper than 8 levels")
	}
	var out []*diam.AVP
	for _, r := range rules {
		if r.AVP == "AVP" {
			continue
		}
		d, err := p.FindAVP(app, r.AVP)
		if err != nil {
			t.Fatalf("rule %s: %v", r.AVP, err)
		}
		n := 1
		if r.Max == 0 {
			n = 2
		}
		for range n {
			var flags uint8
			if strings.Contains(d.Must, "M") {
				flags |= avp.Mbit
			}
			out = append(out, diam.NewAVP(d.Code, flags, d.VendorID, sampleValue(t, p, app, d, depth)))
		}
	}
	return out
}

func sampleValue(t *testing.T, p *dict.Parser, app uint32, d *dict.AVP, depth int) datatype.Type {
	switch d.Data.Type {
	case datatype.GroupedType:
		return &diam.GroupedAVP{AVP: fullAVPs(t, p, app, d.Data.Rule, depth+1)}
	case datatype.EnumeratedType:
		return datatype.Enumerated(d.Data.Enum[len(d.Data.Enum)-1].Code)
	case datatype.Unsigned32Type:
		return datatype.Unsigned32(d.Code)
	case datatype.Unsigned64Type:
		return datatype.Unsigned64(1<<40 + uint64(d.Code))
	case datatype.Integer32Type:
		return datatype.Integer32(-int32(d.Code))
	case datatype.Integer64Type:
		return datatype.Integer64(-1 << 40)
	case datatype.Float32Type:
		return datatype.Float32(1.5)
	case datatype.Float64Type:
		return datatype.Float64(2.25)
	case datatype.TimeType:
		return datatype.Time(time.Unix(1700000000, 0))
	case datatype.AddressType:
		return datatype.Address(net.ParseIP("192.0.2.7"))
	case datatype.IPv4Type:
		return datatype.IPv4(net.ParseIP("192.0.2.8").To4())
	case datatype.DiameterIdentityType:
		return datatype.DiameterIdentity("node.example.net")
	case datatype.DiameterURIType:
		return datatype.DiameterURI("aaa://node.example.net:3868;transport=tcp")
	case datatype.UTF8StringType:
		return datatype.UTF8String(d.Name + "-é")
	case datatype.OctetStringType:
		return datatype.OctetString([]byte{0x91, 0x21, 0x43, 0x65, 0x87})
	case datatype.IPFilterRuleType:
		return datatype.IPFilterRule("permit in ip from any to any")
	}
	t.Fatalf("AVP %s: no sample for type %s", d.Name, d.Data.TypeName)
	return nil
}

func walk(avps []*diam.AVP, f func(*diam.AVP)) {
	for _, a := range avps {
		f(a)
		if g, ok := a.Data.(*diam.GroupedAVP); ok {
			walk(g.AVP, f)
		}
	}
}

func countAVPs(avps []*diam.AVP) int {
	n := 0
	walk(avps, func(*diam.AVP) { n++ })
	return n
}

// TestDictFacts pins values from the reference (3gpp-mtc.md sections 0.1-4)
// and RFC 6733 that the rest of the code relies on.
func TestDictFacts(t *testing.T) {
	const (
		mustM    = "M"
		mustNotM = "!M"
		mayM     = ""
	)
	facts := []struct {
		load   func() (*dict.Parser, error)
		app    uint32
		name   string
		code   uint32
		vendor uint32
		typ    datatype.TypeID
		mbit   string
	}{
		{Tsp, AppTsp, "Device-Action", 3001, VendorID3GPP, datatype.GroupedType, mustM},
		{Tsp, AppTsp, "Device-Notification", 3002, VendorID3GPP, datatype.GroupedType, mustM},
		{Tsp, AppTsp, "Trigger-Data", 3003, VendorID3GPP, datatype.GroupedType, mustM},
		{Tsp, AppTsp, "Payload", 3004, VendorID3GPP, datatype.OctetStringType, mustM},
		{Tsp, AppTsp, "Action-Type", 3005, VendorID3GPP, datatype.EnumeratedType, mustM},
		{Tsp, AppTsp, "Priority-Indication", 3006, VendorID3GPP, datatype.EnumeratedType, mustM},
		{Tsp, AppTsp, "Reference-Number", 3007, VendorID3GPP, datatype.Unsigned32Type, mustM},
		{Tsp, AppTsp, "Request-Status", 3008, VendorID3GPP, datatype.EnumeratedType, mustM},
		{Tsp, AppTsp, "Delivery-Outcome", 3009, VendorID3GPP, datatype.EnumeratedType, mustM},
		{Tsp, AppTsp, "Application-Port-Identifier", 3010, VendorID3GPP, datatype.Unsigned32Type, mustM},
		{Tsp, AppTsp, "Old-Reference-Number", 3011, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{Tsp, AppTsp, "Feature-Supported-In-Final-Target", 3012, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{Tsp, AppTsp, "External-Identifier", 3111, VendorID3GPP, datatype.UTF8StringType, mustM},
		{Tsp, AppTsp, "MSISDN", 701, VendorID3GPP, datatype.OctetStringType, mustM},
		{Tsp, AppTsp, "SCS-Identity", 3104, VendorID3GPP, datatype.OctetStringType, mustM},
		{Tsp, AppTsp, "Validity-Time", 448, 0, datatype.Unsigned32Type, mustM},
		{Tsp, AppTsp, "MTC-Error-Diagnostic", 3203, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{Tsp, AppTsp, "SM-RP-UI", 3301, VendorID3GPP, datatype.OctetStringType, mustM},
		{Tsp, AppTsp, "Supported-Features", 628, VendorID3GPP, datatype.GroupedType, mayM},
		{Tsp, AppTsp, "Feature-List-ID", 629, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{Tsp, AppTsp, "Feature-List", 630, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{S6m, AppS6m, "IP-SM-GW-Number", 3100, VendorID3GPP, datatype.OctetStringType, mustM},
		{S6m, AppS6m, "IP-SM-GW-Name", 3101, VendorID3GPP, datatype.DiameterIdentityType, mustM},
		{S6m, AppS6m, "User-Identifier", 3102, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "Service-ID", 3103, VendorID3GPP, datatype.EnumeratedType, mustM},
		{S6m, AppS6m, "Service-Parameters", 3105, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "T4-Parameters", 3106, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "Service-Data", 3107, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "T4-Data", 3108, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "HSS-Cause", 3109, VendorID3GPP, datatype.Unsigned32Type, mustM},
		{S6m, AppS6m, "SIR-Flags", 3110, VendorID3GPP, datatype.Unsigned32Type, mustM},
		{S6m, AppS6m, "IP-SM-GW-Realm", 3112, VendorID3GPP, datatype.DiameterIdentityType, mustM},
		{S6m, AppS6m, "Type-Of-External-Identifier", 3168, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{S6m, AppS6m, "Serving-Node", 2401, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "Additional-Serving-Node", 2406, VendorID3GPP, datatype.GroupedType, mustM},
		{S6m, AppS6m, "LMSI", 2400, VendorID3GPP, datatype.OctetStringType, mustM},
		{S6m, AppS6m, "SM-RP-SMEA", 3309, VendorID3GPP, datatype.OctetStringType, mustM},
		{S6m, AppS6m, "User-Name", 1, 0, datatype.UTF8StringType, mustM},
		{T4, AppT4, "SM-Delivery-Outcome-T4", 3200, VendorID3GPP, datatype.EnumeratedType, mustM},
		{T4, AppT4, "Absent-Subscriber-Diagnostic-T4", 3201, VendorID3GPP, datatype.EnumeratedType, mustM},
		{T4, AppT4, "Trigger-Action", 3202, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{T4, AppT4, "MTC-Error-Diagnostic", 3203, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{T4, AppT4, "Payload", 3004, VendorID3GPP, datatype.OctetStringType, mustM},
		{T4, AppT4, "Old-Reference-Number", 3011, VendorID3GPP, datatype.Unsigned32Type, mustNotM},
		{Base, 0, "Session-Id", 263, 0, datatype.UTF8StringType, mustM},
		{Base, 0, "Failed-AVP", 279, 0, datatype.GroupedType, mustM},
		{Base, 0, "Error-Message", 281, 0, datatype.UTF8StringType, mustNotM},
		{Base, 0, "Error-Reporting-Host", 294, 0, datatype.DiameterIdentityType, mustNotM},
		{Base, 0, "Product-Name", 269, 0, datatype.UTF8StringType, mustNotM},
		{Base, 0, "Firmware-Revision", 267, 0, datatype.Unsigned32Type, mustNotM},
		{Base, 0, "Host-IP-Address", 257, 0, datatype.AddressType, mustM},
		{Base, 0, "Inband-Security-Id", 299, 0, datatype.Unsigned32Type, mustM},
		{Base, 0, "Disconnect-Cause", 273, 0, datatype.EnumeratedType, mustM},
		{Base, 0, "Proxy-State", 33, 0, datatype.OctetStringType, mustM},
		{Base, 0, "DRMP", 301, 0, datatype.EnumeratedType, mayM},
		{Base, 0, "OC-Supported-Features", 621, 0, datatype.GroupedType, mayM},
		{Base, 0, "OC-OLR", 623, 0, datatype.GroupedType, mayM},
		{Base, 0, "Load", 650, 0, datatype.GroupedType, mayM},
	}
	for _, f := range facts {
		t.Run(f.name, func(t *testing.T) {
			p := mustLoad(t, f.load)
			a, err := p.FindAVPWithVendor(f.app, f.name, f.vendor)
			if err != nil {
				t.Fatal(err)
			}
			if a.Code != f.code || a.VendorID != f.vendor || a.Data.Type != f.typ {
				t.Fatalf("got code %d vendor %d type %s, want %d %d %d", a.Code, a.VendorID, a.Data.TypeName, f.code, f.vendor, f.typ)
			}
			// The same AVP must also be found by code, as the decoder does.
			byCode, err := p.FindAVPByCode(f.app, f.code, f.vendor)
			if err != nil || byCode != a {
				t.Fatalf("FindAVPByCode(%d, %d, %d) = %v, %v", f.app, f.code, f.vendor, byCode, err)
			}
			m, notM := strings.Contains(a.Must, "M"), strings.Contains(a.MustNot, "M")
			switch f.mbit {
			case mustM:
				if !m || notM {
					t.Errorf("must=%q must-not=%q, want M in must", a.Must, a.MustNot)
				}
			case mustNotM:
				if m || !notM {
					t.Errorf("must=%q must-not=%q, want M in must-not", a.Must, a.MustNot)
				}
			default:
				if m || notM {
					t.Errorf("must=%q must-not=%q, want M neither required nor forbidden", a.Must, a.MustNot)
				}
			}
			v, notV := strings.Contains(a.Must, "V"), strings.Contains(a.MustNot, "V")
			if (f.vendor != 0) != v || (f.vendor == 0) != notV {
				t.Errorf("must=%q must-not=%q does not match vendor %d", a.Must, a.MustNot, f.vendor)
			}
		})
	}
}

func TestDictEnumerations(t *testing.T) {
	enums := []struct {
		load func() (*dict.Parser, error)
		app  uint32
		name string
		want []int32
	}{
		{Tsp, AppTsp, "Action-Type", []int32{1, 2, 3, 4, 5}},
		{Tsp, AppTsp, "Priority-Indication", []int32{0, 1}},
		{Tsp, AppTsp, "Request-Status", []int32{0, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 201}},
		{Tsp, AppTsp, "Delivery-Outcome", []int32{0, 1, 2, 3, 4}},
		{S6m, AppS6m, "Service-ID", []int32{0, 1}},
		{T4, AppT4, "SM-Delivery-Outcome-T4", []int32{0, 1, 2, 3}},
		{T4, AppT4, "Absent-Subscriber-Diagnostic-T4", []int32{0, 1, 2, 3, 4, 5}},
		{Base, 0, "Disconnect-Cause", []int32{0, 1, 2}},
		{Base, 0, "Auth-Session-State", []int32{0, 1}},
		{Base, 0, "Redirect-Host-Usage", []int32{0, 1, 2, 3, 4, 5, 6}},
		{Base, 0, "DRMP", []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
	}
	for _, e := range enums {
		t.Run(e.name, func(t *testing.T) {
			p := mustLoad(t, e.load)
			a, err := p.FindAVP(e.app, e.name)
			if err != nil {
				t.Fatal(err)
			}
			var got []int32
			for _, item := range a.Data.Enum {
				got = append(got, item.Code)
			}
			if !slices.Equal(got, e.want) {
				t.Fatalf("values = %v, want %v", got, e.want)
			}
		})
	}
	// Disconnect-Cause names are used by the DPR sender.
	p := mustLoad(t, Base)
	for code, name := range map[int32]string{0: "REBOOTING", 1: "BUSY", 2: "DO_NOT_WANT_TO_TALK_TO_YOU"} {
		e, err := p.Enum(0, 273, code)
		if err != nil || e.Name != name {
			t.Errorf("Disconnect-Cause %d = %v, %v; want %s", code, e, err, name)
		}
	}
}

func TestDictCommands(t *testing.T) {
	cmds := []struct {
		load  func() (*dict.Parser, error)
		app   uint32
		code  uint32
		short string
	}{
		{Tsp, AppTsp, 8388639, "DA"},
		{Tsp, AppTsp, 8388640, "DN"},
		{S6m, AppS6m, 8388641, "SI"},
		{T4, AppT4, 8388643, "DT"},
		{T4, AppT4, 8388644, "DR"},
		{Base, 0, 257, "CE"},
		{Base, 0, 280, "DW"},
		{Base, 0, 282, "DP"},
	}
	for _, c := range cmds {
		t.Run(c.short, func(t *testing.T) {
			p := mustLoad(t, c.load)
			cmd, err := p.FindCommand(c.app, c.code)
			if err != nil || cmd.Short != c.short {
				t.Fatalf("FindCommand(%d, %d) = %v, %v", c.app, c.code, cmd, err)
			}
		})
	}
	// A Tsp parser must not know S6m or T4 commands, and vice versa.
	if _, err := mustLoad(t, Tsp).FindCommand(AppS6m, 8388641); err == nil {
		t.Error("Tsp parser knows SIR")
	}
	if _, err := mustLoad(t, S6m).FindCommand(AppTsp, 8388639); err == nil {
		t.Error("S6m parser knows DAR")
	}
}

// TestDictRuleShapes pins a few rules whose shape the ABNF makes explicit.
func TestDictRuleShapes(t *testing.T) {
	type shape struct {
		required bool
		max      int
	}
	rules := []struct {
		load     func() (*dict.Parser, error)
		app, cmd uint32
		request  bool
		group    string // grouped AVP name; empty for the command itself
		avp      string
		want     shape
	}{
		{Tsp, AppTsp, 8388639, true, "", "Session-Id", shape{true, 1}},
		{Tsp, AppTsp, 8388639, true, "", "Device-Action", shape{false, 1}},
		{Tsp, AppTsp, 8388639, true, "", "Supported-Features", shape{false, 0}},
		{Tsp, AppTsp, 8388639, false, "", "Device-Notification", shape{true, 1}},
		{Tsp, AppTsp, 8388640, true, "", "Destination-Host", shape{true, 1}},
		{Tsp, AppTsp, 8388640, false, "", "Failed-AVP", shape{false, 0}},
		{Tsp, AppTsp, 0, false, "Device-Action", "Reference-Number", shape{true, 1}},
		{Tsp, AppTsp, 0, false, "Device-Action", "Action-Type", shape{true, 1}},
		{Tsp, AppTsp, 0, false, "Device-Action", "Old-Reference-Number", shape{false, 1}},
		{Tsp, AppTsp, 0, false, "Device-Notification", "Request-Status", shape{false, 1}},
		{Tsp, AppTsp, 0, false, "Trigger-Data", "Payload", shape{true, 1}},
		{S6m, AppS6m, 8388641, true, "", "User-Identifier", shape{true, 1}},
		{S6m, AppS6m, 8388641, true, "", "SIR-Flags", shape{true, 1}},
		{S6m, AppS6m, 8388641, false, "", "User-Identifier", shape{false, 0}},
		{S6m, AppS6m, 0, false, "T4-Data", "Additional-Serving-Node", shape{false, 0}},
		{T4, AppT4, 8388643, true, "", "SM-RP-SMEA", shape{true, 1}},
		{T4, AppT4, 8388644, true, "", "SM-Delivery-Outcome-T4", shape{true, 1}},
		{Base, 0, 257, true, "", "Host-IP-Address", shape{true, 0}},
		{Base, 0, 282, true, "", "Disconnect-Cause", shape{true, 1}},
	}
	for _, r := range rules {
		t.Run(fmt.Sprintf("%d/%s/%s", r.cmd, r.group, r.avp), func(t *testing.T) {
			p := mustLoad(t, r.load)
			var list []*dict.Rule
			if r.group != "" {
				g, err := p.FindAVP(r.app, r.group)
				if err != nil {
					t.Fatal(err)
				}
				list = g.Data.Rule
			} else {
				cmd, err := p.FindCommand(r.app, r.cmd)
				if err != nil {
					t.Fatal(err)
				}
				list = cmd.Answer.Rule
				if r.request {
					list = cmd.Request.Rule
				}
			}
			for _, rule := range list {
				if rule.AVP == r.avp {
					if got := (shape{rule.Required, rule.Max}); got != r.want {
						t.Fatalf("rule = %+v, want %+v", got, r.want)
					}
					return
				}
			}
			t.Fatalf("no rule for %s", r.avp)
		})
	}
}
