package policy

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is a policy file as written, after syntax and per-value checks.
// Compile checks what spans entries (duplicates, group references) and
// builds the decision structures. Line fields are 1-based lines of the file
// (0 when the value was built in code), used in error messages.
type File struct {
	// Name is the file name used in error messages.
	Name string
	// Groups are named selector sets, referenced by rules with {group: name}.
	Groups []Group
	// SCS are the SCS entries; an SCS with no entry may send nothing.
	SCS []SCSEntry
}

// Group is a named set of selectors, defined once and reused by rules.
type Group struct {
	Name      string
	Selectors []Selector
	Line      int
}

// SelectorKind says how a Selector matches a UE identity.
type SelectorKind uint8

// Selector kinds, named as in the file.
const (
	SelExternalID       SelectorKind = iota + 1 // external_id: the whole External Identifier, domain case-insensitive
	SelExternalIDDomain                         // external_id_domain: every External Identifier of the domain (case-insensitive)
	SelMSISDN                                   // msisdn: one MSISDN
	SelMSISDNRange                              // msisdn_range: [lo, hi], digit strings of one length, inclusive
	SelMSISDNPrefix                             // msisdn_prefix: every MSISDN starting with these digits
	SelGroup                                    // group: the selectors of a named group
)

var selectorKeys = map[string]SelectorKind{
	"external_id":        SelExternalID,
	"external_id_domain": SelExternalIDDomain,
	"msisdn":             SelMSISDN,
	"msisdn_range":       SelMSISDNRange,
	"msisdn_prefix":      SelMSISDNPrefix,
	"group":              SelGroup,
}

// String returns the file's key for k.
func (k SelectorKind) String() string {
	for name, v := range selectorKeys {
		if v == k {
			return name
		}
	}
	return "selector(" + strconv.Itoa(int(k)) + ")"
}

// Selector picks UEs by one identity rule.
type Selector struct {
	Kind SelectorKind
	// Value is the External Identifier, domain (without "@"), MSISDN,
	// prefix or group name; Lo and Hi bound an msisdn_range.
	Value, Lo, Hi string
	Line          int
}

// SCSEntry is one SCS.
type SCSEntry struct {
	// ID names the entry in logs and decisions; unique.
	ID string
	// Peers are the identities the SCS may connect as (Origin-Host, certificate dNSName).
	Peers []PeerIdentity
	// Agents are the Origin-Hosts of the DRAs that may carry its requests (TS 29.368 6.3.2).
	Agents []string
	// Identity is its SCS-Identity, E.164 digits; unique.
	Identity string
	// SMSCPool names the SMS-SC pool its triggers go to. Default: "default".
	SMSCPool string
	Limits   Limits
	// HSSCache says how long an HSS answer for this SCS may be reused.
	HSSCache HSSCache
	Rules    []Rule
	Line     int
}

// MaxHSSCacheTTL bounds hss_cache.ttl: the answer carries the UE's
// serving node (routing information), which goes stale when the UE moves;
// an hour is already long for that.
const MaxHSSCacheTTL = time.Hour

// HSSCache is how long the MTC-IWF may reuse the HSS's answer to a
// Subscriber-Information-Request for the same UE and SCS instead of asking
// again: TS 23.682 5.2.1 NOTE 2 lets the MTC-IWF cache the authorization
// and routing information for the UE. Zero values cache nothing.
type HSSCache struct {
	// TTL keeps a successful answer (the HSS authorized this SCS for this
	// UE; IMSI and serving node).
	TTL time.Duration
	// NegativeTTL keeps a permanent refusal (Experimental-Result 5001
	// user unknown, 5510/5511 not authorized): shorter, so a UE provisioned
	// after a refusal is served soon.
	NegativeTTL time.Duration
}

// PeerIdentity is a Diameter identity an SCS may connect as.
type PeerIdentity struct {
	OriginHost, Realm string
	Line              int
}

// Limits bound what one SCS may ask for. A zero field means no limit of
// that kind from the policy (the daemon's own limits still apply).
type Limits struct {
	MaxPayloadBytes int
	MaxValidity     time.Duration
	// Priorities allowed; empty means both.
	Priorities []Priority
	// Rate is the token bucket; nil means no rate limit.
	Rate *Rate
	// Quota are counts per fixed window; each must hold.
	Quota []Quota
}

