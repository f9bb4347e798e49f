// Package tsp holds the typed messages of the Tsp reference point (TS 29.368,
// SCS <-> MTC-IWF): DAR/DAA and DNR/DNA, with their grouped AVPs
// Device-Action, Trigger-Data and Device-Notification, the Tsp
// enumerations, the mappings from S6m and T4 outcomes to Tsp ones, and the
// egress check that every Tsp message passes before it leaves.
//
// Privacy by construction (DESIGN.md step 9): no type here has a field that
// can hold an IMSI, a User-Identifier or a serving node. The only UE
// identities on Tsp are External-Identifier and MSISDN (reference 1.7).
//
// Conventions shared with diam/s6m and diam/t4:
//   - Optional numbers and enumerations are pointers (nil = absent); Go 1.26's
//     new(expr) makes them easy to set: TriggerData{PriorityIndication:
//     new(tsp.Priority)}.
//   - Optional strings and byte slices are absent when empty: an empty value
//     of any of them is invalid or meaningless, and the decoders treat an
//     empty one as absent (or refuse it where the format forbids it).
//   - Requests: (*X).Message(d) builds the request with dictionary d (R and P
//     bits, Session-Id first, Auth-Session-State NO_STATE_MAINTAINED);
//     DecodeX(m) returns the struct or the *diam.ProtocolError to answer with
//     (5005 + example Failed-AVP for a missing AVP, 5004 + the AVP for a bad
//     value). Decoders never panic and assume nothing about prior validation.
//   - Answers: (*X).Answer(req, id) derives the answer from its request
//     (Hop-by-Hop, End-to-End, Session-Id, Proxy-Info copied; our
//     Origin-Host/Realm), DecodeX(m) reads one.
//
// Facts cite /work/shared/reference/3gpp-mtc.md ("reference N.N").
package tsp

