package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
	"github.com/mtciwf/mtciwf/iwf"
	"github.com/mtciwf/mtciwf/security"
	"github.com/mtciwf/mtciwf/security/policy"
)

// serve runs the daemon until ctx is cancelled (SIGTERM/SIGINT), then shuts
// down gracefully: stop accepting, DPR to every peer, wait for in-flight work
// up to shutdown.grace_period, exit.
func serve(ctx context.Context, cfg *Config, log *zap.Logger) error {
	return runDaemon(ctx, cfg, log, nil)
}

// running is what a started daemon exposes to its tests.
type running struct {
	TspAddr   net.Addr
	Store     iwf.Store
	HSS, SMSC *diam.Pool
	Gateway   *iwf.Gateway
	AdminAddr net.Addr // nil when admin.listen is ""
	Registry  *prometheus.Registry
}

// runDaemon is serve with a hook that receives the running daemon once it
// accepts connections (tests listen on port 0).
func runDaemon(ctx context.Context, cfg *Config, log *zap.Logger, ready func(*running)) error {
	// The wiring follows DESIGN.md's request path: 1 transport (TLS profile,
	// revocation), 2 capabilities exchange (peer table), 3 frame guard and
	// bindings (diam), 4 decode/validate (dictionary), then the procedure.
	// Every package's metrics go on this registry, served by the admin
	// listener.
	reg := newRegistry()
	secMetrics := security.NewMetrics()
	policyMetrics := policy.NewMetrics()
	reg.MustRegister(secMetrics, policyMetrics)
	// The TLS material (certificate, key, trust anchors, CRLs) is reloaded
	// when its files change and on SIGHUP: new handshakes use the new
	// material, established connections keep theirs.
	tlsOpts := security.ServerTLSOptions{
		CertFile:      cfg.Tsp.TLS.CertFile,
		KeyFile:       cfg.Tsp.TLS.KeyFile,
		ClientCAFiles: cfg.Tsp.TLS.ClientCAFiles,
		CRLFiles:      cfg.Tsp.TLS.CRLFiles,
	}
	if f := cfg.Tsp.TLS.KeyLogFile; f != "" {
		kl, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("tsp.tls.key_log_file: %w", err)
		}
		defer kl.Close()
		tlsOpts.KeyLogWriter = kl
		log.Warn("!!! TLS KEY LOG ENABLED: the secrets of every Tsp session are written to this file; "+
			"anyone who reads it can decrypt every trigger. Debugging only: remove tsp.tls.key_log_file and restart.",
			zap.String("key_log_file", f))
	}
	serverTLS, err := security.NewReloadableServerTLS(tlsOpts, log.Named("tls"))
	if err != nil {
		return fmt.Errorf("tsp.tls: %w", err)
	}
	defer serverTLS.Close()
	if err := serverTLS.Watch(ctx); err != nil {
		return fmt.Errorf("tsp.tls: watch: %w", err)
	}
	tlsCfg := serverTLS.Config()

	peerConfigs := make([]security.PeerConfig, 0, len(cfg.Tsp.Peers))
	for _, p := range cfg.Tsp.Peers {
		peerConfigs = append(peerConfigs, security.PeerConfig{OriginHost: p.OriginHost, OriginRealm: p.OriginRealm,
			Kind: security.PeerKind(p.Kind), SCSOriginHosts: p.SCSOriginHosts})
	}
	peers, err := security.NewPeerTable(peerConfigs)
	if err != nil {
		return fmt.Errorf("tsp.peers: %w", err)
	}

	// Durable trigger state (step 7): opened before anything can accept a
	// trigger; open triggers and owed reports survive restarts here.
	store, err := iwf.OpenBoltStore(cfg.StorePath(), iwf.BoltOptions{Linger: cfg.StoreCommitLinger})
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	defer store.Close()

	identity := diam.Identity{
		OriginHost:  cfg.Identity.OriginHost,
		OriginRealm: cfg.Identity.OriginRealm,
		// RFC 6733 8.16: a value that grows with each restart.
		OriginStateID: uint32(time.Now().Unix()),
		ProductName:   "mtciwf",
	}
	// Step 5: the authorization policy (per SCS, per UE, per service per
	// UE, rate and quota), reloaded when its file changes and on SIGHUP; an
	// invalid edit keeps the previous policy in force.
	watcher, err := policy.NewWatcher(cfg.PolicyFile, log.Named("policy"))
	if err != nil {
		return fmt.Errorf("policy_file: %w", err)
	}
	defer watcher.Close()
	watcher.Reloaded = policyMetrics.Reloaded
	limiter := policy.NewLimiter(store, nil) // quota counts live in the store: they survive restarts
	auth := &iwf.PolicyAuthorizer{Current: watcher.Current, Limiter: limiter, Audit: log.Named("audit")}

	// The core side: S6m to the HSS, T4 to the SMS-SC (steps 6 and 8).
	hss, err := corePool("hss", cfg.HSS, identity, dictionaries.AppS6m, dictionaries.S6m, log)
	if err != nil {
		return err
	}
	smsc, err := corePool("smsc", cfg.SMSC.CoreConfig, identity, dictionaries.AppT4, dictionaries.T4, log)
	if err != nil {
		return err
	}
	iwfMetrics := iwf.NewMetrics(store)
	reg.MustRegister(iwfMetrics)
	gw, err := iwf.New(iwf.Config{
		Identity:        identity,
		Authorizer:      auth,
		HSSRealm:        cfg.HSS.DestinationRealm,
		SMSCRealm:       cfg.SMSC.DestinationRealm,
		MaxPayloadBytes: cfg.Triggers.MaxPayloadBytes,
		MaxValidity:     cfg.Triggers.MaxValidity,
		DefaultValidity: cfg.Triggers.DefaultValidity,
		RecallReplace:   cfg.SMSC.RecallReplace,
		ExpiryGrace:     cfg.Triggers.ExpiryGrace,
		ReportRetryMin:  cfg.Triggers.ReportRetryMin,
		ReportRetryMax:  cfg.Triggers.ReportRetryMax,
		Logger:          log.Named("iwf"),
		Metrics:         iwfMetrics,
	}, store, hss, smsc)
	if err != nil {
		return fmt.Errorf("iwf: %w", err)
	}
	// The SMS-SC's delivery reports arrive on the T4 connections we dial.
	smsc.SetHandler(gw.T4Handler())
	hss.Start()
	smsc.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.GracePeriod)
		defer cancel()
		hss.Close(ctx)
		smsc.Close(ctx)
	}()
	tspDict := gw.TspDict()

	srv := &diam.Server{
		Config: diam.Config{
			Identity: identity,
			App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: tspDict},
			Limits:   diam.FrameLimits{MaxMessageSize: cfg.Tsp.MaxMessageSize, MaxDepth: cfg.Tsp.MaxAVPDepth, MaxAVPs: cfg.Tsp.MaxAVPs},
			Handler:  gw,
			Admitter: &iwf.PolicyAdmitter{Base: peers, Current: watcher.Current},

			WatchdogInterval:   cfg.Tsp.WatchdogInterval,
			CERTimeout:         cfg.Tsp.CERTimeout,
			WriteTimeout:       cfg.Tsp.WriteTimeout,
			MaxInFlight:        cfg.Tsp.MaxInFlightPerConnection,
			DuplicateWindow:    cfg.Tsp.DuplicateWindow,
			DuplicateCacheSize: cfg.Tsp.DuplicateCacheSize,
			Logger:             log.Named("tsp"),
		},
		TLSConfig:           tlsCfg,
		HandshakeTimeout:    cfg.Tsp.TLS.HandshakeTimeout,
		MaxConnections:      cfg.Tsp.MaxConnections,
		MaxConnectionsPerIP: cfg.Tsp.MaxConnectionsPerIP,
		HandshakeFailed:     secMetrics.HandshakeFailed,
	}
	reg.MustRegister(diam.NewCollector(srv, hss, smsc))

	gw.SetSCSConns(srv)
	// A reload that drops a peer from the policy disconnects it (DPR);
	// everything else applies to the next request, in-flight ones finish
	// under the policy they started with.
	watcher.OnChange = func(old, new *policy.Policy) {
		limiter.Sync(new)
		gw.PolicyReloaded() // cached HSS answers do not outlive their policy
		removed := policy.RemovedPeers(old, new)
		log.Info("authorization policy reloaded", zap.Int("rules", new.Rules()), zap.Strings("peers_removed", removed))
		for _, c := range srv.Conns() {
			if b := c.Binding(); b != nil && slices.Contains(removed, strings.ToLower(b.OriginHost)) {
				go func() {
					dctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.GracePeriod)
					defer cancel()
					_ = c.Disconnect(dctx, diam.DisconnectDoNotWantToTalkToYou)
				}()
			}
		}
	}
	if err := watcher.Watch(ctx, log.Named("policy")); err != nil {
		return fmt.Errorf("policy_file: watch: %w", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				// Everything reloadable; each reload logs its problems and
				// keeps the previous version in force.
				log.Info("SIGHUP: reloading the authorization policy and the TLS material")
				_ = watcher.Reload()
				_ = serverTLS.Reload()
			case <-ctx.Done():
				return
			}
		}
	}()
	l, err := net.Listen("tcp", cfg.Tsp.Listen)
	if err != nil {
		return fmt.Errorf("tsp.listen: %w", err)
	}
	// The outbox: delivery reports owed to SCSs (reloaded from the store
	// after a restart) and the expiry sweep.
	outboxCtx, stopOutbox := context.WithCancel(context.Background())
	outboxDone := make(chan struct{})
	go func() { defer close(outboxDone); gw.Run(outboxCtx) }()
	defer func() { stopOutbox(); <-outboxDone }()
	log.Info("Tsp listening (Diameter over TLS, mutual authentication)",
		zap.String("addr", l.Addr().String()), zap.String("origin_host", cfg.Identity.OriginHost),
		zap.Int("peers", len(cfg.Tsp.Peers)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	var tspUp atomic.Bool
	tspUp.Store(true)
	admin, err := startAdmin(cfg.Admin, reg, func(ctx context.Context) []string {
		return notReady(ctx, tspUp.Load(), store, hss, smsc)
	}, log.Named("admin"))
	if err != nil {
		_ = l.Close()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.GracePeriod)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return err
	}
	defer func() {
		actx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.GracePeriod)
		defer cancel()
		_ = admin.shutdown(actx)
	}()
	if ready != nil {
		r := &running{TspAddr: l.Addr(), Store: store, HSS: hss, SMSC: smsc, Gateway: gw, Registry: reg}
		if admin != nil {
			r.AdminAddr = admin.addr
		}
		ready(r)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("tsp: %w", err)
	case <-ctx.Done():
	}
	tspUp.Store(false)
	log.Info("shutting down: DPR to every peer, then waiting for in-flight requests",
		zap.Duration("grace_period", cfg.Shutdown.GracePeriod))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.GracePeriod)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown was not clean", zap.Error(err))
	}
	if err := <-errc; !errors.Is(err, diam.ErrServerClosed) {
		return fmt.Errorf("tsp: %w", err)
	}
	log.Info("stopped")
	return nil
}