// Rate is a token bucket: PerSecond sustained, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Quota is at most Count requests per window; windows are fixed and
// aligned to multiples of Window since the zero time (an hour window runs
// from hh:00 to hh:00+1h UTC, a 24h window from midnight UTC).
type Quota struct {
	Window time.Duration
	Count  int
	Line   int
}

// Rule is an allow or deny rule: a selector × the services it covers.
type Rule struct {
	Deny     bool
	Selector Selector
	// Ports are application port ranges; nil means any port, and also a
	// request without Application-Port-Identifier. A rule that lists ports
	// covers only requests that carry one of them.
	Ports []PortRange
	// Actions covered; empty means all three.
	Actions []Action
	Line    int
}

// PortRange is an inclusive range of application ports (0..65535).
type PortRange struct{ Lo, Hi uint32 }

// Action is what a request asks for (Action-Type of the DAR).
type Action uint8

// Actions.
const (
	Trigger Action = 1 << iota // device trigger request (Action-Type 1)
	Replace                    // device trigger replace (4)
	Recall                     // device trigger recall (3)
)

const allActions = Trigger | Replace | Recall

// String returns the file's name for a.
func (a Action) String() string {
	switch a {
	case Trigger:
		return "trigger"
	case Replace:
		return "replace"
	case Recall:
		return "recall"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Priority is the Priority-Indication of a trigger (TS 29.368 6.4.15); a
// request without one is NonPriority.
type Priority uint8

// Priorities, with the values of the Priority-Indication AVP.
const (
	NonPriority  Priority = 0
	HighPriority Priority = 1
)

// String returns the file's name for p.
func (p Priority) String() string {
	switch p {
	case NonPriority:
		return "non_priority"
	case HighPriority:
		return "priority"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// Error is one problem in a policy file.
type Error struct {
	File string
	// Line is 1-based; 0 when the problem concerns the whole file.
	Line int
	// Key is the path of the value, e.g. "scs[0].rules[2].ports[1]".
	Key string
	// Problem says what is wrong, for a person to act on.
	Problem string
}

// Error returns "file:line: key: problem".
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		s += ": " + e.Key
	}
	return s + ": " + e.Problem
}

// problems collects Errors.
type problems struct {
	file string
	errs []*Error
}

func (p *problems) add(line int, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Problem: fmt.Sprintf(format, args...)})
}

// err joins the problems sorted by line (stable, so problems on one line
// keep the order they were found in); nil when there are none.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// maxFileSize bounds what Load reads: a policy with 100,000 rules is a few MB.
const maxFileSize = 64 << 20

// Load reads, parses and compiles the policy file at path. On failure it
// returns every problem found, each an *Error, joined with errors.Join.
func Load(path string) (*Policy, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{File: path, Problem: err.Error()}
	}
	if st.Size() > maxFileSize {
		return nil, &Error{File: path, Problem: fmt.Sprintf("file is %d bytes, more than the %d a policy may have", st.Size(), maxFileSize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Problem: err.Error()}
	}
	f, perr := Parse(path, data)
	if perr != nil {
		if f == nil {
			return nil, perr
		}
		// Report the cross-entry problems of what did parse as well, so
		// one run shows everything.
		p := &problems{file: path}
		for _, e := range perr.(interface{ Unwrap() []error }).Unwrap() {
			p.errs = append(p.errs, e.(*Error))
		}
		validate(f, p)
		return nil, p.err()
	}
	pol, err := Compile(f)
	if err != nil {
		return nil, err
	}
	pol.digest = sha256.Sum256(data)
	return pol, nil
}

// Parse reads a policy file's YAML. name is used in error messages. On
// failure it returns every problem found (each an *Error, joined with
// errors.Join) and, unless the YAML itself is unreadable, the File as far as
// it could be read.
func Parse(name string, data []byte) (*File, error) {
	p := &problems{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		// yaml.v3 says "yaml: line N: ..."; move the line where ours go.
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			if i := strings.IndexByte(rest, ':'); i > 0 {
				if n, err := strconv.Atoi(rest[:i]); err == nil {
					line, msg = n, strings.TrimSpace(rest[i+1:])
				}
			}
		}
		p.add(line, "", "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		return nil, p.err()
	}
	f := &File{Name: name}
	if len(doc.Content) == 0 {
		p.add(0, "", "the file is empty; it needs at least an scs list")
		return f, p.err()
	}
	root := doc.Content[0]
	fields := p.fields(root, "", "groups", "scs")
	if n := fields["groups"]; n != nil {
		f.Groups = p.groups(n)
	}
	if n := fields["scs"]; n != nil {
		p.seq(n, "scs", func(key string, e *yaml.Node) {
			f.SCS = append(f.SCS, p.scs(key, e))
		})
	} else {
		p.add(root.Line, "scs", "is required: the list of SCS entries")
	}
	return f, p.err()
}

