package iwf

// The whole device-trigger procedure (DESIGN.md steps 5-10) in one process:
// the Gateway handles a DAR with an HSS and an SMS-SC that live in memory
// (CorePeers that build their SIA and DTA with diam/s6m and diam/t4, no
// socket, no Diameter transport), the real policy authorizer, and the
// MemoryStore or a bbolt file. What a DAR costs the gateway itself, without
// the transport in front of it (TLS, frame guard, decoding of the request,
// duplicate cache) and without the core's round trips:
//
//	BenchmarkTriggerProcedure          one DAR after the other
//	BenchmarkTriggerProcedureParallel  GOMAXPROCS callers at once
//	BenchmarkTriggerProcedureHSSCache  parallel, the UE's HSS answer cached (policy hss_cache)
//	BenchmarkTriggerProcedureBolt      the same with the bbolt store (fsync on)
//	BenchmarkTriggerProcedureLogged    parallel, with the daemon's JSON logger (to io.Discard)
//	BenchmarkTriggerLifecycle          DAR, then the SMS-SC's DRR; the outbox sends the DNR
//	                                   and the SCS's DNA closes the trigger; the timer stops
//	                                   when all b.N reports are acknowledged
//
// The gateway needs real *diam.Conn values where it reads its identity or
// a peer's binding: the SCS's Tsp connection (the DAA's Origin-Host, and
// the DNRs of the lifecycle) and the SMS-SC's T4 connection (the DRA, and
// the binding that names the SMS-SC in the record). Those are diam
// connections over a 127.0.0.1 TCP socket without TLS; in the measured DAR
// path no byte crosses them. The DNRs do, since the gateway sends them
// itself.
//
// Run: go test -run '^$' -bench 'Trigger' -benchtime 2s ./iwf/

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/diam/t4"
	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/dictionaries"
	"github.com/mtciwf/mtciwf/security"
	"github.com/mtciwf/mtciwf/security/policy"
)

// The rig's identities and subscriber.
const (
	procSCSRealm    = "scs.bench.example"
	procSCSIdentity = "491719900001"
	procUEDomain    = "iot.bench.example"
	procUE          = "meter-1@" + procUEDomain
	procIMSI        = "001010123456789"
	procMSISDN      = "491710000001"
	procCoreRealm   = "core.bench.example"
	procPort        = 9000
	// procRefCode is Reference-Number (AVP 3007, 3GPP), in the DAR's
	// Device-Action and at the top of the DRR.
	procRefCode = 3007
	// procWait bounds every wait of the rig: nothing here may hang.
	procWait = 60 * time.Second
)

var (
	procIWF  = diam.Identity{OriginHost: "mtciwf.core.bench.example", OriginRealm: procCoreRealm, OriginStateID: 1, ProductName: "mtciwf"}
	procHSS  = diam.Identity{OriginHost: "hss1.core.bench.example", OriginRealm: procCoreRealm, ProductName: "hss"}
	procSMSC = diam.Identity{OriginHost: "smsc1.core.bench.example", OriginRealm: procCoreRealm, ProductName: "smsc"}
	procSCS  = diam.Identity{OriginHost: "scs1.scs.bench.example", OriginRealm: procSCSRealm, ProductName: "scs"}

	procPayload     = []byte("wake up and call home")
	procServingNode = core.ServingNode{MMEName: "mme1.epc.mnc001.mcc001.3gppnetwork.org",
		MMERealm: "epc.mnc001.mcc001.3gppnetwork.org", MMENumberForMTSMS: "491720000001"}
)

// procOptions choose the rig's variant.
type procOptions struct {
	bolt   bool        // bbolt store in a temporary directory instead of the MemoryStore
	logger *zap.Logger // nil: zap.NewNop
	// verify makes the HSS, SMS-SC and SCS decode and check every request
	// (the unit test). The benchmarks leave it off, so that the peers' own
	// decoding stays out of the gateway's numbers and profiles.
	verify bool
	outbox bool // run the gateway's outbox (Gateway.Run): DNRs go to the SCS
	// hssCache is the SCS's policy hss_cache ttl; 0 sends a SIR per DAR.
	hssCache time.Duration
	// store, when set, replaces the MemoryStore (it must also be a
	// policy.QuotaStore).
	store Store
}

// procRig is a Gateway with its peers.
type procRig struct {
	g     *Gateway
	store Store
	tsp   *diam.Conn // our end of the SCS's Tsp connection: DARs are served on it, DNRs leave on it
	t4    *diam.Conn // our end of the SMS-SC's T4 connection: DRRs are served on it
	t4h   diam.Handler
	hss   *memHSS
	smsc  *memSMSC
	scs   *memSCS
	ref   atomic.Uint32 // the last Reference-Number used
}

// memHSS answers every SIR with an SIA success: IMSI, MSISDN and one
// serving node (what cmd/coresim's HSS answers for a known subscriber).
type memHSS struct {
	sia    s6m.SIA
	verify bool
	sirs   atomic.Uint64
	errs   procErrors
}

