package diam

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"
)

// ErrConnClosed is returned by Request on a connection that closed before
// the answer arrived.
var ErrConnClosed = errors.New("diameter connection closed")

// Peer state of a connection, named after the RFC 6733 5.6 peer state
// machine. We run the responder side (R-*) on accepted connections and the
// initiator side (I-*) on dialled ones, collapsed to the states that matter
// once the transport is already up: waiting for the capabilities exchange,
// open, and closing after a DPR.
type peerState int32

const (
	stateWaitCER peerState = iota // accepted, TLS done, no CER yet
	stateWaitCEA                  // dialled, CER sent
	stateOpen                     // I-Open / R-Open
	stateClosing                  // DPR sent or received
)

type outFrame struct {
	b          []byte
	closeAfter bool
}

type answerResult struct {
	msg *godiam.Message
	err error
}

// Conn is one Diameter peer connection over TLS (or TCP on the core side):
// a read loop that never waits on the writer, a writer goroutine with a
// bounded queue, a table of outstanding requests, the watchdog, and the
// peer binding set by the capabilities exchange.
type Conn struct {
	cfg     *Config
	nc      net.Conn
	tlsCS   *tls.ConnectionState
	fr      *FrameReader
	log     atomic.Pointer[zap.Logger] // peer_host is added at CER, while Shutdown may already log
	stats   *Stats
	dups    *dupCache
	baseCtx context.Context

	out       chan outFrame
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error

	state   atomic.Int32
	binding atomic.Pointer[PeerBinding]
	peerCEA atomic.Pointer[godiam.Message] // dialled side: the CEA received
	lastRx  atomic.Int64                   // unix nanos of the last complete message
	hbh     atomic.Uint32
	e2e     atomic.Uint32

	mu      sync.Mutex
	pending map[uint32]chan answerResult

	sem      chan struct{}  // in-flight application requests
	handlers sync.WaitGroup // running handler goroutines
	dpaCh    chan struct{}  // closed when the DPA to our DPR arrived
	onClose  func(c *Conn)  // server bookkeeping
	wdWake   chan struct{}  // pokes the watchdog
	openedAt time.Time      // when the capabilities exchange succeeded (written before binding is stored)
	ceaErr   error          // dialled side: the verdict on the CEA, set by the read loop
}

func newConn(nc net.Conn, cfg *Config, stats *Stats, dups *dupCache, baseCtx context.Context) *Conn {
	c := &Conn{
		cfg:     cfg,
		nc:      nc,
		stats:   stats,
		dups:    dups,
		baseCtx: baseCtx,
		out:     make(chan outFrame, writeQueueLen),
		closed:  make(chan struct{}),
		pending: make(map[uint32]chan answerResult),
		sem:     make(chan struct{}, cfg.MaxInFlight),
		dpaCh:   make(chan struct{}),
		wdWake:  make(chan struct{}, 1),
	}
	c.log.Store(cfg.Logger.With(zap.String("peer_addr", nc.RemoteAddr().String())))
	if tc, ok := nc.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		c.tlsCS = &cs
	}
	// Buffered so a burst of small messages costs one read syscall; the
	// guard still sees every byte before go-diameter does.
	c.fr = NewFrameReader(bufio.NewReaderSize(nc, 16<<10), cfg.Limits, cfg.avpTypes)
	// RFC 6733 3: Hop-by-Hop ids start random and increase; End-to-End ids
	// combine the low 12 bits of the clock with a random counter so they stay
	// unique across restarts for the duplicate-detection window (5.5.4).
	c.hbh.Store(rand.Uint32())
	c.e2e.Store(uint32(cfg.Now().Unix())<<20 | rand.Uint32()&0xfffff)
	c.lastRx.Store(cfg.Now().UnixNano())
	return c
}

// logger is the connection's logger: peer_addr, and peer_host once bound.
func (c *Conn) logger() *zap.Logger { return c.log.Load() }

// Binding is the peer identity bound at the capabilities exchange, or nil
// before it.
func (c *Conn) Binding() *PeerBinding { return c.binding.Load() }

