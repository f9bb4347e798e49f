package main

// A minimal SCS for the SCS-side DRA test, written on go-diameter's codec
// over a plain TCP socket on 127.0.0.1. It exists because diam.Conn, when it dials,
// binds the answering peer's Origin-Host and refuses (3010) any request
// with another Origin-Host: behind a relay agent every request arrives with
// the originator's Origin-Host (the DNR carries the daemon's), so diam.Conn
// cannot be an SCS behind a DRA yet.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/dictionaries"
)

type rawSCS struct {
	t      *testing.T
	id     diam.Identity
	d      *dict.Parser
	l      net.Listener
	nc     net.Conn
	wmu    sync.Mutex
	mu     sync.Mutex
	hbh    uint32
	wait   map[uint32]chan *godiam.Message
	book   *reportBook
	relays map[string]int // Route-Record values seen on messages from the DRA
	done   chan struct{}
}

// listenRawSCS is SCS host (e.g. scs1.scs.example) waiting on 127.0.0.1
// for its relay agent to connect (plain TCP): it answers the agent's CER
// with a CEA offering Tsp. The agent dials rather than listens because
// freeDiameter 1.2.1 drops loopback addresses from ListenOn and would
// listen on every interface. The returned address is for the agent's
// ConnectPeer; wait for the connection with accept.
func listenRawSCS(t *testing.T, host string, book *reportBook) (*rawSCS, string) {
	t.Helper()
	d, err := dictionaries.Tsp()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawSCS{t: t, id: diam.Identity{OriginHost: host, OriginRealm: "scs.example", ProductName: "e2e-raw-scs"},
		d: d, l: l, hbh: 1, wait: map[uint32]chan *godiam.Message{}, book: book, relays: map[string]int{}, done: make(chan struct{})}
	t.Cleanup(func() {
		_ = l.Close()
		if s.nc != nil {
			_ = s.nc.Close()
			<-s.done
		}
	})
	return s, l.Addr().String()
}

// accept waits (bounded) for the agent's connection and its CER, and
// answers it.
func (s *rawSCS) accept(within time.Duration) {
	s.t.Helper()
	type res struct {
		nc  net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { nc, err := s.l.Accept(); ch <- res{nc, err} }()
	var r res
	select {
	case r = <-ch:
	case <-time.After(within):
		_ = s.l.Close()
		r = <-ch
		if r.err == nil {
			_ = r.nc.Close()
		}
		s.t.Fatalf("the agent did not connect to %s within %s", s.id.OriginHost, within)
	}
	if r.err != nil {
		s.t.Fatalf("accept: %v", r.err)
	}
	s.nc = r.nc
	_ = s.nc.SetDeadline(time.Now().Add(5 * time.Second))
	cer, err := godiam.ReadMessage(s.nc, s.d)
	if err != nil || cer.Header.CommandCode != diam.CmdCapabilitiesExchange {
		s.t.Fatalf("CER: %v %v", err, cer)
	}
	cea := cer.Answer(diam.ResultSuccess)
	cea.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(s.id.OriginHost))
	cea.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(s.id.OriginRealm))
	cea.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.IPv4(127, 0, 0, 1)))
	cea.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(0))
	cea.NewAVP(avp.ProductName, 0, 0, datatype.UTF8String("e2e-raw-scs"))
	cea.NewAVP(avp.SupportedVendorID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.VendorID3GPP))
	cea.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &godiam.GroupedAVP{AVP: []*godiam.AVP{
		godiam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.VendorID3GPP)),
		godiam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.AppTsp)),
	}})
	if _, err := cea.WriteTo(s.nc); err != nil {
		s.t.Fatalf("CEA: %v", err)
	}
	_ = s.nc.SetDeadline(time.Time{})
	go s.read()
}

func (s *rawSCS) write(m *godiam.Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := m.WriteTo(s.nc)
	return err
}

// read answers DWR, DPR and DNR, and hands answers to their requests.
func (s *rawSCS) read() {
	defer close(s.done)
	for {
		m, err := godiam.ReadMessage(s.nc, s.d)
		if err != nil {
			return
		}
		for _, a := range m.AVP {
			if a.Code == avp.RouteRecord {
				s.mu.Lock()
				s.relays[string(a.Data.(datatype.DiameterIdentity))]++
				s.mu.Unlock()
			}
		}
		if m.Header.CommandFlags&godiam.RequestFlag == 0 {
			s.mu.Lock()
			ch := s.wait[m.Header.HopByHopID]
			delete(s.wait, m.Header.HopByHopID)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		var ans *godiam.Message
		switch m.Header.CommandCode {
		case diam.CmdDeviceWatchdog, diam.CmdDisconnectPeer:
			ans = m.Answer(diam.ResultSuccess)
			ans.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(s.id.OriginHost))
			ans.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(s.id.OriginRealm))
		default:
			ans = s.dnr(m)
		}
		if ans != nil {
			_ = s.write(ans)
		}
	}
}

