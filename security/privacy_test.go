package security

import "testing"

func TestMasks(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"IMSI 15 digits", MaskIMSI("001010123456789"), "001010*****6789"},
		{"IMSI too short to keep anything", MaskIMSI("1234567"), "*******"},
		{"MSISDN", MaskMSISDN("4915551234567"), "491********67"},
		{"MSISDN short", MaskMSISDN("1234"), "****"},
		{"external id", MaskExternalID("ue42@iot.example"), "u***@iot.example"},
		{"external id without domain", MaskExternalID("ue42"), "****"},
		{"empty", MaskExternalID(""), ""},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