// fields checks that n is a mapping whose keys are all in allowed, each
// once, with a value, and returns the value nodes by key.
func (p *problems) fields(n *yaml.Node, key string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, key, "must be a mapping with keys %s, not %s", strings.Join(allowed, ", "), kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		path := join(key, name)
		if !slices.Contains(allowed, name) {
			p.add(k.Line, path, "unknown key; allowed here: %s", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[name]; dup {
			p.add(k.Line, path, "appears twice in one mapping")
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			p.add(k.Line, path, "has no value (write [] for an empty list)")
			continue
		}
		out[name] = v
	}
	return out
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the value %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// seq calls fn for each element of the list n.
func (p *problems) seq(n *yaml.Node, key string, fn func(key string, e *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, key, "must be a list, not %s", kindName(n))
		return
	}
	for i, e := range n.Content {
		fn(fmt.Sprintf("%s[%d]", key, i), e)
	}
}

// str returns the scalar n as a string; "" with a problem when it is not a
// non-empty scalar.
func (p *problems) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.add(n.Line, key, "must be a single value, not %s", kindName(n))
		return ""
	}
	if n.Value == "" {
		p.add(n.Line, key, "must not be empty")
	}
	return n.Value
}

func (p *problems) integer(n *yaml.Node, key string) (int, bool) {
	s := p.str(n, key)
	if s == "" {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || n.Tag != "!!int" {
		p.add(n.Line, key, "%q is not a whole number", s)
		return 0, false
	}
	return v, true
}

func (p *problems) duration(n *yaml.Node, key string) (time.Duration, bool) {
	s := p.str(n, key)
	if s == "" {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.add(n.Line, key, "%q is not a duration such as \"90s\", \"1h\" or \"24h\"", s)
		return 0, false
	}
	if d <= 0 {
		p.add(n.Line, key, "%s must be above 0", s)
		return 0, false
	}
	return d, true
}

// strList reads a list of non-empty scalars.
func (p *problems) strList(n *yaml.Node, key string) []string {
	var out []string
	p.seq(n, key, func(k string, e *yaml.Node) {
		if s := p.str(e, k); s != "" {
			out = append(out, s)
		}
	})
	return out
}

func (p *problems) groups(n *yaml.Node) []Group {
	var out []Group
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "groups", "must be a mapping of group name to a list of selectors, not %s", kindName(n))
		return nil
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := "groups." + k.Value
		if k.Value == "" {
			p.add(k.Line, "groups", "a group needs a name")
			continue
		}
		if seen[k.Value] {
			p.add(k.Line, key, "group defined twice")
			continue
		}
		seen[k.Value] = true
		g := Group{Name: k.Value, Line: k.Line}
		p.seq(v, key, func(key string, e *yaml.Node) {
			s, ok := p.selector(e, key)
			if !ok {
				return
			}
			if s.Kind == SelGroup {
				p.add(e.Line, key+".group", "a group cannot name another group; list its selectors here")
				return
			}
			g.Selectors = append(g.Selectors, s)
		})
		if len(v.Content) == 0 && v.Kind == yaml.SequenceNode {
			p.add(v.Line, key, "is empty; a group needs at least one selector")
		}
		out = append(out, g)
	}
	return out
}

