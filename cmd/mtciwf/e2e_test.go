package main

// End-to-end tests: the daemon as `mtciwf serve` wires it, on 127.0.0.1,
// with real TLS and a real PKI written to a temporary directory.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// testPolicy lets the test SCSs trigger every UE of the subscriber file:
// the policy is not what these tests are about (policy_e2e_test.go is).
const testPolicy = `
scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900001"
    rules:
      - {allow: {external_id_domain: iot.example.com}, actions: [trigger, replace, recall]}
      - {allow: {msisdn_prefix: "4917"}, actions: [trigger, replace, recall]}
  - id: scs2
    peers: [{origin_host: scs2.scs.example, realm: scs.example}]
    scs_identity: "491719900002"
    rules:
      - {allow: {external_id_domain: iot.example.com}, actions: [trigger, replace, recall]}
  - id: revoked
    peers: [{origin_host: revoked.scs.example, realm: scs.example}]
    scs_identity: "491719900003"
    rules:
      - {allow: {external_id_domain: iot.example.com}}
`

type e2e struct {
	t       *testing.T
	dir     string
	ca      *devpki.CA
	addr    string
	logs    *observer.ObservedLogs
	cancel  context.CancelFunc
	done    chan error
	crlPath string
	leaves  map[string]*devpki.Leaf
	run     *running
	cfg     *Config
	book    *reportBook // delivery reports received by this test's SCS clients
}

// writeFile writes b to path (mode 0600).
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startDaemon writes a PKI, a config pointing at it, and runs the daemon.
func startDaemon(t *testing.T, revoke ...string) *e2e {
	t.Helper()
	return startDaemonWith(t, nil, revoke...)
}

// startDaemonWith is startDaemon with a last word on the config.
func startDaemonWith(t *testing.T, mod func(*Config), revoke ...string) *e2e {
	t.Helper()
	e := newDaemon(t, mod, revoke...)
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// newDaemon writes what startDaemonWith runs the daemon on (a PKI whose
// revoke leaves are in the CRL, the test policy, the config in e.cfg) into
// e.dir, without starting it.
func newDaemon(t *testing.T, mod func(*Config), revoke ...string) *e2e {
	t.Helper()
	dir := t.TempDir()
	ca, err := devpki.NewCA("e2e CA")
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, dir: dir, ca: ca, leaves: map[string]*devpki.Leaf{}}
	issue := func(name string, o devpki.LeafOptions) {
		l, err := ca.Issue(o)
		if err != nil {
			t.Fatalf("issue %s: %v", name, err)
		}
		e.leaves[name] = l
	}
	issue("mtciwf", devpki.LeafOptions{CommonName: "mtciwf.operator.example", DNSNames: []string{"mtciwf.operator.example"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ServerAuth: true, ClientAuth: true})
	for _, n := range []string{"scs1", "scs2", "revoked"} {
		issue(n, devpki.LeafOptions{CommonName: n + ".scs.example", DNSNames: []string{n + ".scs.example"}, ClientAuth: true})
	}
	issue("expired", devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	issue("wrong-eku", devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ServerAuth: true})

	var revoked []*x509.Certificate
	for _, n := range revoke {
		revoked = append(revoked, e.leaves[n].Cert)
	}
	crl, err := ca.CRL(revoked, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.crlPath = filepath.Join(dir, "crl.pem")
	writeFile(t, filepath.Join(dir, "ca.pem"), ca.CertPEM())
	writeFile(t, filepath.Join(dir, "mtciwf.pem"), e.leaves["mtciwf"].CertPEM)
	writeFile(t, filepath.Join(dir, "mtciwf-key.pem"), e.leaves["mtciwf"].KeyPEM)
	writeFile(t, e.crlPath, crl)

	cfg := DefaultConfig()
	cfg.Tsp.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Tsp.TLS.CertFile = filepath.Join(dir, "mtciwf.pem")
	cfg.Tsp.TLS.KeyFile = filepath.Join(dir, "mtciwf-key.pem")
	cfg.Tsp.TLS.ClientCAFiles = []string{filepath.Join(dir, "ca.pem")}
	cfg.Tsp.TLS.CRLFiles = []string{e.crlPath}
	cfg.Tsp.Peers = []PeerConfig{
		{OriginHost: "scs1.scs.example", OriginRealm: "scs.example", Kind: PeerKindSCS},
		{OriginHost: "scs2.scs.example", OriginRealm: "scs.example", Kind: PeerKindSCS},
		{OriginHost: "revoked.scs.example", OriginRealm: "scs.example", Kind: PeerKindSCS},
	}
	cfg.Shutdown.GracePeriod = 5 * time.Second
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.PolicyFile = filepath.Join(dir, "policy.yaml")
	writeFile(t, cfg.PolicyFile, []byte(testPolicy))
	if mod != nil {
		mod(cfg)
	}

	e.cfg = cfg
	return e
}

// start runs the daemon on e.cfg and waits until it accepts connections.
func (e *e2e) start(t *testing.T) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	e.logs = logs
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	ready := make(chan *running, 1)
	go func() { e.done <- runDaemon(ctx, e.cfg, zap.New(core), func(r *running) { ready <- r }) }()
	select {
	case r := <-ready:
		e.addr = r.TspAddr.String()
		e.run = r
	case err := <-e.done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start within 10 s")
	}
}

// stop stops the daemon (as SIGTERM does) and waits for it; idempotent.
func (e *e2e) stop(t *testing.T) {
	if e.done == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("daemon exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("daemon did not stop")
	}
	e.done = nil
}

// restart stops the daemon and starts it again on the same configuration
// and data directory.
func (e *e2e) restart(t *testing.T) {
	t.Helper()
	e.stop(t)
	cfg := *e.cfg
	cfg.Tsp.Listen = e.addr // same port, so clients reconnect where they were
	e.cfg = &cfg
	e.start(t)
}

func (e *e2e) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(e.ca.Cert)
	return p
}

