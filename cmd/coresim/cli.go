package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
)

// Exit codes.
const (
	exitOK      = 0 // stopped cleanly (SIGTERM/SIGINT), or --check passed
	exitFailure = 1 // a listener failed, or the stop was not clean
	exitUsage   = 2 // bad command line or subscriber file
)

// options are the command-line flags.
type options struct {
	subscribers     string
	hssListen       string
	smscListen      string
	control         string
	hssHost         string
	smscHost        string
	realm           string
	peers           []string
	deliveryDelay   time.Duration
	deliveryOutcome string
	draTimeout      time.Duration
	retryMin        time.Duration
	retryMax        time.Duration
	retryAttempts   int
	inject          []string
	tlsCert         string
	tlsKey          string
	tlsCA           []string
	tlsCRL          []string
	hssTLSCert      string
	hssTLSKey       string
	smscTLSCert     string
	smscTLSKey      string
	watchdog        time.Duration
	shutdownTimeout time.Duration
	logLevel        string
	check           bool
}

// exitError ends the command with an exit code; a nil err was already printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// run executes the command line and returns the exit code. ctx ends the
// simulator like SIGTERM does (tests).
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr, nil)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*sim.Sim)) int {
	cmd := rootCommand(stdout, stderr, ready)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "coresim: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "coresim: %v\nRun 'coresim --help' for usage.\n", err)
	return exitUsage
}

