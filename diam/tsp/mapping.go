package tsp

import (
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/diam/t4"
)

// Pure mappings from S6m and T4 outcomes to Tsp ones. Every case is in
// mapping_test.go's tables.
//
// Codes are compared as whole core.Results: an Experimental-Result 5001
// from 3GPP (DIAMETER_ERROR_USER_UNKNOWN) and a base Result-Code 5001
// (DIAMETER_AVP_UNSUPPORTED, RFC 6733 7.1.5) mean different things.
//
// Outcomes no table names fall back on the RFC 6733 7.1 class of the code:
//   - 2xxx success: SUCCESS;
//   - 5xxx permanent failure ("the request failed and should not be
//     attempted again", 7.1.5): PERMANENTERROR (107). Retrying the same
//     trigger gets the same answer, so telling the SCS "temporary" would only
//     invite retries that cannot succeed. Reference 1.5 says the same for
//     T4 ("any T4 result code not mapped otherwise"); for S6m it gives no
//     rule and we apply the same reasoning;
//   - 3xxx protocol error (e.g. 3002 UNABLE_TO_DELIVER, 3004 TOO_BUSY: trouble
//     between us and the core node, not with the trigger) and 4xxx transient
//     failure ("may succeed if resent later", 7.1.4): TEMPORARYERROR (201);
//   - anything else (1xxx, a zero or out-of-range code): TEMPORARYERROR, as
//     nothing says a retry is pointless.
//
// A timeout or a dropped connection has no Result at all; the caller answers
// TEMPORARYERROR for those.

// RequestStatusFromS6m maps an SIA's outcome to the DAA's Request-Status
// (reference 1.5 Request-Status table, 2.4; DESIGN.md step 6):
// Experimental-Result 5001 -> INVEXTID (102), 5510 -> NOTAUTHORIZED (105),
// 5511 -> SERVICEUNAVAILABLE (106); otherwise by class (see above). SUCCESS
// means "go on with the trigger", not that it was delivered.
func RequestStatusFromS6m(r core.Result) RequestStatus {
	switch r {
	case core.Experimental3GPP(s6m.ErrorUserUnknown):
		return StatusInvExtID
	case core.Experimental3GPP(s6m.ErrorUnauthorizedRequestingEntity):
		return StatusNotAuthorized
	case core.Experimental3GPP(s6m.ErrorUnauthorizedService):
		return StatusServiceUnavailable
	}
	return statusByClass(r)
}

// RequestStatusFromT4 maps a DTA's outcome to the DAA's Request-Status
// (reference 1.5, 3.4; DESIGN.md step 8): Experimental-Result 5533 ->
// REPLACEFAIL (110), 5534 -> RECALLFAIL (111), 5535 -> ORIGINALMESSAGESENT
// (112), 5531 DIAMETER_ERROR_SC_CONGESTION -> TEMPORARYERROR (201: the
// SMS-SC may take the trigger later); the other T4 codes (5001 user unknown,
// 5530 invalid SME address) -> PERMANENTERROR (107); otherwise by class.
func RequestStatusFromT4(r core.Result) RequestStatus {
	switch r {
	case core.Experimental3GPP(t4.ErrorTriggerReplaceFailure):
		return StatusReplaceFail
	case core.Experimental3GPP(t4.ErrorTriggerRecallFailure):
		return StatusRecallFail
	case core.Experimental3GPP(t4.ErrorOriginalMessageNotPending):
		return StatusOriginalMessageSent
	case core.Experimental3GPP(t4.ErrorSCCongestion):
		return StatusTemporaryError
	}
	return statusByClass(r)
}

func statusByClass(r core.Result) RequestStatus {
	switch r.Class() {
	case 2:
		return StatusSuccess
	case 5:
		return StatusPermanentError
	}
	return StatusTemporaryError
}

// DeliveryOutcomeFromT4 maps a DRR's SM-Delivery-Outcome-T4 to the DNR's
// Delivery-Outcome (reference 1.5, single source: MOB quoting 29.368
// 6.4.10): SUCCESSFUL_TRANSFER -> SUCCESS, VALIDITY_TIME_EXPIRED -> EXPIRED,
// ABSENT_SUBSCRIBER and UE_MEMORY_CAPACITY_EXCEEDED -> UNDELIVERABLE. ok is
// false for a value the decoder would have refused. The
// Absent-Subscriber-Diagnostic-T4 is not passed on over Tsp.
func DeliveryOutcomeFromT4(o t4.SMDeliveryOutcome) (out DeliveryOutcome, ok bool) {
	switch o {
	case t4.SuccessfulTransfer:
		return OutcomeSuccess, true
	case t4.ValidityTimeExpired:
		return OutcomeExpired, true
	case t4.AbsentSubscriber, t4.UEMemoryCapacityExceeded:
		return OutcomeUndeliverable, true
	}
	return 0, false
}

// T4TriggerAction is the DTR Trigger-Action for a DAR's Action-Type
// (reference 5.3): DEVICE_TRIGGER_REQUEST -> TRIGGER, DEVICE_TRIGGER_RECALL
// -> RECALL, DEVICE_TRIGGER_REPLACE -> REPLACE. ok is false for the
// Action-Types that never reach T4 (DELIVERY_REPORT, MSISDN-less MO-SMS).
func T4TriggerAction(a ActionType) (out t4.TriggerAction, ok bool) {
	switch a {
	case DeviceTriggerRequest:
		return t4.Trigger, true
	case DeviceTriggerRecall:
		return t4.Recall, true
	case DeviceTriggerReplace:
		return t4.Replace, true
	}
	return 0, false
}
