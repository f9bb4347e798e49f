package devpki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names written by Write, relative to its directory. Each peer adds
// "<name>.pem" and "<name>-key.pem".
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca.key"
	CRLFile   = "crl.pem"
)

// CAName is the CN of the dev root.
const CAName = "mtciwf dev CA"

// CRLValidity is how long the dev CRL stays fresh (its nextUpdate).
const CRLValidity = 30 * 24 * time.Hour

// renewMargin: a set whose certificate or CRL runs out within this margin is
// not kept, so a set checked at startup does not go stale during a demo.
const renewMargin = 24 * time.Hour

// Peer is one entity of the dev PKI.
type Peer struct {
	// Name is the file base name: <Name>.pem and <Name>-key.pem.
	Name string
	// DNSName is the FQDN (Diameter identity) in CN and the dNSName SAN.
	DNSName string
	// IP, when set, is an iPAddress SAN.
	IP net.IP
	// ClientAuth and ServerAuth are the extendedKeyUsage purposes.
	ClientAuth, ServerAuth bool
}

// CertFile and KeyFile are the file names of the peer's certificate and key.
func (p Peer) CertFile() string { return p.Name + ".pem" }
func (p Peer) KeyFile() string  { return p.Name + "-key.pem" }

// DevPeers lists the entities Write issues certificates for. Every Diameter
// peer may open the connection (RFC 6733 2.1), so every certificate carries
// both clientAuth and serverAuth.
func DevPeers() []Peer {
	return []Peer{
		{Name: "mtciwf", DNSName: "mtciwf.operator.example", IP: net.IPv4(127, 0, 0, 1), ClientAuth: true, ServerAuth: true},
		{Name: "scs1", DNSName: "scs1.scs.example", ClientAuth: true, ServerAuth: true},
		{Name: "scs2", DNSName: "scs2.scs.example", ClientAuth: true, ServerAuth: true},
		{Name: "dra1", DNSName: "dra1.scs.example", ClientAuth: true, ServerAuth: true},
		{Name: "hss", DNSName: "hss.operator.example", ClientAuth: true, ServerAuth: true},
		{Name: "smsc", DNSName: "smsc.operator.example", ClientAuth: true, ServerAuth: true},
	}
}

// WriteOptions controls Write.
type WriteOptions struct {
	// Force regenerates everything even when a complete set is present.
	Force bool
}

// WriteResult says what Write did.
type WriteResult struct {
	// Dir is the directory written to.
	Dir string
	// Kept is true when a complete, unexpired set was already there and was
	// left as it was (except perhaps the CRL, see CRLRefreshed).
	Kept bool
	// CRLRefreshed is true when a kept set got a freshly signed crl.pem
	// because the old one was missing, bad or about to go stale.
	CRLRefreshed bool
	// Reason says why the set was regenerated or its CRL refreshed; empty
	// when nothing was written.
	Reason string
	// Written lists the files written, in order.
	Written []string
}

// WriteDevPKI writes a throwaway dev PKI into dir unless dir already holds a
// complete, unexpired one. See Write.
func WriteDevPKI(dir string) error {
	_, err := Write(dir, WriteOptions{})
	return err
}