func rootCommand(stdout, stderr io.Writer, ready func(*sim.Sim)) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "coresim --subscribers FILE [flags]",
		Short: "HSS (S6m) and SMS-SC (T4) simulator for MTC-IWF test rigs",
		Long: `coresim is a real Diameter HSS (S6m, application 16777310) and SMS-SC (T4, application
16777311) in one process. The MTC-IWF dials both. The HSS answers SIR from the subscriber file
(configs/subscribers.yaml is a commented example). The SMS-SC accepts DTR (trigger, replace,
recall) and, after --delivery-delay, reports each trigger with a DRR on the connection the DTR
came in on, retrying with backoff until a DRA arrives.

Plain TCP by default (the core side is inside the operator domain, TS 33.210). With --tls-cert,
--tls-key and --tls-ca both endpoints are TLS at connect and require a verified client
certificate whose dNSName is the CER's Origin-Host.

Failures are injected with --inject (repeatable) or at run time on the control endpoint, which
also serves the counters:
  curl -X POST 'http://127.0.0.1:3872/inject?target=hss&result=5001&count=3'
  curl http://127.0.0.1:3872/counters
Injection keys: target=hss|smsc|delivery, result=CODE|drop, delay=DURATION,
outcome=successful|absent|memory|expired (delivery), count=N (0: until cleared).

SIGTERM or SIGINT sends DPR to every connected MTC-IWF and exits 0.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd.Context(), o, stdout, stderr, ready)
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.CompletionOptions.DisableDefaultCmd = true
	f := cmd.Flags()
	f.StringVar(&o.subscribers, "subscribers", "", "subscriber file (YAML; see configs/subscribers.yaml) (required)")
	f.StringVar(&o.hssListen, "hss-listen", sim.DefaultHSSListen, "HSS (S6m) listen address")
	f.StringVar(&o.smscListen, "smsc-listen", sim.DefaultSMSCListen, "SMS-SC (T4) listen address")
	f.StringVar(&o.control, "control", "127.0.0.1:3872", `control endpoint address, loopback only ("" disables it)`)
	f.StringVar(&o.hssHost, "hss-host", sim.DefaultHSSHost, "HSS Origin-Host")
	f.StringVar(&o.smscHost, "smsc-host", sim.DefaultSMSCHost, "SMS-SC Origin-Host")
	f.StringVar(&o.realm, "realm", sim.DefaultRealm, "Origin-Realm of both")
	f.StringArrayVar(&o.peers, "peer", nil, "Origin-Host of an MTC-IWF allowed to connect (repeatable; none: any host)")
	f.DurationVar(&o.deliveryDelay, "delivery-delay", sim.DefaultDeliveryWait, "how long a trigger stays pending (recallable) before its DRR")
	f.StringVar(&o.deliveryOutcome, "delivery-outcome", "successful", "default delivery outcome: successful, absent, memory or expired")
	f.DurationVar(&o.draTimeout, "dra-timeout", sim.DefaultDRATimeout, "wait for the DRA of one DRR attempt")
	f.DurationVar(&o.retryMin, "drr-retry-min", sim.DefaultRetryMin, "first wait between DRR attempts (doubles each time)")
	f.DurationVar(&o.retryMax, "drr-retry-max", sim.DefaultRetryMax, "longest wait between DRR attempts")
	f.IntVar(&o.retryAttempts, "drr-attempts", sim.DefaultRetryAttempts, "DRR attempts before a report is abandoned")
	f.StringArrayVar(&o.inject, "inject", nil, `failure active from the start, e.g. "target=hss,result=5001,count=3" (repeatable)`)
	f.StringVar(&o.tlsCert, "tls-cert", "", "server certificate (PEM) of both endpoints; enables TLS")
	f.StringVar(&o.tlsKey, "tls-key", "", "key of --tls-cert (PEM)")
	f.StringArrayVar(&o.tlsCA, "tls-ca", nil, "CA certificate(s) the MTC-IWF client certificate must chain to (repeatable)")
	f.StringArrayVar(&o.tlsCRL, "tls-crl", nil, "CRL file of those CAs (repeatable)")
	f.StringVar(&o.hssTLSCert, "hss-tls-cert", "", "HSS certificate, instead of --tls-cert")
	f.StringVar(&o.hssTLSKey, "hss-tls-key", "", "key of --hss-tls-cert")
	f.StringVar(&o.smscTLSCert, "smsc-tls-cert", "", "SMS-SC certificate, instead of --tls-cert")
	f.StringVar(&o.smscTLSKey, "smsc-tls-key", "", "key of --smsc-tls-cert")
	f.DurationVar(&o.watchdog, "watchdog-interval", 0, "Tw, the DWR interval (0: the diam default, 30s)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", sim.DefaultShutdownTimeout, "bound on the DPR exchange and in-flight requests at stop")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&o.check, "check", false, "load and validate the subscriber file and flags, then exit")
	return cmd
}

// config turns the flags and the subscriber file into a sim.Config.
func (o *options) config(log *zap.Logger) (sim.Config, error) {
	var errs []error
	if o.subscribers == "" {
		return sim.Config{}, errors.New("--subscribers is required (see configs/subscribers.yaml)")
	}
	file, err := sim.LoadFile(o.subscribers)
	if err != nil {
		return sim.Config{}, err
	}
	outcome, err := sim.ParseOutcome(o.deliveryOutcome)
	if err != nil {
		errs = append(errs, fmt.Errorf("--delivery-outcome: %w", err))
	}
	inject := file.Inject
	for _, s := range o.inject {
		in, err := sim.ParseInjectionFlag(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--inject %q: %w", s, err))
			continue
		}
		inject = append(inject, in)
	}
	cfg := sim.Config{
		HSS:  sim.Endpoint{Listen: o.hssListen, OriginHost: o.hssHost, CertFile: o.hssTLSCert, KeyFile: o.hssTLSKey},
		SMSC: sim.Endpoint{Listen: o.smscListen, OriginHost: o.smscHost, CertFile: o.smscTLSCert, KeyFile: o.smscTLSKey},

		Realm:           o.realm,
		Peers:           o.peers,
		Subscribers:     file.Subscribers,
		Inject:          inject,
		DeliveryDelay:   o.deliveryDelay,
		DeliveryOutcome: outcome,
		DRATimeout:      o.draTimeout,
		RetryMin:        o.retryMin,
		RetryMax:        o.retryMax,
		RetryAttempts:   o.retryAttempts,
		ControlListen:   o.control,

		WatchdogInterval: o.watchdog,
		ShutdownTimeout:  o.shutdownTimeout,
		Logger:           log,
	}
	if o.deliveryDelay == 0 {
		cfg.DeliveryDelay = -1 // Config treats 0 as "default"; the flag means "at once"
	}
	if o.tlsCert != "" || o.tlsKey != "" || len(o.tlsCA) > 0 || len(o.tlsCRL) > 0 || o.hssTLSCert != "" || o.smscTLSCert != "" {
		cfg.TLS = &sim.TLSFiles{CertFile: o.tlsCert, KeyFile: o.tlsKey, CAFiles: o.tlsCA, CRLFiles: o.tlsCRL}
	}
	return cfg, errors.Join(errs...)
}

func runSim(ctx context.Context, o options, stdout, stderr io.Writer, ready func(*sim.Sim)) error {
	log, err := newLogger(o.logLevel, stderr)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer func() { _ = log.Sync() }()
	cfg, err := o.config(log)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	s, err := sim.New(cfg)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if o.check {
		_ = s.Close()
		fmt.Fprintf(stdout, "%s: OK (%d subscribers)\n", o.subscribers, len(cfg.Subscribers))
		return nil
	}

	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hss, smsc, err := s.Start(context.Background())
	if err != nil {
		_ = s.Close()
		return &exitError{code: exitFailure, err: err}
	}
	log.Info("coresim running", zap.String("hss", hss.String()), zap.String("smsc", smsc.String()),
		zap.Int("subscribers", len(cfg.Subscribers)), zap.Int("injections", len(cfg.Inject)))
	if ready != nil {
		ready(s)
	}
	<-sigCtx.Done()
	stop() // a second signal now has its default effect
	log.Info("stop requested: DPR to every peer", zap.String("cause", context.Cause(sigCtx).Error()))
	if err := s.Close(); err != nil {
		log.Warn("stop was not clean", zap.Error(err))
		return &exitError{code: exitFailure}
	}
	return nil
}

// newLogger is a zap console logger on w.
func newLogger(level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(ec), zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core), nil
}
