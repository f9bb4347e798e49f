package main

// The end-to-end trigger path with freeDiameter 1.2.1 (Debian's
// freediameterd, software nobody here wrote) as a Diameter relay agent:
// between the SCS and the daemon (TS 29.368 6.3.2, an SCS-side DRA).

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// TestFreeDiameterSCSSideDRA: scs1 -> freeDiameter (dra1.scs.example, an
// agent of kind agent in tsp.peers, TLS with its own certificate towards
// the daemon) -> the daemon -> coresim. The DAR gets its DAA through the
// DRA, and the DNR goes back to scs1 through the DRA (scs1 has no
// connection of its own).
func TestFreeDiameterSCSSideDRA(t *testing.T) {
	freeDiameterd(t)
	_, hss, smsc := startCore(t, 100*time.Millisecond)
	g := startGateway(t, []string{hss}, smsc, func(cfg *Config) {
		cfg.Tsp.Peers = append(cfg.Tsp.Peers, PeerConfig{OriginHost: "dra1.scs.example", OriginRealm: "scs.example",
			Kind: PeerKindAgent, SCSOriginHosts: []string{"scs1.scs.example"}})
	})
	dra, err := g.ca.Issue(devpki.LeafOptions{CommonName: "dra1.scs.example", DNSNames: []string{"dra1.scs.example"},
		ClientAuth: true, ServerAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dra1.pem"), dra.CertPEM)
	writeFile(t, filepath.Join(dir, "dra1-key.pem"), dra.KeyPEM)
	writeFile(t, filepath.Join(dir, "ca.pem"), g.ca.CertPEM())
	daemonPort := loopbackPort(t, g.addr)
	book := &reportBook{reports: map[uint32][]tsp.DeliveryOutcome{}, e2e: map[uint32]bool{}}
	scs, scsAddr := listenRawSCS(t, "scs1.scs.example", book)
	scsPort := loopbackPort(t, scsAddr)
	// The DRA listens nowhere (Port = 0, SecPort = 0): it dials the daemon
	// (TLS with its dra1 certificate) and scs1 (plain TCP).
	conf := fmt.Sprintf(`Identity = "dra1.scs.example";
Realm = "scs.example";
TLS_Cred = "%[1]s/dra1.pem", "%[1]s/dra1-key.pem";
TLS_CA = "%[1]s/ca.pem";
ConnectPeer = "mtciwf.operator.example" { ConnectTo = "127.0.0.1"; Port = %[2]d; No_SCTP; };
ConnectPeer = "scs1.scs.example" { ConnectTo = "127.0.0.1"; Port = %[3]d; No_TLS; No_SCTP; };
`, dir, daemonPort, scsPort)
	fd := startFreeDiameter(t, dir, "dra1", conf)
	if !g.logged("peer connected", "dra1.scs.example") {
		t.Fatalf("freeDiameter did not connect to the daemon:\n%s", lastLines(fd.log.String(), 40))
	}
	scs.accept(10 * time.Second)
	defer func() {
		if t.Failed() {
			for _, l := range g.logs.All() {
				t.Logf("daemon: %s %v", l.Message, l.ContextMap())
			}
		}
	}()
	if st, msg := scs.trigger("meter-1@iot.example.com", 1); st != tsp.StatusSuccess {
		t.Fatalf("Request-Status %s (%s)", st, msg)
	}
	c := &scsClient{t: t, reportBook: book}
	if o := c.waitReport(1); o != tsp.OutcomeSuccess {
		t.Fatalf("Delivery-Outcome %s", o)
	}
	// The DNR is the daemon's (Origin-Host), for scs1 (Destination-Host),
	// and came through the relay: freeDiameter records the daemon in
	// Route-Record on what it relays. (The DAR reached the daemon with
	// freeDiameter's Route-Record too; its ABNF has *[ Route-Record ].)
	book.mu.Lock()
	for _, m := range book.seen {
		if oh, dh := avpString(m, avp.OriginHost), avpString(m, avp.DestinationHost); oh != "mtciwf.operator.example" || dh != "scs1.scs.example" {
			t.Errorf("DNR from %q to %q, want from mtciwf.operator.example to scs1.scs.example", oh, dh)
		}
	}
	book.mu.Unlock()
	scs.mu.Lock()
	relayed := scs.relays["mtciwf.operator.example"]
	scs.mu.Unlock()
	if relayed == 0 {
		t.Error("no message from the daemon carried its Route-Record: not relayed by freeDiameter?")
	}
	if !g.logged("peer connected", "agent", "dra1.scs.example") {
		t.Error("the daemon did not see dra1 connect as an agent")
	}
	for _, l := range g.logs.FilterMessage("peer connected").All() {
		if l.ContextMap()["peer_host"] == "scs1.scs.example" {
			t.Error("scs1 has a Tsp connection of its own: the DNR did not need the agent")
		}
	}
	if !fd.running() {
		t.Error("freeDiameterd exited during the test")
	}
	eventually(t, "trigger closed after the DNA", func() bool { return g.openTriggers(t) == 0 })
}

// loopbackPort is the port of a 127.0.0.1 address.
func loopbackPort(t *testing.T, addr string) int {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || host != "127.0.0.1" {
		t.Fatalf("address %q is not 127.0.0.1:port", addr)
	}
	return n
}

func avpString(m *godiam.Message, code uint32) string {
	a, err := m.FindAVP(code, 0)
	if err != nil || a == nil {
		return ""
	}
	if v, ok := a.Data.(datatype.DiameterIdentity); ok {
		return string(v)
	}
	return ""
}
