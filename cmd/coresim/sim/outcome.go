package sim

import (
	"fmt"
	"strings"
)

// Outcome is the delivery outcome the SMS-SC reports in a DRR
// (SM-Delivery-Outcome-T4, TS 29.337; reference 3gpp-mtc.md 3.3). The zero
// value means "not set" (use the next default down the line).
type Outcome string

// Outcomes, named as in the subscriber file and on the control endpoint.
const (
	OutcomeUnset      Outcome = ""
	OutcomeSuccessful Outcome = "successful" // SUCCESSFUL_TRANSFER (2)
	OutcomeAbsent     Outcome = "absent"     // ABSENT_SUBSCRIBER (0)
	OutcomeMemory     Outcome = "memory"     // UE_MEMORY_CAPACITY_EXCEEDED (1)
	OutcomeExpired    Outcome = "expired"    // VALIDITY_TIME_EXPIRED (3)
)

// smDeliveryOutcomeT4 values (TS 29.337 6.3.2; reference 3gpp-mtc.md 3.3).
var outcomeCodes = map[Outcome]int32{
	OutcomeAbsent:     0,
	OutcomeMemory:     1,
	OutcomeSuccessful: 2,
	OutcomeExpired:    3,
}

// outcomeAliases lets a file or a query use the spec names as well.
var outcomeAliases = map[string]Outcome{
	"successful":                  OutcomeSuccessful,
	"success":                     OutcomeSuccessful,
	"successful_transfer":         OutcomeSuccessful,
	"absent":                      OutcomeAbsent,
	"absent_subscriber":           OutcomeAbsent,
	"memory":                      OutcomeMemory,
	"ue_memory_capacity_exceeded": OutcomeMemory,
	"expired":                     OutcomeExpired,
	"validity_time_expired":       OutcomeExpired,
}

// ParseOutcome accepts the short names (successful, absent, memory, expired)
// and the SM-Delivery-Outcome-T4 names, in any case.
func ParseOutcome(s string) (Outcome, error) {
	if o, ok := outcomeAliases[strings.ToLower(strings.TrimSpace(s))]; ok {
		return o, nil
	}
	return OutcomeUnset, fmt.Errorf("delivery outcome %q is not one of successful, absent, memory, expired", s)
}

// Code is the SM-Delivery-Outcome-T4 value.
func (o Outcome) Code() int32 { return outcomeCodes[o] }

// UnmarshalText lets YAML and flags use ParseOutcome.
func (o *Outcome) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*o = OutcomeUnset
		return nil
	}
	v, err := ParseOutcome(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Absent-Subscriber-Diagnostic-T4 (TS 29.337 6.3.3; reference 3gpp-mtc.md
// 3.3): sent with an "absent" outcome when configured.
type AbsentDiagnostic string

// Diagnostics, named as in the subscriber file.
var absentDiagnosticCodes = map[AbsentDiagnostic]int32{
	"no_paging_response":      0,
	"ue_detached":             1,
	"ue_deregistered":         2,
	"ue_purged":               3,
	"roaming_restriction":     4,
	"unidentified_subscriber": 5,
}

// Code is the Absent-Subscriber-Diagnostic-T4 value.
func (d AbsentDiagnostic) Code() int32 { return absentDiagnosticCodes[d] }

// UnmarshalText checks the name.
func (d *AbsentDiagnostic) UnmarshalText(b []byte) error {
	v := AbsentDiagnostic(strings.ToLower(strings.TrimSpace(string(b))))
	if v == "" {
		*d = ""
		return nil
	}
	if _, ok := absentDiagnosticCodes[v]; !ok {
		return fmt.Errorf("absent diagnostic %q is not one of no_paging_response, ue_detached, ue_deregistered, ue_purged, roaming_restriction, unidentified_subscriber", string(b))
	}
	*d = v
	return nil
}
