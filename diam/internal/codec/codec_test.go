package codec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mtciwf/mtciwf/diam/core"
)

// SM-RP-SMEA vectors: a TS 23.040 9.1.2.5 address field (address-length in
// semi-octets, type-of-address, TBCD digits); see core.SMEAddress.
func TestSMEAVectors(t *testing.T) {
	cases := []struct {
		a   core.SMEAddress
		enc []byte
	}{
		{core.InternationalSMEAddress("491234567"), []byte{0x09, 0x91, 0x94, 0x21, 0x43, 0x65, 0xF7}},
		{core.InternationalSMEAddress("491720400305"), []byte{0x0C, 0x91, 0x94, 0x71, 0x02, 0x04, 0x30, 0x50}},
		{core.SMEAddress{TypeOfNumber: core.TONNational, NumberingPlan: core.NPIISDN, Digits: "12345"}, []byte{0x05, 0xA1, 0x21, 0x43, 0xF5}},
		{core.SMEAddress{Digits: "7"}, []byte{0x01, 0x80, 0xF7}},
	}
	for _, c := range cases {
		got, err := EncodeSMEA(c.a)
		if err != nil || !bytes.Equal(got, c.enc) {
			t.Errorf("EncodeSMEA(%v) = % X, %v; want % X", c.a, got, err, c.enc)
		}
		back, err := DecodeSMEA(c.enc)
		if err != nil || back != c.a {
			t.Errorf("DecodeSMEA(% X) = %v, %v; want %v", c.enc, back, err, c.a)
		}
	}
}

func TestSMEARefuses(t *testing.T) {
	cases := map[string][]byte{
		"octets":          {0x01, 0x91},
		"bit 8":           {0x01, 0x11, 0xF1},
		"alphanumeric":    {0x02, 0xD0, 0x41},
		"length mismatch": {0x08, 0x91, 0x94, 0x21, 0x43, 0x65, 0xF7},
		"not TBCD":        {0x02, 0x91, 0xA1},
		"filler inside":   {0x03, 0x91, 0xF1, 0x21},
	}
	for name, b := range cases {
		if a, err := DecodeSMEA(b); err == nil {
			t.Errorf("%s: % X decoded to %v", name, b, a)
		}
	}
	if _, err := EncodeSMEA(core.SMEAddress{TypeOfNumber: core.TONAlphanumeric, Digits: "1"}); err == nil ||
		!strings.Contains(err.Error(), "alphanumeric") {
		t.Errorf("alphanumeric: %v", err)
	}
}

func FuzzSMEA(f *testing.F) {
	f.Add([]byte{0x09, 0x91, 0x94, 0x21, 0x43, 0x65, 0xF7})
	f.Add([]byte{0x01, 0x80, 0xF7})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeSMEA(b)
		if err != nil {
			return
		}
		enc, err := EncodeSMEA(a)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("% X -> %v -> % X, %v", b, a, enc, err)
		}
	})
}