// RemoteAddr is the peer's transport address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// TLS is the connection's TLS state (nil on plain TCP).
func (c *Conn) TLS() *tls.ConnectionState { return c.tlsCS }

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// Identity is this node's identity, for building answers.
func (c *Conn) Identity() *Identity { return &c.cfg.Identity }

// PeerCEA is the CEA received on a dialled connection (nil otherwise).
func (c *Conn) PeerCEA() *godiam.Message { return c.peerCEA.Load() }

// NewAnswer builds an answer to req with Result-Code code, our
// Origin-Host/Realm and the request's Proxy-Info (RFC 6733 6.2); the caller
// adds the application's AVPs after them.
func (c *Conn) NewAnswer(req *godiam.Message, code uint32) *godiam.Message {
	ans := answerFor(req, code, &c.cfg.Identity)
	CopyProxyInfo(req, ans) // RFC 6733 6.2
	return ans
}

// NewErrorAnswer builds an RFC 6733 7.2 error answer with an Error-Message.
func (c *Conn) NewErrorAnswer(req *godiam.Message, code uint32, reason string) *godiam.Message {
	return errorAnswer(req, &ProtocolError{Code: code, Reason: reason}, &c.cfg.Identity)
}

// Close closes the connection at once, without DPR.
func (c *Conn) Close() error {
	c.closeWith(errors.New("closed locally"))
	return nil
}

// closeWith closes the connection once: err is the reason logged and given
// to requests still waiting for their answers.
func (c *Conn) closeWith(err error) { c.shutdown(err, false) }

// abort is closeWith for a connection whose socket can no longer be
// written (a write failed or hit WriteTimeout: the peer does not read).
// The TCP connection under TLS is closed first: tls.Conn.Close would try
// to send a close_notify alert into the same full socket and block for up
// to 5 s (crypto/tls's own deadline for it) before the close is logged and
// the server or pool learns that the connection is gone.
func (c *Conn) abort(err error) { c.shutdown(err, true) }

func (c *Conn) shutdown(err error, abort bool) {
	c.closeOnce.Do(func() {
		c.closeErr = err
		close(c.closed)
		if tc, ok := c.nc.(*tls.Conn); ok && abort {
			_ = tc.NetConn().Close()
		}
		_ = c.nc.Close()
		c.mu.Lock()
		for id, ch := range c.pending {
			ch <- answerResult{err: fmt.Errorf("%w: %v", ErrConnClosed, err)}
			delete(c.pending, id)
		}
		c.mu.Unlock()
		c.logger().Info("diameter connection closed", zap.String("reason", err.Error()))
		if c.onClose != nil {
			c.onClose(c)
		}
	})
}

// send queues a serialized message for the writer. It blocks while the
// queue is full (backpressure) and fails once the connection is closed.
func (c *Conn) send(b []byte, closeAfter bool) error {
	select {
	case c.out <- outFrame{b: b, closeAfter: closeAfter}:
		return nil
	case <-c.closed:
		return ErrConnClosed
	}
}

func (c *Conn) sendMsg(m *godiam.Message, closeAfter bool) ([]byte, error) {
	b, err := m.Serialize()
	if err != nil {
		return nil, fmt.Errorf("serialize %d answer: %w", m.Header.CommandCode, err)
	}
	return b, c.send(b, closeAfter)
}

// writeLoop is the only goroutine that writes to the socket. It coalesces
// queued messages into one write when several are waiting.
func (c *Conn) writeLoop() {
	w := bufio.NewWriterSize(c.nc, 32<<10)
	var deadlineSet time.Time
	for {
		var f outFrame
		select {
		case f = <-c.out:
		case <-c.closed:
			return
		}
		// The deadline is moved when a batch of coalesced frames starts
		// and at least every quarter of WriteTimeout, not for every frame
		// (it is a timer update under a lock): a write (ours below, or
		// bufio's when the buffer fills) always has at least three
		// quarters of WriteTimeout left.
		if now := c.cfg.Now(); w.Buffered() == 0 || now.Sub(deadlineSet) > c.cfg.WriteTimeout/4 {
			_ = c.nc.SetWriteDeadline(now.Add(c.cfg.WriteTimeout))
			deadlineSet = now
		}
		if _, err := w.Write(f.b); err != nil {
			c.abort(fmt.Errorf("write: %w", err))
			return
		}
		if f.closeAfter || len(c.out) == 0 {
			if err := w.Flush(); err != nil {
				c.abort(fmt.Errorf("write: %w", err))
				return
			}
		}
		if f.closeAfter {
			c.closeWith(errors.New("closed after final answer"))
			return
		}
	}
}

