package tsp

import (
	"fmt"
	"strings"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
)

// EgressError is CheckEgress's refusal: which message, which AVP, where, why.
type EgressError struct {
	Command  string // "DAA", "DNR", ...
	Path     string // where the AVP sits: "DAA/Device-Notification"
	AVP      string // the AVP's name, or "AVP <code>" when unknown
	Code     uint32
	VendorID uint32
	Reason   string
}

func (e *EgressError) Error() string {
	return fmt.Sprintf("tsp egress: %s refused: %s (code %d, vendor %d) in %s %s",
		e.Command, e.AVP, e.Code, e.VendorID, e.Path, e.Reason)
}

// forbidden are the AVPs that carry core-side identities and never cross
// Tsp (DESIGN.md step 9, reference 1.7): User-Name (the IMSI),
// User-Identifier, Serving-Node, Additional-Serving-Node.
var forbidden = []codec.Def{codec.UserName, codec.UserIdentifier, codec.ServingNode, codec.AdditionalServingNode}

// egressMaxDepth bounds the walk; our deepest Tsp nesting is 3.
const egressMaxDepth = 16

// wildcard is the rule name of the ABNF "*[ AVP ]".
const wildcard = "AVP"

// errorAnswerRules is the RFC 6733 7.2 answer-message an answer with the E
// bit follows, without its "*[ AVP ]"; such an answer may also carry what
// its command's own answer ABNF lists.
var errorAnswerRules = []*dict.Rule{
	{AVP: "Session-Id", Max: 1},
	{AVP: "Origin-Host", Max: 1},
	{AVP: "Origin-Realm", Max: 1},
	{AVP: "Result-Code", Max: 1},
	{AVP: "Origin-State-Id", Max: 1},
	{AVP: "Error-Message", Max: 1},
	{AVP: "Error-Reporting-Host", Max: 1},
	{AVP: "Failed-AVP", Max: 1},
	{AVP: "Experimental-Result", Max: 1},
	{AVP: "Proxy-Info"},
}

// CheckEgress is the last check on every message we send on Tsp (DAA, DNR,
// and DAR/DNA or a base message for completeness), with d the Tsp
// dictionary. It refuses, naming the AVP and the command:
//
//   - User-Name, User-Identifier, Serving-Node or Additional-Serving-Node
//     anywhere, at any depth, Failed-AVP contents included;
//   - any AVP, at the top level or inside a grouped AVP, that the command's
//     or the group's ABNF in d does not list by name, or that d does not
//     know under its code and Vendor-Id. The "*[ AVP ]" wildcard does NOT
//     license anything on egress (reference 1.7: a gateway must strip
//     anything not in the ABNF on the outbound leg);
//   - more occurrences of an AVP than its rule allows.
//
// Members of Failed-AVP are copies of what a peer sent (RFC 6733 7.5) and are
// only checked for the forbidden AVPs. An answer with the E bit may carry
// the RFC 6733 7.2 answer-message AVPs besides its own ABNF. Mandatory AVPs
// are not checked here: building the message is the typed encoders' job.
func CheckEgress(m *godiam.Message, d *dict.Parser) error {
	if m == nil || m.Header == nil {
		return &EgressError{Command: "?", Path: "?", AVP: "-", Reason: "no message"}
	}
	if d == nil {
		return &EgressError{Command: "?", Path: "?", AVP: "-", Reason: "no dictionary to check against"}
	}
	h := m.Header
	cmd, err := d.FindCommand(h.ApplicationID, h.CommandCode)
	if err != nil || cmd == nil {
		return &EgressError{Command: fmt.Sprintf("command %d", h.CommandCode), Path: fmt.Sprintf("application %d", h.ApplicationID),
			AVP: "-", Reason: "is not in the Tsp dictionary"}
	}
	name := cmd.Short + "A"
	rules := cmd.Answer.Rule
	var extra []*dict.Rule
	switch {
	case h.CommandFlags&godiam.RequestFlag != 0:
		name, rules = cmd.Short+"R", cmd.Request.Rule
	case h.CommandFlags&godiam.ErrorFlag != 0:
		extra = errorAnswerRules
	}
	w := egressWalker{d: d, app: h.ApplicationID, cmd: name}
	return w.level(m.AVP, rules, extra, name, 0)
}

