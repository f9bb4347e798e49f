package security

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// revFixture is two trust anchors, a leaf of each, and a CRL file per anchor.
type revFixture struct {
	dir          string
	caA, caB     *devpki.CA
	leafA, leafB *x509.Certificate
	fileA, fileB string
}

func newRevFixture(t *testing.T) *revFixture {
	t.Helper()
	f := &revFixture{dir: t.TempDir()}
	var err error
	if f.caA, err = devpki.NewCA("CA A"); err != nil {
		t.Fatal(err)
	}
	if f.caB, err = devpki.NewCA("CA B"); err != nil {
		t.Fatal(err)
	}
	issue := func(ca *devpki.CA, name string) *x509.Certificate {
		l, err := ca.Issue(devpki.LeafOptions{CommonName: name, DNSNames: []string{name}, ClientAuth: true})
		if err != nil {
			t.Fatal(err)
		}
		return l.Cert
	}
	f.leafA, f.leafB = issue(f.caA, "a.example"), issue(f.caB, "b.example")
	f.fileA, f.fileB = filepath.Join(f.dir, "a.crl"), filepath.Join(f.dir, "b.crl")
	f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(24*time.Hour)))
	f.write(t, f.fileB, f.crl(t, f.caB, time.Now().Add(24*time.Hour)))
	return f
}

func (f *revFixture) crl(t *testing.T, ca *devpki.CA, next time.Time, revoked ...*x509.Certificate) []byte {
	t.Helper()
	b, err := ca.CRL(revoked, next)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *revFixture) write(t *testing.T, path string, b []byte) {
	t.Helper()
	writeFile(t, path, b)
}

func (f *revFixture) anchors() []*x509.Certificate {
	return []*x509.Certificate{f.caA.Cert, f.caB.Cert}
}

func (f *revFixture) open(t *testing.T, now func() time.Time, log *zap.Logger) *Revocation {
	t.Helper()
	r, err := NewRevocation(f.anchors(), []string{f.fileA, f.fileB}, now, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func wantRevoked(t *testing.T, r *Revocation, c *x509.Certificate, want bool) {
	t.Helper()
	got, err := r.IsRevoked(c)
	if err != nil {
		t.Fatalf("IsRevoked(%s): %v", c.Subject, err)
	}
	if got != want {
		t.Fatalf("IsRevoked(%s) = %v, want %v", c.Subject, got, want)
	}
}

func TestIsRevoked(t *testing.T) {
	f := newRevFixture(t)
	f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(time.Hour), f.leafA))
	r := f.open(t, nil, nopLog())
	wantRevoked(t, r, f.leafA, true)
	wantRevoked(t, r, f.leafB, false)

	// A CA without any CRL: not checked.
	caC, _ := devpki.NewCA("CA C")
	lc, _ := caC.Issue(devpki.LeafOptions{CommonName: "c.example", DNSNames: []string{"c.example"}})
	wantRevoked(t, r, lc.Cert, false)
	// A forged CA with A's name: its leaf is not matched to A's CRL.
	forged, _ := devpki.NewCA("CA A")
	lf, _ := forged.Issue(devpki.LeafOptions{CommonName: "a.example", DNSNames: []string{"a.example"}})
	wantRevoked(t, r, lf.Cert, false)

	// No files: nothing is revoked, Watch and Close are no-ops.
	empty, err := NewRevocation(f.anchors(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, empty, f.leafA, false)
	if err := empty.Watch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	empty.Close()
}

func TestReload(t *testing.T) {
	f := newRevFixture(t)
	r := f.open(t, nil, nopLog())
	wantRevoked(t, r, f.leafA, false)

	f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(time.Hour), f.leafA))
	wantRevoked(t, r, f.leafA, false) // not before Reload
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, r, f.leafA, true)

	// Un-revoking with a newer CRL works.
	f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(time.Hour)))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, r, f.leafA, false)
}

// TestReloadKeepsPreviousSetOnError: each bad input leaves the set that
// revokes leafA in force and names the file.
func TestReloadKeepsPreviousSetOnError(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, f *revFixture, older []byte)
		want   string
	}{
		{"garbage", func(t *testing.T, f *revFixture, _ []byte) { f.write(t, f.fileA, []byte("garbage")) }, "no X509 CRL PEM block"},
		{"empty file (half-written)", func(t *testing.T, f *revFixture, _ []byte) { f.write(t, f.fileA, nil) }, "no X509 CRL PEM block"},
		{"file removed", func(t *testing.T, f *revFixture, _ []byte) { os.Remove(f.fileA) }, "no such file"},
		{"signed by a forged CA of the same name", func(t *testing.T, f *revFixture, _ []byte) {
			forged, _ := devpki.NewCA("CA A")
			f.write(t, f.fileA, f.crl(t, forged, time.Now().Add(time.Hour)))
		}, "authorityKeyIdentifier"},
		{"issuer is not an anchor", func(t *testing.T, f *revFixture, _ []byte) {
			other, _ := devpki.NewCA("CA Z")
			f.write(t, f.fileA, f.crl(t, other, time.Now().Add(time.Hour)))
		}, "is not a configured trust anchor"},
		{"older cRLNumber (replay)", func(t *testing.T, f *revFixture, older []byte) { f.write(t, f.fileA, older) }, "lower than the loaded"},
		{"CA's CRL disappears", func(t *testing.T, f *revFixture, _ []byte) {
			f.write(t, f.fileA, f.crl(t, f.caB, time.Now().Add(time.Hour)))
		}, "missing from the CRL files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRevFixture(t)
			older := f.crl(t, f.caA, time.Now().Add(time.Hour)) // lower cRLNumber than the next one
			f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(time.Hour), f.leafA))
			r := f.open(t, nil, nopLog())
			wantRevoked(t, r, f.leafA, true)

			tt.damage(t, f, older)
			err := r.Reload()
			if err == nil {
				t.Fatal("Reload accepted the bad file")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "a.crl") {
				t.Errorf("error %q should name a.crl and contain %q", err, tt.want)
			}
			wantRevoked(t, r, f.leafA, true)
		})
	}
}

