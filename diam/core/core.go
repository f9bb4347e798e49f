// Package core holds the leaf types that more than one of our Diameter
// reference points carries, so that a value read from one interface can be
// written to another without conversion and without an import cycle:
// S6m's SIA hands its User-Identifier and Serving-Node to T4's DTR; Tsp, S6m
// and T4 all carry Priority-Indication; Tsp and T4 both carry
// MTC-Error-Diagnostic; every answer carries a Result.
//
// The packages diam/tsp, diam/s6m and diam/t4 use these types in their
// message structs (and re-export the enumerations under their own names).
// core has no wire code at all: the AVP encoding lives in
// diam/internal/codec, so business logic can hold these values but cannot
// build or parse AVPs with them. core imports nothing of ours, so security
// may use it too.
//
// Facts cite /work/shared/reference/3gpp-mtc.md ("reference N.N").
package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// VendorID3GPP is the 3GPP Vendor-Id (10415), the vendor of every 3GPP AVP
// and Experimental-Result-Code here (reference 0.1).
const VendorID3GPP = 10415

// Routing holds the base AVPs that route a request (RFC 6733 6.1): who sent
// it and where it goes, plus its Session-Id. Decoders fill it from the
// request; encoders write it.
type Routing struct {
	// SessionID is the Session-Id (RFC 6733 8.8). Empty on encode means
	// "make a new one from OriginHost".
	SessionID        string
	OriginHost       string
	OriginRealm      string
	DestinationHost  string // optional, except in DNR and DRR
	DestinationRealm string
}

// PriorityIndication is the Priority-Indication AVP (3006, Enumerated),
// TS 29.368 6.4.6; carried in Tsp Trigger-Data, S6m T4-Parameters and T4 DTR
// (reference 1.5: 0 Non-Priority, 1 Priority; two sources).
type PriorityIndication uint32

// Priority-Indication values.
const (
	NonPriority PriorityIndication = 0
	Priority    PriorityIndication = 1
)

// Valid reports whether p is a defined value.
func (p PriorityIndication) Valid() bool { return p <= Priority }

func (p PriorityIndication) String() string {
	switch p {
	case NonPriority:
		return "NON_PRIORITY"
	case Priority:
		return "PRIORITY"
	}
	return fmt.Sprintf("PriorityIndication(%d)", uint32(p))
}

// MTCErrorDiagnostic is the MTC-Error-Diagnostic AVP (3203, Unsigned32),
// TS 29.337: why a trigger replace failed. The SMS-SC sends it in DTA and the
// MTC-IWF passes it on in the Tsp Device-Notification (reference 3.3; values
// single source: Mobius quoting 29.337).
type MTCErrorDiagnostic uint32

// MTC-Error-Diagnostic values.
const (
	// OriginalMessageNotDeleted: the message to replace is pending but
	// could not be deleted.
	OriginalMessageNotDeleted MTCErrorDiagnostic = 0
	// NewMessageNotStored: the replacing message could not be stored.
	NewMessageNotStored MTCErrorDiagnostic = 1
)

// Valid reports whether d is a defined value.
func (d MTCErrorDiagnostic) Valid() bool { return d <= NewMessageNotStored }

func (d MTCErrorDiagnostic) String() string {
	switch d {
	case OriginalMessageNotDeleted:
		return "ORIGINAL_MESSAGE_NOT_DELETED"
	case NewMessageNotStored:
		return "NEW_MESSAGE_NOT_STORED"
	}
	return fmt.Sprintf("MTCErrorDiagnostic(%d)", uint32(d))
}

// UserIdentifier is the User-Identifier AVP (3102, TS 29.336 6.4.2) of S6m
// and T4: at least one identifier must be set (reference 2.3). It carries the
// IMSI, so it exists only on the core side: no Tsp type can hold one.
type UserIdentifier struct {
	// IMSI is the User-Name AVP (1): 6 to 15 decimal digits.
	IMSI string
	// MSISDN is the MSISDN AVP (701): E.164 digits, without '+'.
	MSISDN string
	// ExternalIdentifier is the External-Identifier AVP (3111):
	// <Local Identifier>@<Domain Identifier>.
	ExternalIdentifier string
}

// IsZero reports whether no identifier is set.
func (u UserIdentifier) IsZero() bool { return u == UserIdentifier{} }

