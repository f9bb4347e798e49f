package security

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// testPKI is a CA, the MTC-IWF's server certificate and an (initially empty)
// CRL, written into a temporary directory.
type testPKI struct {
	dir        string
	ca         *devpki.CA
	caFile     string
	crlFile    string
	server     *devpki.Leaf
	serverCert string
	serverKey  string
}

const serverName = "mtciwf.operator.example"

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca, err := devpki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: dir, ca: ca, caFile: filepath.Join(dir, "ca.pem"), crlFile: filepath.Join(dir, "crl.pem")}
	writeFile(t, p.caFile, ca.CertPEM())
	p.server = p.issue(t, devpki.LeafOptions{
		CommonName: serverName, DNSNames: []string{serverName},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ServerAuth: true, ClientAuth: true,
	})
	p.serverCert, p.serverKey = p.writeLeaf(t, "server", p.server)
	p.writeCRL(t)
	return p
}

func (p *testPKI) issue(t *testing.T, o devpki.LeafOptions) *devpki.Leaf {
	t.Helper()
	l, err := p.ca.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// client issues a good SCS client certificate, with opts applied on top.
func (p *testPKI) client(t *testing.T, edit func(*devpki.LeafOptions)) *devpki.Leaf {
	t.Helper()
	o := devpki.LeafOptions{CommonName: "scs1.scs.example", DNSNames: []string{"scs1.scs.example"}, ClientAuth: true}
	if edit != nil {
		edit(&o)
	}
	return p.issue(t, o)
}

func (p *testPKI) writeLeaf(t *testing.T, name string, l *devpki.Leaf) (certFile, keyFile string) {
	t.Helper()
	certFile = filepath.Join(p.dir, name+".pem")
	keyFile = filepath.Join(p.dir, name+"-key.pem")
	writeFile(t, certFile, l.CertPEM)
	writeFile(t, keyFile, l.KeyPEM)
	return certFile, keyFile
}

// writeCRL writes a CRL revoking revoked, fresh for 30 days.
func (p *testPKI) writeCRL(t *testing.T, revoked ...*x509.Certificate) {
	t.Helper()
	crl, err := p.ca.CRL(revoked, time.Now().Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p.crlFile, crl)
}

func (p *testPKI) serverOptions() ServerTLSOptions {
	return ServerTLSOptions{
		CertFile: p.serverCert, KeyFile: p.serverKey,
		ClientCAFiles: []string{p.caFile}, CRLFiles: []string{p.crlFile},
	}
}

func (p *testPKI) serverTLS(t *testing.T) (*tls.Config, *Revocation) {
	t.Helper()
	cfg, rev, err := NewServerTLS(p.serverOptions(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rev.Close() })
	return cfg, rev
}

// rawClient is a client configuration that presents leaf as is (no profile
// check of its own certificate, unlike NewClientTLS) and trusts the test CA.
func (p *testPKI) rawClient(leaf *devpki.Leaf) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	cfg := &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLS}
	}
	return cfg
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// hsResult is what both ends saw of one connection attempt.
type hsResult struct {
	srvErr   error
	srvState tls.ConnectionState
	cliErr   error // dial, handshake or first read
	cliState tls.ConnectionState
}

// handshake runs one TLS connection over loopback: the server handshakes and
// writes "ok"; the client dials and reads it. In TLS 1.3 the client's
// handshake completes before the server has checked its certificate, so a
// refusal reaches the client on its first read.
func handshake(t *testing.T, srv, cli *tls.Config) hsResult {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type srvOut struct {
		err   error
		state tls.ConnectionState
	}
	ch := make(chan srvOut, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- srvOut{err: err}
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte("ok"))
		}
		ch <- srvOut{err: err, state: tc.ConnectionState()}
	}()
	var res hsResult
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), cli)
	if err != nil {
		res.cliErr = err
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 2)
		if _, err := io.ReadFull(conn, buf); err != nil {
			res.cliErr = err
		} else if string(buf) != "ok" {
			res.cliErr = errors.New("unexpected data " + string(buf))
		}
		res.cliState = conn.ConnectionState()
		conn.Close()
	}
	out := <-ch
	res.srvErr, res.srvState = out.err, out.state
	return res
}

// wantRule fails unless err is a *CertError with the given rule.
func wantRule(t *testing.T, err error, rule string) *CertError {
	t.Helper()
	var ce *CertError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CertError, want rule %q", err, err, rule)
	}
	if ce.Rule != rule {
		t.Fatalf("rule %q, want %q (%v)", ce.Rule, rule, err)
	}
	return ce
}

func nopLog() *zap.Logger { return zap.NewNop() }
