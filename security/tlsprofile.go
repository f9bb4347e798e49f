package security

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// TLS profile of TS 33.210 clause 6.2 (which took over TS 33.310 Annex E from
// Rel-15): SSL, TLS 1.0 and TLS 1.1 shall not be supported, TLS 1.2 and TLS 1.3
// shall be (6.2.1). See reference 3gpp-mtc.md section 6.4.
const (
	minTLSVersion = tls.VersionTLS12
	maxTLSVersion = tls.VersionTLS13
)

// tls12Suites are the TLS 1.2 cipher suites offered and accepted: ECDHE key
// exchange with an AEAD cipher only (TS 33.210 6.2.3 profile; forward secrecy,
// no CBC, no static RSA, no 3DES/RC4/NULL). ECDSA and RSA certificate
// variants. TLS 1.3 suites are not configurable in Go; all of them are AEAD
// (RFC 8446 9.1, as TS 33.210 6.2.2 asks).
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// curves are the key-exchange groups: secp256r1 (RFC 8446 9.1 MUST), X25519
// (SHOULD) and secp384r1 (TS 33.210 6.2.2 "should be supported"). Listing
// them explicitly also leaves out Go's default hybrid post-quantum group,
// which the 3GPP profile does not name yet.
var curves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}

// TLS12CipherSuites returns the TLS 1.2 cipher suites of the profile.
func TLS12CipherSuites() []uint16 { return slices.Clone(tls12Suites) }

// ServerTLSOptions configures NewServerTLS.
type ServerTLSOptions struct {
	// CertFile and KeyFile are the MTC-IWF's own certificate (PEM, leaf
	// first, intermediates after) and key. The certificate must pass
	// CheckServerLeaf.
	CertFile, KeyFile string
	// ClientCAFiles are PEM files of the trust anchors that client
	// certificates must chain to (CA certificates only). Required.
	ClientCAFiles []string
	// CRLFiles are PEM (or DER) CRL files of those anchors. Optional; see
	// Revocation for the policy.
	CRLFiles []string
	// Now is the clock for certificate validity, CRL staleness and session
	// ticket lifetime. Nil means time.Now.
	Now func() time.Time
	// KeyLogWriter, when set, receives the TLS secrets of every session
	// (tls.Config.KeyLogWriter): for decrypting captures while debugging only.
	KeyLogWriter io.Writer
}

// NewServerTLS returns the TLS configuration of a listener that requires and
// verifies a client certificate (Tsp: TS 29.368 6.3 with TS 33.210 / 33.310;
// T8: TS 33.187 5.5), and the Revocation that the configuration consults, so
// the caller can Watch and Close it.
//
// Client certificates are verified by this package, not by crypto/tls
// (ClientAuth is RequireAnyClientCert and VerifyConnection does the work), so
// that every refusal is a *CertError naming its rule. The handshake error of
// a refused client wraps that *CertError: find it with errors.As.
func NewServerTLS(o ServerTLSOptions, log *zap.Logger) (*tls.Config, *Revocation, error) {
	if log == nil {
		log = zap.NewNop()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, nil, errors.New("security: server TLS: certificate and key files are required")
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("security: server TLS: load %s / %s: %w", o.CertFile, o.KeyFile, err)
	}
	if err := CheckServerLeaf(cert.Leaf, now()); err != nil {
		return nil, nil, fmt.Errorf("security: server TLS: own certificate %s: %w", o.CertFile, err)
	}
	if len(o.ClientCAFiles) == 0 {
		return nil, nil, errors.New("security: server TLS: no client CA files: client certificates are required, so trust anchors are too")
	}
	anchors, err := loadCAFiles(o.ClientCAFiles)
	if err != nil {
		return nil, nil, fmt.Errorf("security: server TLS: %w", err)
	}
	rev, err := NewRevocation(anchors, o.CRLFiles, now, log)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	v := &peerVerifier{role: RoleClient, roots: roots, rev: rev, now: now}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		// TS 33.210 6.2.1: TLS 1.2 and 1.3 only.
		MinVersion:   minTLSVersion,
		MaxVersion:   maxTLSVersion,
		CipherSuites: TLS12CipherSuites(),
		// CurvePreferences is also the TLS 1.3 group list.
		CurvePreferences: slices.Clone(curves),
		// Renegotiation is a client-side setting; a Go server never
		// renegotiates. Set for clarity: no renegotiation anywhere (TLS 1.3
		// has none, RFC 8446 4.1.2; TLS 1.2's, RFC 5246 7.4.1.2, is off).
		Renegotiation: tls.RenegotiateNever,
		// Mutual authentication is mandatory. RequireAnyClientCert makes
		// crypto/tls insist on a certificate but leaves its verification to
		// VerifyConnection below, so each refusal names its rule.
		ClientAuth: tls.RequireAnyClientCert,
		// ClientCAs is not used for verification here; it fills the
		// certificate_authorities list of the CertificateRequest so a
		// client with several certificates picks the right one.
		ClientCAs: roots,
		// Session tickets stay enabled (resumption saves a full handshake
		// per reconnect) because crypto/tls runs VerifyConnection on
		// resumed sessions too, TLS 1.2 and TLS 1.3 alike, with the
		// certificates stored in the ticket: chain, validity, profile and
		// revocation are checked again at every resumption, so a
		// certificate revoked after the first handshake cannot come back
		// through a ticket.
		SessionTicketsDisabled: false,
		VerifyConnection:       v.verifyConnection,
		Time:                   now,
		KeyLogWriter:           o.KeyLogWriter,
	}
	subjects := make([]string, 0, len(anchors))
	for _, a := range anchors {
		subjects = append(subjects, a.Subject.String())
	}
	log.Info("TLS server profile ready",
		zap.String("certificate", cert.Leaf.Subject.String()),
		zap.Strings("client_cas", subjects),
		zap.Int("crl_files", len(o.CRLFiles)))
	return cfg, rev, nil
}

