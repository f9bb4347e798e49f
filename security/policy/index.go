package policy

import (
	"cmp"
	"slices"
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
	extIDs   map[string][]int32 // whole External Identifier, domain lower-case
	domains  map[string][]int32 // lower-case domain
	msisdns  map[string][]int32
	prefixes map[string][]int32
	prefLens []int                    // distinct prefix lengths, ascending
	ranges   [maxMSISDN + 1][]segment // by number of digits
}

// segment is [lo, hi] with the rules of every range covering it.
type segment struct {
	lo, hi uint64
	rules  []int32
}

// maxHits bounds the lists one identity can hit: 2 for an External
// Identifier (exact, domain); 1 exact + 15 prefix lengths + 1 range for an
// MSISDN.
const maxHits = 2 + maxMSISDN

type hits struct {
	lists [maxHits][]int32
	n     int
}

func (h *hits) add(l []int32) {
	if len(l) > 0 {
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
		// The last segment whose lo <= v.
		i, j := 0, len(segs)
		for i < j {
			m := int(uint(i+j) >> 1)
			if segs[m].lo <= v {
				i = m + 1
			} else {
				j = m
			}
		}
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
	ix     index
	ranges [maxMSISDN + 1][]rangeRule
}

func newIndexBuilder() *indexBuilder {
	return &indexBuilder{ix: index{
		extIDs: map[string][]int32{}, domains: map[string][]int32{},
		msisdns: map[string][]int32{}, prefixes: map[string][]int32{},
	}}
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
		addRule(b.ix.extIDs, normExternalID(s.Value), rule)
	case SelExternalIDDomain:
		addRule(b.ix.domains, strings.ToLower(strings.TrimPrefix(s.Value, "@")), rule)
	case SelMSISDN:
		addRule(b.ix.msisdns, s.Value, rule)
	case SelMSISDNPrefix:
		addRule(b.ix.prefixes, s.Value, rule)
		if !slices.Contains(b.ix.prefLens, len(s.Value)) {
			b.ix.prefLens = append(b.ix.prefLens, len(s.Value))
		}
	case SelMSISDNRange:
		lo, ok1 := digitsValue(s.Lo)
		hi, ok2 := digitsValue(s.Hi)
		if ok1 && ok2 && len(s.Lo) == len(s.Hi) && lo <= hi {
			b.ranges[len(s.Lo)] = append(b.ranges[len(s.Lo)], rangeRule{lo, hi, rule})
		}
	}
}

func (b *indexBuilder) build() index {
	slices.Sort(b.ix.prefLens)
	for n, rs := range b.ranges {
		b.ix.ranges[n] = segments(rs)
	}
	return b.ix
}

// segments cuts possibly overlapping ranges into disjoint sorted segments,
// each with the (sorted, distinct) rules covering it; adjacent segments with
// the same rules are merged. Disjoint ranges, the usual case, give one
// segment each, in O(n log n).
func segments(rs []rangeRule) []segment {
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
	var out []segment
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
		out = append(out, segment{lo: at, hi: next - 1, rules: rules})
	}
	return out
}