// Request sends req (an application or base request) and waits for its
// answer, ctx's end, or the connection's close. It sets the Hop-by-Hop id
// (and the End-to-End id when zero).
func (c *Conn) Request(ctx context.Context, req *godiam.Message) (*godiam.Message, error) {
	req.Header.CommandFlags |= godiam.RequestFlag
	req.Header.HopByHopID = c.hbh.Add(1)
	if req.Header.EndToEndID == 0 {
		req.Header.EndToEndID = c.e2e.Add(1)
	}
	ch := make(chan answerResult, 1)
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		return nil, ErrConnClosed
	default:
	}
	c.pending[req.Header.HopByHopID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.Header.HopByHopID)
		c.mu.Unlock()
	}()
	b, err := req.Serialize()
	if err != nil {
		return nil, fmt.Errorf("serialize request %d: %w", req.Header.CommandCode, err)
	}
	if err := c.send(b, false); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.msg, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for answer to command %d: %w", req.Header.CommandCode, ctx.Err())
	}
}

// readLoop reads frames through the guard until the connection ends.
func (c *Conn) readLoop() {
	for {
		frame, err := c.fr.Next()
		if err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				c.stats.frameRefused(pe.Code)
				c.refuseFrame(pe)
				if pe.Close {
					return
				}
				continue
			}
			select {
			case <-c.closed:
			default:
				c.closeWith(fmt.Errorf("read: %w", err))
			}
			return
		}
		c.lastRx.Store(c.cfg.Now().UnixNano())
		c.pokeWatchdog()
		if !c.handleFrame(frame) {
			return
		}
	}
}

// refuseFrame logs a frame the guard refused, answers it when it was a
// request whose header could be read, and closes when the framing is lost.
func (c *Conn) refuseFrame(pe *ProtocolError) {
	c.logger().Warn("diameter frame refused", zap.Uint32("result_code", pe.Code), zap.String("reason", pe.Reason))
	if pe.Header != nil && pe.Header.CommandFlags&godiam.RequestFlag != 0 {
		ans := errorAnswerFromHeader(pe.Header, c.cfg.App.Dict, pe, &c.cfg.Identity)
		if _, err := c.sendMsg(ans, pe.Close); err == nil && pe.Close {
			c.waitClosed(c.cfg.WriteTimeout)
			return
		}
	}
	if pe.Close {
		c.closeWith(fmt.Errorf("bad frame: %s", pe.Reason))
	}
}

// waitClosed waits (bounded) for the writer to flush a final answer and close.
func (c *Conn) waitClosed(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.closed:
	case <-t.C:
		c.closeWith(fmt.Errorf("final answer not flushed within %v (WriteTimeout): peer not reading?", d))
	}
}

