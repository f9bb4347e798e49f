package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
	"github.com/mtciwf/mtciwf/security"
)

// Sim is the HSS and SMS-SC simulator. New builds it, Start listens, Close
// stops it (DPR to every connected MTC-IWF). Safe for concurrent use.
type Sim struct {
	cfg     Config
	log     *zap.Logger
	dir     *directory
	inj     *injector
	ctr     *counters
	stateID uint32
	hss     *diam.Server
	smsc    *diam.Server
	t4Dict  *dict.Parser // builds the DRRs
	tlsHSS  *tls.Config
	tlsSMSC *tls.Config
	revs    []*security.Revocation
	control *http.Server

	// ctx ends at Close: report loops and held (dropped) requests stop.
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // serve loops, report loops, the control server
	serveErr chan error     // first unexpected Serve error

	sessionSeq atomic.Uint64

	mu          sync.Mutex
	started     bool
	closed      bool
	pending     map[triggerKey]*trigger // accepted, not yet delivered
	reporting   int                     // delivered, DRA not yet received
	controlAddr net.Addr
	closeErr    error
	closeDone   chan struct{}
}

// New validates cfg and builds a simulator; nothing listens until Start.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dir, err := newDirectory(cfg.Subscribers)
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	s := &Sim{
		cfg:       cfg,
		log:       cfg.Logger,
		dir:       dir,
		inj:       newInjector(),
		ctr:       newCounters(),
		stateID:   uint32(time.Now().Unix()), // RFC 6733 8.16: grows with each restart
		pending:   map[triggerKey]*trigger{},
		serveErr:  make(chan error, 2),
		closeDone: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i, in := range cfg.Inject {
		if err := s.inj.add(in); err != nil {
			return nil, fmt.Errorf("inject[%d]: %w", i, err)
		}
	}
	if cfg.TLS != nil {
		if s.tlsHSS, err = s.serverTLS("hss", cfg.HSS); err != nil {
			return nil, err
		}
		if s.tlsSMSC, err = s.serverTLS("smsc", cfg.SMSC); err != nil {
			s.closeRevocations()
			return nil, err
		}
	}
	s6m, err := dictionaries.S6m()
	if err != nil {
		s.closeRevocations()
		return nil, err
	}
	t4, err := dictionaries.T4()
	if err != nil {
		s.closeRevocations()
		return nil, err
	}
	s.t4Dict = t4
	adm := newAdmitter(cfg.Peers)
	s.hss = &diam.Server{
		Config: s.diamConfig(cfg.HSS, diam.Application{ID: dictionaries.AppS6m, VendorID: dictionaries.VendorID3GPP, Dict: s6m},
			adm, diam.HandlerFunc(s.serveS6m), "hss"),
		TLSConfig: s.tlsHSS,
	}
	s.smsc = &diam.Server{
		Config: s.diamConfig(cfg.SMSC, diam.Application{ID: dictionaries.AppT4, VendorID: dictionaries.VendorID3GPP, Dict: t4},
			adm, diam.HandlerFunc(s.serveT4), "smsc"),
		TLSConfig: s.tlsSMSC,
	}
	return s, nil
}

func (s *Sim) diamConfig(ep Endpoint, app diam.Application, adm diam.PeerAdmitter, h diam.Handler, name string) diam.Config {
	return diam.Config{
		Identity: diam.Identity{
			OriginHost:    ep.OriginHost,
			OriginRealm:   s.cfg.Realm,
			OriginStateID: s.stateID,
			ProductName:   "mtciwf-coresim",
			VendorID:      dictionaries.VendorID3GPP,
		},
		App:              app,
		Handler:          h,
		Admitter:         adm,
		WatchdogInterval: s.cfg.WatchdogInterval,
		// A test rig must not be the one that says "too busy" first: one
		// MTC-IWF connection carries every trigger of a load test.
		MaxInFlight: coreMaxInFlight,
		Logger:      s.log.Named(name),
	}
}

// coreMaxInFlight bounds concurrent requests per connection on the
// simulator's endpoints.
const coreMaxInFlight = 8192

// serverTLS loads one endpoint's TLS configuration and checks that its
// certificate names the endpoint's Origin-Host, which the MTC-IWF will
// compare with the CEA.
func (s *Sim) serverTLS(name string, ep Endpoint) (*tls.Config, error) {
	cert, key := s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile
	if ep.CertFile != "" {
		cert, key = ep.CertFile, ep.KeyFile
	}
	cfg, rev, err := security.NewServerTLS(security.ServerTLSOptions{
		CertFile: cert, KeyFile: key, ClientCAFiles: s.cfg.TLS.CAFiles, CRLFiles: s.cfg.TLS.CRLFiles,
	}, s.log.Named(name+".tls"))
	if err != nil {
		return nil, fmt.Errorf("%s TLS: %w", name, err)
	}
	s.revs = append(s.revs, rev)
	leaf := cfg.Certificates[0].Leaf
	if !slices.ContainsFunc(leaf.DNSNames, func(n string) bool { return strings.EqualFold(n, ep.OriginHost) }) {
		return nil, fmt.Errorf("%s TLS: certificate %s does not name %q (dNSNames %v): the MTC-IWF would refuse the CEA",
			name, cert, ep.OriginHost, leaf.DNSNames)
	}
	return cfg, nil
}

func (s *Sim) closeRevocations() {
	for _, r := range s.revs {
		_ = r.Close()
	}
}