func (e *e2e) tlsConfig(leaf string) *tls.Config {
	c := &tls.Config{RootCAs: e.pool(), ServerName: "mtciwf.operator.example"}
	if leaf != "" {
		c.Certificates = []tls.Certificate{e.leaves[leaf].TLS}
	}
	return c
}

func (e *e2e) dial(leaf, originHost string) (*diam.Conn, error) {
	d, err := dictionaries.Tsp()
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := diam.Config{
		Identity: diam.Identity{OriginHost: originHost, OriginRealm: "scs.example", ProductName: "e2e"},
		App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
	}
	return diam.Dial(ctx, "tcp", e.addr, cfg, diam.DialOptions{TLSConfig: e.tlsConfig(leaf)})
}

// logged waits (bounded) for a log line containing every part.
func (e *e2e) logged(parts ...string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range e.logs.All() {
			s := l.Message + " " + fmt.Sprint(l.ContextMap())
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(s, p)
			}
			if ok {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestE2EGoodSCSAndDPROnShutdown(t *testing.T) {
	e := startDaemon(t)
	c, err := e.dial("scs1", "scs1.scs.example")
	if err != nil {
		t.Fatalf("good SCS refused: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if dwa, err := c.Watchdog(ctx); err != nil || dwa.Header.CommandCode != diam.CmdDeviceWatchdog {
		t.Fatalf("DWR/DWA: %v", err)
	}
	// A DAR without Device-Action asks for nothing: 5005 naming it.
	d, _ := dictionaries.Tsp()
	dar := godiam.NewRequest(8388639, dictionaries.AppTsp, d)
	dar.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("scs1.scs.example;1"))
	dar.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.AppTsp))
	dar.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
	dar.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("scs1.scs.example"))
	dar.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("scs.example"))
	dar.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("operator.example"))
	daa, err := c.Request(ctx, dar)
	if err != nil {
		t.Fatalf("DAR: %v", err)
	}
	rc, _ := daa.FindAVP(avp.ResultCode, 0)
	em, _ := daa.FindAVP(avp.ErrorMessage, 0)
	if rc == nil || uint32(rc.Data.(datatype.Unsigned32)) != diam.ResultMissingAVP || em == nil ||
		!strings.Contains(string(em.Data.(datatype.UTF8String)), "Device-Action") {
		t.Fatalf("DAA %v / %v, want 5005 naming Device-Action", rc, em)
	}

	e.cancel() // what SIGTERM does in cli.go
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SCS connection still open after shutdown")
	}
	select {
	case err := <-e.done:
		if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
		e.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not exit")
	}
	// Shutdown sent DPR and got the DPA back: it reports anything else.
	if e.logged("shutdown was not clean") {
		t.Error("the daemon's DPR was not answered")
	}
	if !e.logged("stopped") {
		t.Error("no 'stopped' log line")
	}
}