// Check reports the first field that is set but malformed, or that none is
// set.
func (u UserIdentifier) Check() error {
	if u.IsZero() {
		return fmt.Errorf("User-Identifier holds no identifier (User-Name, MSISDN or External-Identifier)")
	}
	if u.IMSI != "" {
		if err := CheckIMSI(u.IMSI); err != nil {
			return err
		}
	}
	if u.MSISDN != "" {
		if err := CheckE164(u.MSISDN); err != nil {
			return fmt.Errorf("MSISDN: %w", err)
		}
	}
	if u.ExternalIdentifier != "" {
		if err := CheckExternalIdentifier(u.ExternalIdentifier); err != nil {
			return err
		}
	}
	return nil
}

// ServingNode is the Serving-Node AVP (2401, TS 29.173), and with the
// IP-SM-GW fields empty the Additional-Serving-Node AVP (2406): the node that
// serves the UE for MT-SMS, as the HSS returns it in the SIA's T4-Data and
// the MTC-IWF passes it to the SMS-SC in the DTR unchanged (reference 2.3).
// It is comparable with ==.
//
// The allowed combinations are (reference 2.3, single source): SGSN-Number;
// SGSN name+realm+number; MME name+realm+number-for-MT-SMS; MSC-Number;
// MSC-Number with MME name/realm; IP-SM-GW-Number; IP-SM-GW number+name+realm.
// The decoder does not enforce them: the HSS decides, and we copy.
//
// The numbers are E.164 digits (TBCD on the wire, without a
// nature-of-address octet: TS 29.272 7.3.102 and 7.3.159, TS 29.173).
// Members that are not listed here (Rel-16 SMSF-*) are dropped.
type ServingNode struct {
	SGSNName          string // SGSN-Name (2409), DiameterIdentity
	SGSNRealm         string // SGSN-Realm (2410), DiameterIdentity
	SGSNNumber        string // SGSN-Number (1489)
	MMEName           string // MME-Name (2402), DiameterIdentity
	MMERealm          string // MME-Realm (2408), DiameterIdentity
	MMENumberForMTSMS string // MME-Number-for-MT-SMS (1645)
	MSCNumber         string // MSC-Number (2403)
	IPSMGWNumber      string // IP-SM-GW-Number (3100); Serving-Node only
	IPSMGWName        string // IP-SM-GW-Name (3101); Serving-Node only
	IPSMGWRealm       string // IP-SM-GW-Realm (3112); Serving-Node only
}

// IsZero reports whether no member is set.
func (s ServingNode) IsZero() bool { return s == ServingNode{} }

// HasIPSMGW reports whether an IP-SM-GW member is set; those may not appear
// in an Additional-Serving-Node.
func (s ServingNode) HasIPSMGW() bool {
	return s.IPSMGWNumber != "" || s.IPSMGWName != "" || s.IPSMGWRealm != ""
}

// Check reports a malformed number or an empty node.
func (s ServingNode) Check() error {
	if s.IsZero() {
		return fmt.Errorf("serving node has no member")
	}
	for _, n := range []struct{ name, v string }{
		{"SGSN-Number", s.SGSNNumber}, {"MME-Number-for-MT-SMS", s.MMENumberForMTSMS},
		{"MSC-Number", s.MSCNumber}, {"IP-SM-GW-Number", s.IPSMGWNumber},
	} {
		if n.v == "" {
			continue
		}
		if err := CheckE164(n.v); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
	}
	return nil
}

