package sim

import (
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"
)

// Defaults for Config fields left zero.
const (
	DefaultHSSListen    = "127.0.0.1:3870"
	DefaultSMSCListen   = "127.0.0.1:3871"
	DefaultHSSHost      = "hss.operator.example"
	DefaultSMSCHost     = "smsc.operator.example"
	DefaultRealm        = "operator.example"
	DefaultDeliveryWait = 200 * time.Millisecond
	// DefaultDRATimeout bounds the wait for the DRA to one DRR attempt.
	DefaultDRATimeout = 5 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the backoff between DRR
	// attempts; DefaultRetryAttempts bounds the attempts (about 80 s of
	// trying with the defaults), so a report is not retried forever.
	DefaultRetryMin      = 200 * time.Millisecond
	DefaultRetryMax      = 5 * time.Second
	DefaultRetryAttempts = 20
	// DefaultShutdownTimeout bounds Close: DPR to every peer and the wait for
	// in-flight requests.
	DefaultShutdownTimeout = 5 * time.Second
)

// Config configures a Sim. The zero value (plus subscribers) is a working
// plain-TCP simulator on the default ports.
type Config struct {
	// HSS and SMSC are the two Diameter endpoints.
	HSS  Endpoint
	SMSC Endpoint
	// Realm is the Origin-Realm of both; default operator.example.
	Realm string
	// Peers are the Origin-Hosts of the MTC-IWFs allowed to connect
	// (case-insensitive). Empty admits any host: a test rig.
	Peers []string
	// TLS, when set, makes both endpoints TLS at connect with client
	// certificates required and verified; nil is plain TCP (the core side is
	// inside the operator domain, NDS/IP TS 33.210).
	TLS *TLSFiles

	// Subscribers are the UEs the HSS knows (see File).
	Subscribers []Subscriber
	// Inject are failures active from the start.
	Inject []Injection

	// DeliveryDelay is how long an accepted trigger stays pending (and
	// recallable) before the SMS-SC reports it; default 200 ms. Negative
	// means 0.
	DeliveryDelay time.Duration
	// DeliveryOutcome is reported when neither an injection nor the
	// subscriber says otherwise; default successful.
	DeliveryOutcome Outcome
	// DRATimeout bounds the wait for the DRA of one DRR attempt; default 5 s.
	DRATimeout time.Duration
	// RetryMin, RetryMax and RetryAttempts shape the DRR retries: the wait
	// doubles from RetryMin up to RetryMax, for at most RetryAttempts
	// attempts in all. Defaults 200 ms, 5 s, 20.
	RetryMin, RetryMax time.Duration
	RetryAttempts      int

	// ControlListen is the address of the HTTP control endpoint; it must be
	// a loopback address (the endpoint has no authentication). Empty: none.
	ControlListen string

	// WatchdogInterval is Tw on both endpoints (RFC 3539); default diam's.
	WatchdogInterval time.Duration
	// ShutdownTimeout bounds Close; default 5 s.
	ShutdownTimeout time.Duration
	// Logger gets one line per SIR, DTR and DRR; default zap.NewNop().
	Logger *zap.Logger
}

// Endpoint is one Diameter server of the simulator.
type Endpoint struct {
	// Listen is host:port; defaults 127.0.0.1:3870 (HSS), 127.0.0.1:3871
	// (SMS-SC). Port 0 picks a free port (tests).
	Listen string
	// OriginHost is the Diameter identity; defaults hss.operator.example,
	// smsc.operator.example.
	OriginHost string
	// CertFile and KeyFile override TLSFiles.CertFile/KeyFile for this
	// endpoint (its certificate must name OriginHost).
	CertFile, KeyFile string
}

// TLSFiles are the PEM files of the TLS endpoints.
type TLSFiles struct {
	// CertFile and KeyFile are the server certificate and key of both
	// endpoints unless an Endpoint sets its own; the certificate must carry
	// the endpoint's Origin-Host as a dNSName (the MTC-IWF checks it
	// against the CEA).
	CertFile, KeyFile string
	// CAFiles are the trust anchors of the MTC-IWF client certificates.
	CAFiles []string
	// CRLFiles are optional CRLs of those anchors.
	CRLFiles []string
}

func (c Config) withDefaults() Config {
	if c.HSS.Listen == "" {
		c.HSS.Listen = DefaultHSSListen
	}
	if c.SMSC.Listen == "" {
		c.SMSC.Listen = DefaultSMSCListen
	}
	if c.HSS.OriginHost == "" {
		c.HSS.OriginHost = DefaultHSSHost
	}
	if c.SMSC.OriginHost == "" {
		c.SMSC.OriginHost = DefaultSMSCHost
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.DeliveryDelay == 0 {
		c.DeliveryDelay = DefaultDeliveryWait
	}
	if c.DeliveryDelay < 0 {
		c.DeliveryDelay = 0
	}
	if c.DeliveryOutcome == OutcomeUnset {
		c.DeliveryOutcome = OutcomeSuccessful
	}
	if c.DRATimeout <= 0 {
		c.DRATimeout = DefaultDRATimeout
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = c.RetryMin
	}
	if c.RetryAttempts <= 0 {
		c.RetryAttempts = DefaultRetryAttempts
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// validate checks what withDefaults cannot fix.
func (c *Config) validate() error {
	var errs []error
	if _, ok := outcomeCodes[c.DeliveryOutcome]; !ok {
		errs = append(errs, fmt.Errorf("delivery outcome %q is not one of successful, absent, memory, expired", c.DeliveryOutcome))
	}
	for _, ep := range []struct {
		name string
		e    Endpoint
	}{{"hss", c.HSS}, {"smsc", c.SMSC}} {
		if _, _, err := net.SplitHostPort(ep.e.Listen); err != nil {
			errs = append(errs, fmt.Errorf("%s listen address %q: %w", ep.name, ep.e.Listen, err))
		}
		if (ep.e.CertFile == "") != (ep.e.KeyFile == "") {
			errs = append(errs, fmt.Errorf("%s: give both a certificate and a key file, or neither", ep.name))
		}
		if ep.e.CertFile != "" && c.TLS == nil {
			errs = append(errs, fmt.Errorf("%s: a certificate without TLS CA files: client certificates must be verified", ep.name))
		}
		if c.TLS != nil && ep.e.CertFile == "" && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
			errs = append(errs, fmt.Errorf("%s: TLS needs a certificate and key file", ep.name))
		}
	}
	if c.TLS != nil && len(c.TLS.CAFiles) == 0 {
		errs = append(errs, errors.New("TLS needs CA files: the MTC-IWF's client certificate must be verified"))
	}
	if c.ControlListen != "" {
		if err := checkLoopback(c.ControlListen); err != nil {
			errs = append(errs, fmt.Errorf("control address: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkLoopback refuses a control address that is not a loopback IP: the
// control endpoint changes the simulator's behaviour and has no
// authentication.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (use 127.0.0.1): the control endpoint has no authentication", addr)
	}
	return nil
}