// handleFrame decodes and dispatches one frame. It is the one place where a
// panic in decoding or dispatch is contained (style.md 9): the request gets
// DIAMETER_UNABLE_TO_COMPLY and the connection is closed. It returns false
// when the read loop must stop.
func (c *Conn) handleFrame(frame []byte) (keep bool) {
	h, _ := godiam.DecodeHeader(frame) // the guard checked the length
	isReq := h.CommandFlags&godiam.RequestFlag != 0
	defer func() {
		if r := recover(); r != nil {
			c.stats.Panics.Add(1)
			c.logger().Error("panic while handling a message", zap.Any("panic", r), zap.Uint32("command", h.CommandCode))
			if isReq {
				pe := &ProtocolError{Code: ResultUnableToComply, Reason: "internal error while decoding the message", Close: true}
				_, _ = c.sendMsg(errorAnswerFromHeader(h, c.cfg.App.Dict, pe, &c.cfg.Identity), true)
				c.waitClosed(c.cfg.WriteTimeout)
			} else {
				c.closeWith(fmt.Errorf("panic: %v", r))
			}
			keep = false
		}
	}()

	st := peerState(c.state.Load())
	isBase := h.ApplicationID == 0 && isBaseCode(h.CommandCode)

	// Before the capabilities exchange only a CER (server) or CEA (client)
	// is acceptable; anything else closes the connection (RFC 6733 5.6:
	// R-Conn-CER is the only way into the open state).
	switch st {
	case stateWaitCER:
		if !(isReq && isBase && h.CommandCode == CmdCapabilitiesExchange) {
			c.stats.RefusedBeforeCER.Add(1)
			c.logger().Warn("message before CER: closing", zap.Uint32("command", h.CommandCode), zap.Uint32("application", h.ApplicationID))
			c.closeWith(fmt.Errorf("command %d before CER", h.CommandCode))
			return false
		}
	case stateWaitCEA:
		if !(!isReq && isBase && h.CommandCode == CmdCapabilitiesExchange) {
			c.closeWith(fmt.Errorf("command %d before CEA", h.CommandCode))
			return false
		}
	}

	// Unknown application or command: answered from the header alone
	// (RFC 6733 6.1 and 7.1.3: 3007, 3001). An unknown answer is dropped.
	if !isBase {
		var code uint32
		var reason string
		switch {
		case h.ApplicationID != c.cfg.App.ID:
			code, reason = ResultApplicationUnsupported, fmt.Sprintf("application %d is not supported on this interface (only %d)", h.ApplicationID, c.cfg.App.ID)
		default:
			if cmd, err := c.cfg.App.Dict.FindCommand(h.ApplicationID, h.CommandCode); err != nil || cmd == nil || isBaseCode(h.CommandCode) {
				code, reason = ResultCommandUnsupported, fmt.Sprintf("command %d is not supported in application %d", h.CommandCode, h.ApplicationID)
			}
		}
		if code != 0 {
			c.stats.ProtocolErrors.Add(1)
			c.logger().Warn("unsupported message", zap.Uint32("result_code", code), zap.String("reason", reason))
			if isReq {
				_, _ = c.sendMsg(errorAnswerFromHeader(h, c.cfg.App.Dict, &ProtocolError{Code: code, Reason: reason}, &c.cfg.Identity), false)
			}
			return true
		}
	}

	m, err := godiam.ReadMessage(bytes.NewReader(frame), c.cfg.App.Dict)
	if err == nil {
		if pe := Validate(m, c.cfg.App.Dict); pe != nil {
			err = pe
		}
	} else if m != nil {
		// A value go-diameter could not decode (e.g. an Address with an
		// unknown family): DIAMETER_INVALID_AVP_VALUE (RFC 6733 7.1.5).
		err = &ProtocolError{Code: ResultInvalidAVPValue, Reason: "cannot decode AVP value: " + err.Error()}
	}
	if err != nil {
		return c.refuseMessage(h, m, err, st)
	}

	if !isReq {
		c.handleAnswer(m)
		return true
	}
	if isBase {
		return c.handleBaseRequest(m, st)
	}
	return c.handleAppRequest(m)
}