// Write writes into dir: ca.pem, ca.key, <name>.pem and <name>-key.pem for each
// of DevPeers, and crl.pem (an empty CRL with nextUpdate CRLValidity ahead).
// Keys are mode 0600, certificates and the CRL 0644. Each file is written to a
// temporary name and renamed, so a reader never sees half a file.
//
// Without Force an existing complete set whose certificates all verify against
// ca.pem and stay valid for at least a day is kept; if only its CRL is missing
// or close to its nextUpdate, a fresh empty CRL is signed with ca.key.
func Write(dir string, o WriteOptions) (*WriteResult, error) {
	res := &WriteResult{Dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	now := time.Now()
	if !o.Force {
		ca, err := checkSet(dir, now)
		if err == nil {
			res.Kept = true
			if cerr := checkCRL(dir, ca.Cert, now); cerr != nil {
				res.Reason = cerr.Error()
				if err := writeCRL(dir, ca, res); err != nil {
					return nil, err
				}
				res.CRLRefreshed = true
			}
			return res, nil
		}
		res.Reason = err.Error()
	} else {
		res.Reason = "forced"
	}
	if err := writeAll(dir, res); err != nil {
		return nil, err
	}
	return res, nil
}

func writeAll(dir string, res *WriteResult) error {
	ca, err := NewCA(CAName)
	if err != nil {
		return err
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := writeFile(dir, CAKeyFile, caKey, 0o600, res); err != nil {
		return err
	}
	if err := writeFile(dir, CAFile, ca.CertPEM(), 0o644, res); err != nil {
		return err
	}
	for _, p := range DevPeers() {
		lo := LeafOptions{
			CommonName: p.DNSName,
			DNSNames:   []string{p.DNSName},
			ClientAuth: p.ClientAuth,
			ServerAuth: p.ServerAuth,
		}
		if p.IP != nil {
			lo.IPAddresses = []net.IP{p.IP}
		}
		leaf, err := ca.Issue(lo)
		if err != nil {
			return err
		}
		if err := writeFile(dir, p.KeyFile(), leaf.KeyPEM, 0o600, res); err != nil {
			return err
		}
		if err := writeFile(dir, p.CertFile(), leaf.CertPEM, 0o644, res); err != nil {
			return err
		}
	}
	return writeCRL(dir, ca, res)
}

func writeCRL(dir string, ca *CA, res *WriteResult) error {
	crl, err := ca.CRL(nil, time.Now().Add(CRLValidity))
	if err != nil {
		return err
	}
	return writeFile(dir, CRLFile, crl, 0o644, res)
}

// writeFile writes data to dir/name atomically with the given mode.
func writeFile(dir, name string, data []byte, mode os.FileMode, res *WriteResult) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("devpki: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("devpki: write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devpki: write %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	res.Written = append(res.Written, path)
	return nil
}

// checkSet returns the CA of a complete set in dir whose certificates are all
// valid for at least renewMargin, or an error saying what is wrong.
func checkSet(dir string, now time.Time) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("no usable %s: %w", CAFile, err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("no usable %s: %w", CAKeyFile, err)
	}
	ca, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if err := validFor(ca.Cert, now); err != nil {
		return nil, fmt.Errorf("%s: %w", CAFile, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, p := range DevPeers() {
		b, err := os.ReadFile(filepath.Join(dir, p.CertFile()))
		if err != nil {
			return nil, fmt.Errorf("no usable %s: %w", p.CertFile(), err)
		}
		cert, err := ParseCertPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.CertFile(), err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{
			Roots:       roots,
			CurrentTime: now,
			KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		}); err != nil {
			return nil, fmt.Errorf("%s does not verify against %s: %w", p.CertFile(), CAFile, err)
		}
		if err := validFor(cert, now); err != nil {
			return nil, fmt.Errorf("%s: %w", p.CertFile(), err)
		}
		if !slices.Contains(cert.DNSNames, p.DNSName) {
			return nil, fmt.Errorf("%s lacks dNSName %s", p.CertFile(), p.DNSName)
		}
		kb, err := os.ReadFile(filepath.Join(dir, p.KeyFile()))
		if err != nil {
			return nil, fmt.Errorf("no usable %s: %w", p.KeyFile(), err)
		}
		key, err := ParseKeyPEM(kb)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.KeyFile(), err)
		}
		if !publicKeyEqual(cert.PublicKey, key.Public()) {
			return nil, fmt.Errorf("%s does not match %s", p.KeyFile(), p.CertFile())
		}
	}
	return ca, nil
}

func validFor(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.Add(renewMargin).After(c.NotAfter) {
		return fmt.Errorf("expires %s (less than %s left)", c.NotAfter.UTC().Format(time.RFC3339), renewMargin)
	}
	return nil
}

// checkCRL reports whether dir/crl.pem is a CRL signed by ca that stays fresh
// for at least renewMargin.
func checkCRL(dir string, ca *x509.Certificate, now time.Time) error {
	b, err := os.ReadFile(filepath.Join(dir, CRLFile))
	if err != nil {
		return fmt.Errorf("no usable %s: %w", CRLFile, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "X509 CRL" {
		return fmt.Errorf("%s: no X509 CRL PEM block", CRLFile)
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", CRLFile, err)
	}
	if !bytes.Equal(crl.RawIssuer, ca.RawSubject) {
		return fmt.Errorf("%s: issued by %s, not by %s", CRLFile, crl.Issuer, ca.Subject)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("%s: %w", CRLFile, err)
	}
	if now.Add(renewMargin).After(crl.NextUpdate) {
		return fmt.Errorf("%s: nextUpdate %s is less than %s away", CRLFile, crl.NextUpdate.UTC().Format(time.RFC3339), renewMargin)
	}
	return nil
}
