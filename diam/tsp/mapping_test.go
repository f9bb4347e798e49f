package tsp

import (
	"testing"

	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/t4"
)

func TestTspRequestStatusFromS6m(t *testing.T) {
	cases := []struct {
		in   core.Result
		want RequestStatus
		why  string
	}{
		{core.ResultCode(2001), StatusSuccess, "DIAMETER_SUCCESS"},
		{core.ResultCode(2002), StatusSuccess, "2xxx"},
		{core.Experimental3GPP(5001), StatusInvExtID, "reference 1.5/2.4: USER_UNKNOWN"},
		{core.Experimental3GPP(5510), StatusNotAuthorized, "reference 1.5/2.4: UNAUTHORIZED_REQUESTING_ENTITY"},
		{core.Experimental3GPP(5511), StatusServiceUnavailable, "reference 1.5/2.4: UNAUTHORIZED_SERVICE"},
		{core.ResultCode(5001), StatusPermanentError, "base 5001 is AVP_UNSUPPORTED, not user unknown"},
		{core.Result{Code: 5001, VendorID: 9}, StatusPermanentError, "another vendor's 5001"},
		{core.ResultCode(5012), StatusPermanentError, "UNABLE_TO_COMPLY: permanent (RFC 6733 7.1.5)"},
		{core.ResultCode(5004), StatusPermanentError, "INVALID_AVP_VALUE"},
		{core.Experimental3GPP(5420), StatusPermanentError, "another 3GPP permanent code"},
		{core.ResultCode(3002), StatusTemporaryError, "UNABLE_TO_DELIVER: routing trouble"},
		{core.ResultCode(3004), StatusTemporaryError, "TOO_BUSY"},
		{core.ResultCode(4001), StatusTemporaryError, "transient (RFC 6733 7.1.4)"},
		{core.Experimental3GPP(4181), StatusTemporaryError, "3GPP transient"},
		{core.ResultCode(1001), StatusTemporaryError, "informational: unexpected"},
		{core.Result{}, StatusTemporaryError, "no result"},
		{core.ResultCode(6000), StatusTemporaryError, "out of range"},
	}
	for _, c := range cases {
		if got := RequestStatusFromS6m(c.in); got != c.want {
			t.Errorf("%v (%s): %s, want %s", c.in, c.why, got, c.want)
		}
	}
}

func TestTspRequestStatusFromT4(t *testing.T) {
	cases := []struct {
		in   core.Result
		want RequestStatus
		why  string
	}{
		{core.ResultCode(2001), StatusSuccess, "accepted for delivery"},
		{core.Experimental3GPP(5533), StatusReplaceFail, "TRIGGER_REPLACE_FAILURE"},
		{core.Experimental3GPP(5534), StatusRecallFail, "TRIGGER_RECALL_FAILURE"},
		{core.Experimental3GPP(5535), StatusOriginalMessageSent, "ORIGINAL_MESSAGE_NOT_PENDING"},
		{core.Experimental3GPP(5531), StatusTemporaryError, "SC_CONGESTION: try later"},
		{core.Experimental3GPP(5001), StatusPermanentError, "USER_UNKNOWN at the SMS-SC (reference 1.5: 107)"},
		{core.Experimental3GPP(5530), StatusPermanentError, "INVALID_SME_ADDRESS (reference 1.5: 107)"},
		{core.Experimental3GPP(5532), StatusPermanentError, "void SM_PROTOCOL"},
		{core.ResultCode(5533), StatusPermanentError, "base 5533 is not the 3GPP code"},
		{core.ResultCode(5012), StatusPermanentError, "UNABLE_TO_COMPLY"},
		{core.ResultCode(3002), StatusTemporaryError, "UNABLE_TO_DELIVER"},
		{core.ResultCode(4002), StatusTemporaryError, "transient"},
		{core.Result{}, StatusTemporaryError, "no result"},
	}
	for _, c := range cases {
		if got := RequestStatusFromT4(c.in); got != c.want {
			t.Errorf("%v (%s): %s, want %s", c.in, c.why, got, c.want)
		}
	}
}

func TestTspDeliveryOutcomeFromT4(t *testing.T) {
	cases := []struct {
		in   t4.SMDeliveryOutcome
		want DeliveryOutcome
		ok   bool
	}{
		{t4.SuccessfulTransfer, OutcomeSuccess, true},
		{t4.ValidityTimeExpired, OutcomeExpired, true},
		{t4.AbsentSubscriber, OutcomeUndeliverable, true},
		{t4.UEMemoryCapacityExceeded, OutcomeUndeliverable, true},
		{4, 0, false},
	}
	for _, c := range cases {
		got, ok := DeliveryOutcomeFromT4(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTspT4TriggerAction(t *testing.T) {
	cases := []struct {
		in   ActionType
		want t4.TriggerAction
		ok   bool
	}{
		{DeviceTriggerRequest, t4.Trigger, true},
		{DeviceTriggerRecall, t4.Recall, true},
		{DeviceTriggerReplace, t4.Replace, true},
		{DeliveryReport, 0, false},
		{MSISDNLessMOSMSDelivery, 0, false},
		{0, 0, false},
	}
	for _, c := range cases {
		got, ok := T4TriggerAction(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTspEnumStrings(t *testing.T) {
	names := map[RequestStatus]string{0: "SUCCESS", 101: "INVPAYLOAD", 102: "INVEXTID", 103: "INVSCSID", 104: "INVPERIOD",
		105: "NOTAUTHORIZED", 106: "SERVICEUNAVAILABLE", 107: "PERMANENTERROR", 108: "QUOTAEXCEEDED", 109: "RATEEXCEEDED",
		110: "REPLACEFAIL", 111: "RECALLFAIL", 112: "ORIGINALMESSAGESENT", 201: "TEMPORARYERROR"}
	for s, n := range names {
		if s.String() != n || !s.Valid() {
			t.Errorf("%d: %s", uint32(s), s)
		}
	}
	for _, s := range []RequestStatus{1, 100, 113, 200, 202} {
		if s.Valid() {
			t.Errorf("%d valid", uint32(s))
		}
	}
	if RequestStatus(113).String() != "RequestStatus(113)" {
		t.Error(RequestStatus(113))
	}
	for a, n := range map[ActionType]string{1: "DEVICE_TRIGGER_REQUEST", 2: "DELIVERY_REPORT", 3: "DEVICE_TRIGGER_RECALL",
		4: "DEVICE_TRIGGER_REPLACE", 5: "MSISDN_LESS_MO_SMS_DELIVERY", 0: "ActionType(0)", 6: "ActionType(6)"} {
		if a.String() != n || a.Valid() != (a >= 1 && a <= 5) {
			t.Errorf("%d: %s", uint32(a), a)
		}
	}
	for o, n := range map[DeliveryOutcome]string{0: "SUCCESS", 1: "EXPIRED", 2: "TEMPORARYERROR", 3: "UNDELIVERABLE",
		4: "UNCONFIRMED", 5: "DeliveryOutcome(5)"} {
		if o.String() != n || o.Valid() != (o <= 4) {
			t.Errorf("%d: %s", uint32(o), o)
		}
	}
	if Priority.String() != "PRIORITY" || FeatureRecallReplace.String() != "RECALL_REPLACE" || FinalTargetFeatures(0).String() != "NONE" {
		t.Error("priority / features")
	}
}
