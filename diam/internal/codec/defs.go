// Package codec is the AVP plumbing shared by diam/tsp, diam/s6m and
// diam/t4: the definitions (code, vendor, flags, type) of every AVP they
// read or write, builders, a decoder that turns a missing or bad AVP into
// the RFC 6733 answer (5005 with an example Failed-AVP, 5004 with the
// offending AVP), answer headers derived from their request, and the wire
// codecs of the shared core types.
//
// It is internal so that only diam/... can touch raw AVPs: business logic
// sees the typed messages of tsp, s6m and t4 (style.md, "Five things to
// avoid" 3). The definitions below mirror dictionaries/*.xml;
// defs_test.go checks every one against the dictionaries, so they cannot
// drift.
package codec

import (
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

// Def is one AVP as we send it: its code, Vendor-Id, the flags we set (the M
// bit where its definition says "must M"; the V bit follows from Vendor),
// and its data type.
type Def struct {
	Name   string
	Code   uint32
	Vendor uint32
	Flags  uint8
	Type   datatype.TypeID
}

const (
	v3GPP = 10415
	m     = avp.Mbit
	mv    = avp.Mbit | avp.Vbit
	v     = avp.Vbit
)

// Base protocol AVPs (RFC 6733).
var (
	UserName            = Def{"User-Name", 1, 0, m, datatype.UTF8StringType}
	AuthApplicationID   = Def{"Auth-Application-Id", 258, 0, m, datatype.Unsigned32Type}
	SessionID           = Def{"Session-Id", 263, 0, m, datatype.UTF8StringType}
	OriginHost          = Def{"Origin-Host", 264, 0, m, datatype.DiameterIdentityType}
	VendorID            = Def{"Vendor-Id", 266, 0, m, datatype.Unsigned32Type}
	ResultCode          = Def{"Result-Code", 268, 0, m, datatype.Unsigned32Type}
	AuthSessionState    = Def{"Auth-Session-State", 277, 0, m, datatype.EnumeratedType}
	FailedAVP           = Def{"Failed-AVP", 279, 0, m, datatype.GroupedType}
	ErrorMessage        = Def{"Error-Message", 281, 0, 0, datatype.UTF8StringType}
	DestinationRealm    = Def{"Destination-Realm", 283, 0, m, datatype.DiameterIdentityType}
	ProxyInfo           = Def{"Proxy-Info", 284, 0, m, datatype.GroupedType}
	DestinationHost     = Def{"Destination-Host", 293, 0, m, datatype.DiameterIdentityType}
	ErrorReportingHost  = Def{"Error-Reporting-Host", 294, 0, 0, datatype.DiameterIdentityType}
	OriginRealm         = Def{"Origin-Realm", 296, 0, m, datatype.DiameterIdentityType}
	ExperimentalResult  = Def{"Experimental-Result", 297, 0, m, datatype.GroupedType}
	ExperimentalResCode = Def{"Experimental-Result-Code", 298, 0, m, datatype.Unsigned32Type}
	ValidityTime        = Def{"Validity-Time", 448, 0, m, datatype.Unsigned32Type}
)

// 3GPP AVPs shared by several interfaces (dictionaries/base.xml).
var (
	MSISDN                    = Def{"MSISDN", 701, v3GPP, mv, datatype.OctetStringType}
	SGSNNumber                = Def{"SGSN-Number", 1489, v3GPP, mv, datatype.OctetStringType}
	MMENumberForMTSMS         = Def{"MME-Number-for-MT-SMS", 1645, v3GPP, v, datatype.OctetStringType}
	ServingNode               = Def{"Serving-Node", 2401, v3GPP, mv, datatype.GroupedType}
	MMEName                   = Def{"MME-Name", 2402, v3GPP, mv, datatype.DiameterIdentityType}
	MSCNumber                 = Def{"MSC-Number", 2403, v3GPP, mv, datatype.OctetStringType}
	AdditionalServingNode     = Def{"Additional-Serving-Node", 2406, v3GPP, mv, datatype.GroupedType}
	MMERealm                  = Def{"MME-Realm", 2408, v3GPP, v, datatype.DiameterIdentityType}
	SGSNName                  = Def{"SGSN-Name", 2409, v3GPP, v, datatype.DiameterIdentityType}
	SGSNRealm                 = Def{"SGSN-Realm", 2410, v3GPP, v, datatype.DiameterIdentityType}
	Payload                   = Def{"Payload", 3004, v3GPP, mv, datatype.OctetStringType}
	PriorityIndication        = Def{"Priority-Indication", 3006, v3GPP, mv, datatype.EnumeratedType}
	ReferenceNumber           = Def{"Reference-Number", 3007, v3GPP, mv, datatype.Unsigned32Type}
	ApplicationPortIdentifier = Def{"Application-Port-Identifier", 3010, v3GPP, mv, datatype.Unsigned32Type}
	OldReferenceNumber        = Def{"Old-Reference-Number", 3011, v3GPP, v, datatype.Unsigned32Type}
	IPSMGWNumber              = Def{"IP-SM-GW-Number", 3100, v3GPP, mv, datatype.OctetStringType}
	IPSMGWName                = Def{"IP-SM-GW-Name", 3101, v3GPP, mv, datatype.DiameterIdentityType}
	UserIdentifier            = Def{"User-Identifier", 3102, v3GPP, mv, datatype.GroupedType}
	SCSIdentity               = Def{"SCS-Identity", 3104, v3GPP, mv, datatype.OctetStringType}
	ExternalIdentifier        = Def{"External-Identifier", 3111, v3GPP, mv, datatype.UTF8StringType}
	IPSMGWRealm               = Def{"IP-SM-GW-Realm", 3112, v3GPP, mv, datatype.DiameterIdentityType}
	MTCErrorDiagnostic        = Def{"MTC-Error-Diagnostic", 3203, v3GPP, v, datatype.Unsigned32Type}
	SMRPUI                    = Def{"SM-RP-UI", 3301, v3GPP, mv, datatype.OctetStringType}
	SMRPSMEA                  = Def{"SM-RP-SMEA", 3309, v3GPP, mv, datatype.OctetStringType}
)

// Tsp AVPs (dictionaries/tsp.xml).
var (
	DeviceAction                  = Def{"Device-Action", 3001, v3GPP, mv, datatype.GroupedType}
	DeviceNotification            = Def{"Device-Notification", 3002, v3GPP, mv, datatype.GroupedType}
	TriggerData                   = Def{"Trigger-Data", 3003, v3GPP, mv, datatype.GroupedType}
	ActionType                    = Def{"Action-Type", 3005, v3GPP, mv, datatype.EnumeratedType}
	RequestStatus                 = Def{"Request-Status", 3008, v3GPP, mv, datatype.EnumeratedType}
	DeliveryOutcome               = Def{"Delivery-Outcome", 3009, v3GPP, mv, datatype.EnumeratedType}
	FeatureSupportedInFinalTarget = Def{"Feature-Supported-In-Final-Target", 3012, v3GPP, v, datatype.Unsigned32Type}
)

// S6m AVPs (dictionaries/s6m.xml).
var (
	ServiceID         = Def{"Service-ID", 3103, v3GPP, mv, datatype.EnumeratedType}
	ServiceParameters = Def{"Service-Parameters", 3105, v3GPP, mv, datatype.GroupedType}
	T4Parameters      = Def{"T4-Parameters", 3106, v3GPP, mv, datatype.GroupedType}
	ServiceData       = Def{"Service-Data", 3107, v3GPP, mv, datatype.GroupedType}
	T4Data            = Def{"T4-Data", 3108, v3GPP, mv, datatype.GroupedType}
	HSSCause          = Def{"HSS-Cause", 3109, v3GPP, mv, datatype.Unsigned32Type}
	SIRFlags          = Def{"SIR-Flags", 3110, v3GPP, mv, datatype.Unsigned32Type}
)

// T4 AVPs (dictionaries/t4.xml).
var (
	SMDeliveryOutcomeT4          = Def{"SM-Delivery-Outcome-T4", 3200, v3GPP, mv, datatype.EnumeratedType}
	AbsentSubscriberDiagnosticT4 = Def{"Absent-Subscriber-Diagnostic-T4", 3201, v3GPP, mv, datatype.EnumeratedType}
	TriggerAction                = Def{"Trigger-Action", 3202, v3GPP, v, datatype.Unsigned32Type}
)

// Defs lists every definition above, per dictionary, for the consistency
// test: "base" are in dictionaries/base.xml, the others in the named
// application's file.
var Defs = map[string][]Def{
	"base": {
		UserName, AuthApplicationID, SessionID, OriginHost, VendorID, ResultCode, AuthSessionState,
		FailedAVP, ErrorMessage, DestinationRealm, ProxyInfo, DestinationHost, ErrorReportingHost, OriginRealm,
		ExperimentalResult, ExperimentalResCode, ValidityTime,
		MSISDN, SGSNNumber, MMENumberForMTSMS, ServingNode, MMEName, MSCNumber, AdditionalServingNode,
		MMERealm, SGSNName, SGSNRealm, Payload, PriorityIndication, ReferenceNumber,
		ApplicationPortIdentifier, OldReferenceNumber, IPSMGWNumber, IPSMGWName, UserIdentifier,
		SCSIdentity, ExternalIdentifier, IPSMGWRealm, MTCErrorDiagnostic, SMRPUI, SMRPSMEA,
	},
	"tsp": {DeviceAction, DeviceNotification, TriggerData, ActionType, RequestStatus, DeliveryOutcome, FeatureSupportedInFinalTarget},
	"s6m": {ServiceID, ServiceParameters, T4Parameters, ServiceData, T4Data, HSSCause, SIRFlags},
	"t4":  {SMDeliveryOutcomeT4, AbsentSubscriberDiagnosticT4, TriggerAction},
}

// Auth-Session-State values (RFC 6733 8.11).
const (
	StateMaintained   = 0
	NoStateMaintained = 1
)