// selector reads a one-key mapping such as {msisdn: "491710000001"}.
func (p *problems) selector(n *yaml.Node, key string) (Selector, bool) {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range selectorKeys {
			if !yield(k) {
				return
			}
		}
	})
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		p.add(n.Line, key, "must be a selector with exactly one of the keys %s", strings.Join(names, ", "))
		return Selector{}, false
	}
	k, v := n.Content[0], n.Content[1]
	kind, ok := selectorKeys[k.Value]
	path := join(key, k.Value)
	if !ok {
		p.add(k.Line, path, "unknown selector; one of %s", strings.Join(names, ", "))
		return Selector{}, false
	}
	s := Selector{Kind: kind, Line: k.Line}
	switch kind {
	case SelMSISDNRange:
		if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
			p.add(v.Line, path, "must be a list of two MSISDNs [lo, hi], not %s", kindName(v))
			return s, false
		}
		s.Lo = p.str(v.Content[0], path+"[0]")
		s.Hi = p.str(v.Content[1], path+"[1]")
		if s.Lo == "" || s.Hi == "" {
			return s, false
		}
		okLo := p.digits(v.Content[0].Line, path+"[0]", s.Lo, "an MSISDN")
		okHi := p.digits(v.Content[1].Line, path+"[1]", s.Hi, "an MSISDN")
		if !okLo || !okHi {
			return s, false
		}
		if len(s.Lo) != len(s.Hi) {
			p.add(v.Line, path, "%s and %s have different lengths (%d and %d digits); a range compares numbers of one length", s.Lo, s.Hi, len(s.Lo), len(s.Hi))
			return s, false
		}
		if s.Lo > s.Hi {
			p.add(v.Line, path, "lo %s is above hi %s", s.Lo, s.Hi)
			return s, false
		}
		return s, true
	}
	s.Value = p.str(v, path)
	if s.Value == "" {
		return s, false
	}
	switch kind {
	case SelExternalID:
		at := strings.LastIndexByte(s.Value, '@')
		if at <= 0 || at == len(s.Value)-1 || strings.ContainsAny(s.Value, " \t") {
			p.add(v.Line, path, "%q is not an External Identifier <local-id>@<domain> (TS 23.682 4.6.2)", s.Value)
			return s, false
		}
		s.Value = normExternalID(s.Value)
	case SelExternalIDDomain:
		d := strings.TrimPrefix(s.Value, "@")
		if d == "" || strings.ContainsAny(d, "@ \t") {
			p.add(v.Line, path, "%q is not a domain such as iot.example.com", s.Value)
			return s, false
		}
		s.Value = strings.ToLower(d)
	case SelMSISDN:
		return s, p.digits(v.Line, path, s.Value, "an MSISDN")
	case SelMSISDNPrefix:
		return s, p.digits(v.Line, path, s.Value, "an MSISDN prefix")
	}
	return s, true
}

// maxMSISDN is the longest E.164 number (ITU-T E.164: 15 digits).
const maxMSISDN = 15

func (p *problems) digits(line int, key, s, what string) bool {
	if len(s) == 0 || len(s) > maxMSISDN || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		p.add(line, key, "%q is not %s: 1 to %d digits, no \"+\", spaces or dashes", s, what, maxMSISDN)
		return false
	}
	return true
}