// dnr checks and records a DNR and builds its DNA.
func (s *rawSCS) dnr(m *godiam.Message) *godiam.Message {
	s.checkDaemonMessage(m)
	dnr, perr := tsp.DecodeDNR(m)
	if perr != nil {
		s.t.Errorf("undecodable DNR: %v", perr)
		ans, _ := tsp.ErrorAnswer(m, perr, &s.id)
		return ans
	}
	b := s.book
	b.mu.Lock()
	if b.e2e[m.Header.EndToEndID] {
		b.duplicates++
	} else {
		b.e2e[m.Header.EndToEndID] = true
		ref := dnr.DeviceNotification.ReferenceNumber
		b.reports[ref] = append(b.reports[ref], *dnr.DeviceNotification.DeliveryOutcome)
	}
	b.seen = append(b.seen, m)
	b.mu.Unlock()
	ans, err := (&tsp.DNA{Result: core.ResultCode(diam.ResultSuccess)}).Answer(m, &s.id)
	if err != nil {
		s.t.Errorf("DNA: %v", err)
		return nil
	}
	return ans
}

// checkDaemonMessage runs the privacy checks of scsClient.record on what
// the daemon sent, after taking off the Route-Record AVPs the relay added
// (freeDiameter 1.2.1 adds one to the answers it relays too): the egress
// check is about the daemon's ABNF, not the agent's additions.
func (s *rawSCS) checkDaemonMessage(m *godiam.Message) {
	cp := *m
	cp.AVP = nil
	for _, a := range m.AVP {
		if a.Code != avp.RouteRecord {
			cp.AVP = append(cp.AVP, a)
		}
	}
	if err := tsp.CheckEgress(&cp, s.d); err != nil {
		s.t.Errorf("daemon sent a Tsp message that fails the egress check: %v", err)
	}
	b, _ := m.Serialize()
	for _, imsi := range []string{"001010000000001", "001010000000002", "001010000000003", "001010000000004", "001010000000005"} {
		tb, _ := diam.EncodeTBCD(imsi)
		if bytes.Contains(b, []byte(imsi)) || (tb != nil && bytes.Contains(b, tb)) {
			s.t.Errorf("daemon sent an IMSI over Tsp (command %d)", m.Header.CommandCode)
		}
	}
}

// request sends m and waits (bounded) for its answer.
func (s *rawSCS) request(m *godiam.Message, within time.Duration) (*godiam.Message, error) {
	ch := make(chan *godiam.Message, 1)
	s.mu.Lock()
	s.hbh++
	m.Header.HopByHopID = s.hbh
	m.Header.EndToEndID = 0x5c500000 + s.hbh
	s.wait[s.hbh] = ch
	s.mu.Unlock()
	if err := s.write(m); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	select {
	case a := <-ch:
		return a, nil
	case <-s.done:
		return nil, fmt.Errorf("connection closed")
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer within %s", within)
	}
}

// trigger sends a DEVICE_TRIGGER DAR for an External-Identifier and returns
// the DAA's Request-Status.
func (s *rawSCS) trigger(extID string, ref uint32) (tsp.RequestStatus, string) {
	s.t.Helper()
	port := uint32(9000)
	dar := tsp.DAR{Routing: core.Routing{OriginHost: s.id.OriginHost, OriginRealm: "scs.example", DestinationRealm: "operator.example"},
		DeviceAction: tsp.DeviceAction{ExternalIdentifier: extID, SCSIdentity: "491719900001", ReferenceNumber: ref,
			ActionType: tsp.DeviceTriggerRequest, TriggerData: &tsp.TriggerData{Payload: []byte("wake-up"), ApplicationPortIdentifier: &port}}}
	m, err := dar.Message(s.d)
	if err != nil {
		s.t.Fatalf("build DAR: %v", err)
	}
	ans, err := s.request(m, 10*time.Second)
	if err != nil {
		s.t.Fatalf("DAR %d: %v", ref, err)
	}
	s.checkDaemonMessage(ans)
	daa, perr := tsp.DecodeDAA(ans)
	if perr != nil {
		s.t.Fatalf("DAA: %v", perr)
	}
	if daa.DeviceNotification == nil || daa.DeviceNotification.RequestStatus == nil {
		s.t.Fatalf("DAA without Request-Status: result %v %q", daa.Result, daa.ErrorMessage)
	}
	return *daa.DeviceNotification.RequestStatus, daa.ErrorMessage
}
