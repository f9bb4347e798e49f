package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testPolicy = `groups:
  fleet-a: [ {external_id_domain: fleet-a.iot.example}, {msisdn_range: ["491710000000", "491710099999"]} ]
scs:
  - id: acme
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900001"
    smsc_pool: default
    limits:
      max_payload_bytes: 140
      max_validity: 24h
      priorities: [non_priority, priority]
      rate: {per_second: 50, burst: 100}
      quota: [{window: 1h, count: 10000}, {window: 24h, count: 100000}]
    rules:
      - {allow: {external_id: meter-1@iot.example.com}, ports: [9000, "9100-9199"], actions: [trigger, replace, recall]}
      - {allow: {external_id_domain: iot.example.com}, ports: ["0-65535"], actions: [trigger]}
      - {allow: {msisdn_prefix: "49171"}, actions: [trigger]}
      - {allow: {group: fleet-a}}
      - {deny: {msisdn: "491710000666"}}
      - {deny: {external_id: bad-1@iot.example.com}}
      - {allow: {msisdn_range: ["491720000000", "491720000999"]}, ports: [7000]}
      - {deny: {msisdn_range: ["491720000500", "491720000599"]}, actions: [recall]}
      - {allow: {msisdn: "491730000001"}, actions: [recall]}
  - id: beta
    peers: [{origin_host: scs2.scs.example, realm: scs.example}]
    scs_identity: "491719900002"
    limits:
      max_payload_bytes: 10
      max_validity: 1h
      priorities: [non_priority]
    rules:
      - {allow: {msisdn: "491730000001"}}
  - id: empty
    peers: [{origin_host: scs3.scs.example, realm: scs.example}]
    scs_identity: "491719900003"
`