func (p *problems) scs(key string, n *yaml.Node) SCSEntry {
	e := SCSEntry{Line: n.Line, SMSCPool: "default"}
	fields := p.fields(n, key, "id", "peers", "agents", "scs_identity", "smsc_pool", "limits", "hss_cache", "rules")
	if v := fields["id"]; v != nil {
		e.ID = p.str(v, key+".id")
	} else if n.Kind == yaml.MappingNode {
		p.add(n.Line, key+".id", "is required: a name for this SCS in logs and decisions")
	}
	if v := fields["peers"]; v != nil {
		p.seq(v, key+".peers", func(k string, pn *yaml.Node) {
			pf := p.fields(pn, k, "origin_host", "realm")
			id := PeerIdentity{Line: pn.Line}
			if h := pf["origin_host"]; h != nil {
				id.OriginHost = strings.ToLower(p.str(h, k+".origin_host"))
				if id.OriginHost != "" && !isFQDN(id.OriginHost) {
					p.add(h.Line, k+".origin_host", "%q is not a host name (DiameterIdentity, RFC 6733 4.3.1)", h.Value)
				}
			} else if pn.Kind == yaml.MappingNode {
				p.add(pn.Line, k+".origin_host", "is required: the Origin-Host the SCS connects as")
			}
			if r := pf["realm"]; r != nil {
				id.Realm = strings.ToLower(p.str(r, k+".realm"))
				if id.Realm != "" && !isFQDN(id.Realm) {
					p.add(r.Line, k+".realm", "%q is not a realm name (RFC 6733 4.3.1)", r.Value)
				}
			} else if pn.Kind == yaml.MappingNode {
				p.add(pn.Line, k+".realm", "is required: the Origin-Realm the SCS connects with")
			}
			e.Peers = append(e.Peers, id)
		})
		if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
			p.add(v.Line, key+".peers", "is empty; an SCS needs at least one identity to connect as")
		}
	} else if n.Kind == yaml.MappingNode {
		p.add(n.Line, key+".peers", "is required: the identities (origin_host, realm) the SCS may connect as")
	}
	if v := fields["agents"]; v != nil {
		for i, a := range p.strList(v, key+".agents") {
			a = strings.ToLower(a)
			if !isFQDN(a) {
				p.add(v.Content[i].Line, fmt.Sprintf("%s.agents[%d]", key, i), "%q is not a host name", a)
			}
			e.Agents = append(e.Agents, a)
		}
	}
	if v := fields["scs_identity"]; v != nil {
		e.Identity = p.str(v, key+".scs_identity")
		if e.Identity != "" {
			p.digits(v.Line, key+".scs_identity", e.Identity, "an E.164 number")
		}
	} else if n.Kind == yaml.MappingNode {
		p.add(n.Line, key+".scs_identity", "is required: the SCS-Identity (E.164 digits) its requests must carry")
	}
	if v := fields["smsc_pool"]; v != nil {
		e.SMSCPool = p.str(v, key+".smsc_pool")
	}
	if v := fields["limits"]; v != nil {
		e.Limits = p.limits(key+".limits", v)
	}
	if v := fields["hss_cache"]; v != nil {
		e.HSSCache = p.hssCache(key+".hss_cache", v)
	}
	if v := fields["rules"]; v != nil {
		p.seq(v, key+".rules", func(k string, rn *yaml.Node) {
			// A rule with problems is kept too: later rules keep their
			// index, and validate still checks its group reference.
			r, _ := p.rule(k, rn)
			e.Rules = append(e.Rules, r)
		})
	}
	return e
}

func (p *problems) hssCache(key string, n *yaml.Node) HSSCache {
	var c HSSCache
	f := p.fields(n, key, "ttl", "negative_ttl")
	get := func(name string) (time.Duration, *yaml.Node) {
		v := f[name]
		if v == nil {
			return 0, nil
		}
		d, ok := p.duration(v, key+"."+name)
		if !ok {
			return 0, nil
		}
		if d > MaxHSSCacheTTL {
			p.add(v.Line, key+"."+name, "%s is above %s: the HSS answer carries the UE's serving node, which goes stale when the UE moves", d, MaxHSSCacheTTL)
			return 0, nil
		}
		return d, v
	}
	var ttlNode, negNode *yaml.Node
	c.TTL, ttlNode = get("ttl")
	c.NegativeTTL, negNode = get("negative_ttl")
	if n.Kind == yaml.MappingNode && f["ttl"] == nil {
		p.add(n.Line, key+".ttl", "is required: how long an HSS authorization is reused (leave hss_cache out to ask the HSS every time)")
	}
	if ttlNode != nil && negNode != nil && c.NegativeTTL > c.TTL {
		p.add(negNode.Line, key+".negative_ttl", "%s is longer than ttl %s: a refusal must not outlive an authorization", c.NegativeTTL, c.TTL)
		c.NegativeTTL = 0
	}
	return c
}

func isFQDN(s string) bool {
	if len(s) > 255 || s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.'
	})
}