import (
	"fmt"

	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codec"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// Identifiers of the Tsp application (reference 0.1, two sources each).
const (
	AppID                 = dictionaries.AppTsp // 16777309
	CmdDeviceAction       = 8388639             // DAR/DAA
	CmdDeviceNotification = 8388640             // DNR/DNA
)

var (
	cmdDA = codec.Command{Code: CmdDeviceAction, App: AppID, Short: "DA"}
	cmdDN = codec.Command{Code: CmdDeviceNotification, App: AppID, Short: "DN"}
)

// MaxApplicationPort is the largest Application-Port-Identifier we accept
// (core.MaxApplicationPort: the 16-bit SMS application port).
const MaxApplicationPort = core.MaxApplicationPort

// ActionType is the Action-Type AVP (3005), TS 29.368 6.4.5 (reference 1.5:
// values 1-2 two sources, 3-5 two sources for the numbers, names from MOB).
type ActionType uint32

// Action-Type values.
const (
	DeviceTriggerRequest    ActionType = 1 // DAR/DAA
	DeliveryReport          ActionType = 2 // DNR
	DeviceTriggerRecall     ActionType = 3 // DAR/DAA
	DeviceTriggerReplace    ActionType = 4 // DAR/DAA
	MSISDNLessMOSMSDelivery ActionType = 5 // DNR
)

// Valid reports whether a is a defined value.
func (a ActionType) Valid() bool { return a >= DeviceTriggerRequest && a <= MSISDNLessMOSMSDelivery }

// IsRequestAction reports whether an SCS may ask for a in a DAR (and the DAA
// echoes it): trigger, recall or replace. Delivery reports and MO-SMS flow
// the other way, in DNR.
func (a ActionType) IsRequestAction() bool {
	return a == DeviceTriggerRequest || a == DeviceTriggerRecall || a == DeviceTriggerReplace
}

// NeedsTriggerData reports whether a DAR with a must carry Trigger-Data: a new
// trigger and a replacement carry a payload, a recall does not.
func (a ActionType) NeedsTriggerData() bool {
	return a == DeviceTriggerRequest || a == DeviceTriggerReplace
}

// NeedsOldReference reports whether a DAR with a must carry
// Old-Reference-Number: recall and replace act on an earlier trigger
// (reference 1.4, 5.3).
func (a ActionType) NeedsOldReference() bool {
	return a == DeviceTriggerRecall || a == DeviceTriggerReplace
}

func (a ActionType) String() string {
	switch a {
	case DeviceTriggerRequest:
		return "DEVICE_TRIGGER_REQUEST"
	case DeliveryReport:
		return "DELIVERY_REPORT"
	case DeviceTriggerRecall:
		return "DEVICE_TRIGGER_RECALL"
	case DeviceTriggerReplace:
		return "DEVICE_TRIGGER_REPLACE"
	case MSISDNLessMOSMSDelivery:
		return "MSISDN_LESS_MO_SMS_DELIVERY"
	}
	return fmt.Sprintf("ActionType(%d)", uint32(a))
}

// RequestStatus is the Request-Status AVP (3008), TS 29.368 6.4.9: the
// outcome of a DAR, in the DAA's Device-Notification (reference 1.5).
type RequestStatus uint32

// Request-Status values (reference 1.5; 0, 101-109, 201 three sources,
// 110-112 two).
const (
	StatusSuccess             RequestStatus = 0
	StatusInvPayload          RequestStatus = 101
	StatusInvExtID            RequestStatus = 102
	StatusInvSCSID            RequestStatus = 103
	StatusInvPeriod           RequestStatus = 104
	StatusNotAuthorized       RequestStatus = 105
	StatusServiceUnavailable  RequestStatus = 106
	StatusPermanentError      RequestStatus = 107
	StatusQuotaExceeded       RequestStatus = 108
	StatusRateExceeded        RequestStatus = 109
	StatusReplaceFail         RequestStatus = 110
	StatusRecallFail          RequestStatus = 111
	StatusOriginalMessageSent RequestStatus = 112
	StatusTemporaryError      RequestStatus = 201
)

var requestStatusNames = map[RequestStatus]string{
	StatusSuccess:             "SUCCESS",
	StatusInvPayload:          "INVPAYLOAD",
	StatusInvExtID:            "INVEXTID",
	StatusInvSCSID:            "INVSCSID",
	StatusInvPeriod:           "INVPERIOD",
	StatusNotAuthorized:       "NOTAUTHORIZED",
	StatusServiceUnavailable:  "SERVICEUNAVAILABLE",
	StatusPermanentError:      "PERMANENTERROR",
	StatusQuotaExceeded:       "QUOTAEXCEEDED",
	StatusRateExceeded:        "RATEEXCEEDED",
	StatusReplaceFail:         "REPLACEFAIL",
	StatusRecallFail:          "RECALLFAIL",
	StatusOriginalMessageSent: "ORIGINALMESSAGESENT",
	StatusTemporaryError:      "TEMPORARYERROR",
}

// Valid reports whether s is a defined value.
func (s RequestStatus) Valid() bool { _, ok := requestStatusNames[s]; return ok }

func (s RequestStatus) String() string {
	if n, ok := requestStatusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("RequestStatus(%d)", uint32(s))
}

// DeliveryOutcome is the Delivery-Outcome AVP (3009), TS 29.368 6.4.10: the
// final result of a trigger, in the DNR's Device-Notification (reference
// 1.5; 0-3 three sources, 4 two).
type DeliveryOutcome uint32

// Delivery-Outcome values.
const (
	OutcomeSuccess        DeliveryOutcome = 0
	OutcomeExpired        DeliveryOutcome = 1
	OutcomeTemporaryError DeliveryOutcome = 2
	OutcomeUndeliverable  DeliveryOutcome = 3
	OutcomeUnconfirmed    DeliveryOutcome = 4
)

// Valid reports whether o is a defined value.
func (o DeliveryOutcome) Valid() bool { return o <= OutcomeUnconfirmed }

func (o DeliveryOutcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "SUCCESS"
	case OutcomeExpired:
		return "EXPIRED"
	case OutcomeTemporaryError:
		return "TEMPORARYERROR"
	case OutcomeUndeliverable:
		return "UNDELIVERABLE"
	case OutcomeUnconfirmed:
		return "UNCONFIRMED"
	}
	return fmt.Sprintf("DeliveryOutcome(%d)", uint32(o))
}

// PriorityIndication is the Priority-Indication AVP (3006) in Trigger-Data;
// the same type as on S6m and T4.
type PriorityIndication = core.PriorityIndication

// Priority-Indication values.
const (
	NonPriority = core.NonPriority
	Priority    = core.Priority
)

// MTCErrorDiagnostic is the MTC-Error-Diagnostic AVP (3203) that the
// Device-Notification passes on from the T4 DTA; the same type as in t4.
type MTCErrorDiagnostic = core.MTCErrorDiagnostic

// FinalTargetFeatures is the Feature-Supported-In-Final-Target AVP (3012), a
// bitmask in DAA (reference 1.5, single source: MOB).
type FinalTargetFeatures uint32

// FeatureRecallReplace (bit 0, "Device-Trigger-Recall-Replace"): the SMS-SC
// supports recall and replace. Without it the SCS must not recall and must
// treat a replace as a new trigger.
const FeatureRecallReplace FinalTargetFeatures = 1 << 0

func (f FinalTargetFeatures) String() string {
	if f == FeatureRecallReplace {
		return "RECALL_REPLACE"
	}
	if f == 0 {
		return "NONE"
	}
	return fmt.Sprintf("FinalTargetFeatures(0x%x)", uint32(f))
}
