package diam_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// anyPeer admits any Origin-Host: a core-side test server on plain TCP.
type anyPeer struct{}

func (anyPeer) AdmitPeer(host, realm string, _ *tls.ConnectionState) (*diam.PeerBinding, error) {
	return &diam.PeerBinding{OriginHost: host, OriginRealm: realm, Kind: "core", Originators: map[string]bool{host: true}}, nil
}

type coreServer struct {
	srv   *diam.Server
	addr  string
	calls atomic.Int32
	mode  atomic.Int32 // 0 answer, 1 never answer
}

func startCore(t *testing.T, host string) *coreServer {
	t.Helper()
	d, err := dictionaries.S6m()
	if err != nil {
		t.Fatal(err)
	}
	cs := &coreServer{}
	cs.srv = &diam.Server{Config: diam.Config{
		Identity: diam.Identity{OriginHost: host, OriginRealm: "operator.example"},
		App:      diam.Application{ID: dictionaries.AppS6m, VendorID: dictionaries.VendorID3GPP, Dict: d},
		Admitter: anyPeer{},
		Handler: diam.HandlerFunc(func(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
			cs.calls.Add(1)
			if cs.mode.Load() == 1 {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			a := c.NewAnswer(req, diam.ResultSuccess)
			a.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
			return a, nil
		}),
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs.addr = l.Addr().String()
	go func() { _ = cs.srv.Serve(l) }()
	t.Cleanup(func() { cs.stop() })
	return cs
}

func (cs *coreServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = cs.srv.Shutdown(ctx)
}

func sir(t *testing.T) *godiam.Message {
	d, _ := dictionaries.S6m()
	m := godiam.NewRequest(8388641, dictionaries.AppS6m, d)
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("mtciwf;1"))
	m.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("mtciwf.operator.example"))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("operator.example"))
	m.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("operator.example"))
	m.NewAVP(3102, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, &godiam.GroupedAVP{AVP: []*godiam.AVP{
		godiam.NewAVP(3111, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, datatype.UTF8String("ue1@iot.example")),
	}})
	m.NewAVP(3110, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, datatype.Unsigned32(1))
	return m
}

func newPool(t *testing.T, peers ...diam.CorePeer) *diam.Pool {
	t.Helper()
	d, _ := dictionaries.S6m()
	p := diam.NewPool(diam.PoolConfig{
		Name:  "hss",
		Peers: peers,
		Conn: diam.Config{
			Identity: diam.Identity{OriginHost: "mtciwf.operator.example", OriginRealm: "operator.example"},
			App:      diam.Application{ID: dictionaries.AppS6m, VendorID: dictionaries.VendorID3GPP, Dict: d},
		},
		RequestTimeout: 300 * time.Millisecond,
		ReconnectMin:   20 * time.Millisecond,
		ReconnectMax:   100 * time.Millisecond,
	})
	p.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

func TestPoolFailover(t *testing.T) {
	primary := startCore(t, "hss1.operator.example")
	secondary := startCore(t, "hss2.operator.example")
	p := newPool(t, diam.CorePeer{Host: "hss1.operator.example", Addr: primary.addr}, diam.CorePeer{Host: "hss2.operator.example", Addr: secondary.addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.WaitUp(ctx, 2); err != nil {
		t.Fatal(err)
	}

	// Primary answers.
	if _, c, err := p.Request(ctx, sir(t)); err != nil || c.Binding().OriginHost != "hss1.operator.example" {
		t.Fatalf("first request: %v", err)
	}
	// Primary stops answering: the request times out there and is retried
	// once on the secondary with the T flag.
	primary.mode.Store(1)
	ans, c, err := p.Request(ctx, sir(t))
	if err != nil {
		t.Fatalf("failover request: %v", err)
	}
	if c.Binding().OriginHost != "hss2.operator.example" || resultCode(ans) != diam.ResultSuccess {
		t.Fatalf("answered by %s with %d", c.Binding().OriginHost, resultCode(ans))
	}
	// Primary gone: requests go to the secondary without waiting.
	primary.stop()
	eventually(t, "primary marked down", func() bool { return len(p.Up()) == 1 })
	if _, c, err := p.Request(ctx, sir(t)); err != nil || c.Binding().OriginHost != "hss2.operator.example" {
		t.Fatalf("request with primary down: %v", err)
	}
	// Everything down: ErrNoPeer at once.
	secondary.stop()
	eventually(t, "all peers down", func() bool { return len(p.Up()) == 0 })
	if _, _, err := p.Request(ctx, sir(t)); !errors.Is(err, diam.ErrNoPeer) {
		t.Fatalf("got %v, want ErrNoPeer", err)
	}
}

func TestPoolReconnects(t *testing.T) {
	hss := startCore(t, "hss1.operator.example")
	addr := hss.addr
	p := newPool(t, diam.CorePeer{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.WaitUp(ctx, 1); err != nil {
		t.Fatal(err)
	}
	hss.stop()
	eventually(t, "peer down", func() bool { return len(p.Up()) == 0 })
	// A new server on the same address: the pool reconnects by itself.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	d, _ := dictionaries.S6m()
	srv2 := &diam.Server{Config: diam.Config{
		Identity: diam.Identity{OriginHost: "hss1.operator.example", OriginRealm: "operator.example"},
		App:      diam.Application{ID: dictionaries.AppS6m, VendorID: dictionaries.VendorID3GPP, Dict: d},
		Admitter: anyPeer{},
	}}
	go func() { _ = srv2.Serve(l) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = srv2.Shutdown(sctx)
	}()
	if err := p.WaitUp(ctx, 1); err != nil {
		t.Fatalf("pool did not reconnect: %v", err)
	}
}
