package diam

import (
	"errors"
	"fmt"
)

// MaxE164Digits is the longest international number E.164 allows (ITU-T
// E.164 clause 6: country code plus national number, at most 15 digits).
const MaxE164Digits = 15

// tbcdFiller is the nibble that pads an odd number of digits (TS 29.002
// TBCD-STRING: "1111 used as filler when there is an odd number of digits").
const tbcdFiller = 0xF

var errTBCDEmpty = errors.New("TBCD: no digits")

// EncodeTBCD encodes a string of decimal digits as a TBCD-STRING, the form of
// the E.164 numbers in MSISDN (TS 29.329 6.3.2), SCS-Identity (TS 29.336
// 6.4.4), the serving-node numbers (SGSN-Number, MSC-Number,
// MME-Number-for-MT-SMS, IP-SM-GW-Number) and the address value of
// SM-RP-SMEA.
//
// TS 29.329 6.3.2 (quoted at https://nickvsnetworking.com/tag/octetstring/,
// matching the TBCD-STRING definition of TS 29.002): "digits from 0 through 9
// are encoded 0000 to 1001; 1111 is used as a filler when there is an odd
// number of digits; bits 8 to 5 of octet n encode digit 2n; bits 4 to 1 of
// octet n encode digit 2(n-1)+1". So "491234567" is 0x94 0x21 0x43 0x65 0xF7.
//
// digits must be 1 to MaxE164Digits decimal digits, with no '+', spaces or
// nature-of-address prefix. TBCD can also carry '*', '#', 'a', 'b' and 'c'
// (nibbles 1010-1110), but none of them is an E.164 digit, so they are
// refused.
func EncodeTBCD(digits string) ([]byte, error) {
	if err := checkE164Digits(digits); err != nil {
		return nil, err
	}
	out := make([]byte, (len(digits)+1)/2)
	for i := 0; i < len(digits); i++ {
		d := digits[i] - '0'
		if i%2 == 0 {
			out[i/2] = d | tbcdFiller<<4 // the high nibble stays the filler for an odd last digit
		} else {
			out[i/2] = out[i/2]&0x0F | d<<4
		}
	}
	return out, nil
}

// DecodeTBCD decodes a TBCD-STRING holding an E.164 number (see EncodeTBCD)
// into its decimal digits. It refuses an empty string, a nibble that is not a
// decimal digit (0xA-0xE, which TBCD uses for '*', '#', 'a', 'b', 'c'), the
// filler 0xF anywhere but in the high nibble of the last octet, and more than
// MaxE164Digits digits.
func DecodeTBCD(b []byte) (string, error) {
	if len(b) == 0 {
		return "", errTBCDEmpty
	}
	if len(b) > (MaxE164Digits+1)/2 {
		return "", fmt.Errorf("TBCD: %d octets hold more than the %d digits of an E.164 number", len(b), MaxE164Digits)
	}
	var buf [MaxE164Digits + 1]byte
	n := 0
	for i, o := range b {
		lo, hi := o&0x0F, o>>4
		if lo > 9 {
			return "", fmt.Errorf("TBCD: octet %d (0x%02X) has 0x%X in its low nibble, not a decimal digit", i+1, o, lo)
		}
		buf[n] = '0' + lo
		n++
		if hi == tbcdFiller && i == len(b)-1 {
			break
		}
		if hi > 9 {
			if hi == tbcdFiller {
				return "", fmt.Errorf("TBCD: filler 0xF in octet %d of %d; only the last octet may carry it", i+1, len(b))
			}
			return "", fmt.Errorf("TBCD: octet %d (0x%02X) has 0x%X in its high nibble, not a decimal digit", i+1, o, hi)
		}
		buf[n] = '0' + hi
		n++
	}
	if n > MaxE164Digits {
		return "", fmt.Errorf("TBCD: %d digits, more than the %d of an E.164 number", n, MaxE164Digits)
	}
	return string(buf[:n]), nil
}

// checkE164Digits reports whether s is 1 to MaxE164Digits decimal digits.
func checkE164Digits(s string) error {
	if s == "" {
		return errTBCDEmpty
	}
	if len(s) > MaxE164Digits {
		return fmt.Errorf("TBCD: %d digits, more than the %d of an E.164 number", len(s), MaxE164Digits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("TBCD: character %d (%q) is not a decimal digit", i+1, s[i])
		}
	}
	return nil
}
