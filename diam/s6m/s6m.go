// Package s6m holds the typed messages of the S6m reference point (TS 29.336,
// MTC-IWF <-> HSS): SIR and SIA with their grouped AVPs, the S6m
// enumerations and bitmasks, and the S6m Experimental-Result codes.
//
// The User-Identifier and Serving-Node types are core.UserIdentifier and
// core.ServingNode, shared with diam/t4, so the SIA's serving nodes go into a
// DTR unchanged. Conventions (pointers for optional numbers, empty = absent
// for strings, Message/Answer/Decode*) are those of diam/tsp.
//
// Facts cite /work/shared/reference/3gpp-mtc.md ("reference N.N").
package s6m

import (
	"fmt"
	"strings"

	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// Identifiers of the S6m application (reference 0.1, two sources each).
const (
	AppID                    = dictionaries.AppS6m // 16777310
	CmdSubscriberInformation = 8388641             // SIR/SIA
)

var cmdSI = codec.Command{Code: CmdSubscriberInformation, App: AppID, Short: "SI"}

// S6m Experimental-Result-Code values, Vendor-Id 10415 (TS 29.336 6.3.3,
// reference 2.4, two sources).
const (
	// ErrorUserUnknown: the MSISDN or External Identifier (the IMSI for
	// SMS_MO) is unknown. Note Result-Code 5001 is another error
	// (DIAMETER_AVP_UNSUPPORTED): compare the whole core.Result.
	ErrorUserUnknown = 5001
	// ErrorUnauthorizedRequestingEntity: the SCS may not trigger this UE.
	ErrorUnauthorizedRequestingEntity = 5510
	// ErrorUnauthorizedService: the service (device trigger) is not
	// allowed or available for this UE.
	ErrorUnauthorizedService = 5511
)

// ExperimentalName names an S6m Experimental-Result-Code, or "" if unknown.
func ExperimentalName(code uint32) string {
	switch code {
	case ErrorUserUnknown:
		return "DIAMETER_ERROR_USER_UNKNOWN"
	case ErrorUnauthorizedRequestingEntity:
		return "DIAMETER_ERROR_UNAUTHORIZED_REQUESTING_ENTITY"
	case ErrorUnauthorizedService:
		return "DIAMETER_ERROR_UNAUTHORIZED_SERVICE"
	}
	return ""
}

// ServiceID is the Service-ID AVP (3103, Enumerated), TS 29.336 6.4.3
// (reference 2.3, two sources).
type ServiceID uint32

// Service-ID values.
const (
	// DeviceTrigger: the SCS asks for control-plane triggering of the UE.
	DeviceTrigger ServiceID = 0
	// SMSMO: a UE identified by IMSI and application port sends MO SMS to
	// the SCS (MSISDN-less MO-SMS).
	SMSMO ServiceID = 1
)

// Valid reports whether s is a defined value.
func (s ServiceID) Valid() bool { return s <= SMSMO }

func (s ServiceID) String() string {
	switch s {
	case DeviceTrigger:
		return "DEVICE_TRIGGER"
	case SMSMO:
		return "SMS_MO"
	}
	return fmt.Sprintf("ServiceID(%d)", uint32(s))
}

// HSSCause is the HSS-Cause AVP (3109, Unsigned32 bitmask), TS 29.336 6.4.9
// (reference 2.3, single source: Mobius quoting the spec). Undefined bits
// are cleared by the HSS and ignored by the MTC-IWF, so any value decodes.
type HSSCause uint32

// HSS-Cause bits.
const (
	// AbsentSubscriber: no serving node to try now (the SMS-SC stores the
	// trigger); Serving-Node is then absent.
	AbsentSubscriber HSSCause = 1 << 0
	// TeleserviceNotProvisioned: SMS is not provisioned for the UE.
	TeleserviceNotProvisioned HSSCause = 1 << 1
	// CallBarred: SMS to the UE is barred.
	CallBarred HSSCause = 1 << 2
)

// Has reports whether every bit of bit is set in c.
func (c HSSCause) Has(bit HSSCause) bool { return c&bit == bit }

func (c HSSCause) String() string {
	return bitNames(uint32(c), []string{"ABSENT_SUBSCRIBER", "TELESERVICE_NOT_PROVISIONED", "CALL_BARRED"})
}

// SIRFlags is the SIR-Flags AVP (3110, Unsigned32 bitmask), TS 29.336 6.4.10
// (reference 2.3, single source).
type SIRFlags uint32

// S6mIndicator (bit 0) set: the request comes over S6m from an MTC-IWF;
// clear: over S6n from an MTC-AAA. We always set it. Other bits are sent as
// 0 and ignored by the HSS.
const S6mIndicator SIRFlags = 1 << 0

func (f SIRFlags) String() string { return bitNames(uint32(f), []string{"S6M_S6N_INDICATOR"}) }

// bitNames renders a bitmask as "A|B", unknown bits in hex, 0 as "0".
func bitNames(v uint32, names []string) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for i, n := range names {
		if v&(1<<i) != 0 {
			parts = append(parts, n)
			v &^= 1 << i
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", v))
	}
	return strings.Join(parts, "|")
}

// PriorityIndication is the Priority-Indication AVP in T4-Parameters; the
// same type as on Tsp and T4.
type PriorityIndication = core.PriorityIndication
