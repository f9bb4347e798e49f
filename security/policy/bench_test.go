package policy

import (
	"fmt"
	"strings"
	"testing"
)

// bigFile builds one SCS with n rules spread over every selector kind
// (external_id, external_id_domain, msisdn, msisdn_range, msisdn_prefix,
// group), every tenth a deny, and the queries that hit and miss them.
func bigFile(n int) (*File, []Query) {
	f := &File{Name: "bench", Groups: []Group{{Name: "g", Selectors: []Selector{
		{Kind: SelExternalIDDomain, Value: "fleet.example"},
		{Kind: SelMSISDNRange, Lo: "339000000000", Hi: "339000099999"},
	}}}}
	e := SCSEntry{ID: "bench", Identity: "491719900001", Peers: []PeerIdentity{{OriginHost: "scs1.scs.example", Realm: "scs.example"}}}
	var qs []Query
	q := func(ext, msisdn string, port uint32) {
		qs = append(qs, Query{SCS: "scs1.scs.example", Action: Trigger, ExternalID: ext, MSISDN: msisdn, Port: port, HasPort: true, SCSIdentity: "491719900001", PayloadLen: 20})
	}
	for i := range n {
		r := Rule{Deny: i%10 == 9}
		switch i % 6 {
		case 0:
			r.Selector = Selector{Kind: SelExternalID, Value: fmt.Sprintf("ue%d@iot.example.com", i)}
			r.Ports = []PortRange{{9000, 9000}, {9100, 9199}}
		case 1:
			r.Selector = Selector{Kind: SelExternalIDDomain, Value: fmt.Sprintf("d%d.example.com", i)}
			r.Actions = []Action{Trigger, Recall}
		case 2:
			r.Selector = Selector{Kind: SelMSISDN, Value: fmt.Sprintf("4917%08d", i)}
		case 3:
			lo := 4918_0000_0000 + uint64(i)*100
			r.Selector = Selector{Kind: SelMSISDNRange, Lo: fmt.Sprint(lo), Hi: fmt.Sprint(lo + 49)}
		case 4:
			r.Selector = Selector{Kind: SelMSISDNPrefix, Value: fmt.Sprintf("3%d", i)}
		case 5:
			r.Selector = Selector{Kind: SelGroup, Value: "g"}
			r.Ports = []PortRange{{uint32(i % 65536), uint32(i % 65536)}}
		}
		e.Rules = append(e.Rules, r)
	}
	f.SCS = []SCSEntry{e}
	// Hits and misses of each kind, spread over the rule list.
	for _, i := range []int{0, n / 2, n - 1} {
		b := i - i%6
		q(fmt.Sprintf("ue%d@iot.example.com", b), "", 9150)       // external_id hit
		q(fmt.Sprintf("ue%d@iot.example.com", b+1), "", 9150)     // miss
		q(fmt.Sprintf("x@d%d.example.com", b+1), "", 1)           // domain hit
		q("x@nowhere.example.com", "", 1)                         // domain miss
		q("", fmt.Sprintf("4917%08d", b+2), 1)                    // msisdn hit
		q("", fmt.Sprintf("4917%08d", b+3), 1)                    // msisdn miss
		q("", fmt.Sprint(4918_0000_0000+uint64(b+3)*100+20), 1)   // range hit
		q("", fmt.Sprint(4918_0000_0000+uint64(b+3)*100+70), 1)   // range miss
		q("", fmt.Sprintf("3%d00000", b+4), 1)                    // prefix hit
		q("", "999999999999", 1)                                  // prefix miss
		q("a@fleet.example", "339000000042", uint32((b+5)%65536)) // group hit, both identities
	}
	return f, qs
}

func benchDecide(b *testing.B, n int) {
	f, qs := bigFile(n)
	p, err := Compile(f)
	if err != nil {
		b.Fatal(err)
	}
	allowed := 0
	for _, q := range qs {
		if p.Decide(q).Allowed {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(qs) {
		b.Fatalf("%d of %d queries allowed: the benchmark needs hits and misses", allowed, len(qs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		p.Decide(qs[i%len(qs)])
		i++
	}
}

// BenchmarkDecide100 and BenchmarkDecide100k judge a mix of requests that
// hit and miss rules of every selector kind (about half refused, whose
// reasons are formatted and so allocate).
func BenchmarkDecide100(b *testing.B)  { benchDecide(b, 100) }
func BenchmarkDecide100k(b *testing.B) { benchDecide(b, 100_000) }

// BenchmarkDecideAllowed100k is the allowed path alone: no allocation.
func BenchmarkDecideAllowed100k(b *testing.B) {
	f, qs := bigFile(100_000)
	p, err := Compile(f)
	if err != nil {
		b.Fatal(err)
	}
	var ok []Query
	for _, q := range qs {
		if p.Decide(q).Allowed {
			ok = append(ok, q)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		p.Decide(ok[i%len(ok)])
		i++
	}
}

func BenchmarkCompile100k(b *testing.B) {
	f, _ := bigFile(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(f); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecideAllowedDoesNotAllocate(t *testing.T) {
	f, qs := bigFile(1000)
	p, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if !p.Decide(q).Allowed {
			continue
		}
		if n := testing.AllocsPerRun(100, func() { p.Decide(q) }); n != 0 {
			t.Errorf("Decide(%+v) allocates %v times", q, n)
		}
	}
}

// TestBigFileDecisions checks the benchmark's policy answers as its rules
// say, so the benchmark measures real work.
func TestBigFileDecisions(t *testing.T) {
	f, qs := bigFile(600)
	p, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range qs[:11] {
		d := p.Decide(q)
		got = append(got, fmt.Sprint(d.Allowed))
	}
	if want := "true false true false true false true false true false true"; strings.Join(got, " ") != want {
		t.Errorf("decisions %s, want %s", strings.Join(got, " "), want)
	}
}

// TestParseBig checks a 100,000-rule file parses and compiles (the YAML
// path, not only hand-built Files).
func TestParseBig(t *testing.T) {
	if testing.Short() {
		t.Skip("large file: skipped with -short")
	}
	var sb strings.Builder
	sb.WriteString("scs:\n  - id: big\n    peers: [{origin_host: a.example, realm: example}]\n    scs_identity: \"1\"\n    rules:\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "      - {allow: {msisdn_range: [\"49%010d\", \"49%010d\"]}, ports: [%d, \"%d-%d\"], actions: [trigger]}\n", i*10, i*10+5, i%65536, i%1000, i%1000+10)
	}
	f, err := Parse("big.yaml", []byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Decide(Query{SCS: "a.example", Action: Trigger, MSISDN: "490000999993", Port: 99999 % 65536, HasPort: true}); !d.Allowed {
		t.Errorf("Decide = %+v", d)
	}
	if d := p.Decide(Query{SCS: "a.example", Action: Trigger, MSISDN: "490000999997", Port: 99999 % 65536, HasPort: true}); d.Allowed {
		t.Errorf("Decide = %+v", d)
	}
}
