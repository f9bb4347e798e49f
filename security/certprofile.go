package security

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

// Rule names a certificate check. The names are part of the API: they appear
// in CertError, in log lines and in operators' alerting, so they never change
// meaning.
const (
	// RuleChain: the chain does not lead to a configured trust anchor
	// (unknown CA, bad signature, CA not allowed to sign, no certificate):
	// RFC 5280 6.1 path validation.
	RuleChain = "chain"
	// RuleValidity: the leaf (or a certificate of its chain) is expired or
	// not yet valid at the configured clock (RFC 5280 4.1.2.5, 6.1.3 (a)(2)).
	RuleValidity = "validity"
	// The TS 33.310 clause numbers (6.1.3a TLS client, 6.1.4a TLS server
	// certificate profile) are single-source: cited so by TS 33.180
	// 6.1.1/6.1.2; the profile text itself was not found (reference
	// 3gpp-mtc.md 6.3). The rules follow its Rel-16 NF TLS profile.
	//
	// RuleEKUClientAuth: the leaf of a TLS client lacks extendedKeyUsage
	// id-kp-clientAuth (TS 33.310 6.1.3a TLS client certificate profile:
	// extendedKeyUsage mandatory; RFC 5280 4.2.1.12).
	RuleEKUClientAuth = "eku-clientAuth"
	// RuleEKUServerAuth: the leaf of a TLS server lacks extendedKeyUsage
	// id-kp-serverAuth (TS 33.310 6.1.4a TLS server certificate profile:
	// extendedKeyUsage mandatory; RFC 5280 4.2.1.12).
	RuleEKUServerAuth = "eku-serverAuth"
	// RuleKeyUsageDigitalSignature: keyUsage is absent or lacks
	// digitalSignature (TS 33.310 6.1.3a/6.1.4a: keyUsage mandatory and
	// critical, digitalSignature; RFC 5280 4.2.1.3).
	RuleKeyUsageDigitalSignature = "keyusage-digitalSignature"
	// RuleSANDNSName: the leaf has no dNSName subjectAltName, so it proves no
	// Diameter identity (TS 33.310 6.1.3a/6.1.4a subjectAltName with the
	// FQDN; TS 29.368 6.3 / TS 33.187 peer identity; RFC 5280 4.2.1.6).
	RuleSANDNSName = "san-dnsname"
	// RuleRevoked: the serial is on a CRL of the issuing CA, or the issuing
	// CA's CRL is stale and revocation cannot be decided (fail closed):
	// RFC 5280 6.1.3 (a)(3) and 6.3; TS 33.310 6.1a CRL profile.
	RuleRevoked = "revoked"
	// RuleKey: the public key is not ECDSA P-256/P-384 or RSA of at least
	// 2048 bits (TS 33.310 6.1.1 key types; TS 33.210 6.2).
	RuleKey = "key"
)

// Rules lists every rule name, for documentation and tests.
var Rules = []string{
	RuleChain, RuleValidity, RuleEKUClientAuth, RuleEKUServerAuth,
	RuleKeyUsageDigitalSignature, RuleSANDNSName, RuleRevoked, RuleKey,
}

// MinRSABits is the smallest RSA modulus accepted (RuleKey).
const MinRSABits = 2048

// Roles of the certificate a CertError is about.
const (
	RoleClient = "client"
	RoleServer = "server"
)

// CertError is a refused certificate. Every refusal by this package's TLS
// verification is a *CertError, so a log line or an alert can name the rule;
// find it with errors.As on the error the TLS handshake returns.
type CertError struct {
	// Rule is one of the Rule* constants.
	Rule string
	// Subject is the refused leaf's subject DN (e.g. "CN=scs1.scs.example,O=..."),
	// empty when no certificate was presented.
	Subject string
	// Detail says what exactly is wrong, as a phrase that follows
	// "leaf <subject>" (e.g. "has no extendedKeyUsage clientAuth").
	Detail string
	// Role is RoleClient (the default when empty) or RoleServer.
	Role string

	cause error // underlying error, if any (e.g. ErrStaleCRL); see Unwrap
}

// Unwrap returns the underlying error, so errors.Is(err, ErrStaleCRL) works
// on a refusal caused by a stale CRL.
func (e *CertError) Unwrap() error { return e.cause }

// Error reads like
// `client certificate refused: rule "eku-clientAuth": leaf CN=x has no extendedKeyUsage clientAuth`.
func (e *CertError) Error() string {
	role := e.Role
	if role == "" {
		role = RoleClient
	}
	if e.Subject == "" {
		return fmt.Sprintf("%s certificate refused: rule %q: %s", role, e.Rule, e.Detail)
	}
	return fmt.Sprintf("%s certificate refused: rule %q: leaf %s %s", role, e.Rule, e.Subject, e.Detail)
}