type egressWalker struct {
	d   *dict.Parser
	app uint32
	cmd string
}

func (w *egressWalker) fail(a *godiam.AVP, avpName, path, reason string) error {
	if avpName == "" {
		avpName = fmt.Sprintf("AVP %d", a.Code)
	}
	return &EgressError{Command: w.cmd, Path: path, AVP: avpName, Code: a.Code, VendorID: a.VendorID, Reason: reason}
}

func (w *egressWalker) level(avps []*godiam.AVP, rules, extra []*dict.Rule, path string, depth int) error {
	if depth > egressMaxDepth {
		return &EgressError{Command: w.cmd, Path: path, AVP: "-", Reason: fmt.Sprintf("nests deeper than %d levels", egressMaxDepth)}
	}
	var countBuf [32]int
	var counts []int
	if n := len(rules) + len(extra); n <= len(countBuf) {
		counts = countBuf[:n]
	} else {
		counts = make([]int, n)
	}
	for _, a := range avps {
		if a == nil {
			continue
		}
		if f := isForbidden(a); f != "" {
			return w.fail(a, f, path, "is never sent on Tsp: it identifies the subscriber or the serving node inside the operator's core")
		}
		def, err := w.d.FindAVPByCode(w.app, a.Code, a.VendorID)
		if err != nil || def == nil || def.Code != a.Code || def.VendorID != a.VendorID || a.Data == nil || a.Data.Type() == datatype.UnknownType {
			return w.fail(a, "", path, "is not defined in the Tsp dictionary")
		}
		i := ruleIndex(rules, extra, def.Name)
		if i < 0 {
			return w.fail(a, def.Name, path, "is not in its ABNF (the *[ AVP ] wildcard licenses nothing on egress)")
		}
		counts[i]++
		r := rules
		j := i
		if i >= len(rules) {
			r, j = extra, i-len(rules)
		}
		if limit := r[j].Max; limit > 0 && counts[i] > limit {
			return w.fail(a, def.Name, path, fmt.Sprintf("occurs more than %d time(s)", limit))
		}
		if def.Data.Type != datatype.GroupedType {
			continue
		}
		g, ok := a.Data.(*godiam.GroupedAVP)
		if !ok {
			return w.fail(a, def.Name, path, "is a grouped AVP whose members cannot be inspected")
		}
		if def.Code == codec.FailedAVP.Code && def.VendorID == 0 {
			if err := w.forbiddenOnly(g.AVP, path+"/"+def.Name, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := w.level(g.AVP, def.Data.Rule, nil, path+"/"+def.Name, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// forbiddenOnly looks for the forbidden AVPs at any depth below avps.
func (w *egressWalker) forbiddenOnly(avps []*godiam.AVP, path string, depth int) error {
	if depth > egressMaxDepth {
		return &EgressError{Command: w.cmd, Path: path, AVP: "-", Reason: fmt.Sprintf("nests deeper than %d levels", egressMaxDepth)}
	}
	for _, a := range avps {
		if a == nil {
			continue
		}
		if f := isForbidden(a); f != "" {
			return w.fail(a, f, path, "is never sent on Tsp, not even as a copy in Failed-AVP")
		}
		if g, ok := a.Data.(*godiam.GroupedAVP); ok {
			if err := w.forbiddenOnly(g.AVP, path+"/"+fmt.Sprint(a.Code), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func isForbidden(a *godiam.AVP) string {
	for _, f := range forbidden {
		if a.Code == f.Code && a.VendorID == f.Vendor {
			return f.Name
		}
	}
	return ""
}

// ruleIndex finds name in rules then extra (one index space), skipping the
// wildcard; -1 when absent.
func ruleIndex(rules, extra []*dict.Rule, name string) int {
	if name == wildcard {
		return -1
	}
	for i, r := range rules {
		if r != nil && strings.EqualFold(r.AVP, name) {
			return i
		}
	}
	for i, r := range extra {
		if r != nil && strings.EqualFold(r.AVP, name) {
			return len(rules) + i
		}
	}
	return -1
}