// SMEAddress is the SM-RP-SMEA AVP (3309, OctetString): the address of the
// short-message entity (here the SCS) that originates the trigger SM.
//
// TS 29.338 5.3.3.3 (quoted by Mobius corsac-diameter s6c/SMRPSMEA.java and by
// fkgi/diameter ts29338/S6c_avp.go): it "shall be formatted according to the
// formatting rules of the address fields described in 3GPP TS 23.040". A
// TS 23.040 9.1.2.5 address field has three elements, and MAP's SM-RP-SMEA
// (TS 29.002, OCTET STRING (SIZE (1..12)), quoted by restcomm jSS7
// SM_RP_SMEA.java and fkgi gsmap) names them: address-length (number of
// useful semi-octets), type-of-address (bit 8 = 1, type of number in bits
// 7-5, numbering plan in bits 4-1), address-value (semi-octets, TBCD order,
// filler 0xF). So the AVP holds all three; 0x09 0x91 0x94 0x21 0x43 0x65 0xF7
// is the international E.164 number +491234567.
//
// Certainty: the 29.338 wording is two-source; that the Diameter AVP keeps
// the address-length octet follows from "address fields" of 23.040 and from
// MAP's definition, but fkgi/diameter's S6c encoder drops that octet, so
// implementations disagree. A simulator that uses diam/t4 agrees with us by
// construction; check against the SMS-SC vendor's traces before going live.
//
// Only numeric addresses are supported (alphanumeric type of number 5 is
// refused), with at most 15 digits (E.164; 23.040 allows 20 semi-octets).
type SMEAddress struct {
	TypeOfNumber  uint8  // 3 bits; TONInternational for an E.164 number
	NumberingPlan uint8  // 4 bits; NPIISDN for E.164
	Digits        string // decimal digits, no '+'
}

// Type-of-number and numbering-plan values of a TS 23.040 9.1.2.5 address.
const (
	TONUnknown         uint8 = 0
	TONInternational   uint8 = 1
	TONNational        uint8 = 2
	TONNetworkSpecific uint8 = 3
	TONSubscriber      uint8 = 4
	TONAlphanumeric    uint8 = 5 // not supported here
	TONAbbreviated     uint8 = 6

	NPIUnknown uint8 = 0
	NPIISDN    uint8 = 1 // ISDN/telephone numbering plan (E.164/E.163)
)

// InternationalSMEAddress is the SMEAddress of an international E.164
// number (type of number international, numbering plan ISDN).
func InternationalSMEAddress(digits string) SMEAddress {
	return SMEAddress{TypeOfNumber: TONInternational, NumberingPlan: NPIISDN, Digits: digits}
}

// IsZero reports whether a is unset.
func (a SMEAddress) IsZero() bool { return a == SMEAddress{} }

// Check reports an address this package cannot encode.
func (a SMEAddress) Check() error {
	switch {
	case a.TypeOfNumber > 7:
		return fmt.Errorf("SM-RP-SMEA type of number %d does not fit 3 bits", a.TypeOfNumber)
	case a.TypeOfNumber == TONAlphanumeric:
		return fmt.Errorf("SM-RP-SMEA with an alphanumeric address is not supported")
	case a.NumberingPlan > 15:
		return fmt.Errorf("SM-RP-SMEA numbering plan %d does not fit 4 bits", a.NumberingPlan)
	}
	if err := CheckE164(a.Digits); err != nil {
		return fmt.Errorf("SM-RP-SMEA: %w", err)
	}
	return nil
}

func (a SMEAddress) String() string {
	if a.TypeOfNumber == TONInternational && a.NumberingPlan == NPIISDN {
		return "+" + a.Digits
	}
	return fmt.Sprintf("ton=%d,npi=%d:%s", a.TypeOfNumber, a.NumberingPlan, a.Digits)
}

// Result is an answer's outcome: a Result-Code (RFC 6733 7.1) when VendorID
// is 0, otherwise an Experimental-Result (RFC 6733 7.6) with that Vendor-Id.
// It is comparable: r == core.Result{Code: 5001, VendorID: VendorID3GPP}.
type Result struct {
	Code     uint32
	VendorID uint32
}

// ResultCode is a base Result-Code.
func ResultCode(code uint32) Result { return Result{Code: code} }

// Experimental3GPP is an Experimental-Result with the 3GPP Vendor-Id.
func Experimental3GPP(code uint32) Result { return Result{Code: code, VendorID: VendorID3GPP} }

// IsExperimental reports whether r is an Experimental-Result.
func (r Result) IsExperimental() bool { return r.VendorID != 0 }

// IsSuccess reports whether r is in the 2xxx success class (RFC 6733 7.1.2),
// for base and experimental codes alike.
func (r Result) IsSuccess() bool { return r.Code >= 2000 && r.Code < 3000 }

// Class is the thousands digit of the code: 1 informational, 2 success,
// 3 protocol error, 4 transient failure, 5 permanent failure (RFC 6733 7.1).
func (r Result) Class() uint32 { return r.Code / 1000 }

func (r Result) String() string {
	if r.IsExperimental() {
		return fmt.Sprintf("Experimental-Result %d (vendor %d)", r.Code, r.VendorID)
	}
	return fmt.Sprintf("Result-Code %d", r.Code)
}

