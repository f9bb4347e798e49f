package security

import "strings"

// Identities never appear in logs in the clear (DESIGN.md "Privacy by
// construction"): these masks keep enough to correlate a log line with an
// operator's own records (the home network of an IMSI, the last digits, the
// domain of an External Identifier) and nothing that names a subscriber.

// MaskIMSI keeps the first 6 digits (MCC + a 2- or 3-digit MNC, TS 23.003
// 2.2) and the last 4: "001010123456789" -> "001010*****6789". Short or
// malformed values are masked whole.
func MaskIMSI(imsi string) string {
	return maskDigits(imsi, 6, 4)
}

// MaskMSISDN keeps the country code region (first 3 digits) and the last 2.
func MaskMSISDN(msisdn string) string {
	return maskDigits(msisdn, 3, 2)
}

// MaskExternalID keeps the domain and the first character of the local
// identifier (TS 23.682 4.6.2: <local>@<domain>): "ue42@iot.example" ->
// "u***@iot.example".
func MaskExternalID(id string) string {
	at := strings.LastIndexByte(id, '@')
	if at <= 0 {
		return strings.Repeat("*", min(len(id), 8))
	}
	return id[:1] + "***" + id[at:]
}

func maskDigits(s string, keepHead, keepTail int) string {
	if len(s) <= keepHead+keepTail {
		return strings.Repeat("*", len(s))
	}
	return s[:keepHead] + strings.Repeat("*", len(s)-keepHead-keepTail) + s[len(s)-keepTail:]
}
