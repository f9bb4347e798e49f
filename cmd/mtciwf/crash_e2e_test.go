package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// TestKillNineKeepsEveryTrigger runs the real binary, kills it with SIGKILL
// while triggers are pending at the SMS-SC and reports are owed to a
// disconnected SCS, restarts it on the same data directory, and checks that
// every accepted trigger gets exactly one delivery report (DESIGN.md quality
// bar "Nothing accepted is lost").
func TestKillNineKeepsEveryTrigger(t *testing.T) {
	coreSim, hss, smsc := startCore(t, 100*time.Millisecond)
	bin := filepath.Join(t.TempDir(), "mtciwf")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The e2e helper's PKI and policy files, but the daemon runs as a process
	// of its own with a config file.
	e := newDaemon(t, nil)
	addr := freeAddr(t)
	cfgFile := filepath.Join(e.dir, "mtciwf.yaml")
	yaml := fmt.Sprintf(`log: {format: json, level: info}
data_dir: %[1]s/data
policy_file: %[1]s/policy.yaml
tsp:
  listen: %[2]s
  tls:
    cert_file: %[1]s/mtciwf.pem
    key_file: %[1]s/mtciwf-key.pem
    client_ca_files: [%[1]s/ca.pem]
    crl_files: [%[1]s/crl.pem]
  peers:
    - {origin_host: scs1.scs.example, origin_realm: scs.example, kind: scs}
triggers: {report_retry_min: 50ms, report_retry_max: 200ms}
admin: {listen: "127.0.0.1:0"}
hss: {request_timeout: 1s, peers: [{origin_host: hss.operator.example, address: %[3]s}]}
smsc: {request_timeout: 1s, peers: [{origin_host: smsc.operator.example, address: %[4]s}]}
`, e.dir, addr, hss, smsc)
	writeFile(t, cfgFile, []byte(yaml))
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgFile)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	accepting := func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	}
	d := start()
	e.addr = addr
	eventually(t, "daemon accepting", accepting)
	c := e.scs(t, "scs1")

	// Batch A: accepted, then the SCS leaves; the reports come in and are
	// owed (stored in the outbox).
	for ref := uint32(1); ref <= 5; ref++ {
		waitPeersUp(t, c, ref)
	}
	_ = c.conn.Close()
	eventually(t, "the SMS-SC delivered batch A", func() bool { return coreSim.Counters().DRAReceived >= 5 })

	// Batch B: accepted while the SMS-SC holds them (long delivery delay).
	if err := coreSim.Inject(sim.Injection{Target: sim.TargetDelivery, Delay: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c = e.scs(t, "scs1")
	for ref := uint32(6); ref <= 10; ref++ {
		if st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: ref}); st != tsp.StatusSuccess {
			t.Fatalf("trigger %d: %s (%s)", ref, st, msg)
		}
	}
	_ = c.conn.Close()

	// kill -9: no DPR, no flush, nothing.
	if err := d.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.Wait()
	coreSim.ClearInjections(sim.TargetDelivery)

	start()
	eventually(t, "daemon accepting again", accepting)
	c = e.scs(t, "scs1")
	for ref := uint32(1); ref <= 10; ref++ {
		if o := c.waitReport(ref); o != tsp.OutcomeSuccess {
			t.Errorf("trigger %d reported %s", ref, o)
		}
	}
	// Give a duplicate the time to show up, then count.
	time.Sleep(500 * time.Millisecond)
	for ref := uint32(1); ref <= 10; ref++ {
		if n := c.reportCount(ref); n != 1 {
			t.Errorf("trigger %d: %d delivery reports, want exactly 1", ref, n)
		}
	}
}

// waitPeersUp sends one trigger, retrying while the daemon's core pools are
// still connecting (201 TEMPORARYERROR at start-up).
func waitPeersUp(t *testing.T, c *scsClient, ref uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, msg := c.send(trig{extID: "meter-1@iot.example.com", ref: ref})
		if st == tsp.StatusSuccess {
			return
		}
		if st != tsp.StatusTemporaryError || !strings.Contains(msg, "not reachable") || time.Now().After(deadline) {
			t.Fatalf("trigger %d: %s (%s)", ref, st, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
