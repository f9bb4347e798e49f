package policy

import (
	"cmp"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// index finds, for one UE identity, the rules whose selectors match it,
// without allocating:
//
//   - external_id, external_id_domain and msisdn are map lookups;
//   - msisdn_prefix is one map lookup per distinct prefix length (at most
//     15, the longest E.164 number);
//   - msisdn_range is a binary search, per number length, over disjoint
//     sorted segments, each holding the rules of every range that covers it
//     (overlapping ranges are cut at every endpoint at compile time).
//
// Every lookup yields rule indexes; a UE may match several rules, and the
// caller applies deny-over-allow to them.
type index struct {
	extIDs   map[string]*ruleSet // whole External Identifier, domain lower-case
	domains  map[string]*ruleSet // lower-case domain
	msisdns  map[string]*ruleSet
	prefixes map[string]*ruleSet
	prefLens []int                    // distinct prefix lengths, ascending
	ranges   [maxMSISDN + 1][]segment // by number of digits
}

// segment is [lo, hi] with the rules of every range covering it.
type segment struct {
	lo, hi uint64
	rules  *ruleSet
}

// maxHits bounds the lists one identity can hit: 2 for an External
// Identifier (exact, domain); 1 exact + 15 prefix lengths + 1 range for an
// MSISDN.
const maxHits = 2 + maxMSISDN

type hits struct {
	lists [maxHits]*ruleSet
	n     int
}

func (h *hits) add(l *ruleSet) {
	if l != nil {
		h.lists[h.n] = l
		h.n++
	}
}

func (ix *index) externalID(id string) hits {
	var h hits
	id = normExternalID(id)
	h.add(ix.extIDs[id])
	if at := strings.LastIndexByte(id, '@'); at >= 0 {
		h.add(ix.domains[id[at+1:]])
	}
	return h
}

func (ix *index) msisdn(s string) hits {
	var h hits
	h.add(ix.msisdns[s])
	for _, l := range ix.prefLens {
		if l > len(s) {
			break
		}
		h.add(ix.prefixes[s[:l]])
	}
	if v, ok := digitsValue(s); ok {
		segs := ix.ranges[len(s)]
		// i-1 is the last segment whose lo <= v.
		i := sort.Search(len(segs), func(k int) bool { return segs[k].lo > v })
		if i > 0 && v <= segs[i-1].hi {
			h.add(segs[i-1].rules)
		}
	}
	return h
}

// digitsValue is s as a number when it is 1..15 digits.
func digitsValue(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > maxMSISDN {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// normExternalID lower-cases the domain of an External Identifier (domain
// names are case-insensitive; the local identifier is compared as written).
// It allocates only when the domain has upper-case letters.
func normExternalID(id string) string {
	at := strings.LastIndexByte(id, '@')
	if at < 0 {
		return id
	}
	d := id[at+1:]
	for i := 0; i < len(d); i++ {
		if c := d[i]; c >= 'A' && c <= 'Z' {
			return id[:at+1] + strings.ToLower(d)
		}
	}
	return id
}

type rangeRule struct {
	lo, hi uint64
	rule   int32
}

type indexBuilder struct {
	extIDs, domains, msisdns, prefixes map[string][]int32
	prefLens                           []int
	ranges                             [maxMSISDN + 1][]rangeRule
}

func newIndexBuilder() *indexBuilder {
	return &indexBuilder{
		extIDs: map[string][]int32{}, domains: map[string][]int32{},
		msisdns: map[string][]int32{}, prefixes: map[string][]int32{},
	}
}

func addRule(m map[string][]int32, k string, r int32) {
	l := m[k]
	if n := len(l); n > 0 && l[n-1] == r {
		return // a group naming one UE twice
	}
	m[k] = append(l, r)
}

func (b *indexBuilder) add(s Selector, rule int32) {
	switch s.Kind {
	case SelExternalID:
		addRule(b.extIDs, normExternalID(s.Value), rule)
	case SelExternalIDDomain:
		addRule(b.domains, strings.ToLower(strings.TrimPrefix(s.Value, "@")), rule)
	case SelMSISDN:
		addRule(b.msisdns, s.Value, rule)
	case SelMSISDNPrefix:
		addRule(b.prefixes, s.Value, rule)
		if !slices.Contains(b.prefLens, len(s.Value)) {
			b.prefLens = append(b.prefLens, len(s.Value))
		}
	case SelMSISDNRange:
		lo, ok1 := digitsValue(s.Lo)
		hi, ok2 := digitsValue(s.Hi)
		if ok1 && ok2 && len(s.Lo) == len(s.Hi) && lo <= hi {
			b.ranges[len(s.Lo)] = append(b.ranges[len(s.Lo)], rangeRule{lo, hi, rule})
		}
	}
}

func (b *indexBuilder) build(rules []compiledRule) index {
	sets := func(m map[string][]int32) map[string]*ruleSet {
		out := make(map[string]*ruleSet, len(m))
		for k, l := range m {
			out[k] = newRuleSet(l, rules)
		}
		return out
	}
	ix := index{extIDs: sets(b.extIDs), domains: sets(b.domains), msisdns: sets(b.msisdns), prefixes: sets(b.prefixes), prefLens: b.prefLens}
	slices.Sort(ix.prefLens)
	for n, rs := range b.ranges {
		segs := segments(rs)
		out := make([]segment, len(segs))
		for i, s := range segs {
			out[i] = segment{lo: s.lo, hi: s.hi, rules: newRuleSet(s.rules, rules)}
		}
		ix.ranges[n] = out
	}
	return ix
}

// rawSegment is a segment before its rules become a ruleSet.
type rawSegment struct {
	lo, hi uint64
	rules  []int32
}

// segments cuts possibly overlapping ranges into disjoint sorted segments,
// each with the (sorted, distinct) rules covering it; adjacent segments with
// the same rules are merged. Disjoint ranges, the usual case, give one
// segment each, in O(n log n).
func segments(rs []rangeRule) []rawSegment {
	if len(rs) == 0 {
		return nil
	}
	type event struct {
		at    uint64 // the segment boundary: lo, or hi+1
		start bool
		rule  int32
	}
	ev := make([]event, 0, 2*len(rs))
	for _, r := range rs {
		ev = append(ev, event{r.lo, true, r.rule})
		// hi+1 cannot overflow: 15 digits are far below 2^64.
		ev = append(ev, event{r.hi + 1, false, r.rule})
	}
	slices.SortFunc(ev, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	active := map[int32]int{} // rule -> how many of its ranges are open
	var out []rawSegment
	for i := 0; i < len(ev); {
		at := ev[i].at
		for ; i < len(ev) && ev[i].at == at; i++ {
			if ev[i].start {
				active[ev[i].rule]++
			} else if active[ev[i].rule]--; active[ev[i].rule] == 0 {
				delete(active, ev[i].rule)
			}
		}
		if len(active) == 0 || i == len(ev) {
			continue
		}
		next := ev[i].at
		rules := make([]int32, 0, len(active))
		for r := range active {
			rules = append(rules, r)
		}
		slices.Sort(rules)
		if n := len(out); n > 0 && out[n-1].hi+1 == at && slices.Equal(out[n-1].rules, rules) {
			out[n-1].hi = next - 1
			continue
		}
		out = append(out, rawSegment{lo: at, hi: next - 1, rules: rules})
	}
	return out
}

// ruleSet is the rules one selector key (or one range segment) matches,
// ascending. A short set is scanned; a long one, say a domain named by
// thousands of rules for different ports, also gets a service index that
// answers "lowest deny and lowest allow covering this action and port" in
// O(log n).
type ruleSet struct {
	rules []int32
	svc   *svcIndex
}

// svcIndexMin is the set size from which a service index is built.
const svcIndexMin = 16

// svcIndex answers per action (Trigger, Replace, Recall) and port.
type svcIndex struct {
	byAction [3]struct {
		noPort match        // requests without a port: rules without ports
		segs   []svcSegment // disjoint, ascending
	}
	anyAllow int32 // lowest allow rule of the set, for reasons; -1 for none
}

type svcSegment struct {
	lo, hi uint32
	deny   int32
	allow  int32
}

func newRuleSet(l []int32, rules []compiledRule) *ruleSet {
	l = slices.Clone(l)
	slices.Sort(l)
	l = slices.Compact(l)
	rs := &ruleSet{rules: l}
	if len(l) < svcIndexMin {
		return rs
	}
	ix := &svcIndex{anyAllow: -1}
	for _, ri := range l {
		if !rules[ri].deny {
			ix.anyAllow = ri
			break
		}
	}
	for ai := range ix.byAction {
		a := Action(1 << ai)
		np := match{-1, -1, -1}
		var rr []rangeRule
		for _, ri := range l {
			r := &rules[ri]
			if r.actions&a == 0 {
				continue
			}
			if r.ports == nil {
				np.take(ri, r.deny)
				rr = append(rr, rangeRule{0, 65535, ri})
				continue
			}
			for _, p := range r.ports {
				rr = append(rr, rangeRule{uint64(p.Lo), uint64(p.Hi), ri})
			}
		}
		var segs []svcSegment
		for _, s := range segments(rr) {
			m := match{-1, -1, -1}
			for _, ri := range s.rules {
				m.take(ri, rules[ri].deny)
			}
			if n := len(segs); n > 0 && segs[n-1].hi+1 == uint32(s.lo) && segs[n-1].deny == m.deny && segs[n-1].allow == m.allow {
				segs[n-1].hi = uint32(s.hi)
				continue
			}
			segs = append(segs, svcSegment{uint32(s.lo), uint32(s.hi), m.deny, m.allow})
		}
		ix.byAction[ai].noPort = np
		ix.byAction[ai].segs = segs
	}
	rs.svc = ix
	return rs
}

// lookup is the lowest deny and allow rules covering q.
func (ix *svcIndex) lookup(q *Query) match {
	a := &ix.byAction[bits.TrailingZeros8(uint8(q.Action))]
	if !q.HasPort {
		return a.noPort
	}
	segs := a.segs
	// i-1 is the last segment whose lo <= the port.
	i := sort.Search(len(segs), func(k int) bool { return segs[k].lo > q.Port })
	if i > 0 && q.Port <= segs[i-1].hi {
		return match{segs[i-1].deny, segs[i-1].allow, -1}
	}
	return match{-1, -1, -1}
}