// ClientTLSOptions configures NewClientTLS.
type ClientTLSOptions struct {
	// CertFile and KeyFile are the MTC-IWF's client certificate and key,
	// presented to the server. Required; the certificate must pass
	// CheckClientLeaf.
	CertFile, KeyFile string
	// RootCAFiles are the trust anchors for the server's certificate
	// (CA certificates only). Required: there is no fallback to the system
	// pool.
	RootCAFiles []string
	// ServerName is the server's expected FQDN (its Diameter identity): it is
	// sent as SNI and must be a dNSName of the server's certificate. Required.
	ServerName string
	// Revocation, when set, is also applied to the server's chain.
	Revocation *Revocation
	// Now is the clock for certificate checks. Nil means time.Now.
	Now func() time.Time
}

// NewClientTLS returns the TLS configuration for dialling a peer: the same
// versions, suites and groups as the server side, our client certificate, and
// full verification of the server (crypto/tls verifies the chain and the
// ServerName; VerifyConnection adds the TS 33.310 server profile, notably
// extendedKeyUsage serverAuth, and revocation when configured). It never sets
// InsecureSkipVerify.
func NewClientTLS(o ClientTLSOptions) (*tls.Config, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("security: client TLS: certificate and key files are required")
	}
	if o.ServerName == "" {
		return nil, errors.New("security: client TLS: ServerName is required (the peer identity to verify)")
	}
	if len(o.RootCAFiles) == 0 {
		return nil, errors.New("security: client TLS: no root CA files: the server must be verified")
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("security: client TLS: load %s / %s: %w", o.CertFile, o.KeyFile, err)
	}
	if err := CheckClientLeaf(cert.Leaf, now()); err != nil {
		return nil, fmt.Errorf("security: client TLS: own certificate %s: %w", o.CertFile, err)
	}
	anchors, err := loadCAFiles(o.RootCAFiles)
	if err != nil {
		return nil, fmt.Errorf("security: client TLS: %w", err)
	}
	roots := x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	v := &peerVerifier{role: RoleServer, roots: roots, rev: o.Revocation, now: now, serverName: o.ServerName}
	return &tls.Config{
		Certificates:     []tls.Certificate{cert},
		RootCAs:          roots,
		ServerName:       o.ServerName,
		MinVersion:       minTLSVersion, // TS 33.210 6.2.1
		MaxVersion:       maxTLSVersion,
		CipherSuites:     TLS12CipherSuites(),
		CurvePreferences: slices.Clone(curves),
		Renegotiation:    tls.RenegotiateNever,
		// VerifyConnection also runs on resumed sessions, should the
		// caller add a ClientSessionCache.
		VerifyConnection: v.verifyConnection,
		Time:             now,
	}, nil
}

// peerVerifier checks the peer's certificate chain for one side of a
// connection; role is the peer's role (RoleClient on a server).
type peerVerifier struct {
	role       string
	roots      *x509.CertPool
	rev        *Revocation // nil: no revocation checks
	now        func() time.Time
	serverName string // RoleServer only
}