// refuseMessage handles a message that failed decoding or Validate (err; m
// is nil when not even its AVPs could be read). An answer is handed to the
// Request waiting for it as an error; a request is answered with the
// protocol error (RFC 6733 7.2). It returns false when the connection closes:
// for a fault that loses the framing (pe.Close), or for a CER we cannot
// accept (RFC 6733 5.3).
func (c *Conn) refuseMessage(h *godiam.Header, m *godiam.Message, err error, st peerState) bool {
	var pe *ProtocolError
	if !errors.As(err, &pe) || m == nil {
		pe = &ProtocolError{Code: ResultUnableToComply, Reason: "cannot decode message: " + err.Error(), Close: true}
	}
	c.stats.ProtocolErrors.Add(1)
	c.logger().Warn("message refused", zap.Uint32("command", h.CommandCode), zap.Uint32("result_code", pe.Code),
		zap.String("reason", pe.Reason))
	if h.CommandFlags&godiam.RequestFlag == 0 {
		c.deliver(h.HopByHopID, answerResult{err: fmt.Errorf("invalid answer: %w", pe)})
		return true
	}
	var ans *godiam.Message
	if m != nil {
		ans = errorAnswer(m, pe, &c.cfg.Identity)
	} else {
		ans = errorAnswerFromHeader(h, c.cfg.App.Dict, pe, &c.cfg.Identity)
	}
	closeConn := pe.Close || st == stateWaitCER
	_, _ = c.sendMsg(ans, closeConn)
	if closeConn {
		c.waitClosed(c.cfg.WriteTimeout)
		return false
	}
	return true
}

func isBaseCode(code uint32) bool {
	return code == CmdCapabilitiesExchange || code == CmdDeviceWatchdog || code == CmdDisconnectPeer
}

func (c *Conn) handleAnswer(m *godiam.Message) {
	switch {
	case m.Header.CommandCode == CmdCapabilitiesExchange && peerState(c.state.Load()) == stateWaitCEA:
		c.peerCEA.Store(m)
		c.ceaErr = c.acceptCEA(m) // read by Dial after deliver (channel hand-off)
	case m.Header.CommandCode == CmdDisconnectPeer:
		select {
		case <-c.dpaCh:
		default:
			close(c.dpaCh)
		}
	}
	c.deliver(m.Header.HopByHopID, answerResult{msg: m})
}

// deliver hands an answer to the Request waiting for it. An answer nobody
// waits for (late, or never asked) is dropped (RFC 6733 6.2.1).
func (c *Conn) deliver(hbh uint32, r answerResult) {
	c.mu.Lock()
	ch, ok := c.pending[hbh]
	delete(c.pending, hbh)
	c.mu.Unlock()
	if ok {
		ch <- r
	}
}

// handleBaseRequest answers CER, DWR and DPR.
func (c *Conn) handleBaseRequest(m *godiam.Message, st peerState) bool {
	switch m.Header.CommandCode {
	case CmdCapabilitiesExchange:
		if st != stateWaitCER {
			// RFC 6733 5.6: a CER on an open connection is an error event;
			// the existing binding stays.
			c.logger().Warn("second CER on an open connection")
			_, _ = c.sendMsg(errorAnswer(m, &ProtocolError{Code: ResultUnableToComply,
				Reason: "capabilities already exchanged on this connection"}, &c.cfg.Identity), false)
			return true
		}
		return c.serveCER(m)
	case CmdDeviceWatchdog:
		if !c.checkOwnOrigin(m) {
			return true
		}
		// DWA carries our Origin-State-Id (RFC 6733 5.5.2), which
		// go-diameter's state machine leaves out.
		dwa := c.NewAnswer(m, ResultSuccess)
		dwa.AddAVP(godiam.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(c.cfg.Identity.OriginStateID)))
		_, _ = c.sendMsg(dwa, false)
		return true
	case CmdDisconnectPeer:
		if !c.checkOwnOrigin(m) {
			return true
		}
		cause, _ := uint32AVP(m, avp.DisconnectCause)
		c.logger().Info("DPR received", zap.Uint32("disconnect_cause", cause))
		c.state.Store(int32(stateClosing))
		_, _ = c.sendMsg(c.NewAnswer(m, ResultSuccess), false)
		// RFC 6733 5.4: the sender of the DPR closes the transport once it
		// has the DPA; we close ourselves if it does not, after in-flight
		// answers are out.
		go func() {
			c.handlers.Wait()
			t := time.NewTimer(DefaultDPRTimeout)
			defer t.Stop()
			select {
			case <-c.closed:
			case <-t.C:
				c.closeWith(fmt.Errorf("peer did not close the connection within %v of our DPA (RFC 6733 5.4)", DefaultDPRTimeout))
			}
		}()
		return true
	}
	return true
}