func TestStaleCRL(t *testing.T) {
	f := newRevFixture(t)
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	core, logs := observer.New(zapcore.InfoLevel)
	r := f.open(t, now, zap.New(core))
	wantRevoked(t, r, f.leafA, false)

	skew.Store(int64(48 * time.Hour)) // past both CRLs' nextUpdate
	for range 3 {
		revoked, err := r.IsRevoked(f.leafA)
		if revoked || !errors.Is(err, ErrStaleCRL) {
			t.Fatalf("stale CRL: revoked=%v err=%v, want ErrStaleCRL", revoked, err)
		}
	}
	if n := logs.FilterMessageSnippet("CRL is stale").Len(); n != 1 {
		t.Errorf("%d stale-CRL log lines for CA A, want exactly 1", n)
	}

	// A fresh CRL ends the refusal.
	f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(72*time.Hour)))
	f.write(t, f.fileB, f.crl(t, f.caB, time.Now().Add(72*time.Hour)))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, r, f.leafA, false)

	// A stale file still loads (logged), and keeps refusing.
	f.write(t, f.fileB, f.crl(t, f.caB, time.Now().Add(-time.Hour)))
	skew.Store(0)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("loaded a stale CRL").Len() != 1 {
		t.Error("loading a stale CRL was not logged")
	}
	if _, err := r.IsRevoked(f.leafB); !errors.Is(err, ErrStaleCRL) {
		t.Errorf("leaf of the CA with a stale CRL: %v, want ErrStaleCRL", err)
	}
	wantRevoked(t, r, f.leafA, false)
}

func TestCRLFileFormats(t *testing.T) {
	f := newRevFixture(t)
	// One PEM bundle holding both CAs' CRLs.
	bundle := append(f.crl(t, f.caA, time.Now().Add(time.Hour), f.leafA), f.crl(t, f.caB, time.Now().Add(time.Hour), f.leafB)...)
	bundleFile := filepath.Join(f.dir, "bundle.pem")
	f.write(t, bundleFile, bundle)
	r, err := NewRevocation(f.anchors(), []string{bundleFile}, nil, nopLog())
	if err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, r, f.leafA, true)
	wantRevoked(t, r, f.leafB, true)

	// DER.
	blk, _ := pem.Decode(f.crl(t, f.caA, time.Now().Add(time.Hour), f.leafA))
	derFile := filepath.Join(f.dir, "a.der")
	f.write(t, derFile, blk.Bytes)
	r, err = NewRevocation(f.anchors(), []string{derFile}, nil, nopLog())
	if err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, r, f.leafA, true)
	wantRevoked(t, r, f.leafB, false)
}

// TestReloadRace: handshake-path reads run while Reload swaps snapshots
// (meaningful under -race).
func TestReloadRace(t *testing.T) {
	f := newRevFixture(t)
	r := f.open(t, nil, nopLog())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.IsRevoked(f.leafA); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 20 {
		var revoked []*x509.Certificate
		if i%2 == 0 {
			revoked = append(revoked, f.leafA)
		}
		f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(time.Hour), revoked...))
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestWatch: a CRL deployed by rename (write a temporary file, rename it over
// the old one) is picked up without calling Reload. Bounded 5 s wait.
func TestWatch(t *testing.T) {
	f := newRevFixture(t)
	r := f.open(t, nil, nopLog())
	r.debounce = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Watch(ctx, nopLog()); err != nil {
		t.Fatal(err)
	}
	if err := r.Watch(ctx, nopLog()); err == nil {
		t.Error("a second Watch started")
	}

	waitRevoked := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := r.IsRevoked(f.leafA)
			if err == nil && got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("IsRevoked stayed %v (err %v), want %v", got, err, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	tmp := filepath.Join(f.dir, ".a.crl.tmp")
	f.write(t, tmp, f.crl(t, f.caA, time.Now().Add(time.Hour), f.leafA))
	if err := os.Rename(tmp, f.fileA); err != nil {
		t.Fatal(err)
	}
	waitRevoked(true)

	// Written in place.
	f.write(t, f.fileA, f.crl(t, f.caA, time.Now().Add(time.Hour)))
	waitRevoked(false)

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.Close() // twice is fine
	if err := r.Watch(ctx, nopLog()); err != nil {
		t.Fatalf("Watch after Close: %v", err)
	}
}
