package devpki

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func allFiles() []string {
	out := []string{CAFile, CAKeyFile, CRLFile}
	for _, p := range DevPeers() {
		out = append(out, p.CertFile(), p.KeyFile())
	}
	return out
}

func TestWriteCreatesCompleteSet(t *testing.T) {
	dir := t.TempDir()
	res, err := Write(dir, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept {
		t.Error("empty dir reported as kept")
	}
	for _, f := range allFiles() {
		path := filepath.Join(dir, f)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !slices.Contains(res.Written, path) {
			t.Errorf("%s not reported as written", f)
		}
		isKey := f == CAKeyFile || strings.HasSuffix(f, "-key.pem")
		if isKey && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, st.Mode().Perm())
		}
	}
	if _, err := checkSet(dir, time.Now()); err != nil {
		t.Errorf("fresh set does not check: %v", err)
	}
	if err := checkCRL(dir, mustCA(t, dir).Cert, time.Now()); err != nil {
		t.Errorf("fresh CRL does not check: %v", err)
	}
	mt := mustCert(t, filepath.Join(dir, "mtciwf.pem"))
	if !slices.Contains(mt.DNSNames, "mtciwf.operator.example") || len(mt.IPAddresses) != 1 || !mt.IPAddresses[0].IsLoopback() {
		t.Errorf("mtciwf SANs: %v %v", mt.DNSNames, mt.IPAddresses)
	}
}

func TestWriteIsIdempotentAndForceRegenerates(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDevPKI(dir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, CAFile))
	res, err := Write(dir, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Kept || res.CRLRefreshed || len(res.Written) != 0 {
		t.Errorf("second Write: %+v, want kept with nothing written", res)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CAFile))
	if !bytes.Equal(before, after) {
		t.Error("kept set's CA changed")
	}
	res, err = Write(dir, WriteOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept || len(res.Written) != len(allFiles()) {
		t.Errorf("forced Write: kept=%v wrote %d files, want %d", res.Kept, len(res.Written), len(allFiles()))
	}
	forced, _ := os.ReadFile(filepath.Join(dir, CAFile))
	if bytes.Equal(before, forced) {
		t.Error("-force kept the old CA")
	}
}

func TestWriteRegeneratesBrokenSet(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"missing peer cert", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "scs2.pem")) }},
		{"garbage key", func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "hss-key.pem"), []byte("junk"), 0o600) }},
		{"cert of another CA", func(t *testing.T, dir string) {
			other, err := NewCA("other CA")
			if err != nil {
				t.Fatal(err)
			}
			l, err := other.Issue(LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true})
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "scs1.pem"), l.CertPEM, 0o644)
			os.WriteFile(filepath.Join(dir, "scs1-key.pem"), l.KeyPEM, 0o600)
		}},
		{"expiring cert", func(t *testing.T, dir string) {
			ca := mustCA(t, dir)
			l, err := ca.Issue(LeafOptions{CommonName: "smsc.operator.example", DNSNames: []string{"smsc.operator.example"},
				ClientAuth: true, ServerAuth: true, NotAfter: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "smsc.pem"), l.CertPEM, 0o644)
			os.WriteFile(filepath.Join(dir, "smsc-key.pem"), l.KeyPEM, 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteDevPKI(dir); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)
			res, err := Write(dir, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Kept || res.Reason == "" {
				t.Errorf("broken set kept: %+v", res)
			}
			if _, err := checkSet(dir, time.Now()); err != nil {
				t.Errorf("regenerated set does not check: %v", err)
			}
		})
	}
}

func TestWriteRefreshesStaleCRLOnly(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDevPKI(dir); err != nil {
		t.Fatal(err)
	}
	ca := mustCA(t, dir)
	stale, err := ca.CRL(nil, time.Now().Add(time.Hour)) // within the renew margin
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CRLFile), stale, 0o644); err != nil {
		t.Fatal(err)
	}
	certBefore, _ := os.ReadFile(filepath.Join(dir, "scs1.pem"))
	res, err := Write(dir, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Kept || !res.CRLRefreshed || len(res.Written) != 1 {
		t.Fatalf("Write: %+v, want kept with only the CRL refreshed", res)
	}
	if err := checkCRL(dir, ca.Cert, time.Now()); err != nil {
		t.Errorf("refreshed CRL: %v", err)
	}
	certAfter, _ := os.ReadFile(filepath.Join(dir, "scs1.pem"))
	if !bytes.Equal(certBefore, certAfter) {
		t.Error("refreshing the CRL changed a certificate")
	}
}

func mustCA(t *testing.T, dir string) *CA {
	t.Helper()
	c, _ := os.ReadFile(filepath.Join(dir, CAFile))
	k, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	ca, err := LoadCA(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
