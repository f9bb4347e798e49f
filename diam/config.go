package diam

import (
	"context"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"go.uber.org/zap"
)

// Defaults for Config fields left zero. A zero value never means "no limit".
const (
	DefaultWatchdogInterval = 30 * time.Second // Tw, RFC 3539 3.4.1
	DefaultCERTimeout       = 10 * time.Second // like OTP diameter's capx_timeout
	DefaultWriteTimeout     = 10 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultMaxInFlight      = 256
	DefaultMaxConnections   = 1024
	DefaultMaxConnsPerIP    = 64
	DefaultDPRTimeout       = 5 * time.Second
	writeQueueLen           = 1024
)

// Handler serves application requests (everything but CER, DWR and DPR)
// that passed the frame guard, the dictionary check and the Origin-Host
// binding. It returns the answer to send; an error (or a nil answer) is
// answered with DIAMETER_UNABLE_TO_COMPLY and logged. Each request runs in
// its own goroutine, so a slow handler never delays other requests or
// watchdogs on the connection.
type Handler interface {
	ServeDiameter(ctx context.Context, c *Conn, req *godiam.Message) (*godiam.Message, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn, req *godiam.Message) (*godiam.Message, error)

// ServeDiameter calls f.
func (f HandlerFunc) ServeDiameter(ctx context.Context, c *Conn, req *godiam.Message) (*godiam.Message, error) {
	return f(ctx, c, req)
}

// Config is shared by a Server's connections and by dialled connections.
type Config struct {
	Identity Identity
	App      Application
	Limits   FrameLimits
	// Handler serves application requests; nil answers them all with
	// DIAMETER_UNABLE_TO_COMPLY.
	Handler Handler
	// Admitter decides at CER who may connect (server side; required there).
	Admitter PeerAdmitter
	// WatchdogInterval is Tw (RFC 3539 3.4.1); default 30 s.
	WatchdogInterval time.Duration
	// CERTimeout bounds the wait for the CER after the TLS handshake (and
	// for the CEA when dialling); default 10 s.
	CERTimeout time.Duration
	// WriteTimeout bounds one write to the socket; default 10 s.
	WriteTimeout time.Duration
	// MaxInFlight bounds concurrent application requests per connection;
	// beyond it requests get DIAMETER_TOO_BUSY (3004). Default 256.
	MaxInFlight int
	// DuplicateWindow and DuplicateCacheSize configure duplicate detection
	// (RFC 6733 5.5.4); defaults 4 min and 100,000 entries (1,024 on a
	// dialled connection, which carries one peer's requests).
	DuplicateWindow    time.Duration
	DuplicateCacheSize int
	// Logger receives one line per refused connection or bad message;
	// default zap.NewNop().
	Logger *zap.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time

	avpTypes AVPTypeFunc // from App.Dict, computed once
}

func (c *Config) withDefaults() Config {
	o := *c
	if o.WatchdogInterval <= 0 {
		o.WatchdogInterval = DefaultWatchdogInterval
	}
	if o.CERTimeout <= 0 {
		o.CERTimeout = DefaultCERTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.App.Dict != nil && o.avpTypes == nil {
		// The table walks the whole dictionary: built once per Config, not
		// on every Dial of a pool's reconnect loop.
		o.avpTypes = AVPTypesFromDict(o.App.Dict)
	}
	if o.Identity.ProductName == "" {
		o.Identity.ProductName = "mtciwf"
	}
	return o
}