// checkOwnOrigin enforces that hop-by-hop base requests carry the peer's
// own Origin-Host. DWR and DPR are never relayed (RFC 6733 5.4.1, 5.5.1: P
// bit clear), so their Origin-Host (6.3: the endpoint that originated the
// message) must be the identity the peer gave at CER (5.3). A mismatch is
// answered DIAMETER_UNKNOWN_PEER (7.1.3).
func (c *Conn) checkOwnOrigin(m *godiam.Message) bool {
	b := c.binding.Load()
	if b == nil {
		// Not reached: both sides bind before they open (serveCER,
		// acceptCEA), and handleFrame lets only CER/CEA through until then.
		return true
	}
	if oh := stringAVP(m, avp.OriginHost); oh != b.OriginHost {
		c.refuseOrigin(m, oh, b)
		return false
	}
	return true
}

func (c *Conn) refuseOrigin(m *godiam.Message, oh string, b *PeerBinding) {
	c.stats.SpoofedOrigin.Add(1)
	reason := fmt.Sprintf("Origin-Host %q is not allowed on the connection of peer %q", oh, b.OriginHost)
	c.logger().Warn("request with a foreign Origin-Host refused", zap.String("origin_host", oh), zap.String("peer_host", b.OriginHost))
	_, _ = c.sendMsg(errorAnswer(m, &ProtocolError{Code: ResultUnknownPeer, Reason: reason}, &c.cfg.Identity), false)
}

// serveCER runs the responder's capabilities exchange (DESIGN.md step 2).
func (c *Conn) serveCER(m *godiam.Message) bool {
	b, code, reason := checkCER(m, c.cfg.App.ID, c.cfg.Admitter, c.tlsCS)
	cea := newCEA(m, code, reason, &c.cfg.Identity, &c.cfg.App, c.nc.LocalAddr())
	if code != ResultSuccess {
		c.stats.RefusedCER.Add(1)
		c.logger().Warn("CER refused", zap.Uint32("result_code", code), zap.String("reason", reason),
			zap.String("origin_host", stringAVP(m, avp.OriginHost)), zap.String("origin_realm", stringAVP(m, avp.OriginRealm)))
		_, _ = c.sendMsg(cea, true)
		c.waitClosed(c.cfg.WriteTimeout)
		return false
	}
	c.openedAt = c.cfg.Now()
	c.binding.Store(b)
	c.log.Store(c.logger().With(zap.String("peer_host", b.OriginHost)))
	c.state.Store(int32(stateOpen))
	_ = c.nc.SetReadDeadline(time.Time{})
	if _, err := c.sendMsg(cea, false); err != nil {
		return false
	}
	c.logger().Info("peer connected", zap.String("peer_realm", b.OriginRealm), zap.String("kind", b.Kind))
	go c.watchdog()
	return true
}

// handleAppRequest checks the Origin-Host binding, the in-flight bound and
// duplicates, then runs the handler in its own goroutine.
func (c *Conn) handleAppRequest(m *godiam.Message) bool {
	// Origin-Host names the node that originated the request (RFC 6733
	// 6.3); only a relay or proxy agent forwards requests of other nodes
	// (2.8, 6.1.9). So a peer may originate requests only as the nodes its
	// binding lists (itself, or the SCSs behind an agent, TS 29.368 6.3.2).
	oh := stringAVP(m, avp.OriginHost)
	if b := c.binding.Load(); b != nil && !b.AnyOriginator && !b.Originators[oh] {
		c.refuseOrigin(m, oh, b)
		return true
	}
	if peerState(c.state.Load()) == stateClosing {
		// A DPR (RFC 6733 5.4) announced the end of this connection:
		// requests arriving after it are refused, not started.
		_, _ = c.sendMsg(errorAnswer(m, &ProtocolError{Code: ResultUnableToComply,
			Reason: "connection is being disconnected (DPR)"}, &c.cfg.Identity), false)
		return true
	}
	select {
	case c.sem <- struct{}{}:
	default:
		// DIAMETER_TOO_BUSY (RFC 6733 7.1.3): the peer should try another
		// node; the bound keeps one peer from taking every handler.
		c.stats.TooBusy.Add(1)
		_, _ = c.sendMsg(errorAnswer(m, &ProtocolError{Code: ResultTooBusy,
			Reason: fmt.Sprintf("more than %d requests in flight on this connection", cap(c.sem))}, &c.cfg.Identity), false)
		return true
	}
	retrans := m.Header.CommandFlags&godiam.RetransmittedFlag != 0
	entry, fresh := c.dups.begin(oh, m.Header.EndToEndID, retrans)
	c.handlers.Add(1)
	handlerWorkers.Go(func() {
		defer c.handlers.Done()
		defer func() { <-c.sem }()
		if !fresh {
			c.stats.Duplicates.Add(1)
			c.replayDuplicate(m, entry)
			return
		}
		c.runHandler(m, entry)
	})
	return true
}