func (h *memHSS) Request(_ context.Context, req *godiam.Message) (*godiam.Message, *diam.Conn, error) {
	h.sirs.Add(1)
	if h.verify {
		if err := checkSIR(req); err != nil {
			h.errs.add(err)
			return nil, nil, err
		}
	}
	ans, err := h.sia.Answer(req, &procHSS)
	return ans, nil, err
}

func (h *memHSS) Up() []string { return []string{procHSS.OriginHost} }

func checkSIR(req *godiam.Message) error {
	sir, pe := s6m.DecodeSIR(req)
	switch {
	case pe != nil:
		return fmt.Errorf("HSS: SIR refused: %w", pe)
	case sir.UserIdentifier.ExternalIdentifier != procUE || sir.SCSIdentity != procSCSIdentity:
		return fmt.Errorf("HSS: SIR for %q from SCS-Identity %q", sir.UserIdentifier.ExternalIdentifier, sir.SCSIdentity)
	case sir.ServiceID == nil || *sir.ServiceID != s6m.DeviceTrigger:
		return fmt.Errorf("HSS: SIR without Service-ID DEVICE_TRIGGER")
	}
	return nil
}

// memSMSC answers every DTR with a DTA success. Its connection is our end
// of the rig's T4 link, as a diam.Pool would return it: its binding names
// the SMS-SC (the record's SMSC).
type memSMSC struct {
	conn   *diam.Conn
	verify bool
	dtrs   atomic.Uint64
	errs   procErrors
	onDTR  func(*godiam.Message) // when set (before any traffic), sees every DTR
}

var procDTA = t4.DTA{Result: core.ResultCode(diam.ResultSuccess), TriggerAction: new(t4.Trigger)}

func (s *memSMSC) Request(_ context.Context, req *godiam.Message) (*godiam.Message, *diam.Conn, error) {
	s.dtrs.Add(1)
	if s.onDTR != nil {
		s.onDTR(req)
	}
	if s.verify {
		if err := checkDTR(req); err != nil {
			s.errs.add(err)
			return nil, nil, err
		}
	}
	ans, err := procDTA.Answer(req, &procSMSC)
	return ans, s.conn, err
}

func (s *memSMSC) Up() []string { return []string{procSMSC.OriginHost} }

func checkDTR(req *godiam.Message) error {
	dtr, pe := t4.DecodeDTR(req)
	switch {
	case pe != nil:
		return fmt.Errorf("SMS-SC: DTR refused: %w", pe)
	case dtr.UserIdentifier.IMSI != procIMSI || dtr.UserIdentifier.MSISDN != procMSISDN:
		return fmt.Errorf("SMS-SC: DTR for %+v, want the HSS's IMSI and MSISDN", dtr.UserIdentifier)
	case dtr.SMRPSMEA.Digits != procSCSIdentity:
		return fmt.Errorf("SMS-SC: DTR with SM-RP-SMEA %s", dtr.SMRPSMEA)
	case dtr.ReferenceNumber == nil || dtr.TriggerAction == nil || *dtr.TriggerAction != t4.Trigger:
		return errors.New("SMS-SC: DTR without Reference-Number or Trigger-Action TRIGGER")
	case !bytes.Equal(dtr.Payload, procPayload):
		return fmt.Errorf("SMS-SC: DTR payload %q", dtr.Payload)
	case dtr.ServingNode == nil || *dtr.ServingNode != procServingNode:
		return fmt.Errorf("SMS-SC: DTR serving node %+v, want the HSS's", dtr.ServingNode)
	}
	return nil
}

// memSCS answers DNRs with DNA success (on its end of the Tsp link).
type memSCS struct {
	verify bool
	dnrs   atomic.Uint64
	errs   procErrors

	mu  sync.Mutex
	got map[uint32]int // verify: DNRs per Reference-Number
}

func (s *memSCS) ServeDiameter(_ context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
	s.dnrs.Add(1)
	if s.verify {
		dnr, pe := tsp.DecodeDNR(req)
		switch {
		case pe != nil:
			s.errs.add(fmt.Errorf("SCS: DNR refused: %w", pe))
			return c.NewErrorAnswer(req, pe.Code, pe.Reason), nil
		case dnr.DestinationHost != procSCS.OriginHost:
			s.errs.add(fmt.Errorf("SCS: DNR for %q", dnr.DestinationHost))
		case dnr.DeviceNotification.ActionType != tsp.DeliveryReport ||
			dnr.DeviceNotification.DeliveryOutcome == nil || *dnr.DeviceNotification.DeliveryOutcome != tsp.OutcomeSuccess:
			s.errs.add(fmt.Errorf("SCS: DNR is not a successful delivery report: %+v", dnr.DeviceNotification))
		case dnr.DeviceNotification.ExternalIdentifier != procUE || dnr.DeviceNotification.SCSIdentity != procSCSIdentity:
			s.errs.add(fmt.Errorf("SCS: DNR for %q, SCS-Identity %q", dnr.DeviceNotification.ExternalIdentifier, dnr.DeviceNotification.SCSIdentity))
		}
		if dnr != nil {
			s.mu.Lock()
			s.got[dnr.DeviceNotification.ReferenceNumber]++
			s.mu.Unlock()
		}
	}
	return (&tsp.DNA{Result: core.ResultCode(diam.ResultSuccess)}).Answer(req, c.Identity())
}