// verifyConnection is the tls.Config.VerifyConnection hook. Order: validity of
// the leaf (explicit, with the configured clock), chain to a trust anchor,
// the leaf profile, revocation of every certificate in the chain.
func (v *peerVerifier) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return &CertError{Rule: RuleChain, Detail: "no certificate presented", Role: v.role}
	}
	leaf := cs.PeerCertificates[0]
	now := v.now()
	if err := checkValidity(v.role, leaf, now); err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		DNSName:       v.serverName,
		KeyUsages:     []x509.ExtKeyUsage{usage(v.role)},
		CurrentTime:   now,
	})
	if err != nil {
		return classifyVerifyError(v.role, leaf, err)
	}
	// Validity was checked above, before the chain.
	if err := checkProfile(v.role, leaf); err != nil {
		return err
	}
	if v.rev != nil {
		if err := v.rev.checkChains(v.role, leaf, chains); err != nil {
			return err
		}
	}
	return nil
}

// usage is the extendedKeyUsage a peer in role must have.
func usage(role string) x509.ExtKeyUsage {
	if role == RoleServer {
		return x509.ExtKeyUsageServerAuth
	}
	return x509.ExtKeyUsageClientAuth
}

// classifyVerifyError maps an x509.Verify error to its rule.
func classifyVerifyError(role string, leaf *x509.Certificate, err error) error {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
	)
	switch {
	case errors.As(err, &unknown):
		return refuse(role, RuleChain, leaf, "is not issued by a configured trust anchor (%v)", err)
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return refuse(role, RuleValidity, leaf, "has a chain certificate outside its validity (%v)", err)
		case x509.IncompatibleUsage:
			name := "clientAuth"
			rule := RuleEKUClientAuth
			if role == RoleServer {
				name, rule = "serverAuth", RuleEKUServerAuth
			}
			if !slices.Contains(leaf.ExtKeyUsage, usage(role)) {
				return refuse(role, rule, leaf, "has no extendedKeyUsage %s", name)
			}
			return refuse(role, rule, leaf, "chains through a CA whose extendedKeyUsage does not allow %s (%v)", name, err)
		}
		return refuse(role, RuleChain, leaf, "has an invalid chain (%v)", err)
	case errors.As(err, &hostname):
		return refuse(role, RuleSANDNSName, leaf, "does not name %q in its subjectAltNames (dNSNames %s)",
			hostname.Host, strings.Join(leaf.DNSNames, ", "))
	}
	return refuse(role, RuleChain, leaf, "has an invalid chain (%v)", err)
}

// LeafDNSNames returns the dNSName subjectAltNames of the peer's leaf
// certificate on a connection whose handshake has completed. With a
// configuration from NewServerTLS or NewClientTLS a completed handshake means
// the leaf passed chain, profile and revocation checks. It returns nil before
// the handshake completes. The diam layer binds the CER's Origin-Host to one
// of these (TS 29.368 6.3, TS 33.187 peer identity); see CheckOriginHost.
func LeafDNSNames(cs tls.ConnectionState) []string {
	if !cs.HandshakeComplete {
		return nil
	}
	var leaf *x509.Certificate
	switch {
	case len(cs.VerifiedChains) > 0 && len(cs.VerifiedChains[0]) > 0:
		leaf = cs.VerifiedChains[0][0]
	case len(cs.PeerCertificates) > 0:
		leaf = cs.PeerCertificates[0]
	default:
		return nil
	}
	return slices.Clone(leaf.DNSNames)
}

// CheckOriginHost reports whether originHost (a CER's Origin-Host) is one of
// the dNSNames of the peer's verified certificate. Comparison ignores ASCII
// case (DNS names are case-insensitive, RFC 4343); wildcard dNSNames are not
// honoured, because a Diameter identity is one host (RFC 6733 4.3.1).
func CheckOriginHost(cs tls.ConnectionState, originHost string) error {
	names := LeafDNSNames(cs)
	if len(names) == 0 {
		return fmt.Errorf("security: Origin-Host %q cannot be bound: the connection has no verified certificate with a dNSName", originHost)
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "*") && strings.EqualFold(n, originHost) {
			return nil
		}
	}
	return fmt.Errorf("security: Origin-Host %q is not a dNSName of the peer certificate (dNSNames: %s)", originHost, strings.Join(names, ", "))
}

// loadCAFiles reads PEM CA certificates; each file must hold at least one and
// every certificate must be a CA (basicConstraints cA=true, RFC 5280
// 4.2.1.9).
func loadCAFiles(files []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		n := 0
		for {
			var blk *pem.Block
			blk, data = pem.Decode(data)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("CA file %s: %w", f, err)
			}
			if !c.BasicConstraintsValid || !c.IsCA {
				return nil, fmt.Errorf("CA file %s: %s is not a CA certificate (basicConstraints cA is not true)", f, c.Subject)
			}
			out = append(out, c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("CA file %s: no CERTIFICATE PEM block", f)
		}
	}
	return out, nil
}
