package security

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/configs/devpki"
)

func TestServerTLSProfile(t *testing.T) {
	p := newTestPKI(t)
	cfg, rev := p.serverTLS(t)
	if rev == nil {
		t.Fatal("no Revocation returned")
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 {
		t.Errorf("versions %x..%x, want TLS 1.2..1.3", cfg.MinVersion, cfg.MaxVersion)
	}
	if cfg.ClientAuth != tls.RequireAnyClientCert || cfg.VerifyConnection == nil {
		t.Errorf("ClientAuth %v, VerifyConnection set %v", cfg.ClientAuth, cfg.VerifyConnection != nil)
	}
	if cfg.Renegotiation != tls.RenegotiateNever || cfg.InsecureSkipVerify {
		t.Error("renegotiation or InsecureSkipVerify")
	}
	if !slices.Equal(cfg.CurvePreferences, []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}) {
		t.Errorf("curves %v", cfg.CurvePreferences)
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("suite %s is not ECDHE+AEAD", name)
		}
	}
	if len(cfg.CipherSuites) != 6 {
		t.Errorf("%d suites, want 6", len(cfg.CipherSuites))
	}
}

func TestNewServerTLSRefusesBadConfig(t *testing.T) {
	p := newTestPKI(t)
	leafOnly, _ := p.writeLeaf(t, "notca", p.client(t, nil))
	noServerAuth, noServerAuthKey := p.writeLeaf(t, "noserverauth", p.client(t, nil))
	other, err := devpki.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	foreignCRL := p.dir + "/foreign-crl.pem"
	crl, _ := other.CRL(nil, time.Now().Add(time.Hour*24))
	writeFile(t, foreignCRL, crl)
	garbage := p.dir + "/garbage.pem"
	writeFile(t, garbage, []byte("not a CRL"))

	tests := []struct {
		name string
		edit func(*ServerTLSOptions)
		want string
	}{
		{"no client CAs", func(o *ServerTLSOptions) { o.ClientCAFiles = nil }, "no client CA files"},
		{"CA file holds a leaf", func(o *ServerTLSOptions) { o.ClientCAFiles = []string{leafOnly} }, "is not a CA certificate"},
		{"missing CA file", func(o *ServerTLSOptions) { o.ClientCAFiles = []string{p.dir + "/nope.pem"} }, "nope.pem"},
		{"own cert lacks serverAuth", func(o *ServerTLSOptions) { o.CertFile, o.KeyFile = noServerAuth, noServerAuthKey }, `rule "eku-serverAuth"`},
		{"CRL of a CA that is not an anchor", func(o *ServerTLSOptions) { o.CRLFiles = []string{foreignCRL} }, "is not a configured trust anchor"},
		{"unparsable CRL", func(o *ServerTLSOptions) { o.CRLFiles = []string{garbage} }, "garbage.pem"},
		{"no key", func(o *ServerTLSOptions) { o.KeyFile = "" }, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := p.serverOptions()
			tt.edit(&o)
			_, _, err := NewServerTLS(o, nopLog())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestHandshake runs real TLS handshakes on 127.0.0.1 against NewServerTLS.
func TestHandshake(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	revokedLeaf := p.client(t, func(o *devpki.LeafOptions) {
		o.CommonName, o.DNSNames = "scs2.scs.example", []string{"scs2.scs.example"}
	})
	p.writeCRL(t, revokedLeaf.Cert)
	srv, _ := p.serverTLS(t)

	unknownCA, err := devpki.NewCA("unknown CA")
	if err != nil {
		t.Fatal(err)
	}
	unknownLeaf, err := unknownCA.Issue(devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	// Same name as the trusted CA, different key: the signature fails.
	forgedCA, err := devpki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	forgedLeaf, err := forgedCA.Issue(devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)

	good := p.client(t, nil)
	// alwaysSend presents the certificate even when its issuer is not in the
	// server's certificate_authorities list (Go would otherwise send none;
	// other stacks send it anyway).
	alwaysSend := func(l *devpki.Leaf) func(*tls.Config) {
		return func(c *tls.Config) {
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &l.TLS, nil }
		}
	}
	tests := []struct {
		name    string
		leaf    *devpki.Leaf
		edit    func(*tls.Config)
		rule    string // expected CertError rule; "" with ok=false: any refusal
		ok      bool
		wantErr string // substring of the server's error when rule is ""
	}{
		{name: "good client TLS 1.3", leaf: good, ok: true},
		{name: "good client TLS 1.2", leaf: good, ok: true, edit: func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }},
		{name: "good client RSA 2048", leaf: p.client(t, func(o *devpki.LeafOptions) { o.Key = rsa2048 }), ok: true},
		{name: "no client certificate", leaf: nil, wantErr: "client didn't provide a certificate"},
		{name: "unknown CA", leaf: unknownLeaf, edit: alwaysSend(unknownLeaf), rule: RuleChain},
		{name: "bad signature (forged CA of the same name)", leaf: forgedLeaf, rule: RuleChain},
		{name: "expired", leaf: p.client(t, func(o *devpki.LeafOptions) {
			o.NotBefore, o.NotAfter = now.Add(-72*time.Hour), now.Add(-24*time.Hour)
		}), rule: RuleValidity},
		{name: "not yet valid", leaf: p.client(t, func(o *devpki.LeafOptions) {
			o.NotBefore, o.NotAfter = now.Add(24*time.Hour), now.Add(72*time.Hour)
		}), rule: RuleValidity},
		{name: "serverAuth only", leaf: p.client(t, func(o *devpki.LeafOptions) { o.ClientAuth, o.ServerAuth = false, true }), rule: RuleEKUClientAuth},
		{name: "no EKU", leaf: p.client(t, func(o *devpki.LeafOptions) { o.ClientAuth = false }), rule: RuleEKUClientAuth},
		{name: "no digitalSignature", leaf: p.client(t, func(o *devpki.LeafOptions) { o.KeyUsage = x509.KeyUsageKeyEncipherment }), rule: RuleKeyUsageDigitalSignature},
		{name: "no dNSName SAN", leaf: p.client(t, func(o *devpki.LeafOptions) {
			o.DNSNames, o.IPAddresses = nil, []net.IP{net.IPv4(127, 0, 0, 1)}
		}), rule: RuleSANDNSName},
		{name: "RSA 1024", leaf: p.client(t, func(o *devpki.LeafOptions) { o.Key = rsa1024 }), rule: RuleKey},
		{name: "revoked via CRL", leaf: revokedLeaf, rule: RuleRevoked},
		{name: "TLS 1.1 client", leaf: good, edit: func(c *tls.Config) {
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		}, wantErr: "version"},
		{name: "TLS 1.2 client with CBC-only suites", leaf: good, edit: func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
		}, wantErr: "cipher suite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := p.rawClient(tt.leaf)
			if tt.edit != nil {
				tt.edit(cli)
			}
			res := handshake(t, srv, cli)
			if tt.ok {
				if res.srvErr != nil || res.cliErr != nil {
					t.Fatalf("refused: server %v, client %v", res.srvErr, res.cliErr)
				}
				names := LeafDNSNames(res.srvState)
				if !slices.Equal(names, tt.leaf.Cert.DNSNames) {
					t.Errorf("LeafDNSNames = %v, want %v", names, tt.leaf.Cert.DNSNames)
				}
				if err := CheckOriginHost(res.srvState, "SCS1.scs.example"); err != nil {
					t.Errorf("CheckOriginHost: %v", err)
				}
				if err := CheckOriginHost(res.srvState, "scs2.scs.example"); err == nil {
					t.Error("CheckOriginHost accepted a host the certificate does not name")
				}
				if v := res.srvState.Version; v == tls.VersionTLS12 && !slices.Contains(TLS12CipherSuites(), res.srvState.CipherSuite) {
					t.Errorf("negotiated %s", tls.CipherSuiteName(res.srvState.CipherSuite))
				}
				return
			}
			if res.srvErr == nil {
				t.Fatalf("server accepted the handshake")
			}
			if res.cliErr == nil {
				t.Errorf("client saw no refusal")
			}
			if tt.rule != "" {
				ce := wantRule(t, res.srvErr, tt.rule)
				if tt.leaf != nil && ce.Subject != tt.leaf.Cert.Subject.String() {
					t.Errorf("subject %q, want %q", ce.Subject, tt.leaf.Cert.Subject)
				}
				t.Logf("refused as expected: %v", res.srvErr)
				return
			}
			var ce *CertError
			if errors.As(res.srvErr, &ce) {
				t.Errorf("refused by certificate rule %q; want a protocol refusal", ce.Rule)
			}
			if !strings.Contains(res.srvErr.Error(), tt.wantErr) {
				t.Errorf("server error %q, want it to mention %q", res.srvErr, tt.wantErr)
			}
		})
	}
}

