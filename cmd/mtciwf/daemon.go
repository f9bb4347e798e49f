package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
	"github.com/mtciwf/mtciwf/iwf"
	"github.com/mtciwf/mtciwf/security"
)

// serve runs the daemon until ctx is cancelled (SIGTERM/SIGINT), then shuts
// down gracefully: stop accepting, DPR to every peer, wait for in-flight work
// up to shutdown.grace_period, exit.
func serve(ctx context.Context, cfg *Config, log *zap.Logger) error {
	return runDaemon(ctx, cfg, log, nil)
}

// runDaemon is serve with a hook that receives the bound Tsp address once the
// daemon accepts connections (tests listen on port 0).
func runDaemon(ctx context.Context, cfg *Config, log *zap.Logger, ready func(tsp net.Addr)) error {
	// The wiring follows DESIGN.md's request path: 1 transport (TLS profile,
	// revocation), 2 capabilities exchange (peer table), 3 frame guard and
	// bindings (diam), 4 decode/validate (dictionary), then the procedure.
	tlsCfg, revocation, err := security.NewServerTLS(security.ServerTLSOptions{
		CertFile:      cfg.Tsp.TLS.CertFile,
		KeyFile:       cfg.Tsp.TLS.KeyFile,
		ClientCAFiles: cfg.Tsp.TLS.ClientCAFiles,
		CRLFiles:      cfg.Tsp.TLS.CRLFiles,
	}, log.Named("tls"))
	if err != nil {
		return fmt.Errorf("tsp.tls: %w", err)
	}
	defer revocation.Close()
	if err := revocation.Watch(ctx, log.Named("crl")); err != nil {
		return fmt.Errorf("tsp.tls.crl_files: watch: %w", err)
	}

	peerConfigs := make([]security.PeerConfig, 0, len(cfg.Tsp.Peers))
	for _, p := range cfg.Tsp.Peers {
		peerConfigs = append(peerConfigs, security.PeerConfig{OriginHost: p.OriginHost, OriginRealm: p.OriginRealm,
			Kind: security.PeerKind(p.Kind), SCSOriginHosts: p.SCSOriginHosts})
	}
	peers, err := security.NewPeerTable(peerConfigs)
	if err != nil {
		return fmt.Errorf("tsp.peers: %w", err)
	}

	tspDict, err := dictionaries.Tsp()
	if err != nil {
		return fmt.Errorf("load Tsp dictionary: %w", err)
	}

	srv := &diam.Server{
		Config: diam.Config{
			Identity: diam.Identity{
				OriginHost:  cfg.Identity.OriginHost,
				OriginRealm: cfg.Identity.OriginRealm,
				// RFC 6733 8.16: a value that grows with each restart.
				OriginStateID: uint32(time.Now().Unix()),
				ProductName:   "mtciwf",
			},
			App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: tspDict},
			Limits:   diam.FrameLimits{MaxMessageSize: cfg.Tsp.MaxMessageSize, MaxDepth: cfg.Tsp.MaxAVPDepth, MaxAVPs: cfg.Tsp.MaxAVPs},
			Handler:  iwf.NotEnabled(),
			Admitter: peers,

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
	}

	l, err := net.Listen("tcp", cfg.Tsp.Listen)
	if err != nil {
		return fmt.Errorf("tsp.listen: %w", err)
	}
	log.Info("Tsp listening (Diameter over TLS, mutual authentication)",
		zap.String("addr", l.Addr().String()), zap.String("origin_host", cfg.Identity.OriginHost),
		zap.Int("peers", len(cfg.Tsp.Peers)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	if ready != nil {
		ready(l.Addr())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("tsp: %w", err)
	case <-ctx.Done():
	}
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
