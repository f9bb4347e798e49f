package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/diam/t4"
)

// Target is what an injected failure applies to.
type Target string

// Targets.
const (
	// TargetHSS applies to SIRs: answer with a result code, late, or not at all.
	TargetHSS Target = "hss"
	// TargetSMSC applies to DTRs: answer with a result code, late, or not at all.
	TargetSMSC Target = "smsc"
	// TargetDelivery applies to triggers the SMS-SC accepts: report another
	// outcome, report later, or never report (drop).
	TargetDelivery Target = "delivery"
)

// Result codes an injection may answer with. The 3GPP ones go in
// Experimental-Result with Vendor-Id 10415; 3004 and 5012 are base
// Result-Codes (RFC 6733 7.1).
var injectableResults = map[Target][]uint32{
	// TS 29.336 6.3.3 (reference 3gpp-mtc.md 2.4).
	TargetHSS: {s6m.ErrorUserUnknown, s6m.ErrorUnauthorizedRequestingEntity, s6m.ErrorUnauthorizedService,
		resultTooBusy, resultUnableToComply},
	// TS 29.337 7.3 (reference 3gpp-mtc.md 3.4).
	TargetSMSC: {t4.ErrorUserUnknown, t4.ErrorInvalidSMEAddress, t4.ErrorSCCongestion, t4.ErrorTriggerReplaceFailure,
		t4.ErrorTriggerRecallFailure, t4.ErrorOriginalMessageNotPending, resultTooBusy, resultUnableToComply},
}

const (
	resultSuccess        = 2001
	resultTooBusy        = 3004
	resultUnableToComply = 5012
)

// isBaseResult tells the base Result-Codes (sent as Result-Code) from the
// 3GPP ones (sent as Experimental-Result).
func isBaseResult(code uint32) bool { return code == resultTooBusy || code == resultUnableToComply }

// Injection is one injected failure. Written as key=value pairs (flags:
// "target=hss,result=5001,count=3"; control endpoint: the same keys as query
// parameters; subscriber file: the same keys in a YAML map).
type Injection struct {
	Target Target
	// Result answers with this code instead of processing the request:
	// hss 5001, 5510, 5511; smsc 5001, 5530, 5531, 5533, 5534, 5535; both
	// 3004 and 5012 (base Result-Code). Written "result=drop" for Drop.
	Result uint32
	// Drop: the request gets no answer at all (the handler holds it until the
	// connection closes); for delivery, the trigger is never reported.
	Drop bool
	// Delay: wait this long before answering (hss, smsc), or before
	// delivering instead of the configured delivery delay (delivery).
	Delay time.Duration
	// Outcome: the delivery outcome to report (delivery only).
	Outcome Outcome
	// Count is how many requests (or accepted triggers) the rule applies to;
	// 0 means every one until the rule is cleared. Rules of one target apply
	// in the order they were added.
	Count int
}

// ParseInjection reads an injection from key=value pairs: target, result
// (a code or "drop"), delay (a Go duration), outcome, count.
func ParseInjection(kv map[string]string) (Injection, error) {
	var in Injection
	for k, v := range kv {
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "target":
			in.Target = Target(strings.ToLower(v))
		case "result":
			if strings.EqualFold(v, "drop") {
				in.Drop = true
				continue
			}
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return in, fmt.Errorf("result %q: want a result code or drop", v)
			}
			in.Result = uint32(n)
		case "drop":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return in, fmt.Errorf("drop %q: want true or false", v)
			}
			in.Drop = b
		case "delay":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return in, fmt.Errorf("delay %q: want a duration such as 500ms", v)
			}
			in.Delay = d
		case "outcome":
			o, err := ParseOutcome(v)
			if err != nil {
				return in, err
			}
			in.Outcome = o
		case "count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return in, fmt.Errorf("count %q: want 0 (until cleared) or more", v)
			}
			in.Count = n
		default:
			return in, fmt.Errorf("unknown key %q (want target, result, delay, outcome, count)", k)
		}
	}
	return in, in.validate()
}

// ParseInjectionFlag reads "target=hss,result=5001,count=3".
func ParseInjectionFlag(s string) (Injection, error) {
	kv := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Injection{}, fmt.Errorf("%q: want key=value pairs separated by commas", part)
		}
		k = strings.TrimSpace(k)
		if _, dup := kv[k]; dup {
			return Injection{}, fmt.Errorf("key %q given twice", k)
		}
		kv[k] = v
	}
	return ParseInjection(kv)
}