// TestStaleCRLFailsClosed: once the CRL passes its nextUpdate, even a good
// certificate of that CA is refused.
func TestStaleCRLFailsClosed(t *testing.T) {
	p := newTestPKI(t)
	var skew atomic.Int64 // nanoseconds added to the clock
	o := p.serverOptions()
	o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	srv, _, err := NewServerTLS(o, nopLog())
	if err != nil {
		t.Fatal(err)
	}
	good := p.client(t, nil)
	if res := handshake(t, srv, p.rawClient(good)); res.srvErr != nil {
		t.Fatalf("fresh CRL: %v", res.srvErr)
	}
	skew.Store(int64(31 * 24 * time.Hour)) // past nextUpdate, certificate still valid
	res := handshake(t, srv, p.rawClient(good))
	wantRule(t, res.srvErr, RuleRevoked)
	if !errors.Is(res.srvErr, ErrStaleCRL) {
		t.Errorf("error %v does not wrap ErrStaleCRL", res.srvErr)
	}
}

// TestResumedSessionIsRechecked: a client that resumes a session after its
// certificate was revoked is refused, because VerifyConnection runs on
// resumption too.
func TestResumedSessionIsRechecked(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			p := newTestPKI(t)
			srv, rev := p.serverTLS(t)
			var resumed atomic.Bool
			verify := srv.VerifyConnection
			srv.VerifyConnection = func(cs tls.ConnectionState) error {
				resumed.Store(cs.DidResume)
				return verify(cs)
			}
			leaf := p.client(t, nil)
			cli := p.rawClient(leaf)
			cli.MaxVersion = version
			cli.ClientSessionCache = tls.NewLRUClientSessionCache(4)

			if res := handshake(t, srv, cli); res.srvErr != nil || res.cliErr != nil {
				t.Fatalf("first handshake: server %v, client %v", res.srvErr, res.cliErr)
			}
			if resumed.Load() {
				t.Fatal("first handshake resumed")
			}
			// Resumption works while the certificate is good.
			if res := handshake(t, srv, cli); res.srvErr != nil || !res.srvState.DidResume {
				t.Fatalf("second handshake: err %v, resumed %v", res.srvErr, res.srvState.DidResume)
			}

			p.writeCRL(t, leaf.Cert)
			if err := rev.Reload(); err != nil {
				t.Fatal(err)
			}
			res := handshake(t, srv, cli)
			if !resumed.Load() {
				t.Fatal("third handshake did not try to resume; the test proves nothing")
			}
			wantRule(t, res.srvErr, RuleRevoked)
			if res.cliErr == nil {
				t.Error("client saw no refusal")
			}
		})
	}
}