// Start listens on the HSS and SMS-SC addresses (and the control address
// when configured) and serves until Close, or until ctx ends, which closes
// the simulator as Close does.
func (s *Sim) Start(ctx context.Context) (hssAddr, smscAddr net.Addr, err error) {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return nil, nil, errors.New("sim: Start called twice or after Close")
	}
	s.started = true
	s.mu.Unlock()

	for _, r := range s.revs {
		if err := r.Watch(s.ctx, s.log.Named("crl")); err != nil {
			return nil, nil, fmt.Errorf("watch CRL files: %w", err)
		}
	}
	var lc net.ListenConfig
	hl, err := lc.Listen(ctx, "tcp", s.cfg.HSS.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("hss listen: %w", err)
	}
	sl, err := lc.Listen(ctx, "tcp", s.cfg.SMSC.Listen)
	if err != nil {
		_ = hl.Close()
		return nil, nil, fmt.Errorf("smsc listen: %w", err)
	}
	if s.cfg.ControlListen != "" {
		cl, err := lc.Listen(ctx, "tcp", s.cfg.ControlListen)
		if err != nil {
			_ = hl.Close()
			_ = sl.Close()
			return nil, nil, fmt.Errorf("control listen: %w", err)
		}
		s.mu.Lock()
		s.controlAddr = cl.Addr()
		s.mu.Unlock()
		s.control = &http.Server{Handler: s.ControlHandler(), ReadHeaderTimeout: 5 * time.Second}
		s.wg.Go(func() {
			if err := s.control.Serve(cl); !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("control endpoint stopped", zap.Error(err))
			}
		})
		s.log.Info("control endpoint listening", zap.String("addr", "http://"+cl.Addr().String()))
	}
	for _, x := range []struct {
		name string
		srv  *diam.Server
		l    net.Listener
		tls  bool
	}{{"hss", s.hss, hl, s.tlsHSS != nil}, {"smsc", s.smsc, sl, s.tlsSMSC != nil}} {
		transport := "TCP"
		if x.tls {
			transport = "TLS, client certificates required"
		}
		s.log.Info(x.name+" listening", zap.String("addr", x.l.Addr().String()),
			zap.String("origin_host", x.srv.Identity.OriginHost), zap.String("transport", transport),
			zap.Uint32("application", x.srv.App.ID))
		s.wg.Go(func() {
			if err := x.srv.Serve(x.l); !errors.Is(err, diam.ErrServerClosed) {
				s.log.Error(x.name+" stopped", zap.Error(err))
				s.serveErr <- fmt.Errorf("%s: %w", x.name, err)
			}
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.ctx.Done():
		}
	}()
	return hl.Addr(), sl.Addr(), nil
}

// ControlAddr is the bound control address, nil without one or before Start.
func (s *Sim) ControlAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.controlAddr
}

// Close sends DPR to every connected MTC-IWF, waits (up to
// Config.ShutdownTimeout) for in-flight requests, stops the control endpoint
// and the pending reports, and returns once everything has stopped. Triggers
// not yet reported are forgotten. A DPR exchange that fails is logged; the
// error is that of a listener that failed while serving. It is safe to call
// more than once.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.closeDone
		return s.closeErr
	}
	s.closed = true
	started := s.started
	for k, tr := range s.pending {
		tr.timer.Stop()
		delete(s.pending, k)
	}
	s.mu.Unlock()

	if started {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		var wg sync.WaitGroup
		for name, srv := range map[string]*diam.Server{"hss": s.hss, "smsc": s.smsc} {
			wg.Go(func() {
				// A peer that hung up first, or does not answer the DPR, is
				// the peer's business: logged, not an error of the simulator.
				if err := srv.Shutdown(ctx); err != nil {
					s.log.Warn(name+": DPR exchange incomplete", zap.Error(err))
				}
			})
		}
		// A held (dropped) request ends with its connection, so a peer that
		// never closes one keeps Shutdown waiting until ShutdownTimeout.
		// Report loops end when s.ctx does, after the DPRs are out.
		wg.Wait()
		cancel()
		if s.control != nil {
			cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.control.Shutdown(cctx)
			ccancel()
		}
	}
	s.cancel()
	s.wg.Wait()
	s.closeRevocations()
	select {
	case err := <-s.serveErr:
		s.closeErr = err
	default:
	}
	close(s.closeDone)
	if started {
		s.log.Info("coresim stopped")
	}
	return s.closeErr
}

// Counters returns a snapshot of the counters.
func (s *Sim) Counters() Counters {
	c := s.ctr.snapshot()
	s.mu.Lock()
	c.Pending = len(s.pending)
	c.Reporting = s.reporting
	s.mu.Unlock()
	return c
}

// ResetCounters sets every counter to zero (gauges keep their values).
func (s *Sim) ResetCounters() { s.ctr.reset() }

// Inject adds a failure; see Injection.
func (s *Sim) Inject(in Injection) error {
	if err := s.inj.add(in); err != nil {
		return err
	}
	s.log.Info("failure injected", zap.Stringer("injection", in))
	return nil
}

// ClearInjections removes the injections of target, or all when target is "".
func (s *Sim) ClearInjections(t Target) {
	s.inj.clear(t)
	s.log.Info("injections cleared", zap.String("target", string(t)))
}

// Injections lists the active injections, with what is left of their counts.
func (s *Sim) Injections() []Injection { return s.inj.list() }

// newSessionID builds a Session-Id for a request we originate (RFC 6733
// 8.8: "<DiameterIdentity>;<high 32 bits>;<low 32 bits>").
func (s *Sim) newSessionID(host string) string {
	return fmt.Sprintf("%s;%d;%d", host, s.stateID, s.sessionSeq.Add(1))
}
