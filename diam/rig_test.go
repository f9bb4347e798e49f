package diam_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
	"github.com/mtciwf/mtciwf/security"
)

const (
	mtciwfHost  = "mtciwf.operator.example"
	mtciwfRealm = "operator.example"
	scsRealm    = "scs.example"
)

// pki is one CA and the leaves the tests use, made once per test binary.
type pki struct {
	ca     *devpki.CA
	leaves map[string]*devpki.Leaf
}

var (
	pkiOnce sync.Once
	testPKI *pki
	pkiErr  error
)

func getPKI(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() {
		ca, err := devpki.NewCA("mtciwf test CA")
		if err != nil {
			pkiErr = err
			return
		}
		p := &pki{ca: ca, leaves: map[string]*devpki.Leaf{}}
		for _, n := range []string{mtciwfHost, "scs1.scs.example", "scs2.scs.example", "dra1.scs.example", "stranger.scs.example"} {
			l, err := ca.Issue(devpki.LeafOptions{CommonName: n, DNSNames: []string{n}, ClientAuth: true, ServerAuth: true,
				IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
			if err != nil {
				pkiErr = err
				return
			}
			p.leaves[n] = l
		}
		testPKI = p
	})
	if pkiErr != nil {
		t.Fatalf("test PKI: %v", pkiErr)
	}
	return testPKI
}

func (p *pki) pool() *x509.CertPool {
	cp := x509.NewCertPool()
	cp.AddCert(p.ca.Cert)
	return cp
}

func tspDict(t testing.TB) *dict.Parser {
	t.Helper()
	d, err := dictionaries.Tsp()
	if err != nil {
		t.Fatalf("load Tsp dictionary: %v", err)
	}
	return d
}

// rig is a real Tsp server on 127.0.0.1 with mutual TLS.
type rig struct {
	t     *testing.T
	srv   *diam.Server
	addr  string
	pki   *pki
	dict  *dict.Parser
	logs  *observer.ObservedLogs
	serve chan error
}

func newRig(t *testing.T, mutate func(*diam.Server)) *rig {
	t.Helper()
	p := getPKI(t)
	d := tspDict(t)
	peers, err := security.NewPeerTable([]security.PeerConfig{
		{OriginHost: "scs1.scs.example", OriginRealm: scsRealm, Kind: security.PeerSCS},
		{OriginHost: "scs2.scs.example", OriginRealm: scsRealm, Kind: security.PeerSCS},
		{OriginHost: "dra1.scs.example", OriginRealm: scsRealm, Kind: security.PeerAgent, SCSOriginHosts: []string{"scs1.scs.example"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	srv := &diam.Server{
		Config: diam.Config{
			Identity: diam.Identity{OriginHost: mtciwfHost, OriginRealm: mtciwfRealm, OriginStateID: 77},
			App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
			Admitter: peers,
			Logger:   zap.New(core),
			Handler: diam.HandlerFunc(func(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
				return c.NewErrorAnswer(req, diam.ResultUnableToComply, "device triggering is not enabled"), nil
			}),
		},
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{p.leaves[mtciwfHost].TLS},
			ClientCAs:    p.pool(),
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		},
	}
	if mutate != nil {
		mutate(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, srv: srv, addr: l.Addr().String(), pki: p, dict: d, logs: logs, serve: make(chan error, 1)}
	go func() { r.serve <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		select {
		case <-r.serve:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return r
}

func (r *rig) clientTLS(certName string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{r.pki.leaves[certName].TLS},
		RootCAs:      r.pki.pool(),
		ServerName:   mtciwfHost,
		MinVersion:   tls.VersionTLS12,
	}
}

func (r *rig) clientConfig(originHost string, h diam.Handler) diam.Config {
	return diam.Config{
		Identity: diam.Identity{OriginHost: originHost, OriginRealm: scsRealm, OriginStateID: 5, ProductName: "test-scs"},
		App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: r.dict},
		Handler:  h,
	}
}

// dial opens a Diameter connection with certificate certName claiming originHost.
func (r *rig) dial(certName, originHost string) (*diam.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return diam.Dial(ctx, "tcp", r.addr, r.clientConfig(originHost, nil), diam.DialOptions{TLSConfig: r.clientTLS(certName)})
}

func (r *rig) mustDial(certName, originHost string) *diam.Conn {
	r.t.Helper()
	c, err := r.dial(certName, originHost)
	if err != nil {
		r.t.Fatalf("dial as %s: %v", originHost, err)
	}
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw is a TLS connection on which the test writes bytes by hand.
type raw struct {
	t  *testing.T
	c  *tls.Conn
	r  *rig
	hb uint32
}

func (r *rig) raw(certName string) *raw {
	r.t.Helper()
	c, err := tls.Dial("tcp", r.addr, r.clientTLS(certName))
	if err != nil {
		r.t.Fatalf("tls dial: %v", err)
	}
	r.t.Cleanup(func() { _ = c.Close() })
	return &raw{t: r.t, c: c, r: r, hb: 1000}
}

func (w *raw) write(b []byte) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := w.c.Write(b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func (w *raw) send(m *godiam.Message) {
	w.t.Helper()
	w.hb++
	if m.Header.HopByHopID == 0 {
		m.Header.HopByHopID = w.hb
	}
	b, err := m.Serialize()
	if err != nil {
		w.t.Fatalf("serialize: %v", err)
	}
	w.write(b)
}

// read returns the next message, or an error when the connection ends.
func (w *raw) read() (*godiam.Message, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return godiam.ReadMessage(w.c, w.r.dict)
}

func (w *raw) mustRead() *godiam.Message {
	w.t.Helper()
	m, err := w.read()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return m
}

// expectClosed asserts the server closes the connection (bounded wait).
func (w *raw) expectClosed() {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for i := 0; i < 1000; i++ {
		_, err := w.c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.t.Fatalf("connection still open after 5 s")
		}
		return // EOF, reset or alert: closed
	}
	w.t.Fatalf("connection kept sending data")
}

// cer completes a capabilities exchange on the raw connection.
func (w *raw) cer(originHost string) *godiam.Message {
	w.t.Helper()
	w.send(buildCER(w.r.dict, originHost, scsRealm, []uint32{dictionaries.AppTsp}, true))
	cea := w.mustRead()
	if rc := resultCode(cea); rc != diam.ResultSuccess {
		w.t.Fatalf("CEA %d", rc)
	}
	return cea
}

func buildCER(d *dict.Parser, originHost, originRealm string, apps []uint32, vendorSpecific bool) *godiam.Message {
	m := godiam.NewRequest(diam.CmdCapabilitiesExchange, 0, d)
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(originHost))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(originRealm))
	m.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.IPv4(127, 0, 0, 1)))
	m.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(0))
	m.NewAVP(avp.ProductName, 0, 0, datatype.UTF8String("raw-test"))
	for _, a := range apps {
		if vendorSpecific {
			m.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{
				godiam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.VendorID3GPP)),
				godiam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(a)),
			}})
		} else {
			m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(a))
		}
	}
	return m
}

