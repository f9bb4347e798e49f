// Package devpki builds a throwaway public-key infrastructure for development,
// demos and tests: one ECDSA P-256 root CA, leaf certificates for the
// MTC-IWF and its peers, and CRLs.
//
// Certificates follow the TS 33.310 TLS client/server profile as far as it is
// known (reference 3gpp-mtc.md section 6.3): keyUsage digitalSignature
// (critical), extendedKeyUsage clientAuth and/or serverAuth as asked, the peer's
// FQDN as a dNSName subjectAltName, subjectKeyIdentifier and
// authorityKeyIdentifier, validity of three years or less, and a random positive
// serial of at most 20 octets (RFC 5280 4.1.2.2).
//
// Nothing here is fit for production: keys are written unencrypted and the CA
// key sits next to the certificates.
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// MaxValidity is the longest validity the profile allows (TS 33.310 NF
// certificate profile: "3 years or less").
const MaxValidity = 3 * 365 * 24 * time.Hour

// DefaultLeafValidity is the validity of a leaf when LeafOptions.NotAfter is
// zero.
const DefaultLeafValidity = 365 * 24 * time.Hour

// backdate is subtracted from "now" for NotBefore so that a peer whose clock
// is a little behind still accepts a fresh certificate.
const backdate = 5 * time.Minute

// organization is the O= of every subject this package writes.
const organization = "mtciwf dev PKI"

// CA is a self-signed ECDSA P-256 root that issues leaves and CRLs.
type CA struct {
	// Cert is the root certificate.
	Cert *x509.Certificate
	// Key is the root's private key.
	Key crypto.Signer

	mu        sync.Mutex
	crlNumber *big.Int // last cRLNumber issued by this process
}

// Leaf is an issued end-entity certificate with its key.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte // "CERTIFICATE" block of Cert
	KeyPEM  []byte // "PRIVATE KEY" block (PKCS #8)
	// TLS holds the leaf (without the root) and the key, ready for
	// tls.Config.Certificates.
	TLS tls.Certificate
}

// LeafOptions describes a leaf to issue. Zero values take the profile
// defaults; the overrides exist so tests can issue deliberately bad
// certificates.
type LeafOptions struct {
	// CommonName goes into the subject CN. Usually the peer's FQDN.
	CommonName string
	// DNSNames are the dNSName subjectAltNames (the Diameter identity the
	// certificate proves).
	DNSNames []string
	// IPAddresses are the iPAddress subjectAltNames.
	IPAddresses []net.IP
	// ClientAuth and ServerAuth select the extendedKeyUsage purposes. With
	// both false the certificate has no extendedKeyUsage extension at all.
	ClientAuth bool
	ServerAuth bool
	// KeyUsage replaces the default keyUsage (digitalSignature). Zero means
	// the default.
	KeyUsage x509.KeyUsage
	// NotBefore and NotAfter replace the default validity (now minus 5
	// minutes, DefaultLeafValidity long). Zero means the default.
	NotBefore time.Time
	NotAfter  time.Time
	// Key is the leaf's key. Nil means a fresh ECDSA P-256 key.
	Key crypto.Signer
}