// procErrors collects what the peers found wrong (they run in the
// gateway's goroutines, where a test cannot fail).
type procErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *procErrors) add(err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
}

func (e *procErrors) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.errs...)
}

// procAdmit admits the one peer of a rig link (no TLS, no policy).
type procAdmit struct{ kind string }

func (a procAdmit) AdmitPeer(host, realm string, _ *tls.ConnectionState) (*diam.PeerBinding, error) {
	return &diam.PeerBinding{OriginHost: host, OriginRealm: realm, Kind: a.kind, Originators: map[string]bool{host: true}}, nil
}

// procLink runs a diam.Server for app on 127.0.0.1 (plain TCP) with handler
// ours, lets peer dial it (answering our requests with theirs), and returns
// the server and our end of the connection, bound to peer.
func procLink(tb testing.TB, app diam.Application, kind string, ours diam.Handler, peer diam.Identity, theirs diam.Handler) (*diam.Server, *diam.Conn) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &diam.Server{Config: diam.Config{Identity: procIWF, App: app, Handler: ours, Admitter: procAdmit{kind}}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := diam.Dial(ctx, "tcp", l.Addr().String(), diam.Config{Identity: peer, App: app, Handler: theirs}, diam.DialOptions{})
	if err != nil {
		_ = l.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		_ = c.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			tb.Error("diam server did not stop")
		}
	})
	// The server bound the peer before it sent the CEA that Dial waited for.
	conn := srv.ConnFor(peer.OriginHost)
	if conn == nil {
		tb.Fatalf("no server connection bound to %s", peer.OriginHost)
	}
	return srv, conn
}

// procPolicy is the simplest real policy: one SCS, every UE of one
// External-Identifier domain, any port and action, no rate and no quota;
// the HSS answer cache only when hssCache > 0.
func procPolicy(tb testing.TB, hssCache time.Duration) *policy.Policy {
	tb.Helper()
	p, err := policy.Compile(&policy.File{Name: "bench", SCS: []policy.SCSEntry{{
		ID:       "scs1",
		Identity: procSCSIdentity,
		Peers:    []policy.PeerIdentity{{OriginHost: procSCS.OriginHost, Realm: procSCSRealm}},
		Rules:    []policy.Rule{{Selector: policy.Selector{Kind: policy.SelExternalIDDomain, Value: procUEDomain}}},
		HSSCache: policy.HSSCache{TTL: hssCache},
	}}})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newProcRig(tb testing.TB, o procOptions) *procRig {
	tb.Helper()
	r := &procRig{}
	switch {
	case o.store != nil:
		r.store = o.store
	case o.bolt:
		r.store = openBolt(tb, filepath.Join(tb.TempDir(), "triggers.db"))
	default:
		s := NewMemoryStore()
		tb.Cleanup(func() { _ = s.Close() })
		r.store = s
	}
	quotas, ok := r.store.(policy.QuotaStore)
	if !ok {
		tb.Fatalf("%T is no policy.QuotaStore", r.store)
	}
	pol := procPolicy(tb, o.hssCache)
	auth := &PolicyAuthorizer{Current: func() *policy.Policy { return pol }, Limiter: policy.NewLimiter(quotas, nil), Audit: zap.NewNop()}
	r.hss = &memHSS{verify: o.verify, sia: s6m.SIA{
		Result:          core.ResultCode(diam.ResultSuccess),
		UserIdentifiers: []core.UserIdentifier{{IMSI: procIMSI, MSISDN: procMSISDN, ExternalIdentifier: procUE}},
		ServiceData:     &s6m.ServiceData{T4Data: &s6m.T4Data{ServingNode: new(procServingNode)}},
	}}
	r.smsc = &memSMSC{verify: o.verify}
	r.scs = &memSCS{verify: o.verify, got: map[uint32]int{}}
	logger := o.logger
	if logger == nil {
		logger = zap.NewNop()
	}
	g, err := New(Config{
		Identity:        procIWF,
		Authorizer:      auth,
		HSSRealm:        procCoreRealm,
		SMSCRealm:       procCoreRealm,
		MaxPayloadBytes: 140,
		MaxValidity:     24 * time.Hour,
		DefaultValidity: time.Hour,
		RecallReplace:   true,
		ExpiryGrace:     time.Hour,
		ReportRetryMin:  10 * time.Millisecond,
		ReportRetryMax:  time.Second,
		Logger:          logger,
		Metrics:         NewMetrics(r.store),
	}, r.store, r.hss, r.smsc)
	if err != nil {
		tb.Fatal(err)
	}
	r.g = g
	r.t4h = g.T4Handler()

	srv, tspConn := procLink(tb, diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: g.TspDict()},
		string(security.PeerSCS), g, procSCS, r.scs)
	g.SetSCSConns(srv)
	r.tsp = tspConn
	_, r.t4 = procLink(tb, diam.Application{ID: dictionaries.AppT4, VendorID: dictionaries.VendorID3GPP, Dict: g.T4Dict()},
		"smsc", r.t4h, procSMSC, nil)
	r.smsc.conn = r.t4

	if o.outbox {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.Run(ctx)
		}()
		tb.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(procWait):
				tb.Error("the outbox did not stop")
			}
		})
	}
	return r
}

