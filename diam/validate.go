package diam

import (
	"fmt"
	"strings"
	"unicode/utf8"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// maxValidateDepth bounds how deep Validate follows grouped AVPs. The frame
// guard limits nesting before go-diameter decodes anything; this only keeps
// Validate's recursion bounded whatever it is handed. Our deepest legitimate
// nesting is 4 (SIA / Service-Data / T4-Data / Serving-Node / member).
const maxValidateDepth = 32

// wildcardRule is the rule name our dictionaries (and go-diameter's own) use
// for the ABNF "*[ AVP ]": any AVP may follow.
const wildcardRule = "AVP"

// answerMessageRules is the generic error answer of RFC 6733 7.2, which any
// answer with the E-bit follows instead of its command's ABNF:
//
//	<answer-message> ::= < Diameter Header: code, ERR [, PXY] >
//	                   0*1< Session-Id >
//	                      { Origin-Host }
//	                      { Origin-Realm }
//	                      { Result-Code }
//	                      [ Origin-State-Id ]
//	                      [ Error-Message ]
//	                      [ Error-Reporting-Host ]
//	                      [ Failed-AVP ]
//	                      [ Experimental-Result ]
//	                    * [ Proxy-Info ]
//	                    * [ AVP ]
//
// It is read-only.
var answerMessageRules = []*dict.Rule{
	{AVP: "Session-Id", Max: 1},
	{AVP: "Origin-Host", Required: true, Max: 1},
	{AVP: "Origin-Realm", Required: true, Max: 1},
	{AVP: "Result-Code", Required: true, Max: 1},
	{AVP: "Origin-State-Id", Max: 1},
	{AVP: "Error-Message", Max: 1},
	{AVP: "Error-Reporting-Host", Max: 1},
	{AVP: "Failed-AVP", Max: 1},
	{AVP: "Experimental-Result", Max: 1},
	{AVP: "Proxy-Info"},
	{AVP: wildcardRule},
}

// Validate checks a message decoded by godiam.ReadMessage against the command
// rules of dictionary d and returns the first fault found, or nil.
//
// go-diameter uses a dictionary to decode but checks nothing against it, so
// this is where the RFC 6733 receiver rules are applied. The request rules
// apply when the R-bit is set, the answer rules otherwise, and the generic
// error answer of RFC 6733 7.2 when the E-bit is set. Grouped AVPs are checked
// recursively against their own rules. In message order, each AVP is checked
// for, and the first fault wins:
//
//   - not in the dictionary (decoded as datatype.Unknown, or known only under
//     another Vendor-Id) with the M-bit set: 5001 DIAMETER_AVP_UNSUPPORTED
//     (7.1.5); with the M-bit clear it is ignored where the ABNF ends in
//     "*[ AVP ]" and refused with 5008 DIAMETER_AVP_NOT_ALLOWED elsewhere;
//   - M-bit set although the definition says "must not M", or V-bit set
//     although it says "must not V": 3009 DIAMETER_INVALID_AVP_BITS (4.1,
//     7.1.3);
//   - a fixed-size type (Unsigned32, Integer32, Enumerated, Float32, Time: 4
//     bytes; Unsigned64, Integer64, Float64: 8; IPv4: 4) whose payload has
//     another length, or an Address shorter than 3 bytes: 5014
//     DIAMETER_INVALID_AVP_LENGTH. go-diameter decodes a 3-byte Unsigned32 as
//     0 without complaint; the payload length is read from AVP.Length (the
//     wire length, header included, padding excluded) minus the 8- or 12-byte
//     header. Only wrong lengths with the right padded size get this far: a
//     5-byte Unsigned32 makes go-diameter advance by 4 and misparse the rest
//     (or panic), so the frame guard must refuse those before decoding;
//   - an Enumerated value the dictionary does not list, or a UTF8String that
//     is not valid UTF-8: 5004 DIAMETER_INVALID_AVP_VALUE;
//   - a known AVP the ABNF does not list and no "*[ AVP ]": 5008;
//   - more occurrences than the rule's max: 5009
//     DIAMETER_AVP_OCCURS_TOO_MANY_TIMES, Failed-AVP holding the first
//     instance over the limit (7.1.5).
//
// After the AVPs of one level, its required rules are checked in dictionary
// order: a missing one gives 5005 DIAMETER_MISSING_AVP with a Failed-AVP
// holding an example of it, Vendor-Id included, with a zero-filled value of
// the type's minimum length (7.5). Failed-AVP in the message holds the
// offending AVP itself, not its enclosing groups (the hierarchy is a MAY in
// 7.5; Reason names the group). For 5014 the value go-diameter decoded is
// meaningless, so the Failed-AVP copy keeps the AVP's header and length with
// a zero-filled value.
//
// The members of a Failed-AVP are copies of offending AVPs and are not
// checked. The command and application must be in d: otherwise the answer is
// 3001 DIAMETER_COMMAND_UNSUPPORTED or 3007 DIAMETER_APPLICATION_UNSUPPORTED;
// a request with the E-bit set is 3008 DIAMETER_INVALID_HDR_BITS.
//
// m must come from godiam.ReadMessage: an AVP built with godiam.NewAVP and a
// Vendor-Id but no V flag has a Length 4 bytes short, which Validate reports
// as 5014. Validate allocates nothing when the message is valid, never
// panics, and keeps no state: d may be used concurrently as long as nothing
// loads into it.
func Validate(m *godiam.Message, d *dict.Parser) *ProtocolError {
	if m == nil || m.Header == nil {
		return &ProtocolError{Code: ResultUnableToComply, Reason: "no message to validate"}
	}
	h := m.Header
	if d == nil {
		return &ProtocolError{Code: ResultUnableToComply, Reason: "no dictionary to validate against", Header: h}
	}
	request := h.CommandFlags&godiam.RequestFlag != 0
	errorAnswer := h.CommandFlags&godiam.ErrorFlag != 0
	if request && errorAnswer {
		return &ProtocolError{Code: ResultInvalidHdrBits, Header: h,
			Reason: fmt.Sprintf("request %d has the E-bit set, which only answers may carry", h.CommandCode)}
	}
	if h.ApplicationID != 0 {
		if _, err := d.App(h.ApplicationID); err != nil {
			return &ProtocolError{Code: ResultApplicationUnsupported, Header: h,
				Reason: fmt.Sprintf("application %d is not supported", h.ApplicationID)}
		}
	}
	cmd, err := d.FindCommand(h.ApplicationID, h.CommandCode)
	if err != nil || cmd == nil {
		return &ProtocolError{Code: ResultCommandUnsupported, Header: h,
			Reason: fmt.Sprintf("command %d is not supported in application %d", h.CommandCode, h.ApplicationID)}
	}
	rules := cmd.Answer.Rule
	switch {
	case request:
		rules = cmd.Request.Rule
	case errorAnswer, failureResult(m.AVP):
		// An answer that reports a failure (Result-Code 3xxx-5xxx) without
		// the E-bit is held only to the generic answer format as well: many
		// peers send 4xxx/5xxx answers without the command's application
		// AVPs, and refusing them would turn a clear refusal into an opaque
		// one (robustness principle, RFC 1122 1.2.2). Our own failure
		// answers still carry the full command ABNF.
		rules = answerMessageRules
	}
	v := validator{d: d, app: h.ApplicationID, header: h}
	return v.level(m.AVP, rules, scope{cmd: cmd, request: request}, 0)
}

// failureResult reports whether avps carry a top-level Result-Code outside
// the 1xxx/2xxx classes (RFC 6733 7.1).
func failureResult(avps []*godiam.AVP) bool {
	for _, a := range avps {
		if a != nil && a.Code == avp.ResultCode && a.VendorID == 0 {
			if v, ok := a.Data.(datatype.Unsigned32); ok {
				return v >= 3000
			}
		}
	}
	return false
}

// validator carries what every level of one Validate call needs.
type validator struct {
	d      *dict.Parser
	app    uint32 // the message's Application-Id: go-diameter decodes every AVP under it
	header *godiam.Header
}

// scope names where an AVP sits, for Reason. It is only turned into a string
// when there is something to report.
type scope struct {
	cmd     *dict.Command // the command, at the top level
	request bool
	group   *dict.AVP // the enclosing grouped AVP, below the top level
}

func (s scope) String() string {
	if s.group != nil {
		return s.group.Name
	}
	switch {
	case s.cmd.Short != "" && s.request:
		return s.cmd.Short + "R"
	case s.cmd.Short != "":
		return s.cmd.Short + "A"
	case s.request:
		return s.cmd.Name + "-Request"
	default:
		return s.cmd.Name + "-Answer"
	}
}

// level checks the AVPs of one message or grouped AVP against rules.
func (v *validator) level(avps []*godiam.AVP, rules []*dict.Rule, sc scope, depth int) *ProtocolError {
	if depth > maxValidateDepth {
		return v.fail(ResultUnableToComply, nil, "grouped AVPs in %s nest deeper than %d levels", sc, maxValidateDepth)
	}
	// Occurrences per rule. Our largest rule list has 22 entries, so the
	// array (on the stack) always suffices; the slice is a fallback for
	// dictionaries that are not ours.
	var countBuf [48]int
	var counts []int
	if len(rules) <= len(countBuf) {
		counts = countBuf[:len(rules)]
	} else {
		counts = make([]int, len(rules))
	}
	wildcard := false
	for _, r := range rules {
		if r != nil && r.AVP == wildcardRule {
			wildcard = true
			break
		}
	}

	for _, a := range avps {
		if a == nil {
			continue
		}
		if a.Data == nil {
			return v.fail(ResultInvalidAVPLength, []*godiam.AVP{zeroCopy(a)},
				"AVP %d (vendor %d) in %s could not be decoded", a.Code, a.VendorID, sc)
		}
		def := v.lookup(a)
		if def == nil {
			switch {
			case a.Flags&avp.Mbit != 0:
				return v.fail(ResultAVPUnsupported, []*godiam.AVP{a},
					"unsupported AVP %d (vendor %d) with the M-bit set in %s", a.Code, a.VendorID, sc)
			case !wildcard:
				return v.fail(ResultAVPNotAllowed, []*godiam.AVP{a},
					"AVP %d (vendor %d) is not allowed in %s", a.Code, a.VendorID, sc)
			}
			continue
		}
		if pe := v.checkAVP(a, def, sc); pe != nil {
			return pe
		}
		i := ruleIndex(rules, def.Name)
		switch {
		case i < 0 && !wildcard:
			return v.fail(ResultAVPNotAllowed, []*godiam.AVP{a}, "AVP %s (%d) is not allowed in %s", def.Name, def.Code, sc)
		case i >= 0:
			counts[i]++
			if limit := rules[i].Max; limit > 0 && counts[i] > limit {
				return v.fail(ResultAVPOccursTooManyTimes, []*godiam.AVP{a},
					"AVP %s (%d) occurs more than %s in %s", def.Name, def.Code, times(limit), sc)
			}
		}
		if def.Data.Type == datatype.GroupedType && !isFailedAVP(def) {
			members, ok := v.members(a)
			if !ok {
				return v.fail(ResultInvalidAVPLength, []*godiam.AVP{zeroCopy(a)},
					"grouped AVP %s (%d) in %s does not hold decoded AVPs", def.Name, def.Code, sc)
			}
			if pe := v.level(members, def.Data.Rule, scope{group: def}, depth+1); pe != nil {
				return pe
			}
		}
	}

	for i, r := range rules {
		if r == nil || !r.Required || r.AVP == wildcardRule {
			continue
		}
		if need := max(r.Min, 1); counts[i] < need {
			return v.missing(r, need, counts[i], sc)
		}
	}
	return nil
}

// lookup returns the dictionary definition of a, or nil when a is unknown.
// It is the decoder's own lookup (application, then application 0), minus
// its last resort: FindAVPByCode retries with any Vendor-Id, so an AVP with
// a known code under a foreign Vendor-Id decodes as the known AVP. Such an
// AVP is not the one the dictionary defines, so it counts as unknown here.
func (v *validator) lookup(a *godiam.AVP) *dict.AVP {
	if a.Data.Type() == datatype.UnknownType {
		return nil
	}
	def, err := v.d.FindAVPByCode(v.app, a.Code, a.VendorID)
	if err != nil || def == nil || def.Code != a.Code || def.VendorID != a.VendorID {
		return nil
	}
	return def
}

// checkAVP applies the per-AVP rules: flag bits, length, value.
func (v *validator) checkAVP(a *godiam.AVP, def *dict.AVP, sc scope) *ProtocolError {
	if a.Flags&avp.Mbit != 0 && strings.ContainsRune(def.MustNot, 'M') {
		return v.fail(ResultInvalidAVPBits, []*godiam.AVP{a},
			"AVP %s (%d) in %s has the M-bit set, which its definition forbids", def.Name, def.Code, sc)
	}
	if a.Flags&avp.Vbit != 0 && strings.ContainsRune(def.MustNot, 'V') {
		return v.fail(ResultInvalidAVPBits, []*godiam.AVP{a},
			"AVP %s (%d) in %s has the V-bit set, which its definition forbids", def.Name, def.Code, sc)
	}

	n := payloadLen(a)
	if size := fixedSize(def.Data.Type); size > 0 && n != size {
		return v.fail(ResultInvalidAVPLength, []*godiam.AVP{zeroCopy(a)},
			"AVP %s (%d) in %s has a %d-byte value; %s takes %d", def.Name, def.Code, sc, n, def.Data.TypeName, size)
	}
	if def.Data.Type == datatype.AddressType && n < 3 {
		return v.fail(ResultInvalidAVPLength, []*godiam.AVP{zeroCopy(a)},
			"AVP %s (%d) in %s has a %d-byte Address; an address family and at least one byte are needed", def.Name, def.Code, sc, n)
	}

	switch def.Data.Type {
	case datatype.EnumeratedType:
		val, ok := enumValue(a.Data)
		if ok && len(def.Data.Enum) > 0 && !enumListed(def.Data.Enum, val) {
			return v.fail(ResultInvalidAVPValue, []*godiam.AVP{a},
				"AVP %s (%d) in %s has value %d, which is not defined", def.Name, def.Code, sc, val)
		}
	case datatype.UTF8StringType:
		if s, ok := a.Data.(datatype.UTF8String); ok && !utf8.ValidString(string(s)) {
			return v.fail(ResultInvalidAVPValue, []*godiam.AVP{a},
				"AVP %s (%d) in %s is not valid UTF-8", def.Name, def.Code, sc)
		}
	}
	return nil
}

// members returns the AVPs inside grouped AVP a. The decoder always yields a
// *godiam.GroupedAVP. Raw datatype.Grouped bytes (only a hand-built message
// has them) are refused rather than decoded here: godiam.DecodeGrouped
// panics on a truncated member (v4.3.0), and Validate must not.
func (v *validator) members(a *godiam.AVP) ([]*godiam.AVP, bool) {
	if g, ok := a.Data.(*godiam.GroupedAVP); ok {
		return g.AVP, true
	}
	return nil, false
}

// missing builds the 5005 answer for required rule r, which occurs have
// times where need are required.
func (v *validator) missing(r *dict.Rule, need, have int, sc scope) *ProtocolError {
	def, err := v.d.FindAVP(v.app, r.AVP)
	if err != nil || def == nil {
		// Only a broken dictionary gets here (dictionaries_test resolves
		// every rule); still answer 5005, without an example AVP.
		return v.fail(ResultMissingAVP, nil, "missing mandatory AVP %s in %s", r.AVP, sc)
	}
	failed := []*godiam.AVP{example(def)}
	if have > 0 {
		return v.fail(ResultMissingAVP, failed,
			"AVP %s (%d) occurs %s in %s, at least %s required", def.Name, def.Code, times(have), sc, times(need))
	}
	return v.fail(ResultMissingAVP, failed, "missing mandatory AVP %s (%d) in %s", def.Name, def.Code, sc)
}

func (v *validator) fail(code uint32, failed []*godiam.AVP, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Reason: fmt.Sprintf(format, args...), FailedAVP: failed, Header: v.header}
}

