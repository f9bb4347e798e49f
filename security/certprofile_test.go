package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestRuleNamesAreStable(t *testing.T) {
	// The names are API: operators alert on them.
	want := map[string]string{
		RuleChain:                    "chain",
		RuleValidity:                 "validity",
		RuleEKUClientAuth:            "eku-clientAuth",
		RuleEKUServerAuth:            "eku-serverAuth",
		RuleKeyUsageDigitalSignature: "keyusage-digitalSignature",
		RuleSANDNSName:               "san-dnsname",
		RuleRevoked:                  "revoked",
		RuleKey:                      "key",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("rule %q, want %q", got, w)
		}
	}
	if len(Rules) != len(want) {
		t.Errorf("Rules has %d names, want %d", len(Rules), len(want))
	}
}

func TestCertErrorMessage(t *testing.T) {
	e := &CertError{Rule: RuleEKUClientAuth, Subject: "CN=scs1.scs.example", Detail: "has no extendedKeyUsage clientAuth"}
	want := `client certificate refused: rule "eku-clientAuth": leaf CN=scs1.scs.example has no extendedKeyUsage clientAuth`
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", e.Error(), want)
	}
	e = &CertError{Rule: RuleChain, Detail: "no certificate presented", Role: RoleServer}
	if got := e.Error(); got != `server certificate refused: rule "chain": no certificate presented` {
		t.Errorf("Error() = %q", got)
	}

	core, logs := observer.New(zapcore.InfoLevel)
	zap.New(core).Warn("refused", zap.Object("cert", &CertError{Rule: RuleKey, Subject: "CN=x", Detail: "d"}))
	f := logs.All()[0].ContextMap()["cert"].(map[string]any)
	if f["rule"] != RuleKey || f["subject"] != "CN=x" || f["role"] != RoleClient {
		t.Errorf("logged fields %v", f)
	}
}

func TestCheckClientLeaf(t *testing.T) {
	ca, err := devpki.NewCA("profile CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	issue := func(edit func(*devpki.LeafOptions)) *x509.Certificate {
		t.Helper()
		o := devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true}
		if edit != nil {
			edit(&o)
		}
		l, err := ca.Issue(o)
		if err != nil {
			t.Fatal(err)
		}
		return l.Cert
	}
	withKey := func(k crypto.Signer) func(*devpki.LeafOptions) {
		return func(o *devpki.LeafOptions) { o.Key = k }
	}
	mutate := func(c *x509.Certificate, f func(*x509.Certificate)) *x509.Certificate {
		cp := *c
		f(&cp)
		return &cp
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	good := issue(nil)

	tests := []struct {
		name string
		cert *x509.Certificate
		rule string // "" = accepted
	}{
		{"good ECDSA P-256", good, ""},
		{"good ECDSA P-384", issue(withKey(p384)), ""},
		{"good RSA 2048", issue(withKey(rsa2048)), ""},
		{"client and server EKU", issue(func(o *devpki.LeafOptions) { o.ServerAuth = true }), ""},
		{"extra keyUsage bits", issue(func(o *devpki.LeafOptions) {
			o.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement
		}), ""},
		{"expired", issue(func(o *devpki.LeafOptions) {
			o.NotBefore, o.NotAfter = now.Add(-48*time.Hour), now.Add(-time.Hour)
		}), RuleValidity},
		{"not yet valid", issue(func(o *devpki.LeafOptions) {
			o.NotBefore, o.NotAfter = now.Add(time.Hour), now.Add(48*time.Hour)
		}), RuleValidity},
		{"ECDSA P-224", issue(withKey(p224)), RuleKey},
		{"ECDSA P-521", issue(withKey(p521)), RuleKey},
		{"RSA 1024", issue(withKey(rsa1024)), RuleKey},
		{"Ed25519", issue(withKey(ed)), RuleKey},
		{"keyUsage without digitalSignature", issue(func(o *devpki.LeafOptions) {
			o.KeyUsage = x509.KeyUsageKeyEncipherment
		}), RuleKeyUsageDigitalSignature},
		{"no keyUsage extension", mutate(good, func(c *x509.Certificate) { c.KeyUsage = 0 }), RuleKeyUsageDigitalSignature},
		{"serverAuth only", issue(func(o *devpki.LeafOptions) { o.ClientAuth, o.ServerAuth = false, true }), RuleEKUClientAuth},
		{"no EKU extension", issue(func(o *devpki.LeafOptions) { o.ClientAuth = false }), RuleEKUClientAuth},
		{"anyExtendedKeyUsage only", mutate(good, func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
		}), RuleEKUClientAuth},
		{"no dNSName (CN only)", issue(func(o *devpki.LeafOptions) { o.DNSNames = nil }), RuleSANDNSName},
		{"no dNSName (IP SAN only)", issue(func(o *devpki.LeafOptions) {
			o.DNSNames, o.IPAddresses = nil, []net.IP{net.IPv4(192, 0, 2, 1)}
		}), RuleSANDNSName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckClientLeaf(tt.cert, now)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ce := wantRule(t, err, tt.rule)
			if ce.Subject != tt.cert.Subject.String() || ce.Detail == "" {
				t.Errorf("CertError %+v lacks subject or detail", ce)
			}
			if !strings.HasPrefix(err.Error(), "client certificate refused: rule \""+tt.rule+"\": leaf ") {
				t.Errorf("message %q", err)
			}
		})
	}
	if err := CheckClientLeaf(nil, now); err == nil {
		t.Error("nil leaf accepted")
	}
}

func TestCheckServerLeaf(t *testing.T) {
	ca, err := devpki.NewCA("profile CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name string
		o    devpki.LeafOptions
		rule string
	}{
		{"serverAuth", devpki.LeafOptions{CommonName: "hss.operator.example", DNSNames: []string{"hss.operator.example"}, ServerAuth: true}, ""},
		{"clientAuth only", devpki.LeafOptions{CommonName: "hss.operator.example", DNSNames: []string{"hss.operator.example"}, ClientAuth: true}, RuleEKUServerAuth},
		{"no EKU", devpki.LeafOptions{CommonName: "hss.operator.example", DNSNames: []string{"hss.operator.example"}}, RuleEKUServerAuth},
		{"no dNSName", devpki.LeafOptions{CommonName: "hss.operator.example", ServerAuth: true}, RuleSANDNSName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ca.Issue(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckServerLeaf(l.Cert, now)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ce := wantRule(t, err, tt.rule)
			if ce.Role != RoleServer || !strings.HasPrefix(err.Error(), "server certificate refused") {
				t.Errorf("role %q, message %q", ce.Role, err)
			}
		})
	}
}

func TestCertErrorUnwrapsStaleCRL(t *testing.T) {
	ce := refuse(RoleClient, RuleRevoked, nil, "x")
	ce.cause = ErrStaleCRL
	if !errors.Is(ce, ErrStaleCRL) {
		t.Error("errors.Is does not see ErrStaleCRL")
	}
}
