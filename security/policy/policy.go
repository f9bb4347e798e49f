package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mtciwf/mtciwf/security"
)

// Query is one request to judge.
type Query struct {
	// SCS is the Origin-Host of the requester (the SCS, also when an agent
	// relayed the request: agents keep Origin-Host, RFC 6733 6.1.9).
	SCS string
	// Realm is the requester's Origin-Realm; checked against the entry when set.
	Realm string
	// Via is the Origin-Host of the agent (DRA) the request came through;
	// empty when the SCS is connected directly.
	Via string
	// Action is what the request asks for.
	Action Action
	// ExternalID and MSISDN identify the UE; at least one is set. When both
	// are, both must be allowed (the HSS may resolve either).
	ExternalID, MSISDN string
	// Port is the Application-Port-Identifier when HasPort.
	Port    uint32
	HasPort bool
	// PayloadLen is the trigger payload's length in bytes.
	PayloadLen int
	// Validity is the validity the trigger will get (its Validity-Time, or
	// the daemon's default when it has none); 0 skips the check.
	Validity time.Duration
	// Priority is the Priority-Indication; NonPriority when absent.
	Priority Priority
	// SCSIdentity is the request's SCS-Identity; "" skips the check.
	SCSIdentity string
}

// Code is the outcome of a decision.
type Code uint8

// Codes. RequestStatus maps each to the Tsp Request-Status (TS 29.368 6.4.8).
const (
	OK               Code = iota // allowed
	IdentityMismatch             // SCS-Identity is not the SCS's (103 INVSCSID)
	NotAuthorized                // no entry, agent not allowed, UE or service not allowed (105)
	Payload                      // payload above the SCS's limit (101 INVPAYLOAD)
	Validity                     // validity above the SCS's limit (104 INVPERIOD)
	PriorityDenied               // priority not allowed for the SCS (105)
	RateExceeded                 // token bucket empty (109)
	QuotaExceeded                // a quota window is used up (108)
	Unavailable                  // the quota store failed (201 TEMPORARY_ERROR)
)