func ruleIndex(rules []*dict.Rule, name string) int {
	for i, r := range rules {
		if r != nil && r.AVP == name {
			return i
		}
	}
	return -1
}

func isFailedAVP(def *dict.AVP) bool { return def.Code == 279 && def.VendorID == 0 }

// payloadLen is the length of a's value as it was on the wire: AVP.Length
// (set by the decoder, header included, padding excluded) minus the header.
func payloadLen(a *godiam.AVP) int {
	if a.Length == 0 { // not from the decoder: trust the value
		return a.Data.Len()
	}
	hdr := 8
	if a.Flags&avp.Vbit != 0 {
		hdr = 12
	}
	return a.Length - hdr
}

// fixedSize is the payload length of fixed-size types (RFC 6733 4.2, 4.3.1),
// 0 for the others.
func fixedSize(t datatype.TypeID) int {
	switch t {
	case datatype.Unsigned32Type, datatype.Integer32Type, datatype.EnumeratedType,
		datatype.Float32Type, datatype.TimeType, datatype.IPv4Type:
		return 4
	case datatype.Unsigned64Type, datatype.Integer64Type, datatype.Float64Type:
		return 8
	case datatype.IPv6Type:
		return 16
	}
	return 0
}

func enumValue(d datatype.Type) (int32, bool) {
	switch x := d.(type) {
	case datatype.Enumerated:
		return int32(x), true
	case datatype.Integer32:
		return int32(x), true
	case datatype.Unsigned32:
		return int32(x), true
	}
	return 0, false
}

