package devpki_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"github.com/mtciwf/mtciwf/security"
)

// TestDevPKIPassesSecurityProfile: every certificate WriteDevPKI writes
// verifies against ca.pem and passes the security package's profile for each
// purpose it carries, and the files load as the daemon loads them.
func TestDevPKIPassesSecurityProfile(t *testing.T) {
	dir := t.TempDir()
	if err := devpki.WriteDevPKI(dir); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, devpki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	now := time.Now()
	for _, p := range devpki.DevPeers() {
		t.Run(p.Name, func(t *testing.T) {
			kp, err := tls.LoadX509KeyPair(filepath.Join(dir, p.CertFile()), filepath.Join(dir, p.KeyFile()))
			if err != nil {
				t.Fatal(err)
			}
			leaf := kp.Leaf
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: p.DNSName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Fatalf("does not verify against ca.pem: %v", err)
			}
			if slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
				if err := security.CheckClientLeaf(leaf, now); err != nil {
					t.Error(err)
				}
			} else if p.ClientAuth {
				t.Error("clientAuth asked for but missing")
			}
			if slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
				if err := security.CheckServerLeaf(leaf, now); err != nil {
					t.Error(err)
				}
			} else if p.ServerAuth {
				t.Error("serverAuth asked for but missing")
			}
		})
	}
	// The set is what the daemon's TLS setup expects.
	_, rev, err := security.NewServerTLS(security.ServerTLSOptions{
		CertFile:      filepath.Join(dir, "mtciwf.pem"),
		KeyFile:       filepath.Join(dir, "mtciwf-key.pem"),
		ClientCAFiles: []string{filepath.Join(dir, devpki.CAFile)},
		CRLFiles:      []string{filepath.Join(dir, devpki.CRLFile)},
	}, nil)
	if err != nil {
		t.Fatalf("NewServerTLS on the dev PKI: %v", err)
	}
	rev.Close()
	if _, err := security.NewClientTLS(security.ClientTLSOptions{
		CertFile:    filepath.Join(dir, "scs1.pem"),
		KeyFile:     filepath.Join(dir, "scs1-key.pem"),
		RootCAFiles: []string{filepath.Join(dir, devpki.CAFile)},
		ServerName:  "mtciwf.operator.example",
	}); err != nil {
		t.Fatalf("NewClientTLS on the dev PKI: %v", err)
	}
}