var codeNames = [...]string{"OK", "IdentityMismatch", "NotAuthorized", "Payload", "Validity", "PriorityDenied", "RateExceeded", "QuotaExceeded", "Unavailable"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// RequestStatus is the Request-Status value (TS 29.368 6.4.8) a refusal
// with c carries; 0 (SUCCESS) for OK.
func (c Code) RequestStatus() uint32 {
	switch c {
	case IdentityMismatch:
		return 103
	case NotAuthorized, PriorityDenied:
		return 105
	case Payload:
		return 101
	case Validity:
		return 104
	case RateExceeded:
		return 109
	case QuotaExceeded:
		return 108
	case Unavailable:
		return 201
	}
	return 0
}

// Decision is the answer to a Query.
type Decision struct {
	Allowed bool
	Code    Code
	// SCS is the id of the entry that judged the request ("" when none).
	SCS string
	// Rule says what decided: a rule ("acme/rules[4] deny msisdn 491*******66",
	// identities masked), a limit ("acme/limits.max_payload_bytes"), or
	// "default deny".
	Rule string
	// Reason is a sentence a person can act on; it names no UE identity,
	// so it can go into Error-Message and logs as it is.
	Reason string
	// File and Line say where the deciding rule is written, when a rule
	// decided (0 for a limit, "no entry" or "default deny"), so the audit
	// log points the operator at it; not for Error-Message, which goes to
	// the SCS.
	File string
	Line int
}

// Policy is a compiled policy: immutable, safe for concurrent use.
type Policy struct {
	file   string
	scs    []*scsPolicy
	byHost map[string]*scsPolicy // peer Origin-Host -> entry
	byID   map[string]*scsPolicy
	peers  map[string]Peer
	rules  int
	digest [sha256.Size]byte // of the file's bytes, when loaded by Load
}

// Peer is a Diameter identity the policy lets connect.
type Peer struct {
	OriginHost string
	// Realm is the Origin-Realm of an SCS peer; "" for an agent.
	Realm string
	// Agent is true for a DRA that carries the requests of SCS.
	Agent bool
	// SCS are the ids of the entries the peer speaks for.
	SCS []string
}

// SCS is what the policy says about one SCS, besides its rules.
type SCS struct {
	ID       string
	Identity string
	SMSCPool string
	Limits   Limits
	HSSCache HSSCache
}

type scsPolicy struct {
	SCS
	realms     map[string]string // origin host -> realm
	agents     map[string]bool
	priorities uint8 // bit per Priority
	rules      []compiledRule
	idx        index

	// Rule names of the Limiter's decisions, built once at Compile so
	// Limiter.Allow, which runs per request, does not build them.
	limitsRule, rateRule string
	quotaRules           []string // by Limits.Quota index
}

type compiledRule struct {
	deny    bool
	ports   []PortRange // nil: any
	actions Action
	desc    string // "acme/rules[4] deny msisdn 491*******66"
	line    int
}

func (r *compiledRule) covers(q *Query) bool {
	if r.actions&q.Action == 0 {
		return false
	}
	if r.ports == nil {
		return true
	}
	if !q.HasPort {
		return false
	}
	for _, pr := range r.ports {
		if q.Port >= pr.Lo && q.Port <= pr.Hi {
			return true
		}
	}
	return false
}

// Compile checks f and builds the decision structures. On failure it
// returns every problem found, each an *Error, joined with errors.Join.
func Compile(f *File) (*Policy, error) {
	p := &problems{file: f.Name}
	validate(f, p)
	for i, e := range f.SCS {
		key := fmt.Sprintf("scs[%d]", i)
		if e.ID == "" {
			p.add(e.Line, key+".id", "is required")
		}
		if e.Identity == "" {
			p.add(e.Line, key+".scs_identity", "is required")
		}
		if len(e.Peers) == 0 {
			p.add(e.Line, key+".peers", "is empty; an SCS needs at least one identity to connect as")
		}
		for j, r := range e.Rules {
			if r.Selector.Kind == 0 {
				p.add(r.Line, fmt.Sprintf("%s.rules[%d]", key, j), "has no selector")
			}
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	groups := map[string][]Selector{}
	for _, g := range f.Groups {
		groups[g.Name] = g.Selectors
	}
	pol := &Policy{file: f.Name, byHost: map[string]*scsPolicy{}, byID: map[string]*scsPolicy{}, peers: map[string]Peer{}}
	for _, e := range f.SCS {
		sp := &scsPolicy{
			SCS:    SCS{ID: e.ID, Identity: e.Identity, SMSCPool: e.SMSCPool, Limits: e.Limits, HSSCache: e.HSSCache},
			realms: map[string]string{},
			agents: map[string]bool{},
		}
		if sp.SMSCPool == "" {
			sp.SMSCPool = "default"
		}
		sp.limitsRule, sp.rateRule = e.ID+"/limits", e.ID+"/limits.rate"
		for _, q := range e.Limits.Quota {
			sp.quotaRules = append(sp.quotaRules, e.ID+"/limits.quota "+q.Window.String())
		}
		if len(e.Limits.Priorities) == 0 {
			sp.priorities = 1<<NonPriority | 1<<HighPriority
		}
		for _, pr := range e.Limits.Priorities {
			sp.priorities |= 1 << pr
		}
		for _, pe := range e.Peers {
			h := strings.ToLower(pe.OriginHost)
			sp.realms[h] = strings.ToLower(pe.Realm)
			pol.byHost[h] = sp
			pol.peers[h] = Peer{OriginHost: h, Realm: strings.ToLower(pe.Realm), SCS: []string{e.ID}}
		}
		for _, a := range e.Agents {
			a = strings.ToLower(a)
			sp.agents[a] = true
			ap := pol.peers[a]
			ap.OriginHost, ap.Agent = a, true
			ap.SCS = append(ap.SCS, e.ID)
			pol.peers[a] = ap
		}
		b := newIndexBuilder()
		for j, r := range e.Rules {
			cr := compiledRule{deny: r.Deny, actions: allActions, line: r.Line}
			if len(r.Actions) > 0 {
				cr.actions = 0
				for _, a := range r.Actions {
					cr.actions |= a
				}
			}
			if r.Ports != nil {
				cr.ports = mergePorts(r.Ports)
			}
			cr.desc = fmt.Sprintf("%s/rules[%d] %s", e.ID, j, describe(r))
			sp.rules = append(sp.rules, cr)
			sels := []Selector{r.Selector}
			if r.Selector.Kind == SelGroup {
				sels = groups[r.Selector.Value]
			}
			for _, s := range sels {
				b.add(s, int32(j))
			}
		}
		sp.idx = b.build(sp.rules)
		pol.rules += len(e.Rules)
		pol.scs = append(pol.scs, sp)
		pol.byID[e.ID] = sp
	}
	return pol, nil
}

// describe names a rule for decisions and logs, with single-UE identities
// masked (security.MaskMSISDN, MaskExternalID).
func describe(r Rule) string {
	verb := "allow"
	if r.Deny {
		verb = "deny"
	}
	s := r.Selector
	var what string
	switch s.Kind {
	case SelExternalID:
		what = "external_id " + security.MaskExternalID(s.Value)
	case SelMSISDN:
		what = "msisdn " + security.MaskMSISDN(s.Value)
	case SelMSISDNRange:
		what = "msisdn_range " + s.Lo + "-" + s.Hi
	default:
		what = s.Kind.String() + " " + s.Value
	}
	return verb + " " + what
}

func mergePorts(in []PortRange) []PortRange {
	ps := slices.Clone(in)
	slices.SortFunc(ps, func(a, b PortRange) int { return cmp.Compare(a.Lo, b.Lo) })
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && p.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, p.Hi)
			continue
		}
		out = append(out, p)
	}
	return out
}