func enumListed(items []*dict.Enum, val int32) bool {
	for _, e := range items {
		if e != nil && e.Code == val {
			return true
		}
	}
	return false
}

func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// example is the Failed-AVP of RFC 6733 7.5 for a missing AVP: its code,
// Vendor-Id and flags with a zero-filled value of the type's minimum length.
func example(def *dict.AVP) *godiam.AVP {
	var flags uint8
	if strings.ContainsRune(def.Must, 'M') {
		flags |= avp.Mbit
	}
	if def.VendorID != 0 {
		flags |= avp.Vbit
	}
	return godiam.NewAVP(def.Code, flags, def.VendorID, zeroValue(def.Data.Type))
}

// zeroValue is a zero-filled value of the minimum length of type t.
func zeroValue(t datatype.TypeID) datatype.Type {
	switch t {
	case datatype.GroupedType:
		return &godiam.GroupedAVP{}
	case datatype.AddressType:
		return datatype.Unknown(make([]byte, 6)) // family and an IPv4 address
	case datatype.OctetStringType, datatype.UTF8StringType, datatype.DiameterIdentityType,
		datatype.DiameterURIType, datatype.IPFilterRuleType, datatype.QoSFilterRuleType:
		return datatype.OctetString("")
	}
	// Fixed-size types; a zero Time would not serialize as zero bytes.
	return datatype.Unknown(make([]byte, fixedSize(t)))
}

// zeroCopy is a for Failed-AVP when its decoded value is meaningless: same
// code, flags and Vendor-Id, and a zero-filled value of the length it had on
// the wire.
func zeroCopy(a *godiam.AVP) *godiam.AVP {
	n := 0
	if a.Data != nil {
		n = payloadLen(a)
	} else if a.Length > 0 {
		n = a.Length - 8
		if a.Flags&avp.Vbit != 0 {
			n -= 4
		}
	}
	n = max(n, 0)
	return godiam.NewAVP(a.Code, a.Flags, a.VendorID, datatype.Unknown(make([]byte, n)))
}