// MaxApplicationPort is the largest Application-Port-Identifier (Tsp, S6m)
// and SMS-Application-Port-ID (T4) we accept: trigger payloads go by SMS,
// whose application port addressing is 16 bits (TS 23.040 9.2.3.24.4,
// reference 1.4). Larger values are refused with 5004 because the T4 leg
// could not carry them.
const MaxApplicationPort = 65535

// CheckApplicationPort reports whether p (nil: absent) fits
// MaxApplicationPort.
func CheckApplicationPort(p *uint32) error {
	if p == nil || *p <= MaxApplicationPort {
		return nil
	}
	return fmt.Errorf("%d does not fit the 16-bit SMS application port (TS 23.040 9.2.3.24.4)", *p)
}

// CheckE164 reports whether s is 1 to 15 decimal digits (an E.164 number
// without '+').
func CheckE164(s string) error {
	if s == "" {
		return fmt.Errorf("empty number")
	}
	if len(s) > 15 {
		return fmt.Errorf("%d digits, more than the 15 of an E.164 number", len(s))
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		return fmt.Errorf("character %d of %q is not a decimal digit", i+1, s)
	}
	return nil
}

// CheckIMSI reports whether s looks like an IMSI: 6 to 15 decimal digits
// (TS 23.003 2.2: MCC 3 + MNC 2-3 + MSIN, at most 15 digits).
func CheckIMSI(s string) error {
	if len(s) < 6 || len(s) > 15 {
		return fmt.Errorf("User-Name (IMSI) has %d characters; an IMSI has 6 to 15 digits", len(s))
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		return fmt.Errorf("User-Name (IMSI) character %d is not a decimal digit", i+1)
	}
	return nil
}

// maxDomainLen is the longest domain name in text form (RFC 1035 2.3.4:
// 255 octets on the wire, 253 characters without the trailing dot).
const maxDomainLen = 253

// CheckExternalIdentifier reports whether s is an External Identifier of the
// form <Local Identifier>@<Domain Identifier> (TS 23.682 4.6.2, reference
// 1.7; TS 29.122 ExternalId: "neither part contains '@'", reference 7.3):
//
//   - exactly one '@', with a non-empty part on each side;
//   - the Local Identifier is valid UTF-8 without spaces or control
//     characters (it becomes a log field and an HSS lookup key);
//   - the Domain Identifier is a domain name (RFC 1035/1123 host syntax:
//     dot-separated labels of 1-63 letters, digits and hyphens, no hyphen at
//     either end of a label, at most 253 characters). 23.682 says the domain
//     is "under the control of a Mobile Network Operator"; that it follows
//     host-name syntax is our reading (single source), which every example
//     in the specs obeys.
func CheckExternalIdentifier(s string) error {
	at := strings.IndexByte(s, '@')
	switch {
	case s == "":
		return fmt.Errorf("External-Identifier is empty")
	case at < 0:
		return fmt.Errorf("External-Identifier %q has no '@': the form is <local-id>@<domain-id> (TS 23.682 4.6.2)", s)
	case strings.IndexByte(s[at+1:], '@') >= 0:
		return fmt.Errorf("External-Identifier %q has more than one '@'", s)
	case at == 0:
		return fmt.Errorf("External-Identifier %q has an empty Local Identifier", s)
	case at == len(s)-1:
		return fmt.Errorf("External-Identifier %q has an empty Domain Identifier", s)
	}
	local, domain := s[:at], s[at+1:]
	if !utf8.ValidString(local) {
		return fmt.Errorf("External-Identifier Local Identifier is not valid UTF-8")
	}
	if i := strings.IndexFunc(local, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return fmt.Errorf("External-Identifier Local Identifier %q has a space or control character", local)
	}
	if err := checkDomain(domain); err != nil {
		return fmt.Errorf("External-Identifier Domain Identifier %q: %w", domain, err)
	}
	return nil
}

func checkDomain(d string) error {
	if len(d) > maxDomainLen {
		return fmt.Errorf("longer than %d characters", maxDomainLen)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return fmt.Errorf("has an empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q is longer than 63 characters", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with '-'", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("label %q has %q, not a letter, digit or '-'", label, c)
			}
		}
	}
	return nil
}
