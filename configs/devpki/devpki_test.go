package devpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"slices"
	"testing"
	"time"
)

var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

func TestIssueFollowsProfile(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCRLSign == 0 || len(ca.Cert.SubjectKeyId) == 0 {
		t.Fatalf("CA profile: IsCA=%v KeyUsage=%b SKI=%x", ca.Cert.IsCA, ca.Cert.KeyUsage, ca.Cert.SubjectKeyId)
	}
	if _, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Fatalf("CA key is %T, want ECDSA", ca.Cert.PublicKey)
	}
	tests := []struct {
		name         string
		o            LeafOptions
		wantEKU      []x509.ExtKeyUsage
		wantKeyUsage x509.KeyUsage
	}{
		{"client+server", LeafOptions{CommonName: "a.example", DNSNames: []string{"a.example"}, ClientAuth: true, ServerAuth: true},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature},
		{"client only", LeafOptions{CommonName: "b.example", DNSNames: []string{"b.example"}, ClientAuth: true},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature},
		{"no EKU", LeafOptions{CommonName: "c.example", DNSNames: []string{"c.example"}},
			nil, x509.KeyUsageDigitalSignature},
		{"keyUsage override", LeafOptions{CommonName: "d.example", DNSNames: []string{"d.example"}, ClientAuth: true, KeyUsage: x509.KeyUsageKeyEncipherment},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, x509.KeyUsageKeyEncipherment},
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ca.Issue(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			c := l.Cert
			if !slices.Equal(c.ExtKeyUsage, tt.wantEKU) {
				t.Errorf("EKU = %v, want %v", c.ExtKeyUsage, tt.wantEKU)
			}
			if c.KeyUsage != tt.wantKeyUsage {
				t.Errorf("KeyUsage = %b, want %b", c.KeyUsage, tt.wantKeyUsage)
			}
			critical := false
			for _, e := range c.Extensions {
				if e.Id.Equal(oidKeyUsage) {
					critical = e.Critical
				}
			}
			if !critical {
				t.Error("keyUsage is not critical")
			}
			if !slices.Equal(c.DNSNames, tt.o.DNSNames) {
				t.Errorf("DNSNames = %v", c.DNSNames)
			}
			if len(c.SubjectKeyId) == 0 || !slices.Equal(c.AuthorityKeyId, ca.Cert.SubjectKeyId) {
				t.Errorf("SKI %x / AKI %x (CA SKI %x)", c.SubjectKeyId, c.AuthorityKeyId, ca.Cert.SubjectKeyId)
			}
			if c.SerialNumber.Sign() <= 0 || len(c.SerialNumber.Bytes()) > 20 {
				t.Errorf("serial %x is not positive or exceeds 20 octets", c.SerialNumber)
			}
			if c.NotAfter.Sub(c.NotBefore) > MaxValidity {
				t.Errorf("validity %s exceeds 3 years", c.NotAfter.Sub(c.NotBefore))
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("leaf does not verify: %v", err)
			}
			if l.TLS.Leaf != c || len(l.TLS.Certificate) != 1 || l.TLS.PrivateKey == nil {
				t.Error("TLS certificate not filled")
			}
			if k, err := ParseKeyPEM(l.KeyPEM); err != nil || !publicKeyEqual(c.PublicKey, k.Public()) {
				t.Errorf("KeyPEM does not match the certificate (%v)", err)
			}
		})
	}
}

func TestIssueValidityOverrideAndLimit(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := ca.Issue(LeafOptions{CommonName: "old.example", DNSNames: []string{"old.example"}, NotBefore: nb, NotAfter: nb.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Cert.NotBefore.Equal(nb) || !l.Cert.NotAfter.Equal(nb.Add(time.Hour)) {
		t.Errorf("validity %s..%s", l.Cert.NotBefore, l.Cert.NotAfter)
	}
	if _, err := ca.Issue(LeafOptions{CommonName: "long.example", NotBefore: nb, NotAfter: nb.Add(MaxValidity + time.Hour)}); err == nil {
		t.Error("a leaf valid for more than 3 years was issued")
	}
	if _, err := ca.Issue(LeafOptions{}); err == nil {
		t.Error("a leaf without any name was issued")
	}
}

func TestIssueWithOwnKey(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ca.Issue(LeafOptions{CommonName: "p384.example", DNSNames: []string{"p384.example"}, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	if !k.PublicKey.Equal(l.Cert.PublicKey) {
		t.Error("leaf does not carry the given key")
	}
}

func TestCRL(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ca.Issue(LeafOptions{CommonName: "r.example", DNSNames: []string{"r.example"}, ClientAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	next := time.Now().Add(48 * time.Hour)
	first, err := ca.CRL([]*x509.Certificate{l.Cert}, next)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ca.CRL(nil, next)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(b []byte) *x509.RevocationList {
		t.Helper()
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "X509 CRL" {
			t.Fatalf("not a PEM X509 CRL: %q", b)
		}
		crl, err := x509.ParseRevocationList(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
			t.Fatalf("CRL signature: %v", err)
		}
		return crl
	}
	c1, c2 := parse(first), parse(second)
	if len(c1.RevokedCertificateEntries) != 1 || c1.RevokedCertificateEntries[0].SerialNumber.Cmp(l.Cert.SerialNumber) != 0 {
		t.Errorf("first CRL entries %v, want serial %x", c1.RevokedCertificateEntries, l.Cert.SerialNumber)
	}
	if len(c2.RevokedCertificateEntries) != 0 {
		t.Errorf("second CRL has %d entries, want 0", len(c2.RevokedCertificateEntries))
	}
	if c2.Number.Cmp(c1.Number) <= 0 {
		t.Errorf("cRLNumber did not increase: %s then %s", c1.Number, c2.Number)
	}
	if !c1.NextUpdate.Equal(next.Truncate(time.Second)) && c1.NextUpdate.Sub(next).Abs() > time.Second {
		t.Errorf("nextUpdate %s, want %s", c1.NextUpdate, next)
	}
	// A stale CRL (for tests of the fail-closed path) can be made too.
	stale, err := ca.CRL(nil, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(stale); !c.NextUpdate.After(c.ThisUpdate) {
		t.Errorf("stale CRL: nextUpdate %s not after thisUpdate %s", c.NextUpdate, c.ThisUpdate)
	}
}

func TestLoadCA(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ca.KeyPEM()
	otherKey, _ := other.KeyPEM()
	got, err := LoadCA(ca.CertPEM(), key)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) {
		t.Error("loaded CA differs")
	}
	if _, err := LoadCA(ca.CertPEM(), otherKey); err == nil {
		t.Error("LoadCA accepted a key that does not match")
	}
}
