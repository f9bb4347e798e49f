package diam

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ErrServerClosed is returned by Serve after Shutdown (like net/http).
var ErrServerClosed = errors.New("diameter server closed")

// Server accepts Diameter peers over TLS at connect (RFC 6733 2.1, 13):
// it completes the TLS handshake itself under a deadline (go-diameter sets
// none, go-diameter.md §1), caps connections in total and per source IP,
// then runs each connection's capabilities exchange, watchdog and requests.
type Server struct {
	Config
	TLSConfig *tls.Config
	// HandshakeTimeout bounds the TLS handshake; default 5 s.
	HandshakeTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP cap concurrent connections
	// (defaults 1024 and 64); beyond them a new connection is closed at once.
	MaxConnections      int
	MaxConnectionsPerIP int
	// HandshakeFailed, when set, is called with the error of every TLS
	// handshake that failed (metrics classify it; diam does not import
	// security).
	HandshakeFailed func(error)

	Stats Stats

	initOnce sync.Once
	cfg      Config
	dups     *dupCache
	ctx      context.Context
	cancel   context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	perIP     map[string]int
	total     int
	closing   bool
	connWG    sync.WaitGroup
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.cfg = s.Config.withDefaults()
		if s.HandshakeTimeout <= 0 {
			s.HandshakeTimeout = DefaultHandshakeTimeout
		}
		if s.MaxConnections <= 0 {
			s.MaxConnections = DefaultMaxConnections
		}
		if s.MaxConnectionsPerIP <= 0 {
			s.MaxConnectionsPerIP = DefaultMaxConnsPerIP
		}
		s.dups = newDupCache(s.cfg.DuplicateWindow, s.cfg.DuplicateCacheSize, s.cfg.Now)
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*Conn]struct{})
		s.perIP = make(map[string]int)
	})
}

// Serve accepts connections on l (a plain TCP listener: the server does
// the TLS handshake) until Shutdown. It returns ErrServerClosed then, or the
// accept error (wrapping net.ErrClosed) when l was closed by someone else.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if s.cfg.Admitter == nil {
		return errors.New("diam: Server.Admitter is required")
	}
	if s.cfg.App.Dict == nil {
		return errors.New("diam: Server.App.Dict is required")
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				// Closed without Shutdown: it will never accept again.
				return fmt.Errorf("accept on %s: %w", l.Addr(), err)
			}
			// EMFILE and friends: back off instead of spinning; a timeout
			// is retried without a log line.
			if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
				s.cfg.Logger.Error("accept failed", zap.Error(err))
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.Stats.Accepted.Add(1)
		ip := remoteIP(nc)
		if !s.reserve(ip) {
			s.Stats.RefusedConnLimit.Add(1)
			s.cfg.Logger.Warn("connection refused: connection limit reached", zap.String("peer_addr", nc.RemoteAddr().String()),
				zap.Int("max_connections", s.MaxConnections), zap.Int("max_connections_per_ip", s.MaxConnectionsPerIP))
			_ = nc.Close()
			continue
		}
		s.connWG.Add(1)
		go s.handle(nc, ip)
	}
}

func remoteIP(nc net.Conn) string {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(nc.RemoteAddr().String())
	if err != nil {
		return nc.RemoteAddr().String()
	}
	return host
}

func (s *Server) reserve(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.total >= s.MaxConnections || s.perIP[ip] >= s.MaxConnectionsPerIP {
		return false
	}
	s.total++
	s.perIP[ip]++
	return true
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// handle runs one accepted connection: TLS handshake under a deadline,
// then the Diameter connection until it closes.
func (s *Server) handle(raw net.Conn, ip string) {
	defer s.connWG.Done()
	defer s.release(ip)
	log := s.cfg.Logger.With(zap.String("peer_addr", raw.RemoteAddr().String()))
	nc := raw
	if s.TLSConfig != nil {
		tc := tls.Server(raw, s.TLSConfig)
		ctx, cancel := context.WithTimeout(s.ctx, s.HandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.Stats.RefusedHandshakes.Add(1)
			if s.HandshakeFailed != nil {
				s.HandshakeFailed(err)
			}
			// A certificate refusal from the security package carries its
			// rule as structured fields (zapcore.ObjectMarshaler); diam does
			// not import security, so it only asks for the interface.
			var detail zapcore.ObjectMarshaler
			if errors.As(err, &detail) {
				log.Warn("TLS handshake refused", zap.Error(err), zap.Object("cert", detail))
			} else {
				log.Warn("TLS handshake refused", zap.Error(err))
			}
			_ = raw.Close()
			return
		}
		nc = tc
	}
	c := newConn(nc, &s.cfg, &s.Stats, s.dups, s.ctx)
	c.state.Store(int32(stateWaitCER))
	// A peer that completes TLS but never sends a CER is dropped after
	// CERTimeout (RFC 6733 5.6 leaves the timer to the implementation).
	_ = nc.SetReadDeadline(s.cfg.Now().Add(s.cfg.CERTimeout))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.onClose = func(c *Conn) {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
	go c.writeLoop()
	c.readLoop()
	// Wait for the handlers of this connection so Shutdown's wait covers
	// in-flight work even when the peer hung up first.
	c.handlers.Wait()
}

// Conns returns the open connections (for routing DNRs and for tests).
func (s *Server) Conns() []*Conn {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// ConnFor returns an open connection on which a request for peer host can
// be sent: the peer's own connection if it has one, else the connection of
// an agent that carries that host (TS 29.368 6.3.2), else nil. Among several,
// the most recently opened wins (an SCS that reconnected has a stale one
// until its watchdog notices).
func (s *Server) ConnFor(host string) *Conn {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	var own, agent *Conn
	for c := range s.conns {
		b := c.binding.Load()
		if b == nil || peerState(c.state.Load()) != stateOpen {
			continue
		}
		switch {
		case strings.EqualFold(b.OriginHost, host):
			if own == nil || c.openedAt.After(own.openedAt) {
				own = c
			}
		case b.Originators[host]:
			if agent == nil || c.openedAt.After(agent.openedAt) {
				agent = c
			}
		}
	}
	if own != nil {
		return own
	}
	return agent
}

// Shutdown stops accepting, sends DPR (REBOOTING) to every open peer, waits
// for DPAs and in-flight requests until ctx ends, then closes everything.
// Serve returns ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		_ = l.Close()
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Disconnect(ctx, DisconnectRebooting)
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		for _, c := range s.Conns() {
			_ = c.Close()
		}
		<-done
	}
	s.cancel()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