// File returns the name of the file the policy was compiled from.
func (p *Policy) File() string { return p.file }

// Digest returns the SHA-256 of the file the policy was loaded from, in
// hex, for logs ("which policy was in force"); "" when it was compiled from
// a File built in code.
func (p *Policy) Digest() string {
	if p.digest == [sha256.Size]byte{} {
		return ""
	}
	return hex.EncodeToString(p.digest[:])
}

// Rules returns the number of rules over all SCS entries.
func (p *Policy) Rules() int { return p.rules }

// Lookup returns the entry of the SCS whose peer identity (Origin-Host) is
// host.
func (p *Policy) Lookup(host string) (SCS, bool) {
	sp := p.entryFor(host)
	if sp == nil {
		return SCS{}, false
	}
	return sp.SCS, true
}

// entryFor is the entry whose peer is host, compared case-insensitively
// (RFC 6733 4.3.1: a DiameterIdentity is an FQDN); without allocating when
// host is already lower-case, as peers send it.
func (p *Policy) entryFor(host string) *scsPolicy {
	if sp := p.byHost[host]; sp != nil {
		return sp
	}
	if l := strings.ToLower(host); l != host {
		return p.byHost[l]
	}
	return nil
}

// Entry returns the entry of the SCS with id (Decision.SCS).
func (p *Policy) Entry(id string) (SCS, bool) {
	sp := p.byID[id]
	if sp == nil {
		return SCS{}, false
	}
	return sp.SCS, true
}

// Peers returns every Diameter identity the policy lets connect, by
// lower-case Origin-Host. The map is a copy.
func (p *Policy) Peers() map[string]Peer {
	out := make(map[string]Peer, len(p.peers))
	for h, pe := range p.peers {
		pe.SCS = slices.Clone(pe.SCS)
		out[h] = pe
	}
	return out
}