func TestNewClientTLS(t *testing.T) {
	p := newTestPKI(t)
	srv, _ := p.serverTLS(t)
	scsCert, scsKey := p.writeLeaf(t, "scs1", p.client(t, nil))
	opts := ClientTLSOptions{CertFile: scsCert, KeyFile: scsKey, RootCAFiles: []string{p.caFile}, ServerName: serverName}
	cli, err := NewClientTLS(opts)
	if err != nil {
		t.Fatal(err)
	}
	if cli.InsecureSkipVerify || cli.MinVersion != tls.VersionTLS12 || cli.MaxVersion != tls.VersionTLS13 || cli.VerifyConnection == nil {
		t.Fatalf("client config: %+v", cli)
	}
	res := handshake(t, srv, cli)
	if res.srvErr != nil || res.cliErr != nil {
		t.Fatalf("good pair: server %v, client %v", res.srvErr, res.cliErr)
	}
	if names := LeafDNSNames(res.cliState); !slices.Equal(names, []string{serverName}) {
		t.Errorf("client LeafDNSNames %v", names)
	}

	// Servers with bad certificates (built by hand: NewServerTLS would refuse them).
	rawServer := func(l *devpki.Leaf) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{l.TLS}, MinVersion: tls.VersionTLS12}
	}
	otherCA, _ := devpki.NewCA("other CA")
	foreign, _ := otherCA.Issue(devpki.LeafOptions{CommonName: serverName, DNSNames: []string{serverName}, ServerAuth: true})
	tests := []struct {
		name   string
		server *devpki.Leaf
		rule   string // "" = refused by crypto/tls's own verification,
		// with an x509 error for which x509Err is true
		x509Err func(error) bool
	}{
		{"server cert without EKU", p.issue(t, devpki.LeafOptions{CommonName: serverName, DNSNames: []string{serverName}}), RuleEKUServerAuth, nil},
		{"server cert clientAuth only", p.issue(t, devpki.LeafOptions{CommonName: serverName, DNSNames: []string{serverName}, ClientAuth: true}), "",
			func(err error) bool {
				var e x509.CertificateInvalidError
				return errors.As(err, &e) && e.Reason == x509.IncompatibleUsage
			}},
		{"server cert for another name", p.issue(t, devpki.LeafOptions{CommonName: "evil.example", DNSNames: []string{"evil.example"}, ServerAuth: true}), "",
			func(err error) bool { var e x509.HostnameError; return errors.As(err, &e) }},
		{"server cert of an unknown CA", foreign, "",
			func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := handshake(t, rawServer(tt.server), cli)
			if res.cliErr == nil {
				t.Fatal("client accepted the server")
			}
			if tt.rule != "" {
				ce := wantRule(t, res.cliErr, tt.rule)
				if ce.Role != RoleServer {
					t.Errorf("role %q", ce.Role)
				}
			} else if !tt.x509Err(res.cliErr) {
				t.Fatalf("refused for another reason: %v (%T)", res.cliErr, res.cliErr)
			}
			t.Logf("refused as expected: %v", res.cliErr)
		})
	}

	bad := []struct {
		name string
		edit func(*ClientTLSOptions)
	}{
		{"no ServerName", func(o *ClientTLSOptions) { o.ServerName = "" }},
		{"no roots", func(o *ClientTLSOptions) { o.RootCAFiles = nil }},
		{"no certificate", func(o *ClientTLSOptions) { o.CertFile = "" }},
	}
	for _, tt := range bad {
		o := opts
		tt.edit(&o)
		if _, err := NewClientTLS(o); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	srvOnlyCert, srvOnlyKey := p.writeLeaf(t, "srvonly", p.issue(t, devpki.LeafOptions{CommonName: "x.example", DNSNames: []string{"x.example"}, ServerAuth: true}))
	o := opts
	o.CertFile, o.KeyFile = srvOnlyCert, srvOnlyKey
	if _, err := NewClientTLS(o); err == nil || !strings.Contains(err.Error(), RuleEKUClientAuth) {
		t.Errorf("own certificate without clientAuth: %v", err)
	}
}

func TestLeafDNSNamesBeforeHandshake(t *testing.T) {
	if n := LeafDNSNames(tls.ConnectionState{}); n != nil {
		t.Errorf("got %v before the handshake", n)
	}
	if err := CheckOriginHost(tls.ConnectionState{}, "scs1.scs.example"); err == nil {
		t.Error("bound an Origin-Host without a handshake")
	}
}