func (c *Conn) replayDuplicate(m *godiam.Message, entry *dupEntry) {
	select {
	case <-entry.done:
	case <-c.closed:
		return
	}
	if b := entry.replay(m.Header.HopByHopID); b != nil {
		c.logger().Info("duplicate request answered from cache", zap.Uint32("end_to_end", m.Header.EndToEndID))
		_ = c.send(b, false)
	}
}

func (c *Conn) runHandler(m *godiam.Message, entry *dupEntry) {
	var stored []byte
	defer func() { c.dups.finish(entry, stored) }()
	defer func() {
		if r := recover(); r != nil {
			c.stats.Panics.Add(1)
			c.logger().Error("panic in request handler", zap.Any("panic", r), zap.Uint32("command", m.Header.CommandCode))
			stored, _ = c.sendMsg(c.NewErrorAnswer(m, ResultUnableToComply, "internal error"), false)
		}
	}()
	var ans *godiam.Message
	var err error
	if c.cfg.Handler != nil {
		ans, err = c.cfg.Handler.ServeDiameter(c.baseCtx, c, m)
	} else {
		err = fmt.Errorf("no handler configured for application %d on this interface", c.cfg.App.ID)
	}
	if err != nil || ans == nil {
		if err == nil {
			err = errors.New("handler returned no answer")
		}
		c.logger().Error("request handler failed", zap.Error(err), zap.Uint32("command", m.Header.CommandCode))
		ans = c.NewErrorAnswer(m, ResultUnableToComply, "internal error: the request could not be processed")
	}
	stored, err = c.sendMsg(ans, false)
	if err != nil && !errors.Is(err, ErrConnClosed) {
		c.logger().Error("answer not sent", zap.Error(err), zap.Uint32("command", m.Header.CommandCode))
	}
}

// Disconnect runs the DPR/DPA exchange (RFC 6733 5.4) and closes: it
// refuses new requests, sends DPR with cause, waits for the DPA and for
// in-flight requests (until ctx ends), then closes the transport.
func (c *Conn) Disconnect(ctx context.Context, cause uint32) error {
	if peerState(c.state.Load()) != stateOpen {
		c.closeWith(errors.New("disconnect before the connection was open"))
		return nil
	}
	c.state.Store(int32(stateClosing))
	dpr := godiam.NewRequest(CmdDisconnectPeer, 0, c.cfg.App.Dict)
	dpr.AddAVP(c.cfg.Identity.OriginHostAVP())
	dpr.AddAVP(c.cfg.Identity.OriginRealmAVP())
	dpr.AddAVP(godiam.NewAVP(avp.DisconnectCause, avp.Mbit, 0, datatype.Enumerated(int32(cause))))
	dctx, cancel := context.WithTimeout(ctx, DefaultDPRTimeout)
	_, err := c.Request(dctx, dpr)
	cancel()
	done := make(chan struct{})
	go func() { c.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		c.logger().Warn("closing with requests still in flight", zap.Error(ctx.Err()))
	}
	// Let the writer flush what the handlers queued before closing.
	_ = c.send(nil, true)
	c.waitClosed(c.cfg.WriteTimeout)
	if err != nil {
		return fmt.Errorf("DPR to %s: %w", c.nc.RemoteAddr(), err)
	}
	return nil
}
