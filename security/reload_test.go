package security

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/mtciwf/mtciwf/configs/devpki"
)

// echoServer serves TLS on 127.0.0.1 with cfg and echoes what it reads.
func echoServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return l.Addr().String()
}

func dialServerSerial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, string) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	// Round trip: with TLS 1.3 a refusal by the server only shows here.
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	return c, c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestServerTLSReload(t *testing.T) {
	p := newTestPKI(t)
	s, err := NewReloadableServerTLS(p.serverOptions(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	addr := echoServer(t, s.Config())
	cli := p.rawClient(p.client(t, nil))

	old, serialA := dialServerSerial(t, addr, cli)
	defer old.Close()
	if serialA != p.server.Cert.SerialNumber.String() {
		t.Fatalf("served serial %s, want the first certificate's", serialA)
	}

	// Rotate the certificate on disk by rename, as a deployment does.
	next := p.issue(t, devpki.LeafOptions{CommonName: serverName, DNSNames: []string{serverName},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ServerAuth: true, ClientAuth: true})
	writeFile(t, p.serverKey+".new", next.KeyPEM)
	writeFile(t, p.serverCert+".new", next.CertPEM)
	if err := os.Rename(p.serverKey+".new", p.serverKey); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p.serverCert+".new", p.serverCert); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, serial := dialServerSerial(t, addr, cli)
		c.Close()
		if serial == next.Cert.SerialNumber.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate was not served within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The connection made before the rotation goes on.
	_ = old.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := old.Write([]byte("pong")); err != nil {
		t.Fatalf("established connection broken by the reload: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(old, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("established connection broken by the reload: %v", err)
	}

	// A broken key file: Reload fails, the material in force stays.
	writeFile(t, p.serverKey, []byte("not a key"))
	if err := s.Reload(); err == nil {
		t.Fatal("Reload accepted a broken key file")
	}
	c, serial := dialServerSerial(t, addr, cli)
	c.Close()
	if serial != next.Cert.SerialNumber.String() {
		t.Fatalf("after a failed reload the server serves %s", serial)
	}
}

func TestServerTLSReloadRevokes(t *testing.T) {
	p := newTestPKI(t)
	s, err := NewReloadableServerTLS(p.serverOptions(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := echoServer(t, s.Config())
	leaf := p.client(t, nil)
	c, _ := dialServerSerial(t, addr, p.rawClient(leaf))
	c.Close()
	// Revoke it and reload everything (what SIGHUP does).
	p.writeCRL(t, leaf.Cert)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	cli := p.rawClient(leaf)
	cli.SessionTicketsDisabled = true
	conn, err := tls.Dial("tcp", addr, cli)
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = conn.Write([]byte("ping"))
		_, err = io.ReadFull(conn, make([]byte, 4))
		conn.Close()
	}
	if err == nil {
		t.Fatal("a certificate revoked before the reload was accepted after it")
	}
	// The dial can fail for any reason; check the refusal is the revocation,
	// by the material the listener now hands every handshake.
	cfg, err := s.Config().GetConfigForClient(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	wantRule(t, cfg.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf.Cert}}), RuleRevoked)
}