// procMsg is a request built once whose Reference-Number is set in place
// for each use, so that building it costs the measured loop nothing. One
// per goroutine: the gateway reads it while it runs.
type procMsg struct {
	m   *godiam.Message
	ref *godiam.AVP
}

func (p *procMsg) with(ref uint32) *godiam.Message {
	p.ref.Data = datatype.Unsigned32(ref)
	return p.m
}

func newProcMsg(m *godiam.Message, err error) (*procMsg, error) {
	if err != nil {
		return nil, err
	}
	a := findAVP(m.AVP, procRefCode)
	if a == nil {
		return nil, errors.New("no Reference-Number in the request")
	}
	return &procMsg{m: m, ref: a}, nil
}

func findAVP(avps []*godiam.AVP, code uint32) *godiam.AVP {
	for _, a := range avps {
		if a.Code == code && a.VendorID == dictionaries.VendorID3GPP {
			return a
		}
		if g, ok := a.Data.(*godiam.GroupedAVP); ok {
			if f := findAVP(g.AVP, code); f != nil {
				return f
			}
		}
	}
	return nil
}

// newDAR is the SCS's trigger: External-Identifier, payload, port,
// priority and validity, as cmd/scs sends it.
func (r *procRig) newDAR() (*procMsg, error) {
	dar := tsp.DAR{
		Routing: core.Routing{OriginHost: procSCS.OriginHost, OriginRealm: procSCSRealm,
			DestinationHost: procIWF.OriginHost, DestinationRealm: procIWF.OriginRealm},
		DeviceAction: tsp.DeviceAction{
			ExternalIdentifier: procUE,
			SCSIdentity:        procSCSIdentity,
			ReferenceNumber:    1, // set by with
			ActionType:         tsp.DeviceTriggerRequest,
			TriggerData: &tsp.TriggerData{Payload: procPayload, PriorityIndication: new(tsp.NonPriority),
				ApplicationPortIdentifier: new(uint32(procPort))},
			ValidityTime: new(uint32(3600)),
		},
	}
	return newProcMsg(dar.Message(r.g.TspDict()))
}

// newDRR is the SMS-SC's delivery report: successful transfer.
func (r *procRig) newDRR() (*procMsg, error) {
	drr := t4.DRR{
		Routing: core.Routing{OriginHost: procSMSC.OriginHost, OriginRealm: procCoreRealm,
			DestinationHost: procIWF.OriginHost, DestinationRealm: procIWF.OriginRealm},
		UserIdentifier:    core.UserIdentifier{IMSI: procIMSI, MSISDN: procMSISDN},
		SMRPSMEA:          core.InternationalSMEAddress(procSCSIdentity),
		SMDeliveryOutcome: t4.SuccessfulTransfer,
		ReferenceNumber:   new(uint32(1)), // set by with
	}
	return newProcMsg(drr.Message(r.g.T4Dict()))
}