func mustCompile(t testing.TB, src string) *Policy {
	t.Helper()
	f, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p, err := Compile(f)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func TestDecide(t *testing.T) {
	p := mustCompile(t, testPolicy)
	base := Query{SCS: "scs1.scs.example", Action: Trigger, SCSIdentity: "491719900001"}
	with := func(f func(q *Query)) Query { q := base; f(&q); return q }
	tests := []struct {
		name    string
		q       Query
		allowed bool
		code    Code
		rule    string
	}{
		// SCS and identity.
		{"unknown SCS", with(func(q *Query) { q.SCS = "nobody.example"; q.MSISDN = "491710000001" }), false, NotAuthorized, "no entry"},
		{"SCS case-insensitive", with(func(q *Query) { q.SCS = "SCS1.scs.example"; q.MSISDN = "491710000001" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		{"wrong realm", with(func(q *Query) { q.Realm = "other.example"; q.MSISDN = "491710000001" }), false, NotAuthorized, "acme/peers"},
		{"right realm", with(func(q *Query) { q.Realm = "SCS.example"; q.MSISDN = "491710000001" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		{"listed agent", with(func(q *Query) { q.Via = "dra1.scs.example"; q.MSISDN = "491710000001" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		{"unlisted agent", with(func(q *Query) { q.Via = "dra9.scs.example"; q.MSISDN = "491710000001" }), false, NotAuthorized, "acme/agents"},
		{"SCS-Identity of another SCS", with(func(q *Query) { q.SCSIdentity = "491719900002"; q.MSISDN = "491710000001" }), false, IdentityMismatch, "acme/scs_identity"},
		{"no SCS-Identity", with(func(q *Query) { q.SCSIdentity = ""; q.MSISDN = "491710000001" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		// Limits, in order.
		{"payload at limit", with(func(q *Query) { q.PayloadLen = 140; q.MSISDN = "491710000001" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		{"payload over limit", with(func(q *Query) { q.PayloadLen = 141; q.MSISDN = "491710000001" }), false, Payload, "acme/limits.max_payload_bytes"},
		{"payload before UE rules", with(func(q *Query) { q.PayloadLen = 141; q.MSISDN = "491710000666" }), false, Payload, "acme/limits.max_payload_bytes"},
		{"validity over limit", with(func(q *Query) { q.Validity = 25 * time.Hour; q.MSISDN = "491710000001" }), false, Validity, "acme/limits.max_validity"},
		{"payload before validity", with(func(q *Query) { q.Validity = 25 * time.Hour; q.PayloadLen = 141; q.MSISDN = "491710000001" }), false, Payload, "acme/limits.max_payload_bytes"},
		{"priority allowed", with(func(q *Query) { q.Priority = HighPriority; q.MSISDN = "491710000001" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		{"beta: priority not allowed", Query{SCS: "scs2.scs.example", Action: Trigger, MSISDN: "491730000001", Priority: HighPriority}, false, PriorityDenied, "beta/limits.priorities"},
		{"beta: per-SCS payload limit", Query{SCS: "scs2.scs.example", Action: Trigger, MSISDN: "491730000001", PayloadLen: 11}, false, Payload, "beta/limits.max_payload_bytes"},
		{"beta: per-SCS validity limit", Query{SCS: "scs2.scs.example", Action: Trigger, MSISDN: "491730000001", Validity: 2 * time.Hour}, false, Validity, "beta/limits.max_validity"},
		{"beta: allowed", Query{SCS: "scs2.scs.example", Action: Recall, MSISDN: "491730000001", Validity: time.Hour}, true, OK, "beta/rules[0] allow msisdn 491*******01"},
		// Selector kinds.
		{"external_id exact, port listed", with(func(q *Query) {
			q.ExternalID = "meter-1@iot.example.com"
			q.Port, q.HasPort = 9000, true
			q.Action = Recall
		}), true, OK, "acme/rules[0] allow external_id m***@iot.example.com"},
		{"external_id exact, domain case", with(func(q *Query) {
			q.ExternalID = "meter-1@IOT.Example.com"
			q.Port, q.HasPort = 9150, true
			q.Action = Replace
		}), true, OK, "acme/rules[0] allow external_id m***@iot.example.com"},
		{"external_id local part is exact", with(func(q *Query) {
			q.ExternalID = "METER-1@iot.example.com"
			q.Port, q.HasPort = 9150, true
			q.Action = Replace
		}), false, NotAuthorized, "default deny"},
		{"external_id exact, port not listed, domain rule takes trigger", with(func(q *Query) { q.ExternalID = "meter-1@iot.example.com"; q.Port, q.HasPort = 9200, true }), true, OK, "acme/rules[1] allow external_id_domain iot.example.com"},
		{"external_id exact, port not listed, replace", with(func(q *Query) {
			q.ExternalID = "meter-1@iot.example.com"
			q.Port, q.HasPort = 9200, true
			q.Action = Replace
		}), false, NotAuthorized, "default deny"},
		{"domain, any port", with(func(q *Query) { q.ExternalID = "x@iot.example.com"; q.Port, q.HasPort = 65535, true }), true, OK, "acme/rules[1] allow external_id_domain iot.example.com"},
		{"domain rule lists ports: no port given", with(func(q *Query) { q.ExternalID = "x@iot.example.com" }), false, NotAuthorized, "default deny"},
		{"domain, action not listed", with(func(q *Query) { q.ExternalID = "x@iot.example.com"; q.Port, q.HasPort = 1, true; q.Action = Recall }), false, NotAuthorized, "default deny"},
		{"domain is exact, no subdomain", with(func(q *Query) { q.ExternalID = "x@sub.iot.example.com"; q.Port, q.HasPort = 1, true }), false, NotAuthorized, "default deny"},
		{"group domain", with(func(q *Query) { q.ExternalID = "truck9@Fleet-A.iot.example"; q.Action = Recall }), true, OK, "acme/rules[3] allow group fleet-a"},
		{"group range low end", with(func(q *Query) { q.MSISDN = "491710000000"; q.Action = Replace }), true, OK, "acme/rules[3] allow group fleet-a"},
		{"group range high end", with(func(q *Query) { q.MSISDN = "491710099999"; q.Action = Replace }), true, OK, "acme/rules[3] allow group fleet-a"},
		{"just past group range", with(func(q *Query) { q.MSISDN = "491710100000"; q.Action = Replace }), false, NotAuthorized, "default deny"},
		{"prefix", with(func(q *Query) { q.MSISDN = "491719999999" }), true, OK, "acme/rules[2] allow msisdn_prefix 49171"},
		{"prefix, action not listed", with(func(q *Query) { q.MSISDN = "491719999999"; q.Action = Recall }), false, NotAuthorized, "default deny"},
		{"msisdn exact", with(func(q *Query) { q.MSISDN = "491730000001"; q.Action = Recall }), true, OK, "acme/rules[8] allow msisdn 491*******01"},
		{"msisdn exact, action not listed", with(func(q *Query) { q.MSISDN = "491730000001"; q.Action = Replace }), false, NotAuthorized, "default deny"},
		{"range with port", with(func(q *Query) { q.MSISDN = "491720000123"; q.Port, q.HasPort = 7000, true; q.Action = Recall }), true, OK, "acme/rules[6] allow msisdn_range 491720000000-491720000999"},
		{"range, other port", with(func(q *Query) { q.MSISDN = "491720000123"; q.Port, q.HasPort = 7001, true; q.Action = Recall }), false, NotAuthorized, "default deny"},
		{"range, other length", with(func(q *Query) { q.MSISDN = "4917200001230"; q.Port, q.HasPort = 7000, true; q.Action = Recall }), false, NotAuthorized, "default deny"},
		// Deny over allow.
		{"deny msisdn wins over prefix and group", with(func(q *Query) { q.MSISDN = "491710000666" }), false, NotAuthorized, "acme/rules[4] deny msisdn 491*******66"},
		{"deny external_id wins over domain", with(func(q *Query) { q.ExternalID = "bad-1@iot.example.com"; q.Port, q.HasPort = 1, true }), false, NotAuthorized, "acme/rules[5] deny external_id b***@iot.example.com"},
		{"deny limited to recall", with(func(q *Query) { q.MSISDN = "491720000550"; q.Port, q.HasPort = 7000, true; q.Action = Recall }), false, NotAuthorized, "acme/rules[7] deny msisdn_range 491720000500-491720000599"},
		{"deny limited to recall lets trigger through", with(func(q *Query) { q.MSISDN = "491720000550"; q.Port, q.HasPort = 7000, true; q.Action = Trigger }), true, OK, "acme/rules[6] allow msisdn_range 491720000000-491720000999"},
		// Both identities must be allowed.
		{"both identities allowed", with(func(q *Query) {
			q.ExternalID = "x@iot.example.com"
			q.MSISDN = "491710000001"
			q.Port, q.HasPort = 1, true
		}), true, OK, "acme/rules[1] allow external_id_domain iot.example.com"},
		{"msisdn denied though external id allowed", with(func(q *Query) {
			q.ExternalID = "x@iot.example.com"
			q.MSISDN = "491710000666"
			q.Port, q.HasPort = 1, true
		}), false, NotAuthorized, "acme/rules[4] deny msisdn 491*******66"},
		{"external id not allowed though msisdn is", with(func(q *Query) { q.ExternalID = "x@other.example"; q.MSISDN = "491710000001" }), false, NotAuthorized, "default deny"},
		// Default deny.
		{"no UE", base, false, NotAuthorized, "default deny"},
		{"unknown UE", with(func(q *Query) { q.MSISDN = "331234567890" }), false, NotAuthorized, "default deny"},
		{"SCS without rules", Query{SCS: "scs3.scs.example", Action: Trigger, MSISDN: "491710000001"}, false, NotAuthorized, "default deny"},
		{"bad MSISDN", with(func(q *Query) { q.MSISDN = "49171x" }), false, NotAuthorized, "default deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.q)
			if d.Allowed != tt.allowed || d.Code != tt.code || d.Rule != tt.rule {
				t.Fatalf("Decide = {Allowed:%v Code:%v Rule:%q Reason:%q}, want {%v %v %q}", d.Allowed, d.Code, d.Rule, d.Reason, tt.allowed, tt.code, tt.rule)
			}
			if d.Reason == "" {
				t.Fatal("no Reason")
			}
			for _, id := range []string{tt.q.ExternalID, tt.q.MSISDN} {
				if id != "" && strings.Contains(d.Reason+d.Rule, id) {
					t.Fatalf("decision names the UE identity %q: %q / %q", id, d.Rule, d.Reason)
				}
			}
			if d.Allowed != (d.Code == OK) {
				t.Fatalf("Allowed %v with code %v", d.Allowed, d.Code)
			}
		})
	}
}

func TestRequestStatus(t *testing.T) {
	want := map[Code]uint32{OK: 0, IdentityMismatch: 103, NotAuthorized: 105, Payload: 101, Validity: 104, PriorityDenied: 105, RateExceeded: 109, QuotaExceeded: 108, Unavailable: 201}
	for c, s := range want {
		if got := c.RequestStatus(); got != s {
			t.Errorf("%v.RequestStatus() = %d, want %d", c, got, s)
		}
	}
}

func TestDecideReasons(t *testing.T) {
	p := mustCompile(t, testPolicy)
	d := p.Decide(Query{SCS: "scs1.scs.example", Action: Replace, ExternalID: "meter-1@iot.example.com", Port: 9200, HasPort: true})
	for _, want := range []string{"no rule of SCS acme allows replace on port 9200", "acme/rules[0] allow external_id m***@iot.example.com names it"} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("Reason %q lacks %q", d.Reason, want)
		}
	}
	d = p.Decide(Query{SCS: "scs1.scs.example", Action: Trigger, MSISDN: "491710000666"})
	if want := "acme/rules[4] deny msisdn 491*******66 forbids trigger without application port for this UE"; d.Reason != want {
		t.Errorf("Reason %q, want %q", d.Reason, want)
	}
}

func TestOverlappingRanges(t *testing.T) {
	p := mustCompile(t, `scs:
  - id: a
    peers: [{origin_host: a.example, realm: example}]
    scs_identity: "1"
    rules:
      - {allow: {msisdn_range: ["100", "199"]}, ports: [1]}
      - {allow: {msisdn_range: ["150", "250"]}, ports: [2]}
      - {deny: {msisdn_range: ["180", "180"]}, ports: [2]}
      - {allow: {msisdn_range: ["120", "130"]}, ports: [3]}
      - {allow: {msisdn_range: ["999", "999"]}}
      - {allow: {msisdn_range: ["000", "000"]}}
`)
	tests := []struct {
		msisdn string
		port   uint32
		want   bool
	}{
		{"100", 1, true}, {"099", 1, false}, {"149", 2, false}, {"150", 2, true}, {"150", 1, true},
		{"199", 1, true}, {"200", 1, false}, {"200", 2, true}, {"250", 2, true}, {"251", 2, false},
		{"180", 2, false}, {"180", 1, true}, {"125", 3, true}, {"125", 1, true}, {"131", 3, false},
		{"999", 5, true}, {"000", 5, true}, {"998", 5, false},
	}
	for _, tt := range tests {
		d := p.Decide(Query{SCS: "a.example", Action: Trigger, MSISDN: tt.msisdn, Port: tt.port, HasPort: true})
		if d.Allowed != tt.want {
			t.Errorf("msisdn %s port %d: allowed %v (%s), want %v", tt.msisdn, tt.port, d.Allowed, d.Rule, tt.want)
		}
	}
}

func TestPeers(t *testing.T) {
	p := mustCompile(t, testPolicy)
	peers := p.Peers()
	if got := peers["scs1.scs.example"]; got.Realm != "scs.example" || got.Agent || len(got.SCS) != 1 || got.SCS[0] != "acme" {
		t.Errorf("scs1 = %+v", got)
	}
	if got := peers["dra1.scs.example"]; !got.Agent || len(got.SCS) != 1 {
		t.Errorf("dra1 = %+v", got)
	}
	if s, ok := p.Lookup("SCS2.scs.example"); !ok || s.ID != "beta" || s.Identity != "491719900002" || s.SMSCPool != "default" {
		t.Errorf("Lookup = %+v %v", s, ok)
	}
	// beta gone, acme's realm changed, a new SCS.
	q := mustCompile(t, `scs:
  - id: acme
    peers: [{origin_host: scs1.scs.example, realm: other.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900001"
  - id: empty
    peers: [{origin_host: scs3.scs.example, realm: scs.example}]
    scs_identity: "491719900003"
  - id: new
    peers: [{origin_host: scs4.scs.example, realm: scs.example}]
    scs_identity: "491719900004"
`)
	got := strings.Join(RemovedPeers(p, q), ",")
	if want := "scs1.scs.example,scs2.scs.example"; got != want {
		t.Errorf("RemovedPeers = %s, want %s", got, want)
	}
	// An agent that still carries one SCS stays; one that carries none goes.
	r := mustCompile(t, `scs:
  - id: acme
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    agents: [dra1.scs.example, dra2.scs.example]
    scs_identity: "491719900001"
  - id: beta
    peers: [{origin_host: scs2.scs.example, realm: scs.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900002"
`)
	s := mustCompile(t, `scs:
  - id: acme
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900001"
  - id: beta
    peers: [{origin_host: scs2.scs.example, realm: scs.example}, {origin_host: dra2.scs.example, realm: scs.example}]
    scs_identity: "491719900002"
`)
	if got := strings.Join(RemovedPeers(r, s), ","); got != "dra2.scs.example" {
		t.Errorf("RemovedPeers = %s, want dra2.scs.example (turned into an SCS identity)", got)
	}
	if e, ok := s.Entry("beta"); !ok || e.Identity != "491719900002" {
		t.Errorf("Entry = %+v %v", e, ok)
	}
	if RemovedPeers(nil, q) != nil || len(RemovedPeers(q, q)) != 0 {
		t.Error("RemovedPeers of nil or the same policy is not empty")
	}
}

func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "policy.yaml")
	p, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	tests := []struct {
		q    Query
		want bool
	}{
		{Query{SCS: "scs1.scs.example", Action: Trigger, ExternalID: "meter-1@iot.example.com", Port: 9000, HasPort: true, SCSIdentity: "491719900001"}, true},
		{Query{SCS: "scs1.scs.example", Via: "dra1.scs.example", Action: Recall, ExternalID: "meter-1@iot.example.com", Port: 9100, HasPort: true}, true},
		{Query{SCS: "scs1.scs.example", Action: Trigger, ExternalID: "tracker-2@iot.example.com"}, true},
		{Query{SCS: "scs1.scs.example", Action: Trigger, MSISDN: "491710000003"}, true},
		{Query{SCS: "scs1.scs.example", Action: Trigger, ExternalID: "sleeper-4@iot.example.com", Port: 1, HasPort: true}, true},
		{Query{SCS: "scs1.scs.example", Action: Replace, ExternalID: "sleeper-4@iot.example.com", Port: 1, HasPort: true}, false},
		{Query{SCS: "scs1.scs.example", Action: Trigger, ExternalID: "legacy-5@iot.example.com", Port: 1, HasPort: true}, false},
		{Query{SCS: "scs2.scs.example", Action: Trigger, ExternalID: "meter-1@iot.example.com", Port: 9000, HasPort: true, SCSIdentity: "491719900002"}, true},
		{Query{SCS: "scs2.scs.example", Action: Trigger, ExternalID: "tracker-2@iot.example.com", Port: 9000, HasPort: true}, false},
		{Query{SCS: "scs2.scs.example", Action: Trigger, ExternalID: "meter-1@iot.example.com", Port: 9000, HasPort: true, SCSIdentity: "491719900001"}, false},
	}
	for _, tt := range tests {
		if d := p.Decide(tt.q); d.Allowed != tt.want {
			t.Errorf("%+v: %+v, want allowed %v", tt.q, d, tt.want)
		}
	}
	if s, _ := p.Lookup("scs1.scs.example"); s.Limits.Rate == nil || s.Limits.Rate.Burst != 400 || len(s.Limits.Quota) != 2 {
		t.Errorf("scs1 limits = %+v", s.Limits)
	}
}

func TestValidationErrors(t *testing.T) {
	src := `groups:
  g1: [{msisdn: "12a"}]
  g2: [{group: g1}]
  g3: []
  g1: [{msisdn: "1"}]
scs:
  - id: a
    peers: []
    scs_identity: "+4917"
    colour: red
    limits:
      max_payload_bytes: 0
      max_validity: 0s
      priorities: [urgent]
      rate: {per_second: 0, burst: 0}
      quota: [{window: -1h, count: 5}, {window: 1h, count: 0}, {count: 3}]
    rules:
      - {allow: {msisdn_range: ["200", "100"]}}
      - {allow: {msisdn_range: ["200", "1000"]}}
      - {allow: {group: nosuch}, ports: [70000, "10-5", "x"]}
      - {deny: {msisdn: "1"}, actions: [poke]}
      - {allow: {msisdn: "1"}, deny: {msisdn: "2"}}
      - {ports: [1]}
      - {allow: {imsi: "001010000000001"}}
      - {allow: {external_id: no-at-sign}}
      - {allow: {msisdn_prefix: "1234567890123456"}}
  - id: a
    peers: [{origin_host: a.example, realm: example}, {origin_host: A.example}]
    scs_identity: "1"
  - peers: [{origin_host: b.example, realm: example}]
    scs_identity: "1"
    limits:
      max_payload_bytes: 100
      max_payload_bytes: 200
  - id: c
    peers: [{origin_host: c.example, realm: example}]
    scs_identity: "3"
    agents: [a.example]
    rules: [{allow: {msisdn: "1"}, ports: []}]
extra: 1
`
	f, perr := Parse("bad.yaml", []byte(src))
	if perr == nil {
		t.Fatal("Parse accepted a bad file")
	}
	p := &problems{file: "bad.yaml"}
	for _, e := range perr.(interface{ Unwrap() []error }).Unwrap() {
		p.errs = append(p.errs, e.(*Error))
	}
	validate(f, p)
	got := p.err().Error()
	want := []string{
		`bad.yaml:2: groups.g1[0].msisdn: "12a" is not an MSISDN`,
		`bad.yaml:3: groups.g2[0].group: a group cannot name another group`,
		`bad.yaml:4: groups.g3: is empty`,
		`bad.yaml:5: groups.g1: group defined twice`,
		`bad.yaml:8: scs[0].peers: is empty`,
		`bad.yaml:9: scs[0].scs_identity: "+4917" is not an E.164 number`,
		`bad.yaml:10: scs[0].colour: unknown key`,
		`bad.yaml:12: scs[0].limits.max_payload_bytes: 0 is outside 1..65535`,
		`bad.yaml:13: scs[0].limits.max_validity: 0s must be above 0`,
		`bad.yaml:14: scs[0].limits.priorities[0]: unknown priority "urgent"`,
		`bad.yaml:15: scs[0].limits.rate.per_second: 0 must be above 0`,
		`bad.yaml:15: scs[0].limits.rate.burst: 0 must be at least 1`,
		`bad.yaml:16: scs[0].limits.quota[0].window: -1h must be above 0`,
		`bad.yaml:16: scs[0].limits.quota[1].count: 0 must be at least 1`,
		`bad.yaml:16: scs[0].limits.quota[2].window: is required`,
		`bad.yaml:18: scs[0].rules[0].allow.msisdn_range: lo 200 is above hi 100`,
		`bad.yaml:19: scs[0].rules[1].allow.msisdn_range: 200 and 1000 have different lengths`,
		`bad.yaml:20: scs[0].rules[2].ports[0]: 70000 is out of the port range 0..65535`,
		`bad.yaml:20: scs[0].rules[2].ports[1]: bad range 10-5: 10 is above 5`,
		`bad.yaml:20: scs[0].rules[2].ports[2]: "x" is not a port`,
		`bad.yaml:20: scs[0].rules[2].allow.group: unknown group "nosuch"`,
		`bad.yaml:21: scs[0].rules[3].actions[0]: unknown action "poke"`,
		`bad.yaml:22: scs[0].rules[4]: has both allow and deny`,
		`bad.yaml:23: scs[0].rules[5]: needs allow: or deny:`,
		`bad.yaml:24: scs[0].rules[6].allow.imsi: unknown selector`,
		`bad.yaml:25: scs[0].rules[7].allow.external_id: "no-at-sign" is not an External Identifier`,
		`bad.yaml:26: scs[0].rules[8].allow.msisdn_prefix: "1234567890123456" is not an MSISDN prefix`,
		`bad.yaml:27: scs[1].id: "a" is also the id of scs[0]`,
		`bad.yaml:28: scs[1].peers[1].realm: is required`,
		`bad.yaml:28: scs[1].peers[1].origin_host: a.example is also a peer of scs[1]`,
		`bad.yaml:30: scs[2].id: is required`,
		`bad.yaml:30: scs[2].scs_identity: 1 is also the scs_identity of scs[1]`,
		`bad.yaml:34: scs[2].limits.max_payload_bytes: appears twice`,
		`bad.yaml:35: scs[3].agents[0]: a.example is a peer of scs[1], so it cannot also be an agent`,
		`bad.yaml:39: scs[3].rules[0].ports: is empty`,
		`bad.yaml:40: extra: unknown key`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q", w)
		}
	}
	if n := len(strings.Split(got, "\n")); n != len(want) {
		t.Errorf("%d errors, want %d:\n%s", n, len(want), got)
	}
	var e *Error
	if !errors.As(p.err(), &e) || e.File != "bad.yaml" || e.Line != 2 {
		t.Errorf("first error %+v", e)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct{ name, src, want string }{
		{"yaml.yaml", "scs:\n  - id: a\n    id: : b\n", ":3: not valid YAML: mapping values are not allowed in this context"},
		{"dup.yaml", "scs: []\nscs: []\n", ":2: scs: appears twice"},
		{"empty.yaml", "", ": the file is empty"},
		{"noscs.yaml", "groups: {}\n", ":1: scs: is required"},
		{"null.yaml", "scs:\n", ":1: scs: has no value"},
		{"notlist.yaml", "scs: {id: a}\n", ":1: scs: must be a list"},
		{"group.yaml", "scs:\n  - {id: a, peers: [{origin_host: a.b, realm: b}], scs_identity: \"1\", rules: [{allow: {group: x}}, {allow: {msisdn: y}}]}\n", ":2: scs[0].rules[0].allow.group: unknown group \"x\""},
	}
	for _, tt := range tests {
		path := write(tt.name, tt.src)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path+tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, path+tt.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestCompileHandBuilt(t *testing.T) {
	_, err := Compile(&File{Name: "code", SCS: []SCSEntry{{ID: "a"}}})
	if err == nil || !strings.Contains(err.Error(), "scs[0].scs_identity: is required") || !strings.Contains(err.Error(), "scs[0].peers: is empty") {
		t.Fatalf("Compile = %v", err)
	}
	p, err := Compile(&File{Name: "code", SCS: []SCSEntry{{ID: "a", Identity: "1", Peers: []PeerIdentity{{OriginHost: "A.example", Realm: "example"}},
		Rules: []Rule{{Selector: Selector{Kind: SelExternalIDDomain, Value: "@Example.COM"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Decide(Query{SCS: "a.example", Action: Recall, ExternalID: "x@example.com"}); !d.Allowed {
		t.Fatalf("Decide = %+v", d)
	}
}

func TestHSSCacheKey(t *testing.T) {
	head := "scs:\n  - id: a\n    peers: [{origin_host: a.example, realm: example}]\n    scs_identity: \"1\"\n"
	tests := []struct {
		name, entry string
		want        HSSCache
		err         string // "" = valid
	}{
		{"absent: nothing cached", "", HSSCache{}, ""},
		{"ttl only", "    hss_cache: {ttl: 60s}\n", HSSCache{TTL: time.Minute}, ""},
		{"both", "    hss_cache: {ttl: 5m, negative_ttl: 30s}\n", HSSCache{TTL: 5 * time.Minute, NegativeTTL: 30 * time.Second}, ""},
		{"no ttl", "    hss_cache: {negative_ttl: 30s}\n", HSSCache{}, "bad.yaml:5: scs[0].hss_cache.ttl: is required"},
		{"too long", "    hss_cache: {ttl: 2h}\n", HSSCache{}, "bad.yaml:5: scs[0].hss_cache.ttl: 2h0m0s is above 1h0m0s"},
		{"not a duration", "    hss_cache: {ttl: soon}\n", HSSCache{}, `bad.yaml:5: scs[0].hss_cache.ttl: "soon" is not a duration`},
		{"zero", "    hss_cache: {ttl: 0s}\n", HSSCache{}, "bad.yaml:5: scs[0].hss_cache.ttl: 0s must be above 0"},
		{"negative longer", "    hss_cache: {ttl: 10s, negative_ttl: 1m}\n", HSSCache{}, "bad.yaml:5: scs[0].hss_cache.negative_ttl: 1m0s is longer than ttl 10s"},
		{"unknown key", "    hss_cache: {ttl: 10s, size: 5}\n", HSSCache{}, "bad.yaml:5: scs[0].hss_cache.size: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bad.yaml", []byte(head+tt.entry))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := p.Lookup("a.example")
			if !ok || s.HSSCache != tt.want {
				t.Errorf("HSSCache = %+v, want %+v", s.HSSCache, tt.want)
			}
		})
	}
}