func TestE2ERefusals(t *testing.T) {
	e := startDaemon(t, "revoked")
	cases := []struct {
		name       string
		tls        func() *tls.Config
		originHost string
		wantLog    []string
		wantCEA    uint32
	}{
		{"no client certificate", func() *tls.Config { return e.tlsConfig("") }, "scs1.scs.example", []string{"TLS handshake refused", "certificate"}, 0},
		{"unknown CA", func() *tls.Config {
			other, err := devpki.NewCA("other CA")
			if err != nil {
				t.Fatal(err)
			}
			l, err := other.Issue(devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true})
			if err != nil {
				t.Fatal(err)
			}
			c := e.tlsConfig("")
			// Send it even though the server did not name its CA.
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &l.TLS, nil }
			return c
		}, "scs1.scs.example", []string{"TLS handshake refused", `"chain"`}, 0},
		{"expired certificate", func() *tls.Config { return e.tlsConfig("expired") }, "scs1.scs.example", []string{"TLS handshake refused", `"validity"`}, 0},
		{"revoked certificate", func() *tls.Config { return e.tlsConfig("revoked") }, "revoked.scs.example", []string{"TLS handshake refused", `"revoked"`}, 0},
		{"wrong EKU", func() *tls.Config { return e.tlsConfig("wrong-eku") }, "scs1.scs.example", []string{"TLS handshake refused", `"eku-clientAuth"`}, 0},
		{"TLS 1.1 client", func() *tls.Config {
			c := e.tlsConfig("scs1")
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}, "scs1.scs.example", []string{"TLS handshake refused", "unsupported versions"}, 0},
		{"SAN differs from Origin-Host", func() *tls.Config { return e.tlsConfig("scs1") }, "scs2.scs.example", []string{"CER refused", "is not a dNSName"}, diam.ResultUnknownPeer},
		{"unknown Origin-Host", func() *tls.Config {
			l, err := e.ca.Issue(devpki.LeafOptions{CommonName: "scs9.scs.example", DNSNames: []string{"scs9.scs.example"}, ClientAuth: true})
			if err != nil {
				t.Fatal(err)
			}
			c := e.tlsConfig("")
			c.Certificates = []tls.Certificate{l.TLS}
			return c
		}, "scs9.scs.example", []string{"CER refused", "not a configured peer"}, diam.ResultUnknownPeer},
	}
	d, _ := dictionaries.Tsp()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cfg := diam.Config{
				Identity: diam.Identity{OriginHost: tc.originHost, OriginRealm: "scs.example", ProductName: "e2e"},
				App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
			}
			c, err := diam.Dial(ctx, "tcp", e.addr, cfg, diam.DialOptions{TLSConfig: tc.tls()})
			if err == nil {
				_ = c.Close()
				t.Fatal("connection accepted")
			}
			var ce *diam.CEAError
			if tc.wantCEA != 0 && (!errors.As(err, &ce) || ce.ResultCode != tc.wantCEA) {
				t.Fatalf("got %v, want CEA %d", err, tc.wantCEA)
			}
			if !e.logged(tc.wantLog...) {
				for _, l := range e.logs.All() {
					t.Logf("log: %s %v", l.Message, l.ContextMap())
				}
				t.Errorf("no log line with %q", tc.wantLog)
			}
		})
	}
	// The daemon keeps serving a good SCS after all of the above.
	c, err := e.dial("scs1", "scs1.scs.example")
	if err != nil {
		t.Fatalf("good SCS refused after the refusals: %v", err)
	}
	_ = c.Close()
}

func TestE2ETLSKeyLogForDebugging(t *testing.T) {
	var keyLog string
	e := startDaemonWith(t, func(cfg *Config) {
		keyLog = filepath.Join(filepath.Dir(cfg.PolicyFile), "keys.log")
		cfg.Tsp.TLS.KeyLogFile = keyLog
	})
	if !e.logged("TLS KEY LOG ENABLED", keyLog) {
		t.Fatal("no loud warning that the key log is on")
	}
	c, err := e.dial("scs1", "scs1.scs.example")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	b, err := os.ReadFile(keyLog)
	if err != nil || !strings.Contains(string(b), "CLIENT_") {
		t.Fatalf("key log holds no TLS secrets (%v): %q", err, b)
	}
}