func (r *procRig) mustDAR(tb testing.TB) *procMsg {
	tb.Helper()
	p, err := r.newDAR()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func (r *procRig) mustDRR(tb testing.TB) *procMsg {
	tb.Helper()
	p, err := r.newDRR()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// trigger hands the gateway one DAR with a fresh Reference-Number, as the
// Tsp connection's handler goroutine does, and returns the DAA.
func (r *procRig) trigger(ctx context.Context, dar *procMsg) (uint32, *godiam.Message, error) {
	ref := r.ref.Add(1)
	ans, err := r.g.ServeDiameter(ctx, r.tsp, dar.with(ref))
	return ref, ans, err
}

// report hands the gateway the SMS-SC's DRR for ref and returns the DRA.
func (r *procRig) report(ctx context.Context, drr *procMsg, ref uint32) (*godiam.Message, error) {
	return r.t4h.ServeDiameter(ctx, r.t4, drr.with(ref))
}

// reread is m as the peer reads it: serialized and decoded again.
func reread(m *godiam.Message, d *dict.Parser) (*godiam.Message, error) {
	b, err := m.Serialize()
	if err != nil {
		return nil, err
	}
	return godiam.ReadMessage(bytes.NewReader(b), d)
}

// checkDAA: Result-Code 2001, Request-Status SUCCESS, our Reference-Number,
// nothing the egress check refuses.
func checkDAA(ans *godiam.Message, d *dict.Parser, ref uint32) error {
	m, err := reread(ans, d)
	if err != nil {
		return fmt.Errorf("DAA: %w", err)
	}
	if err := tsp.CheckEgress(m, d); err != nil {
		return fmt.Errorf("DAA: %w", err)
	}
	daa, pe := tsp.DecodeDAA(m)
	switch {
	case pe != nil:
		return fmt.Errorf("DAA: %w", pe)
	case daa.Result.Code != diam.ResultSuccess:
		return fmt.Errorf("DAA Result-Code %s: %s", daa.Result, daa.ErrorMessage)
	case daa.DeviceNotification == nil || daa.DeviceNotification.RequestStatus == nil:
		return errors.New("DAA without Request-Status")
	case *daa.DeviceNotification.RequestStatus != tsp.StatusSuccess:
		return fmt.Errorf("DAA Request-Status %s: %s", *daa.DeviceNotification.RequestStatus, daa.ErrorMessage)
	case daa.DeviceNotification.ReferenceNumber != ref:
		return fmt.Errorf("DAA for Reference-Number %d, want %d", daa.DeviceNotification.ReferenceNumber, ref)
	}
	return nil
}

func checkDRA(ans *godiam.Message, d *dict.Parser) error {
	m, err := reread(ans, d)
	if err != nil {
		return fmt.Errorf("DRA: %w", err)
	}
	if m.Header.CommandFlags&godiam.ErrorFlag != 0 {
		return fmt.Errorf("DRA is an error answer: %s", m)
	}
	dra, pe := t4.DecodeDRA(m)
	switch {
	case pe != nil:
		return fmt.Errorf("DRA: %w", pe)
	case !dra.Result.IsSuccess():
		return fmt.Errorf("DRA Result %s", dra.Result)
	}
	return nil
}

// checkTriggered: n DARs handled, every one accepted, no egress refusal,
// nothing the peers found wrong.
func (r *procRig) checkTriggered(n uint64) error {
	s := &r.g.Stats
	if got, ok := s.Triggers.Load(), s.Accepted.Load(); got != n || ok != n {
		return fmt.Errorf("%d DARs handled and %d accepted, want %d of each", got, ok, n)
	}
	if e := s.EgressRefusals.Load(); e != 0 {
		return fmt.Errorf("%d egress refusals", e)
	}
	return errors.Join(r.hss.errs.err(), r.smsc.errs.err(), r.scs.errs.err())
}

// waitReports waits (at most d) until n delivery reports are acknowledged.
func (r *procRig) waitReports(n uint64, d time.Duration) error {
	deadline := time.Now().Add(d)
	for r.g.Stats.Reports.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d delivery reports acknowledged after %v (the SCS got %d DNRs)",
				r.g.Stats.Reports.Load(), n, d, r.scs.dnrs.Load())
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

func (r *procRig) checkOpen(tb testing.TB, want int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := r.store.Open(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if n != want {
		tb.Fatalf("%d open triggers in the store, want %d", n, want)
	}
}

func reportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "triggers/s")
	}
}