func (p *problems) limits(key string, n *yaml.Node) Limits {
	var l Limits
	f := p.fields(n, key, "max_payload_bytes", "max_validity", "priorities", "rate", "quota")
	if v := f["max_payload_bytes"]; v != nil {
		if b, ok := p.integer(v, key+".max_payload_bytes"); ok {
			if b < 1 || b > math.MaxUint16 {
				p.add(v.Line, key+".max_payload_bytes", "%d is outside 1..65535", b)
			} else {
				l.MaxPayloadBytes = b
			}
		}
	}
	if v := f["max_validity"]; v != nil {
		if d, ok := p.duration(v, key+".max_validity"); ok {
			if d%time.Second != 0 {
				p.add(v.Line, key+".max_validity", "%s is not whole seconds (Validity-Time counts seconds)", d)
			} else {
				l.MaxValidity = d
			}
		}
	}
	if v := f["priorities"]; v != nil {
		p.seq(v, key+".priorities", func(k string, e *yaml.Node) {
			switch s := p.str(e, k); s {
			case "":
			case "non_priority":
				l.Priorities = append(l.Priorities, NonPriority)
			case "priority":
				l.Priorities = append(l.Priorities, HighPriority)
			default:
				p.add(e.Line, k, "unknown priority %q; one of non_priority, priority", s)
			}
		})
		if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
			p.add(v.Line, key+".priorities", "is empty, which would refuse every request; leave the key out to allow both")
		}
	}
	if v := f["rate"]; v != nil {
		rf := p.fields(v, key+".rate", "per_second", "burst")
		r := &Rate{}
		ok := true
		if ps := rf["per_second"]; ps != nil {
			s := p.str(ps, key+".rate.per_second")
			x, err := strconv.ParseFloat(s, 64)
			switch {
			case s == "":
				ok = false
			case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
				p.add(ps.Line, key+".rate.per_second", "%q is not a number", s)
				ok = false
			case x <= 0:
				p.add(ps.Line, key+".rate.per_second", "%s must be above 0 (leave rate out for no rate limit)", s)
				ok = false
			default:
				r.PerSecond = x
			}
		} else if v.Kind == yaml.MappingNode {
			p.add(v.Line, key+".rate.per_second", "is required: the sustained rate in requests per second")
			ok = false
		}
		if b := rf["burst"]; b != nil {
			if x, good := p.integer(b, key+".rate.burst"); !good {
				ok = false
			} else if x < 1 {
				p.add(b.Line, key+".rate.burst", "%d must be at least 1", x)
				ok = false
			} else {
				r.Burst = x
			}
		} else if r.PerSecond > 0 {
			r.Burst = int(math.Ceil(r.PerSecond))
		}
		if ok && v.Kind == yaml.MappingNode {
			l.Rate = r
		}
	}
	if v := f["quota"]; v != nil {
		seen := map[time.Duration]string{}
		p.seq(v, key+".quota", func(k string, e *yaml.Node) {
			qf := p.fields(e, k, "window", "count")
			q := Quota{Line: e.Line}
			ok := e.Kind == yaml.MappingNode
			if w := qf["window"]; w != nil {
				if d, good := p.duration(w, k+".window"); good {
					if d%time.Second != 0 {
						p.add(w.Line, k+".window", "%s is not whole seconds", d)
						ok = false
					} else if prev, dup := seen[d]; dup {
						p.add(w.Line, k+".window", "window %s is already set by %s", d, prev)
						ok = false
					} else {
						seen[d] = k
						q.Window = d
					}
				} else {
					ok = false
				}
			} else if e.Kind == yaml.MappingNode {
				p.add(e.Line, k+".window", "is required: the length of the window, e.g. 1h")
				ok = false
			}
			if c := qf["count"]; c != nil {
				if x, good := p.integer(c, k+".count"); !good {
					ok = false
				} else if x < 1 {
					p.add(c.Line, k+".count", "%d must be at least 1", x)
					ok = false
				} else {
					q.Count = x
				}
			} else if e.Kind == yaml.MappingNode {
				p.add(e.Line, k+".count", "is required: how many requests the window allows")
				ok = false
			}
			if ok {
				l.Quota = append(l.Quota, q)
			}
		})
		slices.SortFunc(l.Quota, func(a, b Quota) int { return cmp.Compare(a.Window, b.Window) })
	}
	return l
}

var actionNames = map[string]Action{"trigger": Trigger, "replace": Replace, "recall": Recall}