func (in Injection) validate() error {
	switch in.Target {
	case TargetHSS, TargetSMSC:
		if in.Outcome != OutcomeUnset {
			return fmt.Errorf("outcome is for target=delivery, not %s", in.Target)
		}
		if in.Result != 0 && !slices.Contains(injectableResults[in.Target], in.Result) {
			return fmt.Errorf("result %d cannot be injected on %s (allowed: %v, drop)", in.Result, in.Target, injectableResults[in.Target])
		}
	case TargetDelivery:
		if in.Result != 0 {
			return errors.New("target=delivery takes an outcome, delay or drop, not a result code")
		}
	case "":
		return errors.New("target is required (hss, smsc or delivery)")
	default:
		return fmt.Errorf("target %q is not hss, smsc or delivery", in.Target)
	}
	if in.Drop && (in.Result != 0 || in.Outcome != OutcomeUnset) {
		return errors.New("drop cannot be combined with a result or an outcome")
	}
	if !in.Drop && in.Result == 0 && in.Delay == 0 && in.Outcome == OutcomeUnset {
		return errors.New("nothing to inject: give a result, drop, a delay or an outcome")
	}
	if in.Count < 0 {
		return errors.New("count must be 0 (until cleared) or more")
	}
	return nil
}

// String writes the injection in the flag syntax.
func (in Injection) String() string {
	parts := []string{"target=" + string(in.Target)}
	switch {
	case in.Drop:
		parts = append(parts, "result=drop")
	case in.Result != 0:
		parts = append(parts, fmt.Sprintf("result=%d", in.Result))
	}
	if in.Delay > 0 {
		parts = append(parts, "delay="+in.Delay.String())
	}
	if in.Outcome != OutcomeUnset {
		parts = append(parts, "outcome="+string(in.Outcome))
	}
	parts = append(parts, fmt.Sprintf("count=%d", in.Count))
	return strings.Join(parts, ",")
}

// injectionJSON is the wire form on the control endpoint: the same keys as
// the query parameters.
type injectionJSON struct {
	Target  Target  `json:"target"`
	Result  string  `json:"result,omitempty"`
	Delay   string  `json:"delay,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
	Count   int     `json:"count"`
}

// MarshalJSON writes the key=value form as a JSON object.
func (in Injection) MarshalJSON() ([]byte, error) {
	j := injectionJSON{Target: in.Target, Outcome: in.Outcome, Count: in.Count}
	switch {
	case in.Drop:
		j.Result = "drop"
	case in.Result != 0:
		j.Result = strconv.FormatUint(uint64(in.Result), 10)
	}
	if in.Delay > 0 {
		j.Delay = in.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalYAML reads the injection as a map of the flag keys.
func (in *Injection) UnmarshalYAML(n *yaml.Node) error {
	var kv map[string]string
	if err := n.Decode(&kv); err != nil {
		return err
	}
	v, err := ParseInjection(kv)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*in = v
	return nil
}

// injector holds the active injections per target.
type injector struct {
	mu    sync.Mutex
	rules map[Target][]*Injection
}

func newInjector() *injector { return &injector{rules: map[Target][]*Injection{}} }

func (j *injector) add(in Injection) error {
	if err := in.validate(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rules[in.Target] = append(j.rules[in.Target], &in)
	return nil
}

// take returns the rule that applies to the next request of target, using
// up one of its count.
func (j *injector) take(t Target) (Injection, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	rs := j.rules[t]
	if len(rs) == 0 {
		return Injection{}, false
	}
	r := rs[0]
	in := *r
	if r.Count > 0 {
		r.Count--
		if r.Count == 0 {
			j.rules[t] = rs[1:]
		}
	}
	return in, true
}

// clear removes the rules of target, or all of them when target is "".
func (j *injector) clear(t Target) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if t == "" {
		clear(j.rules)
		return
	}
	delete(j.rules, t)
}

// list returns the active rules (Count is what is left), by target order.
func (j *injector) list() []Injection {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []Injection{}
	for _, t := range []Target{TargetHSS, TargetSMSC, TargetDelivery} {
		for _, r := range j.rules[t] {
			out = append(out, *r)
		}
	}
	return out
}
