package diam

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

type cerTestAdmitter struct{}

func (cerTestAdmitter) AdmitPeer(host, realm string, _ *tls.ConnectionState) (*PeerBinding, error) {
	return &PeerBinding{OriginHost: host, OriginRealm: realm}, nil
}

// TestCheckCERInbandSecurity: with TLS at connect, Inband-Security-Id 0 and
// 1 are accepted and any other value is DIAMETER_NO_COMMON_SECURITY
// (RFC 6733 6.10, 7.1.5), naming the value offered.
func TestCheckCERInbandSecurity(t *testing.T) {
	const app = 16777309
	for _, tc := range []struct {
		inband   uint32
		wantCode uint32
	}{
		{0, ResultSuccess},
		{1, ResultSuccess},
		{2, ResultNoCommonSecurity},
	} {
		cer := godiam.NewRequest(CmdCapabilitiesExchange, 0, nil)
		cer.AddAVP(godiam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("scs.example")))
		cer.AddAVP(godiam.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("example")))
		cer.AddAVP(godiam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app)))
		cer.AddAVP(godiam.NewAVP(avp.InbandSecurityID, avp.Mbit, 0, datatype.Unsigned32(tc.inband)))
		b, code, reason := checkCER(cer, app, cerTestAdmitter{}, nil)
		if code != tc.wantCode {
			t.Errorf("Inband-Security-Id %d: code %d (%q), want %d", tc.inband, code, reason, tc.wantCode)
			continue
		}
		if code == ResultSuccess {
			if b == nil || b.OriginHost != "scs.example" {
				t.Errorf("Inband-Security-Id %d: binding %+v, want Origin-Host scs.example", tc.inband, b)
			}
		} else if b != nil || !strings.Contains(reason, "Inband-Security-Id 2") {
			t.Errorf("Inband-Security-Id %d: binding %+v, reason %q: want no binding and the value named", tc.inband, b, reason)
		}
	}
}

// TestCERWhileClosing: the read loop binds the peer (and adds peer_host to
// the connection's logger) while another goroutine, e.g. Server.Shutdown,
// may close the connection and log. Run with -race.
func TestCERWhileClosing(t *testing.T) {
	const app = 16777309
	a, b := net.Pipe()
	defer b.Close()
	cfg := (&Config{
		Identity: Identity{OriginHost: "mtciwf.example", OriginRealm: "example"},
		App:      Application{ID: app, Dict: dict.Default},
		Admitter: cerTestAdmitter{},
	}).withDefaults()
	c := newConn(a, &cfg, new(Stats), newDupCache(0, 16, nil), context.Background())
	c.state.Store(int32(stateWaitCER))
	cer := godiam.NewRequest(CmdCapabilitiesExchange, 0, dict.Default)
	cer.AddAVP(godiam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("scs.example")))
	cer.AddAVP(godiam.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("example")))
	cer.AddAVP(godiam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app)))
	done := make(chan struct{})
	go func() { defer close(done); c.serveCER(cer) }()
	c.closeWith(errors.New("shutting down"))
	<-done
}
