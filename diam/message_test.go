package diam

import (
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

func TestAnswerFlags(t *testing.T) {
	const (
		r = godiam.RequestFlag
		p = godiam.ProxiableFlag
		e = godiam.ErrorFlag
		x = godiam.RetransmittedFlag
	)
	for _, tc := range []struct {
		req      uint8
		protoErr bool
		want     uint8
	}{
		{r, false, 0},
		{r | p, false, p},
		{r | p | x, false, p}, // T marks the request, not its answer (RFC 6733 3)
		{r | p | e, false, p},
		{r | p, true, p | e}, // 3xxx answers carry E (RFC 6733 7.2)
		{r | x, true, e},
	} {
		if got := AnswerFlags(tc.req, tc.protoErr); got != tc.want {
			t.Errorf("AnswerFlags(%#02x, %v) = %#02x, want %#02x", tc.req, tc.protoErr, got, tc.want)
		}
	}
}

func TestAnswerSessionID(t *testing.T) {
	req := godiam.NewRequest(CmdDeviceWatchdog, 0, nil)
	if a := AnswerSessionID(req); a != nil {
		t.Fatalf("no Session-Id in the request, got %v", a)
	}
	// A vendor-specific AVP with code 263 is not the base Session-Id.
	req.AddAVP(godiam.NewAVP(avp.SessionID, avp.Vbit, 10415, datatype.UTF8String("vendor;1")))
	req.AddAVP(godiam.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("h;1;2")))
	a := AnswerSessionID(req)
	if a == nil || a.Code != avp.SessionID || a.VendorID != 0 || a.Flags != avp.Mbit || a.Data != datatype.UTF8String("h;1;2") {
		t.Fatalf("AnswerSessionID = %+v, want the base Session-Id h;1;2 with the M bit", a)
	}
}
