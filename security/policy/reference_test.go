package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceDecide is the policy's UE × service semantics written as plainly
// as possible: every rule, every selector, no index. The compiled index must
// agree with it.
func referenceDecide(f *File, q Query) (allowed bool, rule int) {
	groups := map[string][]Selector{}
	for _, g := range f.Groups {
		groups[g.Name] = g.Selectors
	}
	e := f.SCS[0]
	matches := func(s Selector, ext, msisdn string) bool {
		switch s.Kind {
		case SelExternalID:
			return ext != "" && normExternalID(ext) == normExternalID(s.Value)
		case SelExternalIDDomain:
			at := strings.LastIndexByte(ext, '@')
			return ext != "" && at >= 0 && strings.EqualFold(ext[at+1:], s.Value)
		case SelMSISDN:
			return msisdn != "" && msisdn == s.Value
		case SelMSISDNPrefix:
			return msisdn != "" && strings.HasPrefix(msisdn, s.Value)
		case SelMSISDNRange:
			return msisdn != "" && len(msisdn) == len(s.Lo) && msisdn >= s.Lo && msisdn <= s.Hi
		}
		return false
	}
	covers := func(r Rule) bool {
		if len(r.Actions) > 0 {
			ok := false
			for _, a := range r.Actions {
				ok = ok || a == q.Action
			}
			if !ok {
				return false
			}
		}
		if r.Ports == nil {
			return true
		}
		if !q.HasPort {
			return false
		}
		for _, p := range r.Ports {
			if q.Port >= p.Lo && q.Port <= p.Hi {
				return true
			}
		}
		return false
	}
	judge := func(ext, msisdn string) (deny, allow int) {
		deny, allow = -1, -1
		for i, r := range e.Rules {
			sels := []Selector{r.Selector}
			if r.Selector.Kind == SelGroup {
				sels = groups[r.Selector.Value]
			}
			hit := false
			for _, s := range sels {
				hit = hit || matches(s, ext, msisdn)
			}
			if !hit || !covers(r) {
				continue
			}
			if r.Deny && deny < 0 {
				deny = i
			}
			if !r.Deny && allow < 0 {
				allow = i
			}
		}
		return deny, allow
	}
	type res struct{ deny, allow int }
	var rs []res
	if q.ExternalID != "" {
		d, a := judge(q.ExternalID, "")
		rs = append(rs, res{d, a})
	}
	if q.MSISDN != "" {
		d, a := judge("", q.MSISDN)
		rs = append(rs, res{d, a})
	}
	for _, r := range rs {
		if r.deny >= 0 {
			return false, r.deny
		}
	}
	for _, r := range rs {
		if r.allow < 0 {
			return false, -1
		}
	}
	return true, rs[0].allow
}

func TestDecideMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	exts := []string{"a@x.example", "b@x.example", "a@y.example", "c@Y.example"}
	domains := []string{"x.example", "y.example", "z.example"}
	msisdns := []string{"4917100", "4917101", "4917150", "4917199", "4918100", "491710"}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	randSel := func(group bool) Selector {
		switch n := rng.IntN(6); {
		case n == 0:
			return Selector{Kind: SelExternalID, Value: pick(exts)}
		case n == 1:
			return Selector{Kind: SelExternalIDDomain, Value: pick(domains)}
		case n == 2:
			return Selector{Kind: SelMSISDN, Value: pick(msisdns)}
		case n == 3:
			lo := 4917100 + rng.IntN(100)
			return Selector{Kind: SelMSISDNRange, Lo: fmt.Sprint(lo), Hi: fmt.Sprint(lo + rng.IntN(60))}
		case n == 4 || !group:
			return Selector{Kind: SelMSISDNPrefix, Value: pick(msisdns)[:3+rng.IntN(4)]}
		default:
			return Selector{Kind: SelGroup, Value: fmt.Sprint("g", rng.IntN(3))}
		}
	}
	for round := range 20 {
		f := &File{Name: "random"}
		for g := range 3 {
			f.Groups = append(f.Groups, Group{Name: fmt.Sprint("g", g), Selectors: []Selector{randSel(false), randSel(false)}})
		}
		e := SCSEntry{ID: "r", Identity: "1", Peers: []PeerIdentity{{OriginHost: "r.example", Realm: "example"}}}
		for range 40 + round*20 {
			r := Rule{Deny: rng.IntN(5) == 0, Selector: randSel(true)}
			if rng.IntN(3) > 0 {
				for range 1 + rng.IntN(3) {
					lo := uint32(rng.IntN(20))
					r.Ports = append(r.Ports, PortRange{lo, lo + uint32(rng.IntN(5))})
				}
			}
			for _, a := range []Action{Trigger, Replace, Recall} {
				if rng.IntN(2) == 0 {
					r.Actions = append(r.Actions, a)
				}
			}
			e.Rules = append(e.Rules, r)
		}
		f.SCS = []SCSEntry{e}
		p, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		for range 2000 {
			q := Query{SCS: "r.example", Action: []Action{Trigger, Replace, Recall}[rng.IntN(3)], Port: uint32(rng.IntN(26)), HasPort: rng.IntN(4) > 0}
			switch rng.IntN(3) {
			case 0:
				q.ExternalID = pick(exts)
			case 1:
				q.MSISDN = fmt.Sprint(4917090 + rng.IntN(200))
			default:
				q.ExternalID, q.MSISDN = pick(exts), pick(msisdns)
			}
			d := p.Decide(q)
			allowed, rule := referenceDecide(f, q)
			wantRule := "default deny"
			if rule >= 0 {
				wantRule = fmt.Sprintf("r/rules[%d] ", rule)
			}
			if d.Allowed != allowed || !strings.HasPrefix(d.Rule, wantRule) {
				t.Fatalf("round %d, %+v: Decide = %v %q, reference = %v %q", round, q, d.Allowed, d.Rule, allowed, wantRule)
			}
		}
	}
}