// RemovedPeers returns, sorted, the Origin-Hosts a peer connected under old
// may no longer use under new, which the daemon disconnects (DPR): an SCS
// identity gone from the policy, moved to another SCS entry or to another
// realm, or turned into an agent; an agent gone from every entry, or turned
// into an SCS identity. An agent that still carries some SCS stays
// connected (Decide refuses requests of the SCSs it no longer carries). A
// nil old or new counts as an empty policy.
func RemovedPeers(old, new *Policy) []string {
	if old == nil {
		return nil
	}
	var out []string
	for h, po := range old.peers {
		var pn Peer
		var ok bool
		if new != nil {
			pn, ok = new.peers[h]
		}
		if !ok || pn.Agent != po.Agent || !po.Agent && (pn.Realm != po.Realm || !slices.Equal(pn.SCS, po.SCS)) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// Decide judges q: the authorization of TS 23.682 5.2.1 (the MTC-IWF checks
// that the SCS is authorised to send the trigger request), per UE and per
// service as TS 33.187 asks, with the Request-Status of TS 29.368 6.4.8 for
// each refusal. It is pure and safe for concurrent use; it does not
// allocate when it allows.
func (p *Policy) Decide(q Query) Decision {
	sp := p.entryFor(q.SCS)
	if sp == nil {
		return Decision{Code: NotAuthorized, Rule: "no entry",
			Reason: fmt.Sprintf("Origin-Host %s has no entry in the authorization policy", q.SCS)}
	}
	if q.Realm != "" && !strings.EqualFold(q.Realm, sp.realms[strings.ToLower(q.SCS)]) {
		return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: sp.ID + "/peers",
			Reason: fmt.Sprintf("SCS %s is configured in realm %s, not %s", sp.ID, sp.realms[strings.ToLower(q.SCS)], q.Realm)}
	}
	if q.Via != "" && !sp.agents[q.Via] && !sp.agents[strings.ToLower(q.Via)] {
		return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: sp.ID + "/agents",
			Reason: fmt.Sprintf("agent %s is not listed to carry the requests of SCS %s", q.Via, sp.ID)}
	}
	if q.SCSIdentity != "" && q.SCSIdentity != sp.Identity {
		return Decision{Code: IdentityMismatch, SCS: sp.ID, Rule: sp.ID + "/scs_identity",
			Reason: fmt.Sprintf("SCS-Identity %s is not the identity of SCS %s", q.SCSIdentity, sp.ID)}
	}
	if l := sp.Limits.MaxPayloadBytes; l > 0 && q.PayloadLen > l {
		return Decision{Code: Payload, SCS: sp.ID, Rule: sp.ID + "/limits.max_payload_bytes",
			Reason: fmt.Sprintf("payload of %d bytes exceeds the limit of %d bytes for SCS %s", q.PayloadLen, l, sp.ID)}
	}
	if l := sp.Limits.MaxValidity; l > 0 && q.Validity > l {
		return Decision{Code: Validity, SCS: sp.ID, Rule: sp.ID + "/limits.max_validity",
			Reason: fmt.Sprintf("validity of %d s exceeds the limit of %d s for SCS %s", int64(q.Validity/time.Second), int64(l/time.Second), sp.ID)}
	}
	if q.Priority > HighPriority || sp.priorities&(1<<q.Priority) == 0 {
		return Decision{Code: PriorityDenied, SCS: sp.ID, Rule: sp.ID + "/limits.priorities",
			Reason: fmt.Sprintf("priority %s is not allowed for SCS %s", q.Priority, sp.ID)}
	}
	if q.Action != Trigger && q.Action != Replace && q.Action != Recall {
		return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: "default deny",
			Reason: fmt.Sprintf("action %s is not one the policy knows", q.Action)}
	}
	if q.ExternalID == "" && q.MSISDN == "" {
		return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: "default deny",
			Reason: "the request names no UE (neither External-Identifier nor MSISDN)"}
	}
	if q.MSISDN != "" {
		if _, ok := digitsValue(q.MSISDN); !ok {
			return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: "default deny",
				Reason: "the MSISDN is not 1 to 15 digits"}
		}
	}
	var m [2]match
	n := 0
	if q.ExternalID != "" {
		m[n] = sp.judge(&q, sp.idx.externalID(q.ExternalID))
		n++
	}
	if q.MSISDN != "" {
		m[n] = sp.judge(&q, sp.idx.msisdn(q.MSISDN))
		n++
	}
	for _, r := range m[:n] {
		if r.deny >= 0 {
			return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: sp.rules[r.deny].desc,
				Reason: fmt.Sprintf("%s forbids %s%s for this UE", sp.rules[r.deny].desc, q.Action, portText(&q)),
				File:   p.file, Line: sp.rules[r.deny].line}
		}
	}
	for i, r := range m[:n] {
		if r.allow < 0 {
			which := "this UE"
			if n == 2 {
				which = [2]string{"this External-Identifier", "this MSISDN"}[i]
			}
			reason := fmt.Sprintf("no rule of SCS %s allows %s%s for %s", sp.ID, q.Action, portText(&q), which)
			if r.partial >= 0 {
				reason += fmt.Sprintf(" (%s names it, for other ports or actions)", sp.rules[r.partial].desc)
			}
			return Decision{Code: NotAuthorized, SCS: sp.ID, Rule: "default deny", Reason: reason}
		}
	}
	return Decision{Allowed: true, Code: OK, SCS: sp.ID, Rule: sp.rules[m[0].allow].desc, Reason: "allowed",
		File: p.file, Line: sp.rules[m[0].allow].line}
}

func portText(q *Query) string {
	if !q.HasPort {
		return " without application port"
	}
	return " on port " + strconv.FormatUint(uint64(q.Port), 10)
}

// match is what the rules say about one identity: the lowest-indexed deny
// and allow rules that cover the request, and an allow rule that names the
// UE but not this service (for the reason); -1 for none.
type match struct{ deny, allow, partial int32 }

func (sp *scsPolicy) judge(q *Query, hits hits) match {
	m := match{-1, -1, -1}
	for _, set := range hits.lists[:hits.n] {
		if set.svc != nil {
			sm := set.svc.lookup(q)
			if sm.deny >= 0 {
				m.take(sm.deny, true)
			}
			if sm.allow >= 0 {
				m.take(sm.allow, false)
			} else if a := set.svc.anyAllow; a >= 0 && (m.partial < 0 || a < m.partial) {
				m.partial = a
			}
			continue
		}
		for _, ri := range set.rules {
			r := &sp.rules[ri]
			if !r.covers(q) {
				if !r.deny && (m.partial < 0 || ri < m.partial) {
					m.partial = ri
				}
				continue
			}
			m.take(ri, r.deny)
		}
	}
	return m
}

// take records rule ri, covering the request, if it is the lowest of its kind.
func (m *match) take(ri int32, deny bool) {
	if deny {
		if m.deny < 0 || ri < m.deny {
			m.deny = ri
		}
	} else if m.allow < 0 || ri < m.allow {
		m.allow = ri
	}
}
