package sim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/configs/devpki"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
)

const (
	iwfHost  = "mtciwf.operator.example"
	iwfRealm = "operator.example"
	scsA     = "491719900001" // allowed for every test subscriber but private
	scsB     = "491719900002"
)

// testSubscribers covers every HSS answer.
func testSubscribers() []sim.Subscriber {
	no := false
	return []sim.Subscriber{
		{Name: "meter", ExternalIdentifiers: []string{"meter-1@iot.example.com", "4711@iot.example.com"}, MSISDN: "491710000001",
			IMSI: "001010000000001", AllowedSCS: []string{scsA, scsB},
			ServingNode: sim.ServingNode{MME: &sim.MME{Name: "mme1.operator.example", Realm: "operator.example", Number: "491720000001"}}},
		{Name: "sgs", ExternalIdentifiers: []string{"sgs@iot.example.com"}, IMSI: "001010000000002", AllowedSCS: []string{scsA},
			ServingNode: sim.ServingNode{MSCNumber: "491730000001", MME: &sim.MME{Name: "mme1.operator.example", Realm: "operator.example"}}},
		{Name: "sensor", MSISDN: "491710000003", IMSI: "001010000000003", AllowedSCS: []string{scsA},
			ServingNode: sim.ServingNode{SGSNNumber: "491740000001"}, DeliveryOutcome: sim.OutcomeMemory},
		{Name: "sleeper", ExternalIdentifiers: []string{"sleeper@iot.example.com"}, MSISDN: "491710000004", IMSI: "001010000000004",
			AllowedSCS: []string{scsA}, Absent: true, AbsentDiagnostic: "ue_detached"},
		{Name: "legacy", ExternalIdentifiers: []string{"legacy@iot.example.com"}, IMSI: "001010000000005", AllowedSCS: []string{scsA},
			TriggerService: &no, ServingNode: sim.ServingNode{MSCNumber: "491730000001"}},
		{Name: "private", ExternalIdentifiers: []string{"private@iot.example.com"}, IMSI: "001010000000006",
			ServingNode: sim.ServingNode{SGSNNumber: "491740000001"}},
	}
}

// rig is a running simulator on free loopback ports.
type rig struct {
	t        *testing.T
	sim      *sim.Sim
	hssAddr  string
	smscAddr string
	logs     *observer.ObservedLogs
}