// benchProcedure: one DAR after the other.
func benchProcedure(b *testing.B, o procOptions) {
	r := newProcRig(b, o)
	ctx := context.Background()
	dar := r.mustDAR(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ref, ans, err := r.trigger(ctx, dar)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			if err := checkDAA(ans, r.g.TspDict(), ref); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	reportRate(b)
	if err := r.checkTriggered(uint64(b.N)); err != nil {
		b.Fatal(err)
	}
}

// benchProcedureParallel: GOMAXPROCS × parallelism callers, each with its
// own DAR; each checks its first DAA.
func benchProcedureParallel(b *testing.B, o procOptions, parallelism int) {
	r := newProcRig(b, o)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		dar, err := r.newDAR()
		if err != nil {
			b.Error(err)
			return
		}
		first := true
		for pb.Next() {
			ref, ans, err := r.trigger(ctx, dar)
			if err == nil && first {
				err = checkDAA(ans, r.g.TspDict(), ref)
				first = false
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportRate(b)
	if err := r.checkTriggered(uint64(b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTriggerProcedure: DAR → policy → SIR/SIA → durable record →
// DTR/DTA → DAA, one after the other, MemoryStore.
func BenchmarkTriggerProcedure(b *testing.B) {
	benchProcedure(b, procOptions{})
}

// BenchmarkTriggerProcedureParallel: the same with GOMAXPROCS callers.
func BenchmarkTriggerProcedureParallel(b *testing.B) {
	benchProcedureParallel(b, procOptions{}, 1)
}

// BenchmarkTriggerProcedureHSSCache: parallel, with the SCS's hss_cache
// on; every DAR names the same UE, so all but the first are answered from
// the cache and send no SIR.
func BenchmarkTriggerProcedureHSSCache(b *testing.B) {
	benchProcedureParallel(b, procOptions{hssCache: time.Hour}, 1)
}

// BenchmarkTriggerProcedureBolt: the procedure on the bbolt store (real
// disk under b.TempDir(), fsync on). serial waits for each record's commit;
// parallel runs GOMAXPROCS × benchParallelism callers, whose records share
// commits (group commit).
func BenchmarkTriggerProcedureBolt(b *testing.B) {
	b.Run("serial", func(b *testing.B) { benchProcedure(b, procOptions{bolt: true}) })
	b.Run("parallel", func(b *testing.B) { benchProcedureParallel(b, procOptions{bolt: true}, benchParallelism) })
}

// BenchmarkTriggerProcedureLogged: parallel, with a logger built as the
// daemon builds its JSON one (production encoder, caller, sampling of
// 100 a second per message then every 100th), at info, into io.Discard:
// what the transaction log lines add.
func BenchmarkTriggerProcedureLogged(b *testing.B) {
	ec := zap.NewProductionEncoderConfig()
	ec.TimeKey = "time"
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.EncodeDuration = zapcore.StringDurationEncoder
	out := zapcore.Lock(zapcore.AddSync(io.Discard))
	c := zapcore.NewSamplerWithOptions(zapcore.NewCore(zapcore.NewJSONEncoder(ec), out, zapcore.InfoLevel), time.Second, 100, 100)
	log := zap.New(c, zap.AddCaller(), zap.AddStacktrace(zapcore.DPanicLevel), zap.ErrorOutput(out)).Named("iwf")
	benchProcedureParallel(b, procOptions{logger: log}, 1)
}

// BenchmarkTriggerLifecycle: per trigger the DAR and the SMS-SC's DRR (its
// DRA checked once); the outbox, running beside, sends each DNR to the SCS
// over the loopback Tsp connection and closes the trigger on the DNA. The
// timer stops when all b.N reports are acknowledged (bounded by procWait).
// Besides ns/op it reports the backlog of reports still owed when the last
// DRR was answered and the drain-ms it took to deliver them (Run used to
// flush one batch per wake-up, so a backlog drained at outboxBatch per
// outboxTick: 7 s for 4,000 reports; the pipelined outbox drains it as
// fast as the SCS answers).
func BenchmarkTriggerLifecycle(b *testing.B) {
	r := newProcRig(b, procOptions{outbox: true})
	ctx := context.Background()
	dar := r.mustDAR(b)
	drr := r.mustDRR(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ref, daa, err := r.trigger(ctx, dar)
		if err != nil {
			b.Fatal(err)
		}
		dra, err := r.report(ctx, drr, ref)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			if err := errors.Join(checkDAA(daa, r.g.TspDict(), ref), checkDRA(dra, r.g.T4Dict())); err != nil {
				b.Fatal(err)
			}
		}
	}
	// What the outbox still owes when the last DRR is answered, and how
	// long it takes to deliver it: the drain of a backlog once DRRs stop.
	backlog := uint64(b.N) - r.g.Stats.Reports.Load()
	last := time.Now()
	if err := r.waitReports(uint64(b.N), procWait); err != nil {
		b.Fatal(err)
	}
	drain := time.Since(last)
	b.StopTimer()
	reportRate(b)
	b.ReportMetric(float64(backlog), "backlog")
	b.ReportMetric(float64(drain)/float64(time.Millisecond), "drain-ms")
	if err := r.checkTriggered(uint64(b.N)); err != nil {
		b.Fatal(err)
	}
	r.checkOpen(b, 0)
}

// TestTriggerProcedureInMemory runs the benchmarks' rig with checking
// peers: concurrent triggers are accepted (the HSS and SMS-SC see what the
// procedure must send them), each DRR is answered and becomes exactly one
// successful DNR to the SCS, and the store ends empty.
func TestTriggerProcedureInMemory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bolt     bool
		hssCache time.Duration
	}{{"memory", false, 0}, {"bolt", true, 0}, {"memory-hss-cache", false, time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newProcRig(t, procOptions{bolt: tc.bolt, verify: true, outbox: true, hssCache: tc.hssCache})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			const n = 8
			refs := make(chan uint32, n)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					dar, err := r.newDAR()
					if err != nil {
						errs <- err
						return
					}
					ref, ans, err := r.trigger(ctx, dar)
					if err == nil {
						err = checkDAA(ans, r.g.TspDict(), ref)
					}
					if err != nil {
						errs <- fmt.Errorf("trigger %d: %w", ref, err)
						return
					}
					refs <- ref
				})
			}
			wg.Wait()
			close(errs)
			close(refs)
			for err := range errs {
				t.Error(err)
			}
			if t.Failed() {
				t.FailNow()
			}
			if err := r.checkTriggered(n); err != nil {
				t.Fatal(err)
			}
			// Without the cache one SIR per trigger; with it, one per miss
			// (concurrent first triggers may all miss).
			sirs := r.hss.sirs.Load()
			if tc.hssCache == 0 && sirs != n {
				t.Errorf("%d SIRs for %d triggers", sirs, n)
			}
			if hits, misses := r.g.Stats.HSSCacheHits.Load(), r.g.Stats.HSSCacheMisses.Load(); tc.hssCache > 0 &&
				(sirs < 1 || misses != sirs || hits+misses != n) {
				t.Errorf("%d SIRs, %d cache hits and %d misses for %d triggers", sirs, hits, misses, n)
			}
			if dtrs := r.smsc.dtrs.Load(); dtrs != n {
				t.Errorf("%d DTRs for %d triggers", dtrs, n)
			}
			r.checkOpen(t, n)

			// Each record names the SMS-SC that took its DTR.
			var sent []uint32
			for ref := range refs {
				rec, err := r.store.Get(ctx, procSCS.OriginHost, ref)
				if err != nil {
					t.Fatalf("trigger %d: %v", ref, err)
				}
				if rec.SMSC != procSMSC.OriginHost || rec.IMSI != procIMSI || rec.State != TriggerAccepted {
					t.Errorf("trigger %d stored as SMSC %q, IMSI %q, state %s", ref, rec.SMSC, rec.IMSI, rec.State)
				}
				sent = append(sent, ref)
			}

			// Delivery reports: DRR → DRA at once, then DNR → DNA closes.
			drr := r.mustDRR(t)
			for _, ref := range sent {
				dra, err := r.report(ctx, drr, ref)
				if err == nil {
					err = checkDRA(dra, r.g.T4Dict())
				}
				if err != nil {
					t.Fatalf("DRR %d: %v", ref, err)
				}
			}
			if err := r.waitReports(n, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			r.checkOpen(t, 0)
			if err := r.checkTriggered(n); err != nil {
				t.Fatal(err)
			}
			r.scs.mu.Lock()
			got := r.scs.got
			r.scs.mu.Unlock()
			for _, ref := range sent {
				if got[ref] != 1 {
					t.Errorf("trigger %d: %d DNRs, want 1", ref, got[ref])
				}
			}
			if len(got) != len(sent) {
				keys := make([]uint32, 0, len(got))
				for k := range got {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				t.Errorf("DNRs for %v, want %v", keys, sent)
			}
		})
	}
}

// TestOutboxSendsEachReportOnce: a backlog of several outbox batches, fed
// while deliveries finish, gets exactly one DNR per trigger (a pass that
// read the store before a delivery closed its trigger must not send that
// report again) and drains completely.
func TestOutboxSendsEachReportOnce(t *testing.T) {
	r := newProcRig(t, procOptions{outbox: true, verify: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 3*outboxBatch + 17
	dar := r.mustDAR(t)
	refs := make([]uint32, 0, n)
	for range n {
		ref, daa, err := r.trigger(ctx, dar)
		if err == nil {
			err = checkDAA(daa, r.g.TspDict(), ref)
		}
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		drr := r.mustDRR(t) // one per goroutine: with() rewrites it
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				if _, err := r.report(ctx, drr, refs[i]); err != nil {
					t.Errorf("DRR %d: %v", refs[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := r.waitReports(n, 20*time.Second); err != nil {
		for _, ref := range refs {
			if rec, gerr := r.store.Get(ctx, procSCS.OriginHost, ref); gerr == nil {
				t.Logf("still open: %d state %s attempts %d next %v", ref, rec.State, rec.ReportAttempts, rec.NextAttemptAt)
			}
		}
		t.Fatal(err)
	}
	r.checkOpen(t, 0)
	r.scs.mu.Lock()
	defer r.scs.mu.Unlock()
	for _, ref := range refs {
		if c := r.scs.got[ref]; c != 1 {
			t.Errorf("trigger %d: %d DNRs, want 1", ref, c)
		}
	}
}

// TestTransactionLogMasksIdentities: the DAR's one log line names the UE
// and the IMSI only masked (they are masked when the line is written, not
// per DAR).
func TestTransactionLogMasksIdentities(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	r := newProcRig(t, procOptions{logger: zap.New(core)})
	ref, ans, err := r.trigger(context.Background(), r.mustDAR(t))
	if err == nil {
		err = checkDAA(ans, r.g.TspDict(), ref)
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := logs.FilterMessage("device action").All()
	if len(lines) != 1 {
		t.Fatalf("%d \"device action\" lines, want 1", len(lines))
	}
	f := lines[0].ContextMap()
	if ue, imsi := f["ue"], f["imsi"]; ue != security.MaskExternalID(procUE) || imsi != security.MaskIMSI(procIMSI) {
		t.Fatalf("log line has ue %q, imsi %q; want them masked (%q, %q)", ue, imsi,
			security.MaskExternalID(procUE), security.MaskIMSI(procIMSI))
	}
	if f["scs"] != procSCS.OriginHost {
		t.Fatalf("log line has scs %q, want %q", f["scs"], procSCS.OriginHost)
	}
}

// getFailStore is a MemoryStore whose Get fails for one Reference-Number.
type getFailStore struct {
	*MemoryStore
	failRef uint32
}

func (s *getFailStore) Get(ctx context.Context, scs string, ref uint32) (*Trigger, error) {
	if ref == s.failRef {
		return nil, errors.New("disk on fire")
	}
	return s.MemoryStore.Get(ctx, scs, ref)
}

// TestReplaceNewReference: a replacement's new Reference-Number that an
// open trigger holds is a replace failure naming it; one whose state cannot
// be read is a temporary error naming it, and neither the HSS nor the
// SMS-SC is asked (the store read error used to be ignored).
func TestReplaceNewReference(t *testing.T) {
	const failRef = 1000
	mem := NewMemoryStore()
	t.Cleanup(func() { _ = mem.Close() })
	r := newProcRig(t, procOptions{store: &getFailStore{MemoryStore: mem, failRef: failRef}})
	ctx := context.Background()
	dar := r.mustDAR(t)
	var open []uint32
	for range 2 {
		ref, ans, err := r.trigger(ctx, dar)
		if err == nil {
			err = checkDAA(ans, r.g.TspDict(), ref)
		}
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, ref)
	}
	for _, tc := range []struct {
		newRef     uint32
		wantStatus tsp.RequestStatus
		wantReason string
	}{
		{open[1], tsp.StatusReplaceFail, fmt.Sprintf("Reference-Number %d is already used", open[1])},
		{failRef, tsp.StatusTemporaryError, fmt.Sprintf("state of Reference-Number %d could not be read", failRef)},
	} {
		sirs, dtrs := r.hss.sirs.Load(), r.smsc.dtrs.Load()
		daa := r.act(t, tsp.DeviceTriggerReplace, tc.newRef, open[0])
		if st := daa.DeviceNotification.RequestStatus; st == nil || *st != tc.wantStatus || !strings.Contains(daa.ErrorMessage, tc.wantReason) {
			t.Errorf("replace with new reference %d: Request-Status %v %q, want %s %q", tc.newRef, st, daa.ErrorMessage, tc.wantStatus, tc.wantReason)
		}
		if r.hss.sirs.Load() != sirs || r.smsc.dtrs.Load() != dtrs {
			t.Errorf("replace with new reference %d: the HSS or SMS-SC was asked", tc.newRef)
		}
	}
	r.checkOpen(t, 2)
}

// act sends a replace or recall DAR of ref for oldRef and returns the
// decoded DAA.
func (r *procRig) act(t *testing.T, action tsp.ActionType, ref, oldRef uint32) *tsp.DAA {
	t.Helper()
	req := tsp.DAR{
		Routing: core.Routing{OriginHost: procSCS.OriginHost, OriginRealm: procSCSRealm,
			DestinationHost: procIWF.OriginHost, DestinationRealm: procIWF.OriginRealm},
		DeviceAction: tsp.DeviceAction{
			ExternalIdentifier: procUE, SCSIdentity: procSCSIdentity,
			ReferenceNumber: ref, OldReferenceNumber: new(oldRef), ActionType: action,
		},
	}
	if action == tsp.DeviceTriggerReplace {
		req.DeviceAction.TriggerData = &tsp.TriggerData{Payload: procPayload}
	}
	m, err := req.Message(r.g.TspDict())
	if err != nil {
		t.Fatal(err)
	}
	ans, err := r.g.ServeDiameter(context.Background(), r.tsp, m)
	if err != nil {
		t.Fatal(err)
	}
	daa, pe := tsp.DecodeDAA(ans)
	if pe != nil {
		t.Fatal(pe)
	}
	return daa
}

// TestReplaceThenRecall: a replace sends the SMS-SC a DTR with Trigger-Action
// REPLACE naming the old reference, closes the old trigger and opens the
// new one; a recall sends RECALL without payload and closes it.
func TestReplaceThenRecall(t *testing.T) {
	r := newProcRig(t, procOptions{})
	var got []*t4.DTR
	r.smsc.onDTR = func(m *godiam.Message) {
		dtr, pe := t4.DecodeDTR(m)
		if pe != nil {
			t.Errorf("DTR refused: %v", pe)
			return
		}
		got = append(got, dtr)
	}
	ctx := context.Background()
	old, ans, err := r.trigger(ctx, r.mustDAR(t))
	if err == nil {
		err = checkDAA(ans, r.g.TspDict(), old)
	}
	if err != nil {
		t.Fatal(err)
	}
	ok := func(what string, daa *tsp.DAA) {
		t.Helper()
		if st := daa.DeviceNotification.RequestStatus; st == nil || *st != tsp.StatusSuccess {
			t.Fatalf("%s: Request-Status %v %q", what, st, daa.ErrorMessage)
		}
	}
	checkDTR := func(what string, action t4.TriggerAction, ref, oldRef uint32, payload bool) {
		t.Helper()
		d := got[len(got)-1]
		if d.TriggerAction == nil || *d.TriggerAction != action || d.ReferenceNumber == nil || *d.ReferenceNumber != ref ||
			d.OldReferenceNumber == nil || *d.OldReferenceNumber != oldRef || (len(d.Payload) > 0) != payload ||
			d.UserIdentifier.IMSI != procIMSI {
			t.Fatalf("%s: DTR %+v", what, d)
		}
	}
	const repl = 500
	ok("replace", r.act(t, tsp.DeviceTriggerReplace, repl, old))
	checkDTR("replace", t4.Replace, repl, old, true)
	if _, err := r.store.Get(ctx, procSCS.OriginHost, old); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replaced trigger %d: Get = %v, want closed", old, err)
	}
	r.checkOpen(t, 1)
	ok("recall", r.act(t, tsp.DeviceTriggerRecall, repl+1, repl))
	checkDTR("recall", t4.Recall, repl+1, repl, false)
	r.checkOpen(t, 0)
	if len(got) != 3 {
		t.Fatalf("%d DTRs, want 3", len(got))
	}
}