// MarshalLogObject lets a refusal be logged as structured fields:
// log.Warn("tls handshake refused", zap.Object("cert", ce)).
func (e *CertError) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("rule", e.Rule)
	enc.AddString("subject", e.Subject)
	enc.AddString("detail", e.Detail)
	role := e.Role
	if role == "" {
		role = RoleClient
	}
	enc.AddString("role", role)
	return nil
}

func refuse(role, rule string, leaf *x509.Certificate, format string, args ...any) *CertError {
	e := &CertError{Rule: rule, Detail: fmt.Sprintf(format, args...), Role: role}
	if leaf != nil {
		e.Subject = leaf.Subject.String()
	}
	return e
}

// CheckClientLeaf applies the TS 33.310 TLS client certificate profile to a
// leaf, without chain or revocation checks: validity at now, key type and
// size, keyUsage digitalSignature, extendedKeyUsage clientAuth, at least one
// dNSName subjectAltName. It returns nil or a *CertError.
func CheckClientLeaf(leaf *x509.Certificate, now time.Time) error {
	return checkLeaf(RoleClient, leaf, now)
}

// CheckServerLeaf is CheckClientLeaf for the TLS server profile: the same
// rules with extendedKeyUsage serverAuth instead of clientAuth.
func CheckServerLeaf(leaf *x509.Certificate, now time.Time) error {
	return checkLeaf(RoleServer, leaf, now)
}

func checkLeaf(role string, leaf *x509.Certificate, now time.Time) error {
	if leaf == nil {
		return &CertError{Rule: RuleChain, Detail: "no certificate presented", Role: role}
	}
	if err := checkValidity(role, leaf, now); err != nil {
		return err
	}
	return checkProfile(role, leaf)
}

// checkProfile is checkLeaf without the validity check, for callers that
// have made it already.
func checkProfile(role string, leaf *x509.Certificate) error {
	if err := checkKey(role, leaf); err != nil {
		return err
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		// The TLS handshake signature (CertificateVerify) is a
		// digitalSignature use; a key not allowed it must not
		// authenticate a peer.
		if leaf.KeyUsage == 0 {
			return refuse(role, RuleKeyUsageDigitalSignature, leaf, "has no keyUsage extension (digitalSignature required)")
		}
		return refuse(role, RuleKeyUsageDigitalSignature, leaf, "has keyUsage %s without digitalSignature", keyUsageString(leaf.KeyUsage))
	}
	want, rule, name := x509.ExtKeyUsageClientAuth, RuleEKUClientAuth, "clientAuth"
	if role == RoleServer {
		want, rule, name = x509.ExtKeyUsageServerAuth, RuleEKUServerAuth, "serverAuth"
	}
	// The profile makes extendedKeyUsage mandatory with the explicit
	// purpose. x509.Verify treats a missing extension (and
	// anyExtendedKeyUsage) as "any purpose"; we do not.
	if !slices.Contains(leaf.ExtKeyUsage, want) {
		return refuse(role, rule, leaf, "has no extendedKeyUsage %s", name)
	}
	if len(leaf.DNSNames) == 0 {
		return refuse(role, RuleSANDNSName, leaf, "has no dNSName subjectAltName (the peer's Diameter identity)")
	}
	return nil
}

func checkValidity(role string, c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return refuse(role, RuleValidity, c, "is not valid before %s (now %s)", stamp(c.NotBefore), stamp(now))
	}
	if now.After(c.NotAfter) {
		return refuse(role, RuleValidity, c, "expired at %s (now %s)", stamp(c.NotAfter), stamp(now))
	}
	return nil
}

// checkKey enforces RuleKey: ECDSA on P-256 or P-384 (TS 33.210 6.2.2 asks
// for secp256r1 and secp384r1), or RSA of MinRSABits or more.
func checkKey(role string, c *x509.Certificate) error {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384():
			return nil
		}
		return refuse(role, RuleKey, c, "has an ECDSA key on %s; only P-256 and P-384 are allowed", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() >= MinRSABits {
			return nil
		}
		return refuse(role, RuleKey, c, "has a %d-bit RSA key; at least %d bits are required", k.N.BitLen(), MinRSABits)
	case ed25519.PublicKey:
		return refuse(role, RuleKey, c, "has an Ed25519 key; only ECDSA P-256/P-384 or RSA >= %d are allowed", MinRSABits)
	default:
		return refuse(role, RuleKey, c, "has a %T key; only ECDSA P-256/P-384 or RSA >= %d are allowed", k, MinRSABits)
	}
}

func keyUsageString(ku x509.KeyUsage) string {
	names := []string{
		"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly",
	}
	var out []string
	for i, n := range names {
		if ku&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, "|")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