// coreMaxInFlight bounds the requests a core peer (the SMS-SC's DRRs) may
// have in flight on one connection we dialled.
const coreMaxInFlight = 8192

// corePool builds the pool of one core role (application app, dictionary
// from loadDict) from its config: ordered peers, TLS per peer when
// configured (trust anchors from its ca_files only; the certificate must
// name origin_host), plain TCP otherwise.
func corePool(name string, cc CoreConfig, id diam.Identity, app uint32, loadDict func() (*dict.Parser, error), log *zap.Logger) (*diam.Pool, error) {
	d, err := loadDict()
	if err != nil {
		return nil, err
	}
	var peers []diam.CorePeer
	for i, p := range cc.Peers {
		cp := diam.CorePeer{Host: p.OriginHost, Addr: p.Address}
		if p.TLS != nil {
			t, err := security.NewClientTLS(security.ClientTLSOptions{CertFile: p.TLS.CertFile, KeyFile: p.TLS.KeyFile,
				RootCAFiles: p.TLS.CAFiles, ServerName: p.OriginHost})
			if err != nil {
				return nil, fmt.Errorf("%s.peers[%d].tls: %w", name, i, err)
			}
			cp.TLS = t
		}
		peers = append(peers, cp)
	}
	return diam.NewPool(diam.PoolConfig{
		Name:  name,
		Peers: peers,
		Conn: diam.Config{
			Identity: id,
			App:      diam.Application{ID: app, VendorID: dictionaries.VendorID3GPP, Dict: d},
			Logger:   log.Named(name),
			// The core side is one connection per peer carrying every
			// trigger's DRR: 256 in flight (the Tsp default, per SCS
			// connection) is reached by a burst of delivery reports at a
			// few thousand triggers/s (BENCHMARKS.md), and an SMS-SC told
			// "too busy" retries, which costs more than it saves.
			MaxInFlight: coreMaxInFlight,
		},
		RequestTimeout: cc.RequestTimeout,
	}), nil
}

// notReady lists what keeps the daemon from serving triggers (/readyz): the
// Tsp listener, the store, at least one HSS and one SMS-SC peer up.
func notReady(ctx context.Context, tspUp bool, store iwf.Store, hss, smsc *diam.Pool) []string {
	var missing []string
	if !tspUp {
		missing = append(missing, "Tsp listener not up")
	}
	if _, err := store.Open(ctx); err != nil {
		missing = append(missing, "store not readable: "+err.Error())
	}
	if len(hss.Up()) == 0 {
		missing = append(missing, "no HSS peer up")
	}
	if len(smsc.Up()) == 0 {
		missing = append(missing, "no SMS-SC peer up")
	}
	return missing
}
