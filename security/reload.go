package security

import (
	"context"
	"crypto/tls"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// ServerTLS is a server TLS configuration whose material — our certificate
// and key, the client trust anchors and their CRLs — can be replaced without a
// restart: each new handshake takes the material in force when it starts
// (tls.Config.GetConfigForClient), established connections keep theirs.
// A reload that fails (unreadable file, a certificate that fails our own
// profile, a CA file without CA certificates) keeps the previous material and
// says why. Safe for concurrent use.
type ServerTLS struct {
	opts ServerTLSOptions
	log  *zap.Logger
	base *tls.Config

	mu  sync.Mutex // one reload at a time
	cur atomic.Pointer[serverMaterial]

	watch    FileWatch
	watchCtx context.Context // set by Watch; new CRL sets are watched under it
	stop     context.CancelFunc
}

type serverMaterial struct {
	cfg *tls.Config
	rev *Revocation
}

// NewReloadableServerTLS loads the material as NewServerTLS does (and fails
// as it does).
func NewReloadableServerTLS(o ServerTLSOptions, log *zap.Logger) (*ServerTLS, error) {
	if log == nil {
		log = zap.NewNop()
	}
	cfg, rev, err := NewServerTLS(o, log)
	if err != nil {
		return nil, err
	}
	s := &ServerTLS{opts: o, log: log}
	s.cur.Store(&serverMaterial{cfg: cfg, rev: rev})
	// The listener's config only hands every handshake the material in
	// force; versions are repeated so a ClientHello outside them is refused
	// before GetConfigForClient runs.
	s.base = &tls.Config{
		MinVersion: cfg.MinVersion,
		MaxVersion: cfg.MaxVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load().cfg, nil
		},
	}
	return s, nil
}

// Config is the configuration to give the listener.
func (s *ServerTLS) Config() *tls.Config { return s.base }

// Revocation is the CRL set in force (tests and metrics).
func (s *ServerTLS) Revocation() *Revocation { return s.cur.Load().rev }

// Reload reads every file again. On success the new material serves the next
// handshake and the old CRL watch stops; on failure the old material stays
// and the error names the file.
func (s *ServerTLS) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, rev, err := NewServerTLS(s.opts, s.log)
	if err != nil {
		s.log.Error("TLS material reload failed; the previous certificate, trust anchors and CRLs stay in force", zap.Error(err))
		return err
	}
	if s.watchCtx != nil {
		if err := rev.Watch(s.watchCtx, s.log); err != nil {
			s.log.Warn("CRL watch of the reloaded material", zap.Error(err))
		}
	}
	old := s.cur.Swap(&serverMaterial{cfg: cfg, rev: rev})
	_ = old.rev.Close()
	s.log.Info("TLS material reloaded: new handshakes use it, established connections keep theirs",
		zap.String("cert_file", s.opts.CertFile))
	return nil
}

// Watch reloads when the certificate, key or trust-anchor files change
// (see FileWatch), and keeps the CRLs watched; it returns at once and runs
// until ctx ends or Close.
func (s *ServerTLS) Watch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := append([]string{s.opts.CertFile, s.opts.KeyFile}, s.opts.ClientCAFiles...)
	ctx, cancel := context.WithCancel(ctx)
	if err := s.watch.Start(ctx, "TLS material", files, 250*time.Millisecond,
		func() { _ = s.Reload() }, s.log); err != nil { // Reload logs its own outcome
		cancel()
		return err
	}
	if err := s.cur.Load().rev.Watch(ctx, s.log); err != nil {
		cancel()
		s.watch.Stop()
		return err
	}
	s.watchCtx, s.stop = ctx, cancel
	return nil
}

// Close stops Watch and the CRL watch of the material in force.
func (s *ServerTLS) Close() error {
	s.mu.Lock()
	stop := s.stop
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.watch.Stop()
	return s.cur.Load().rev.Close()
}
