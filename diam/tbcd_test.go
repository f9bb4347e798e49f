package diam

import (
	"bytes"
	"strings"
	"testing"
)

// Known TBCD vectors. Sources:
//   - TS 29.329 6.3.2 wording, quoted at https://nickvsnetworking.com/tag/octetstring/;
//   - the worked examples of https://nickvsnetworking.com/telephony-binary-coded-decimal-tbcd-in-python-with-examples/
//     ("123456" -> 21 43 65, "789" -> 87 F9, "123" -> 21 F3, "19" -> 91,
//     "82" -> 28);
//   - the Cisco ASR 5x00 GTPP reference (CDR field ServedMSISDN, quoting
//     TS 23.003): MSISDN 491720400305 -> 94 71 02 04 30 50 (after its
//     nature-of-address octet 0x91, which the Diameter AVPs do not carry), and
//     the IMSI example 262025600010020 -> 62 02 52 06 00 01 20 F0;
//   - the task's own example 491234567 -> 94 21 43 65 F7.
func TestTBCDVectors(t *testing.T) {
	cases := []struct {
		digits string
		enc    []byte
	}{
		{"491234567", []byte{0x94, 0x21, 0x43, 0x65, 0xF7}},
		{"123456", []byte{0x21, 0x43, 0x65}},
		{"789", []byte{0x87, 0xF9}},
		{"123", []byte{0x21, 0xF3}},
		{"19", []byte{0x91}},
		{"82", []byte{0x28}},
		{"491720400305", []byte{0x94, 0x71, 0x02, 0x04, 0x30, 0x50}},
		{"262025600010020", []byte{0x62, 0x02, 0x52, 0x06, 0x00, 0x01, 0x20, 0xF0}},
		{"0", []byte{0xF0}},
		{"999999999999999", []byte{0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0xF9}},
	}
	for _, c := range cases {
		got, err := EncodeTBCD(c.digits)
		if err != nil || !bytes.Equal(got, c.enc) {
			t.Errorf("EncodeTBCD(%q) = % X, %v; want % X", c.digits, got, err, c.enc)
		}
		back, err := DecodeTBCD(c.enc)
		if err != nil || back != c.digits {
			t.Errorf("DecodeTBCD(% X) = %q, %v; want %q", c.enc, back, err, c.digits)
		}
	}
}

func TestTBCDEncodeRefuses(t *testing.T) {
	cases := map[string]string{
		"":                 "no digits",
		"+491234567":       "not a decimal digit",
		"49 123":           "not a decimal digit",
		"12a4":             "not a decimal digit",
		"12*4":             "not a decimal digit",
		"1234567890123456": "more than the 15",
	}
	for in, want := range cases {
		if _, err := EncodeTBCD(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("EncodeTBCD(%q) error %v, want one containing %q", in, err, want)
		}
	}
}

func TestTBCDDecodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no digits"},
		{"filler in the middle", []byte{0x21, 0xF3, 0x65}, "only the last octet"},
		{"filler in a low nibble", []byte{0x2F}, "low nibble"},
		{"filler only", []byte{0xFF}, "low nibble"},
		{"star", []byte{0xA1}, "high nibble"},
		{"hash low", []byte{0x1B}, "low nibble"},
		{"sixteen digits", []byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}, "more than the 15"},
		{"nine octets", []byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0xF1}, "more than the 15"},
	}
	for _, c := range cases {
		if got, err := DecodeTBCD(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: DecodeTBCD(% X) = %q, %v; want an error containing %q", c.name, c.in, got, err, c.want)
		}
	}
}

// Every accepted encoding decodes back to the same bytes' digits and
// re-encodes to the same bytes: the encoding is canonical.
func TestTBCDCanonical(t *testing.T) {
	for n := 1; n <= MaxE164Digits; n++ {
		digits := strings.Repeat("0123456789", 2)[:n]
		enc, err := EncodeTBCD(digits)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != (n+1)/2 {
			t.Fatalf("%d digits encode to %d octets", n, len(enc))
		}
		back, err := DecodeTBCD(enc)
		if err != nil || back != digits {
			t.Fatalf("round trip of %q: %q, %v", digits, back, err)
		}
	}
}

func FuzzTBCD(f *testing.F) {
	f.Add([]byte{0x94, 0x21, 0x43, 0x65, 0xF7})
	f.Add([]byte{0xF0})
	f.Add([]byte{0x21, 0xF3, 0x65})
	f.Fuzz(func(t *testing.T, b []byte) {
		digits, err := DecodeTBCD(b)
		if err != nil {
			return
		}
		enc, err := EncodeTBCD(digits)
		if err != nil {
			t.Fatalf("DecodeTBCD gave %q, which EncodeTBCD refuses: %v", digits, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("% X decodes to %q, which encodes to % X", b, digits, enc)
		}
	})
}
