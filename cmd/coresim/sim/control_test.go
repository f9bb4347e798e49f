package sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam/core"
)

// TestControlEndpointLive drives a running simulator the way an end-to-end
// test of an MTC-IWF would: inject over HTTP, send traffic, read counters.
func TestControlEndpointLive(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.ControlListen = "127.0.0.1:0" })
	base := "http://" + r.sim.ControlAddr().String()
	post := func(path string) {
		t.Helper()
		resp, err := http.Post(base+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	counters := func() sim.Counters {
		t.Helper()
		resp, err := http.Get(base + "/counters")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c sim.Counters
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Before any traffic: "no SIR was sent" is an assertion a test can make.
	if c := counters(); c.SIRReceived != 0 || c.DTRReceived != 0 {
		t.Fatalf("fresh counters %+v", c)
	}
	post("/inject?target=hss&result=5001&count=1")
	conn := r.dialHSS()
	d := s6mDict(t)
	user := core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}
	if got := ask(t, conn, d, sir(user, scsA)).Result; got != core.Experimental3GPP(5001) {
		t.Errorf("first SIA %v, want injected 5001", got)
	}
	if got := ask(t, conn, d, sir(user, scsA)).Result; got != core.ResultCode(2001) {
		t.Errorf("second SIA %v, want 2001", got)
	}
	c := counters()
	if c.SIRReceived != 2 || c.SIAResults["5001"] != 1 || c.SIAResults["2001"] != 1 {
		t.Errorf("counters %+v", c)
	}
	post("/counters/reset")
	if c := counters(); c.SIRReceived != 0 {
		t.Errorf("after reset %+v", c)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "POST   /inject") {
		t.Errorf("help page: %s", b)
	}
}