// NewCA creates a self-signed ECDSA P-256 root named CN=name, valid for
// MaxValidity, with keyUsage keyCertSign and cRLSign.
func NewCA(name string) (*CA, error) {
	if name == "" {
		return nil, errors.New("devpki: CA name is empty")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devpki: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(MaxValidity - backdate),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("devpki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devpki: parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA rebuilds a CA from its PEM certificate and PEM private key (as
// written by WriteDevPKI), so an existing dev PKI can sign a fresh CRL.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("devpki: CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("devpki: %s is not a CA certificate", cert.Subject)
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("devpki: CA key: %w", err)
	}
	if !publicKeyEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("devpki: CA key does not match the CA certificate")
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM returns the root certificate as a PEM "CERTIFICATE" block.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM returns the root's private key as a PEM "PRIVATE KEY" block.
func (ca *CA) KeyPEM() ([]byte, error) {
	return keyPEM(ca.Key)
}

// Issue signs a leaf certificate for o.
func (ca *CA) Issue(o LeafOptions) (*Leaf, error) {
	if o.CommonName == "" && len(o.DNSNames) == 0 && len(o.IPAddresses) == 0 {
		return nil, errors.New("devpki: leaf has neither a CommonName nor a subjectAltName")
	}
	key := o.Key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("devpki: generate leaf key: %w", err)
		}
		key = k
	}
	now := time.Now()
	notBefore, notAfter := o.NotBefore, o.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-backdate)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(DefaultLeafValidity)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("devpki: leaf %q: NotAfter %s is not after NotBefore %s", o.CommonName, notAfter, notBefore)
	}
	if notAfter.Sub(notBefore) > MaxValidity {
		return nil, fmt.Errorf("devpki: leaf %q: validity %s exceeds the 3-year profile limit", o.CommonName, notAfter.Sub(notBefore))
	}
	ku := o.KeyUsage
	if ku == 0 {
		ku = x509.KeyUsageDigitalSignature
	}
	var eku []x509.ExtKeyUsage
	if o.ServerAuth {
		eku = append(eku, x509.ExtKeyUsageServerAuth)
	}
	if o.ClientAuth {
		eku = append(eku, x509.ExtKeyUsageClientAuth)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: o.CommonName, Organization: []string{organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              ku, // Go always marks keyUsage critical
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              append([]string(nil), o.DNSNames...),
		IPAddresses:           append([]net.IP(nil), o.IPAddresses...),
		SubjectKeyId:          ski,
		// AuthorityKeyId is taken from the parent's SubjectKeyId.
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: sign leaf %q: %w", o.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devpki: parse leaf %q: %w", o.CommonName, err)
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  kp,
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
	}, nil
}

// CRL returns a PEM "X509 CRL" signed by the CA that lists revoked, with
// thisUpdate now and the given nextUpdate. Each call within a process gets a
// larger cRLNumber than the last (RFC 5280 5.2.3 wants it monotonic); across
// processes the number follows the clock.
func (ca *CA) CRL(revoked []*x509.Certificate, nextUpdate time.Time) ([]byte, error) {
	now := time.Now()
	if !nextUpdate.After(now) {
		// Allowed on purpose: tests build stale CRLs. x509 only needs
		// nextUpdate after thisUpdate, so backdate thisUpdate.
		now = nextUpdate.Add(-time.Hour)
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, c := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: now})
	}
	tmpl := &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    ca.nextCRLNumber(),
		ThisUpdate:                now,
		NextUpdate:                nextUpdate,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: sign CRL: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

func (ca *CA) nextCRLNumber() *big.Int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	n := big.NewInt(time.Now().UnixNano())
	if ca.crlNumber != nil && n.Cmp(ca.crlNumber) <= 0 {
		n = new(big.Int).Add(ca.crlNumber, big.NewInt(1))
	}
	ca.crlNumber = n
	return new(big.Int).Set(n)
}

// ParseCertPEM parses the first "CERTIFICATE" block of b.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no CERTIFICATE PEM block")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// ParseKeyPEM parses a PKCS #8, SEC 1 or PKCS #1 private key PEM block.
func ParseKeyPEM(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	var (
		k   any
		err error
	)
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", blk.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key of type %T cannot sign", k)
	}
	return s, nil
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devpki: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// randomSerial returns a random positive serial of at most 20 octets: 159
// random bits keep the DER INTEGER's sign bit clear (RFC 5280 4.1.2.2).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 159)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("devpki: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

// keyID is the key identifier of RFC 7093 method 1: the leftmost 160 bits of
// the SHA-256 of the subjectPublicKey bit string.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("devpki: marshal public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("devpki: parse public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ae, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ae.Equal(b)
}
