package sim_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func TestAdmission(t *testing.T) {
	p := getPKI(t)
	tests := []struct {
		name      string
		tls       bool
		peers     []string
		host      string // the CER's Origin-Host
		cert      string // client certificate (TLS only)
		app       uint32 // dialled application (default: the endpoint's)
		toSMSC    bool
		wantCode  uint32 // CEA Result-Code of a refusal; 0: admitted
		wantError string // for a refusal that is not a CEA
	}{
		{name: "any host on a test rig", host: "whoever.example"},
		{name: "configured host", peers: []string{"MTCIWF.operator.example"}, host: iwfHost},
		{name: "unconfigured host", peers: []string{"other.operator.example"}, host: iwfHost, wantCode: diam.ResultUnknownPeer},
		{name: "HSS offers only S6m", host: iwfHost, app: dictionaries.AppT4, wantCode: diam.ResultNoCommonApplication},
		{name: "SMS-SC offers only T4", host: iwfHost, toSMSC: true, app: dictionaries.AppS6m, wantCode: diam.ResultNoCommonApplication},
		{name: "TLS, host proven by certificate", tls: true, host: iwfHost, cert: iwfHost},
		{name: "TLS to the SMS-SC", tls: true, host: iwfHost, cert: iwfHost, toSMSC: true},
		{name: "TLS, host not in certificate", tls: true, host: iwfHost, cert: "stranger.operator.example", wantCode: diam.ResultUnknownPeer},
		{name: "TLS, certificate fine but host not configured", tls: true, peers: []string{iwfHost},
			host: "stranger.operator.example", cert: "stranger.operator.example", wantCode: diam.ResultUnknownPeer},
		{name: "TLS, no client certificate", tls: true, host: iwfHost, wantError: "connection closed before CEA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(c *sim.Config) {
				c.Peers = tt.peers
				if tt.tls {
					p.configure(c)
				}
			})
			addr, app, server := r.hssAddr, uint32(dictionaries.AppS6m), sim.DefaultHSSHost
			if tt.toSMSC {
				addr, app, server = r.smscAddr, dictionaries.AppT4, sim.DefaultSMSCHost
			}
			if tt.app != 0 {
				app = tt.app
			}
			cfg := clientConfig(t, app, nil)
			cfg.Identity.OriginHost = tt.host
			var tlsCfg *tls.Config
			if tt.tls {
				tlsCfg = p.clientTLS(iwfHost, server)
				if tt.cert == "" {
					tlsCfg.Certificates = nil
				} else {
					tlsCfg = p.clientTLS(tt.cert, server)
				}
			}
			c, err := r.dial(addr, cfg, tlsCfg)
			if c != nil {
				defer c.Close()
			}
			var cea *diam.CEAError
			switch {
			case tt.wantCode == 0 && tt.wantError == "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got := c.Binding().OriginHost; got != server {
					t.Errorf("connected to %q, want %q", got, server)
				}
			case tt.wantCode != 0:
				if !errors.As(err, &cea) || cea.ResultCode != tt.wantCode {
					t.Fatalf("got %v, want CEA %d", err, tt.wantCode)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("got %v, want %q", err, tt.wantError)
				}
			}
		})
	}
}

func TestTLSCertificateMustNameTheEndpoint(t *testing.T) {
	p := getPKI(t)
	_, err := sim.New(sim.Config{
		TLS:  &sim.TLSFiles{CertFile: p.file(sim.DefaultHSSHost + ".pem"), KeyFile: p.file(sim.DefaultHSSHost + "-key.pem"), CAFiles: []string{p.file("ca.pem")}},
		SMSC: sim.Endpoint{},
	})
	if err == nil || !strings.Contains(err.Error(), `does not name "smsc.operator.example"`) {
		t.Fatalf("one certificate for both endpoints naming only the HSS: %v", err)
	}
}

// TestStartContextCloses: ending Start's context stops the simulator as
// Close does (DPR to the peers).
func TestStartContextCloses(t *testing.T) {
	s, err := sim.New(sim.Config{HSS: sim.Endpoint{Listen: "127.0.0.1:0"}, SMSC: sim.Endpoint{Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hss, _, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Start(ctx); err == nil {
		t.Error("second Start accepted")
	}
	r := &rig{t: t, sim: s, hssAddr: hss.String()}
	c := r.dialHSS()
	cancel()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("peer still connected after the context ended")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after the context ended: %v", err)
	}
}