func (p *problems) rule(key string, n *yaml.Node) (Rule, bool) {
	r := Rule{Line: n.Line}
	f := p.fields(n, key, "allow", "deny", "ports", "actions")
	allow, deny := f["allow"], f["deny"]
	ok := n.Kind == yaml.MappingNode
	switch {
	case allow != nil && deny != nil:
		p.add(n.Line, key, "has both allow and deny; a rule is one or the other")
		ok = false
	case allow == nil && deny == nil:
		if n.Kind == yaml.MappingNode {
			p.add(n.Line, key, "needs allow: or deny: with a selector")
		}
		ok = false
	default:
		sel, what := allow, "allow"
		if deny != nil {
			sel, what, r.Deny = deny, "deny", true
		}
		s, good := p.selector(sel, key+"."+what)
		r.Selector = s
		ok = ok && good
	}
	if v := f["ports"]; v != nil {
		p.seq(v, key+".ports", func(k string, e *yaml.Node) {
			if pr, good := p.portRange(k, e); good {
				r.Ports = append(r.Ports, pr)
			} else {
				ok = false
			}
		})
		if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
			p.add(v.Line, key+".ports", "is empty, which would match no request; leave the key out for any port")
			ok = false
		}
	}
	if v := f["actions"]; v != nil {
		p.seq(v, key+".actions", func(k string, e *yaml.Node) {
			s := p.str(e, k)
			a, good := actionNames[s]
			switch {
			case s == "":
				ok = false
			case !good:
				p.add(e.Line, k, "unknown action %q; one of trigger, replace, recall", s)
				ok = false
			case slices.Contains(r.Actions, a):
				p.add(e.Line, k, "action %s listed twice", s)
			default:
				r.Actions = append(r.Actions, a)
			}
		})
		if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
			p.add(v.Line, key+".actions", "is empty, which would match no request; leave the key out for every action")
			ok = false
		}
	}
	return r, ok
}

// portRange reads 9000, "9000" or "9100-9199".
func (p *problems) portRange(key string, n *yaml.Node) (PortRange, bool) {
	s := p.str(n, key)
	if s == "" {
		return PortRange{}, false
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
	b, errB := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
	switch {
	case errA != nil || errB != nil:
		p.add(n.Line, key, "%q is not a port (0..65535) or a port range such as \"9100-9199\"", s)
		return PortRange{}, false
	case a > math.MaxUint16 || b > math.MaxUint16:
		p.add(n.Line, key, "%s is out of the port range 0..65535", s)
		return PortRange{}, false
	case a > b:
		p.add(n.Line, key, "bad range %s: %d is above %d", s, a, b)
		return PortRange{}, false
	}
	return PortRange{Lo: uint32(a), Hi: uint32(b)}, true
}

// validate checks what spans entries: unique ids, identities and peers,
// group references.
func validate(f *File, p *problems) {
	groups := map[string]bool{}
	for _, g := range f.Groups {
		groups[g.Name] = true
	}
	ids := map[string]int{}
	identities := map[string]string{}
	hosts := map[string]string{}
	for i, e := range f.SCS {
		key := fmt.Sprintf("scs[%d]", i)
		if e.ID != "" {
			if j, dup := ids[e.ID]; dup {
				p.add(e.Line, key+".id", "%q is also the id of scs[%d]", e.ID, j)
			} else {
				ids[e.ID] = i
			}
		}
		if e.Identity != "" {
			if other, dup := identities[e.Identity]; dup {
				p.add(e.Line, key+".scs_identity", "%s is also the scs_identity of %s", e.Identity, other)
			} else {
				identities[e.Identity] = key
			}
		}
		for j, pe := range e.Peers {
			if pe.OriginHost == "" {
				continue
			}
			if other, dup := hosts[pe.OriginHost]; dup {
				p.add(pe.Line, fmt.Sprintf("%s.peers[%d].origin_host", key, j), "%s is also a peer of %s; an Origin-Host names one SCS", pe.OriginHost, other)
			} else {
				hosts[pe.OriginHost] = key
			}
		}
		for j, r := range e.Rules {
			if r.Selector.Kind == SelGroup && !groups[r.Selector.Value] {
				what := "allow"
				if r.Deny {
					what = "deny"
				}
				p.add(r.Selector.Line, fmt.Sprintf("%s.rules[%d].%s.group", key, j, what), "unknown group %q; define it under groups", r.Selector.Value)
			}
		}
	}
	// An agent must not also be an SCS's own identity: a request relayed by
	// it would be indistinguishable from one it sends itself.
	for i, e := range f.SCS {
		for j, a := range e.Agents {
			if other, clash := hosts[a]; clash {
				p.add(e.Line, fmt.Sprintf("scs[%d].agents[%d]", i, j), "%s is a peer of %s, so it cannot also be an agent", a, other)
			}
		}
	}
}
