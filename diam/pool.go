package diam

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"
)

// ErrNoPeer is returned by Pool.Request when no peer of the pool is open:
// the caller answers at once (e.g. Request-Status TEMPORARYERROR) instead of
// waiting.
var ErrNoPeer = errors.New("no core peer is available")

// CorePeer is one Diameter server the daemon dials (HSS, SMS-SC).
type CorePeer struct {
	// Host is the peer's expected Origin-Host; the CEA must carry it (and,
	// on TLS, the certificate must prove it). Empty accepts any.
	Host string
	// Addr is host:port.
	Addr string
	// TLS makes the connection TLS at connect; nil is plain TCP, allowed on
	// the core side inside the operator domain (NDS/IP, TS 33.210).
	TLS *tls.Config
}

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Name labels logs ("hss", "smsc").
	Name string
	// Peers in order of preference: the first open one takes requests.
	Peers []CorePeer
	// Conn is the connection configuration (identity, application,
	// handler for requests the peer sends us, e.g. DRR on T4).
	Conn Config
	// RequestTimeout bounds one attempt; default 5 s.
	RequestTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff; defaults
	// 100 ms and 30 s.
	ReconnectMin, ReconnectMax time.Duration
}

// Pool keeps connections to an ordered list of core peers: it dials each,
// reconnects with jittered exponential backoff when a connection drops
// (watchdog DOWN, peer DPR, transport error), and fails requests over: an
// attempt that times out or meets a dead connection is retried once on the
// next open peer with the T flag set (RFC 6733 5.5.4), keeping its
// End-to-End id so the server can detect the duplicate.
type Pool struct {
	cfg     PoolConfig
	log     *zap.Logger
	members []*member
	Stats   Stats

	cancel context.CancelFunc
	wg     sync.WaitGroup

	changeMu sync.Mutex
	changed  chan struct{} // closed and replaced whenever a peer goes up or down
}

type member struct {
	peer CorePeer
	mu   sync.Mutex
	conn *Conn
}

func (m *member) get() *Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conn
}

// set records m's connection (nil when down) and wakes WaitUp.
func (p *Pool) set(m *member, c *Conn) {
	m.mu.Lock()
	m.conn = c
	m.mu.Unlock()
	p.changeMu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.changeMu.Unlock()
}

// NewPool builds a pool; Start dials.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 100 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	cfg.Conn = cfg.Conn.withDefaults() // once (Logger included), not at every reconnect
	p := &Pool{cfg: cfg, log: cfg.Conn.Logger.With(zap.String("pool", cfg.Name)), changed: make(chan struct{})}
	for _, peer := range cfg.Peers {
		p.members = append(p.members, &member{peer: peer})
	}
	return p
}

// SetHandler sets the handler for requests the peers send us (e.g. DRR on
// T4); call it before Start.
func (p *Pool) SetHandler(h Handler) { p.cfg.Conn.Handler = h }

// Start dials every peer in the background and keeps them connected until
// Close.
func (p *Pool) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for _, m := range p.members {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.maintain(ctx, m)
		}()
	}
}

func (p *Pool) maintain(ctx context.Context, m *member) {
	backoff := p.cfg.ReconnectMin
	log := p.log.With(zap.String("peer", m.peer.Addr))
	for {
		dctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout+DefaultHandshakeTimeout)
		c, err := Dial(dctx, "tcp", m.peer.Addr, p.cfg.Conn, DialOptions{TLSConfig: m.peer.TLS, Stats: &p.Stats})
		cancel()
		if err == nil && m.peer.Host != "" {
			if b := c.Binding(); b == nil || !strings.EqualFold(b.OriginHost, m.peer.Host) {
				got := ""
				if b != nil {
					got = b.OriginHost
				}
				_ = c.Close()
				err = fmt.Errorf("peer answered as %q, configured as %q", got, m.peer.Host)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("core peer unreachable; will retry", zap.Error(err), zap.Duration("retry_in", backoff))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff/2 + time.Duration(rand.Int64N(int64(backoff)))):
			}
			backoff = min(2*backoff, p.cfg.ReconnectMax)
			continue
		}
		backoff = p.cfg.ReconnectMin
		p.set(m, c)
		log.Info("core peer up", zap.String("peer_host", c.Binding().OriginHost))
		select {
		case <-c.Done():
			p.set(m, nil)
			log.Warn("core peer down; reconnecting", zap.Error(c.closeErr))
		case <-ctx.Done():
			return
		}
	}
}

// Up lists the Origin-Hosts of the open peers, in preference order.
func (p *Pool) Up() []string {
	var out []string
	for _, m := range p.members {
		if c := m.get(); c != nil {
			out = append(out, c.Binding().OriginHost)
		}
	}
	return out
}

// WaitUp waits until at least n peers are open or ctx ends (for start-up
// and tests).
func (p *Pool) WaitUp(ctx context.Context, n int) error {
	for {
		p.changeMu.Lock()
		changed := p.changed
		p.changeMu.Unlock()
		up := len(p.Up())
		if up >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d peers up: %w", p.cfg.Name, up, n, ctx.Err())
		}
	}
}

// Request sends req to the first open peer and returns its answer and the
// connection that answered. On a timeout or a dead connection it retries
// once on the next open peer with the T flag (RFC 6733 5.5.4). With no
// open peer it returns ErrNoPeer at once.
func (p *Pool) Request(ctx context.Context, req *godiam.Message) (*godiam.Message, *Conn, error) {
	var firstErr error
	tried := 0
	for _, m := range p.members {
		c := m.get()
		if c == nil {
			continue
		}
		if tried == 1 {
			req.Header.CommandFlags |= godiam.RetransmittedFlag
			p.log.Info("failing over to the next peer", zap.String("peer", m.peer.Addr), zap.Error(firstErr))
		}
		tried++
		actx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
		ans, err := c.Request(actx, req)
		cancel()
		if err == nil {
			return ans, c, nil
		}
		if ctx.Err() != nil {
			return nil, nil, err
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrConnClosed) {
			return nil, nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
		if tried == 2 {
			break
		}
	}
	if firstErr != nil {
		return nil, nil, fmt.Errorf("%s: %w", p.cfg.Name, firstErr)
	}
	return nil, nil, fmt.Errorf("%s: %w", p.cfg.Name, ErrNoPeer)
}

// Close disconnects every peer with DPR (bounded by ctx) and stops
// reconnecting.
func (p *Pool) Close(ctx context.Context) {
	if p.cancel != nil {
		p.cancel()
	}
	var wg sync.WaitGroup
	for _, m := range p.members {
		if c := m.get(); c != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.Disconnect(ctx, DisconnectRebooting)
			}()
		}
	}
	wg.Wait()
	p.wg.Wait()
}
