// Package t4 holds the typed messages of the T4 reference point (TS 29.337,
// MTC-IWF <-> SMS-SC): DTR/DTA (submit a trigger, recall or replace) and
// DRR/DRA (the delivery report), the T4 enumerations and the T4
// Experimental-Result codes.
//
// User-Identifier and Serving-Node are core.UserIdentifier and
// core.ServingNode, the types s6m.SIA hands over. Conventions (pointers for
// optional numbers, empty = absent for strings, Message/Answer/Decode*) are
// those of diam/tsp.
//
// Facts cite /work/shared/reference/3gpp-mtc.md ("reference N.N").
package t4

import (
	"fmt"

	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// Identifiers of the T4 application (reference 0.1, two sources each).
const (
	AppID             = dictionaries.AppT4 // 16777311
	CmdDeviceTrigger  = 8388643            // DTR/DTA
	CmdDeliveryReport = 8388644            // DRR/DRA
)

var (
	cmdDT = codec.Command{Code: CmdDeviceTrigger, App: AppID, Short: "DT"}
	cmdDR = codec.Command{Code: CmdDeliveryReport, App: AppID, Short: "DR"}
)

// T4 Experimental-Result-Code values, Vendor-Id 10415 (TS 29.337 clause 7,
// reference 3.4, two sources). With one of them the answer has no
// Result-Code. 5532 (DIAMETER_ERROR_SM_PROTOCOL) is void in Rel-17.
const (
	ErrorUserUnknown               = 5001 // IMSI or MSISDN unknown at the SMS-SC
	ErrorInvalidSMEAddress         = 5530 // SM-RP-SMEA invalid
	ErrorSCCongestion              = 5531 // SMS-SC congested: try later
	ErrorTriggerReplaceFailure     = 5533 // replace could not delete the old and/or store the new message
	ErrorTriggerRecallFailure      = 5534 // recall failed
	ErrorOriginalMessageNotPending = 5535 // recall/replace too late: the original was delivered or expired
)

// ExperimentalName names a T4 Experimental-Result-Code, or "" if unknown.
func ExperimentalName(code uint32) string {
	switch code {
	case ErrorUserUnknown:
		return "DIAMETER_ERROR_USER_UNKNOWN"
	case ErrorInvalidSMEAddress:
		return "DIAMETER_ERROR_INVALID_SME_ADDRESS"
	case ErrorSCCongestion:
		return "DIAMETER_ERROR_SC_CONGESTION"
	case ErrorTriggerReplaceFailure:
		return "DIAMETER_ERROR_TRIGGER_REPLACE_FAILURE"
	case ErrorTriggerRecallFailure:
		return "DIAMETER_ERROR_TRIGGER_RECALL_FAILURE"
	case ErrorOriginalMessageNotPending:
		return "DIAMETER_ERROR_ORIGINAL_MESSAGE_NOT_PENDING"
	}
	return ""
}

// SMDeliveryOutcome is the SM-Delivery-Outcome-T4 AVP (3200, Enumerated) in
// DRR (reference 3.3; 0-2 two sources, 3 single source: MOB).
type SMDeliveryOutcome uint32

// SM-Delivery-Outcome-T4 values.
const (
	AbsentSubscriber         SMDeliveryOutcome = 0
	UEMemoryCapacityExceeded SMDeliveryOutcome = 1
	SuccessfulTransfer       SMDeliveryOutcome = 2
	ValidityTimeExpired      SMDeliveryOutcome = 3
)

// Valid reports whether o is a defined value.
func (o SMDeliveryOutcome) Valid() bool { return o <= ValidityTimeExpired }

func (o SMDeliveryOutcome) String() string {
	switch o {
	case AbsentSubscriber:
		return "ABSENT_SUBSCRIBER"
	case UEMemoryCapacityExceeded:
		return "UE_MEMORY_CAPACITY_EXCEEDED"
	case SuccessfulTransfer:
		return "SUCCESSFUL_TRANSFER"
	case ValidityTimeExpired:
		return "VALIDITY_TIME_EXPIRED"
	}
	return fmt.Sprintf("SMDeliveryOutcome(%d)", uint32(o))
}

// AbsentSubscriberDiagnostic is the Absent-Subscriber-Diagnostic-T4 AVP
// (3201, Enumerated) in DRR (reference 3.3, two sources). It is not
// forwarded over Tsp (reference 1.5).
type AbsentSubscriberDiagnostic uint32

// Absent-Subscriber-Diagnostic-T4 values.
const (
	NoPagingResponse       AbsentSubscriberDiagnostic = 0
	UEDetached             AbsentSubscriberDiagnostic = 1
	UEDeregistered         AbsentSubscriberDiagnostic = 2
	UEPurged               AbsentSubscriberDiagnostic = 3
	RoamingRestriction     AbsentSubscriberDiagnostic = 4
	UnidentifiedSubscriber AbsentSubscriberDiagnostic = 5
)

// Valid reports whether d is a defined value.
func (d AbsentSubscriberDiagnostic) Valid() bool { return d <= UnidentifiedSubscriber }

func (d AbsentSubscriberDiagnostic) String() string {
	switch d {
	case NoPagingResponse:
		return "NO_PAGING_RESPONSE"
	case UEDetached:
		return "UE_DETACHED"
	case UEDeregistered:
		return "UE_DEREGISTERED"
	case UEPurged:
		return "UE_PURGED"
	case RoamingRestriction:
		return "ROAMING_RESTRICTION"
	case UnidentifiedSubscriber:
		return "UNIDENTIFIED_SUBSCRIBER"
	}
	return fmt.Sprintf("AbsentSubscriberDiagnostic(%d)", uint32(d))
}

// TriggerAction is the Trigger-Action AVP (3202, Unsigned32) in DTR and DTA
// (reference 3.3; values single source: MOB). Unsigned32 on the wire, so the
// dictionary does not check it; the decoders do.
type TriggerAction uint32

// Trigger-Action values.
const (
	Trigger TriggerAction = 0 // store and send a new trigger
	Recall  TriggerAction = 1 // remove the pending trigger
	Replace TriggerAction = 2 // replace the pending trigger
)

// Valid reports whether a is a defined value.
func (a TriggerAction) Valid() bool { return a <= Replace }

// NeedsOldReference reports whether a acts on an earlier trigger, named by
// Old-Reference-Number.
func (a TriggerAction) NeedsOldReference() bool { return a == Recall || a == Replace }

func (a TriggerAction) String() string {
	switch a {
	case Trigger:
		return "TRIGGER"
	case Recall:
		return "RECALL"
	case Replace:
		return "REPLACE"
	}
	return fmt.Sprintf("TriggerAction(%d)", uint32(a))
}

// MTCErrorDiagnostic is the MTC-Error-Diagnostic AVP (3203) in DTA; the same
// type the Tsp Device-Notification carries on.
type MTCErrorDiagnostic = core.MTCErrorDiagnostic

// MTC-Error-Diagnostic values.
const (
	OriginalMessageNotDeleted = core.OriginalMessageNotDeleted
	NewMessageNotStored       = core.NewMessageNotStored
)

// PriorityIndication is the Priority-Indication AVP in DTR; the same type
// as on Tsp and S6m.
type PriorityIndication = core.PriorityIndication