// buildDAR is a minimal valid Device-Action-Request (TS 29.368 6.6.2).
func buildDAR(d *dict.Parser, originHost string) *godiam.Message {
	m := godiam.NewRequest(8388639, dictionaries.AppTsp, d)
	m.Header.CommandFlags |= godiam.ProxiableFlag
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String(originHost+";1;2"))
	m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.AppTsp))
	m.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(originHost))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(scsRealm))
	m.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity(mtciwfRealm))
	return m
}

func resultCode(m *godiam.Message) uint32 {
	a, err := m.FindAVP(avp.ResultCode, 0)
	if err != nil || a == nil {
		return 0
	}
	return uint32(a.Data.(datatype.Unsigned32))
}

func errorMessage(m *godiam.Message) string {
	a, err := m.FindAVP(avp.ErrorMessage, 0)
	if err != nil || a == nil {
		return ""
	}
	return string(a.Data.(datatype.UTF8String))
}

// header builds a raw 20-byte Diameter header.
func header(version byte, length uint32, flags byte, cmd, app, hbh, e2e uint32) []byte {
	b := make([]byte, 20)
	b[0] = version
	b[1], b[2], b[3] = byte(length>>16), byte(length>>8), byte(length)
	b[4] = flags
	b[5], b[6], b[7] = byte(cmd>>16), byte(cmd>>8), byte(cmd)
	binary.BigEndian.PutUint32(b[8:], app)
	binary.BigEndian.PutUint32(b[12:], hbh)
	binary.BigEndian.PutUint32(b[16:], e2e)
	return b
}

// logged reports whether some log line's message or fields contain s.
func (r *rig) logged(s string) bool {
	for _, e := range r.logs.All() {
		if strings.Contains(e.Message, s) {
			return true
		}
		for _, f := range e.Context {
			if strings.Contains(f.String, s) {
				return true
			}
			if f.Interface != nil {
				if err, ok := f.Interface.(error); ok && strings.Contains(err.Error(), s) {
					return true
				}
			}
		}
	}
	return false
}

// eventually polls cond for up to 5 s (a bound, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = io.EOF

// rawAnswer is an answer read without go-diameter's decoder: the answers to
// malformed frames carry the offending bytes in Failed-AVP (RFC 6733 7.5),
// which go-diameter v4.3.0 itself cannot decode without panicking.
type rawAnswer struct {
	h            *godiam.Header
	resultCode   uint32
	errorMessage string
	failedAVP    bool
}

func (w *raw) readRaw() (*rawAnswer, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := diam.NewFrameReader(w.c, diam.FrameLimits{}, nil)
	b, err := fr.Next()
	if err != nil {
		return nil, err
	}
	h, _ := godiam.DecodeHeader(b)
	a := &rawAnswer{h: h}
	for p := 20; p+8 <= len(b); {
		code := binary.BigEndian.Uint32(b[p:])
		l := int(b[p+5])<<16 | int(b[p+6])<<8 | int(b[p+7])
		if l < 8 || p+l > len(b) {
			break
		}
		switch code {
		case avp.ResultCode:
			a.resultCode = binary.BigEndian.Uint32(b[p+8:])
		case avp.ErrorMessage:
			a.errorMessage = string(b[p+8 : p+l])
		case avp.FailedAVP:
			a.failedAVP = true
		}
		p += (l + 3) &^ 3
	}
	return a, nil
}