func newRig(t *testing.T, mutate func(*sim.Config)) *rig {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	cfg := sim.Config{
		HSS:           sim.Endpoint{Listen: "127.0.0.1:0"},
		SMSC:          sim.Endpoint{Listen: "127.0.0.1:0"},
		Subscribers:   testSubscribers(),
		DeliveryDelay: 20 * time.Millisecond,
		RetryMin:      20 * time.Millisecond,
		RetryMax:      100 * time.Millisecond,
		DRATimeout:    2 * time.Second,
		Logger:        zap.New(core),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	hss, smsc, err := s.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &rig{t: t, sim: s, hssAddr: hss.String(), smscAddr: smsc.String(), logs: logs}
}

// clientConfig is the diam.Config an MTC-IWF dials with.
func clientConfig(t *testing.T, app uint32, h diam.Handler) diam.Config {
	t.Helper()
	var d, err = dictionaries.S6m()
	if app == dictionaries.AppT4 {
		d, err = dictionaries.T4()
	}
	if err != nil {
		t.Fatal(err)
	}
	return diam.Config{
		Identity: diam.Identity{OriginHost: iwfHost, OriginRealm: iwfRealm, OriginStateID: 9, ProductName: "test-mtciwf"},
		App:      diam.Application{ID: app, VendorID: dictionaries.VendorID3GPP, Dict: d},
		Handler:  h,
	}
}

func (r *rig) dial(addr string, cfg diam.Config, tlsCfg *tls.Config) (*diam.Conn, error) {
	return r.dialOpts(addr, cfg, diam.DialOptions{TLSConfig: tlsCfg})
}

func (r *rig) dialOpts(addr string, cfg diam.Config, o diam.DialOptions) (*diam.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return diam.Dial(ctx, "tcp", addr, cfg, o)
}

// dialHSS connects as the MTC-IWF to the HSS.
func (r *rig) dialHSS() *diam.Conn {
	r.t.Helper()
	c, err := r.dial(r.hssAddr, clientConfig(r.t, dictionaries.AppS6m, nil), nil)
	if err != nil {
		r.t.Fatalf("dial HSS: %v", err)
	}
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialSMSC connects as the MTC-IWF to the SMS-SC; h serves the DRRs.
func (r *rig) dialSMSC(h diam.Handler) *diam.Conn {
	r.t.Helper()
	return r.dialSMSCWith(h, diam.DialOptions{})
}

func (r *rig) dialSMSCWith(h diam.Handler, o diam.DialOptions) *diam.Conn {
	r.t.Helper()
	c, err := r.dialOpts(r.smscAddr, clientConfig(r.t, dictionaries.AppT4, h), o)
	if err != nil {
		r.t.Fatalf("dial SMS-SC: %v", err)
	}
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

// logged reports whether a log line's message contains s.
func (r *rig) logged(s string) bool {
	for _, e := range r.logs.All() {
		if strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}

// eventually polls cond for up to 10 s (a bound, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testPKI is a throwaway CA with server certificates for the HSS and SMS-SC
// and client certificates for the MTC-IWF, written as PEM files.
type testPKI struct {
	dir    string
	ca     *devpki.CA
	leaves map[string]*devpki.Leaf
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func getPKI(t *testing.T) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "coresim-pki")
		if err != nil {
			pkiErr = err
			return
		}
		ca, err := devpki.NewCA("coresim test CA")
		if err != nil {
			pkiErr = err
			return
		}
		p := &testPKI{dir: dir, ca: ca, leaves: map[string]*devpki.Leaf{}}
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o644); err != nil {
			pkiErr = err
			return
		}
		for _, n := range []string{sim.DefaultHSSHost, sim.DefaultSMSCHost, iwfHost, "stranger.operator.example"} {
			l, err := ca.Issue(devpki.LeafOptions{CommonName: n, DNSNames: []string{n}, ClientAuth: true, ServerAuth: true,
				IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
			if err != nil {
				pkiErr = err
				return
			}
			p.leaves[n] = l
			if err := os.WriteFile(filepath.Join(dir, n+".pem"), l.CertPEM, 0o644); err != nil {
				pkiErr = err
				return
			}
			if err := os.WriteFile(filepath.Join(dir, n+"-key.pem"), l.KeyPEM, 0o600); err != nil {
				pkiErr = err
				return
			}
		}
		pki = p
	})
	if pkiErr != nil {
		t.Fatalf("test PKI: %v", pkiErr)
	}
	return pki
}

func (p *testPKI) file(name string) string { return filepath.Join(p.dir, name) }

// serverFiles configures both endpoints with their own certificates.
func (p *testPKI) configure(c *sim.Config) {
	c.TLS = &sim.TLSFiles{CAFiles: []string{p.file("ca.pem")}}
	c.HSS.CertFile, c.HSS.KeyFile = p.file(sim.DefaultHSSHost+".pem"), p.file(sim.DefaultHSSHost+"-key.pem")
	c.SMSC.CertFile, c.SMSC.KeyFile = p.file(sim.DefaultSMSCHost+".pem"), p.file(sim.DefaultSMSCHost+"-key.pem")
}

// clientTLS is the MTC-IWF's TLS configuration with certificate certName,
// verifying the server as serverName.
func (p *testPKI) clientTLS(certName, serverName string) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	return &tls.Config{Certificates: []tls.Certificate{p.leaves[certName].TLS}, RootCAs: roots, ServerName: serverName,
		MinVersion: tls.VersionTLS12}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
