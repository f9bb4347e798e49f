package main

// The end-to-end trigger path with freeDiameter 1.2.1 as the core-side
// DRA: daemon -> DRA -> coresim's HSS and SMS-SC, and the SMS-SC's DRR
// back through the DRA (TS 29.368 6.3.2).

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/diam/tsp"
)

// TestFreeDiameterCoreSideDRA: the daemon's hss.peers is a freeDiameter
// (dra-s6m.operator.example) in front of coresim's HSS, its smsc.peers
// another one (dra-t4.operator.example) in front of coresim's SMS-SC: two
// instances because freeDiameter accepts one connection per Diameter
// identity and both pools dial as mtciwf.operator.example. Plain TCP on
// both legs. The SIR and the DTR reach coresim through the DRAs, and the
// DRR comes back through dra-t4 on the connection the daemon dialled.
func TestFreeDiameterCoreSideDRA(t *testing.T) {
	freeDiameterd(t)
	aclWL := freeDiameterACL(t)
	coreSim, hss, smsc := startCore(t, 100*time.Millisecond)
	dir := t.TempDir()
	// The daemon only dials its core peers, so each DRA listens for it:
	// freeDiameter 1.2.1 binds Port on 0.0.0.0 (it drops loopback
	// addresses from ListenOn). It dials coresim's endpoints itself, and
	// acl_wl admits the daemon (an incoming peer it has no ConnectPeer for)
	// without TLS.
	writeFile(t, filepath.Join(dir, "acl.conf"), []byte("ALLOW_IPSEC mtciwf.operator.example\n"))
	draS6m, draT4 := freePort(t), freePort(t)
	fdConf := func(id string, port int, peer, peerAddr string) string {
		return fmt.Sprintf(`Identity = "%[1]s";
Realm = "operator.example";
Port = %[2]d;
LoadExtension = "%[6]s" : "%[3]s/acl.conf";
ConnectPeer = "%[4]s" { ConnectTo = "127.0.0.1"; Port = %[5]d; No_TLS; No_SCTP; };
`, id, port, dir, peer, loopbackPort(t, peerAddr), aclWL)
	}
	fdA := startFreeDiameter(t, dir, "dra-s6m", fdConf("dra-s6m.operator.example", draS6m, "hss.operator.example", hss))
	fdB := startFreeDiameter(t, dir, "dra-t4", fdConf("dra-t4.operator.example", draT4, "smsc.operator.example", smsc))
	// Each DRA has its coresim peer open before the daemon connects:
	// otherwise the first SIR or DTR may find no route (3002).
	waitFDPeerOpen(t, fdA, "hss.operator.example")
	waitFDPeerOpen(t, fdB, "smsc.operator.example")
	for _, p := range []int{draS6m, draT4} {
		waitListening(t, p, fdA, fdB)
	}
	s6mAddr, t4Addr := fmt.Sprintf("127.0.0.1:%d", draS6m), fmt.Sprintf("127.0.0.1:%d", draT4)
	g := startGateway(t, []string{s6mAddr}, t4Addr, func(cfg *Config) {
		cfg.HSS.Peers = []CorePeerConfig{{OriginHost: "dra-s6m.operator.example", Address: s6mAddr}}
		cfg.SMSC.Peers = []CorePeerConfig{{OriginHost: "dra-t4.operator.example", Address: t4Addr}}
		cfg.HSS.RequestTimeout = 2 * time.Second
		cfg.SMSC.RequestTimeout = 2 * time.Second
	})
	defer func() {
		if t.Failed() {
			for _, l := range g.logs.All() {
				t.Logf("daemon: %s %v", l.Message, l.ContextMap())
			}
		}
	}()
	for _, dra := range []string{"dra-s6m.operator.example", "dra-t4.operator.example"} {
		if !g.logged("core peer up", dra) {
			t.Fatalf("the daemon did not connect to %s:\ndra-s6m: %s\ndra-t4: %s", dra,
				lastLines(fdA.log.String(), 40), lastLines(fdB.log.String(), 40))
		}
	}
	c := g.scs(t, "scs1")
	if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: 1}); st != tsp.StatusSuccess {
		t.Fatalf("Request-Status %s (%s)", st, msg)
	}
	if o := c.waitReport(1); o != tsp.OutcomeSuccess {
		t.Fatalf("Delivery-Outcome %s", o)
	}
	ctr := coreSim.Counters()
	if ctr.SIRReceived != 1 || ctr.DTRReceived != 1 {
		t.Errorf("coresim saw %d SIR, %d DTR; want 1, 1", ctr.SIRReceived, ctr.DTRReceived)
	}
	if ctr.DRRSent < 1 || ctr.DRRAbandoned != 0 {
		t.Errorf("coresim sent %d DRR, abandoned %d", ctr.DRRSent, ctr.DRRAbandoned)
	}
	// The daemon's only core connections are to the DRAs.
	for _, l := range g.logs.FilterMessage("core peer up").All() {
		if h := fmt.Sprint(l.ContextMap()["peer_host"]); h == "hss.operator.example" || h == "smsc.operator.example" {
			t.Errorf("the daemon has a direct connection to %s", h)
		}
	}
	for _, a := range []*fdAgent{fdA, fdB} {
		if !a.running() {
			t.Error("freeDiameterd exited during the test")
		}
		if strings.Contains(a.log.String(), "Routing error") {
			t.Errorf("freeDiameterd could not route a message: %s", lastLines(a.log.String(), 20))
		}
	}
	eventually(t, "trigger closed after the DNA", func() bool { return g.openTriggers(t) == 0 })
}

// aclWLPath is where Debian's freediameter-extensions puts acl_wl, the
// extension that admits incoming peers freeDiameter has no ConnectPeer for.
const aclWLPath = "/usr/lib/freeDiameter/acl_wl.fdx"

// freeDiameterACL returns aclWLPath, installing the Debian package
// freediameter-extensions first when it is missing and this process may do
// so (see aptInstall), else skips the test with the reason.
func freeDiameterACL(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(aclWLPath); err == nil {
		return aclWLPath
	}
	if why := aptInstall("freediameter-extensions", aclWLPath+" is missing"); why != "" {
		t.Skip(why)
	}
	if _, err := os.Stat(aclWLPath); err != nil {
		t.Skipf("apt-get installed freediameter-extensions but %s is missing", aclWLPath)
	}
	return aclWLPath
}

// freeAddr is a 127.0.0.1:port address on which nothing listens when it
// returns.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// freePort is the port of freeAddr.
func freePort(t *testing.T) int {
	t.Helper()
	return loopbackPort(t, freeAddr(t))
}

// waitFDPeerOpen waits (bounded) until freeDiameter logs its connection
// to peer as open.
func waitFDPeerOpen(t *testing.T, a *fdAgent, peer string) {
	t.Helper()
	want := "-> 'STATE_OPEN'\t'" + peer + "'"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(a.log.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("freeDiameterd did not open its connection to %s: %s", peer, lastLines(a.log.String(), 20))
}

// waitListening waits (bounded) until something accepts on 127.0.0.1:port.
func waitListening(t *testing.T, port int, agents ...*fdAgent) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = nc.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	var logs []string
	for _, a := range agents {
		logs = append(logs, lastLines(a.log.String(), 20))
	}
	t.Fatalf("freeDiameterd does not listen on %s: %s", addr, strings.Join(logs, "\n"))
}
