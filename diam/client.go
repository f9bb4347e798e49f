package diam

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
)

// DialOptions are the transport settings of an outgoing connection.
type DialOptions struct {
	// TLSConfig, when set, makes the connection TLS at connect. It must
	// verify the server (never InsecureSkipVerify): go-diameter's own
	// sm.Client.DialTLS never does (go-diameter.md §1), which is why we dial
	// ourselves.
	TLSConfig *tls.Config
	// Stats receives the connection's counters; nil keeps private ones.
	Stats *Stats
}

// CEAError is a capabilities exchange the peer refused.
type CEAError struct {
	ResultCode   uint32
	ErrorMessage string
	OriginHost   string
}

func (e *CEAError) Error() string {
	s := fmt.Sprintf("CER refused by %q: Result-Code %d", e.OriginHost, e.ResultCode)
	if e.ErrorMessage != "" {
		s += ": " + e.ErrorMessage
	}
	return s
}

// dialDuplicateCacheSize is the duplicate cache of a dialled connection when
// Config.DuplicateCacheSize is unset: one peer's requests only (a core node's
// DRRs), not every SCS's, so smaller than DefaultDuplicateCacheSize.
const dialDuplicateCacheSize = 1024

// Dial connects to a Diameter peer, runs TLS (when configured) and the
// capabilities exchange as initiator (RFC 6733 5.3), and returns the open
// connection with its read loop, writer and watchdog running. The frame
// guard protects dialled connections exactly as accepted ones.
func Dial(ctx context.Context, network, addr string, cfg Config, o DialOptions) (*Conn, error) {
	c0 := cfg.withDefaults()
	cfgp := &c0
	if cfgp.App.Dict == nil {
		return nil, errors.New("diam: Dial: Config.App.Dict is required")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if o.TLSConfig != nil {
		tc := tls.Client(nc, o.TLSConfig)
		hctx, cancel := context.WithTimeout(ctx, DefaultHandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	stats := o.Stats
	if stats == nil {
		stats = new(Stats)
	}
	dupSize := cfgp.DuplicateCacheSize
	if dupSize <= 0 {
		dupSize = dialDuplicateCacheSize
	}
	c := newConn(nc, cfgp, stats, newDupCache(cfgp.DuplicateWindow, dupSize, cfgp.Now), context.Background())
	c.state.Store(int32(stateWaitCEA))
	go c.writeLoop()
	go c.readLoop()

	cer := newCER(&cfgp.Identity, &cfgp.App, nc.LocalAddr())
	cctx, cancel := context.WithTimeout(ctx, cfgp.CERTimeout)
	defer cancel()
	if _, err := c.Request(cctx, cer); err != nil {
		c.closeWith(fmt.Errorf("CER: %w", err))
		if errors.Is(err, ErrConnClosed) {
			// With TLS 1.3 a refused client certificate only shows on the
			// first read (go-diameter.md §1): say so.
			return nil, fmt.Errorf("CER to %s: connection closed before CEA (refused certificate or identity?): %w", addr, err)
		}
		return nil, fmt.Errorf("CER to %s: %w", addr, err)
	}
	// The read loop already judged the CEA (acceptCEA) before reading
	// anything after it; here we only report its verdict.
	if c.ceaErr != nil {
		c.closeWith(fmt.Errorf("CEA: %w", c.ceaErr))
		return nil, c.ceaErr
	}
	go c.watchdog()
	return c, nil
}

// acceptCEA judges the CEA in the read loop, before the next frame is read,
// so that a request the peer sends right behind its CEA (a DRR, a DNR)
// finds the connection open and bound (RFC 6733 5.6: I-Rcv-CEA -> I-Open).
// On success it binds the peer and opens the connection; the error is what
// Dial returns.
func (c *Conn) acceptCEA(cea *godiam.Message) error {
	code, _ := uint32AVP(cea, avp.ResultCode)
	if code != ResultSuccess {
		return &CEAError{ResultCode: code, ErrorMessage: stringAVP(cea, avp.ErrorMessage), OriginHost: stringAVP(cea, avp.OriginHost)}
	}
	caps := readCapabilities(cea)
	if !caps.offers(c.cfg.App.ID) {
		return fmt.Errorf("CEA from %q does not offer application %d", caps.originHost, c.cfg.App.ID)
	}
	// Bind the answering peer's Origin-Host to its certificate, as we
	// require of peers that connect to us.
	if c.tlsCS != nil && len(c.tlsCS.PeerCertificates) > 0 {
		if !slices.Contains(c.tlsCS.PeerCertificates[0].DNSNames, caps.originHost) {
			return fmt.Errorf("CEA Origin-Host %q is not a dNSName of the server certificate %v", caps.originHost, c.tlsCS.PeerCertificates[0].DNSNames)
		}
	}
	c.openedAt = c.cfg.Now()
	c.binding.Store(&PeerBinding{OriginHost: caps.originHost, OriginRealm: caps.originRealm, Kind: "server",
		Originators: map[string]bool{caps.originHost: true}, AnyOriginator: caps.offersRelay()})
	c.state.Store(int32(stateOpen))
	return nil
}
