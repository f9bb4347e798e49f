package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/security/policy"
)

// Set at build time: go build -ldflags "-X main.version=1.2.0 -X main.commit=$(git rev-parse HEAD)".
var (
	version = "dev"
	commit  = "dev"
)

// Exit codes.
const (
	exitOK      = 0 // success; serve: stopped cleanly
	exitFailure = 1 // check-config: problems found; serve: stopped with an error or did not stop in time
	exitUsage   = 2 // bad command line; serve: the configuration is invalid
)

// defaultShutdownMargin is how long serve may run past shutdown.grace_period after SIGTERM/SIGINT
// (closing sockets, flushing logs) before the daemon gives up waiting and exits with exitFailure.
const defaultShutdownMargin = 5 * time.Second

// run executes the command line args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, serve: serve, shutdownMargin: defaultShutdownMargin}
	return a.run(context.Background(), args)
}

// app carries what the commands need; tests build one with their own serve function.
type app struct {
	stdout, stderr io.Writer
	// serve runs the daemon until ctx is cancelled (daemon.go).
	serve func(ctx context.Context, cfg *Config, log *zap.Logger) error
	// shutdownMargin: see defaultShutdownMargin.
	shutdownMargin time.Duration
}

// exitError ends a command with an exit code. A nil err means the problem was already printed.
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

func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ee, ok := errors.AsType[*exitError](err); ok {
		if ee.err != nil {
			fmt.Fprintf(a.stderr, "mtciwf: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything else comes from cobra: unknown command or flag, bad arguments.
	fmt.Fprintf(a.stderr, "mtciwf: %v\nRun 'mtciwf help' for usage.\n", err)
	return exitUsage
}

const configHelp = `Without --config the built-in defaults are used: they equal configs/mtciwf.yaml and point at
the development PKI under dev/pki, so they are for development only. Environment variables
override any key: MTCIWF_ plus the key in upper case with "." as "_" (MTCIWF_TSP_LISTEN,
MTCIWF_LOG_LEVEL; lists are comma-separated). Relative file paths are relative to the
working directory. Unknown keys and unknown MTCIWF_ variables are errors.`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mtciwf",
		Short: "MTC-IWF Diameter security gateway",
		Long: `mtciwf is the MTC-IWF (TS 23.682) security gateway: SCSs connect to it over Tsp
(Diameter over TLS, mutual authentication) and it relays device triggers to the core.`,
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return &exitError{code: exitUsage}
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(a.serveCommand(), a.checkConfigCommand(), a.versionCommand())
	return root
}

// noArgs rejects positional arguments, pointing at --config (the usual slip is "check-config FILE").
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.Flags().Lookup("config") != nil {
			return fmt.Errorf("unexpected argument %q for %q (give the file with --config FILE)", args[0], cmd.CommandPath())
		}
		return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

func addConfigFlag(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVarP(file, "config", "c", "", "YAML configuration file (default: the built-in development defaults)")
}

// printProblems writes each problem of a LoadConfig or policy.Load error on its own line.
func printProblems(w io.Writer, err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

func (a *app) checkConfigCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "check-config",
		Aliases: []string{"validate"},
		Short:   "Load and validate the configuration, then exit",
		Long: `check-config loads the configuration exactly as serve does (file, environment, defaults),
validates it, then loads the authorization policy named by policy_file, and exits without
starting anything. When both are valid it prints "FILE: OK" and "POLICY_FILE: OK" on stdout and
exits 0. Otherwise it prints every problem on stderr, one per line, and exits 1: configuration
problems first, as "FILE: key: what is wrong", then policy problems, as
"POLICY_FILE:line: key: what is wrong". The policy is checked even when the configuration has
other problems, unless policy_file itself is one of them.

` + configHelp,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := loadConfig(file)
			failed := err != nil
			if failed {
				printProblems(a.stderr, err)
			}
			if cfg == nil || hasProblemWith(err, "policy_file") {
				return &exitError{code: exitFailure}
			}
			pol, perr := policy.Load(cfg.PolicyFile)
			if perr != nil {
				printProblems(a.stderr, perr)
				failed = true
			} else if err == nil {
				// A peer must be in both files to pass its CER
				// (iwf.PolicyAdmitter): say which ones would be refused.
				// Only on a valid configuration: otherwise this would
				// repeat its problems in other words.
				for _, line := range peerMismatches(sourceName(file), cfg, pol) {
					fmt.Fprintln(a.stderr, line)
					failed = true
				}
			}
			if failed {
				return &exitError{code: exitFailure}
			}
			fmt.Fprintf(a.stdout, "%s: OK\n%s: OK\n", sourceName(file), cfg.PolicyFile)
			return nil
		},
	}
	addConfigFlag(cmd, &file)
	return cmd
}

// peerMismatches lists the tsp.peers entries the policy does not know (or
// knows as the other kind, or in another realm): they would be refused at
// CER. Peers of the policy missing from tsp.peers are refused too, but that
// is how an operator disables a peer, so it is not reported.
func peerMismatches(file string, cfg *Config, pol *policy.Policy) []string {
	peers := pol.Peers()
	var out []string
	for i, p := range cfg.Tsp.Peers {
		key := fmt.Sprintf("%s: tsp.peers[%d]", file, i)
		pp, ok := peers[strings.ToLower(p.OriginHost)]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: %q has no entry in %s (neither an SCS peer nor an agent), so its CER would be refused",
				key, p.OriginHost, cfg.PolicyFile))
		case pp.Agent != (p.Kind == PeerKindAgent):
			out = append(out, fmt.Sprintf("%s: %q is kind %s here but %s in %s, so its CER would be refused",
				key, p.OriginHost, p.Kind, map[bool]string{true: "an agent", false: "an SCS peer"}[pp.Agent], cfg.PolicyFile))
		case !pp.Agent && pp.Realm != "" && !strings.EqualFold(pp.Realm, p.OriginRealm):
			out = append(out, fmt.Sprintf("%s: origin_realm %q differs from the realm %q of %q in %s, so its CER would be refused",
				key, p.OriginRealm, pp.Realm, p.OriginHost, cfg.PolicyFile))
		}
	}
	return out
}

// hasProblemWith says whether a LoadConfig error has a problem with key.
func hasProblemWith(err error, key string) bool {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return false
	}
	for _, e := range joined.Unwrap() {
		if ce, ok := e.(*ConfigError); ok && ce.Key == key {
			return true
		}
	}
	return false
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(a.stdout, "mtciwf %s (commit %s, %s, %s/%s)\n",
				version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// buildCommit is the commit set by -ldflags, else the one the Go toolchain stamped (when built with
// VCS stamping), else "dev".
func buildCommit() string {
	if commit != "dev" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return commit
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return commit
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func (a *app) serveCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon",
		Long: `serve loads and validates the configuration, then runs the daemon until SIGTERM or SIGINT.

On an invalid configuration it prints every problem on stderr and exits 2. On SIGTERM/SIGINT it
stops accepting, sends DPR to its peers and waits up to shutdown.grace_period for in-flight work;
a second SIGTERM/SIGINT stops it at once. SIGHUP is reserved for configuration reload (not yet
implemented: it is logged and ignored). Exit status: 0 after a clean stop, 1 when the daemon fails
or does not stop in time, 2 on an invalid configuration or command line.

` + configHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runServe(cmd.Context(), file)
		},
	}
	addConfigFlag(cmd, &file)
	return cmd
}

// logRestartKeys reads the configuration file again and names, in one log
// line, the keys whose new value needs a restart (everything but the
// contents of the policy and TLS files, which are reloaded in place).
func logRestartKeys(log *zap.Logger, file string, running *Config) {
	if file == "" {
		return // built-in defaults: nothing on disk can have changed
	}
	next, err := LoadConfig(file)
	if err != nil {
		log.Warn("SIGHUP: the configuration file has problems; the running configuration is unchanged",
			zap.String("config", file), zap.Strings("problems", problemLines(err)))
		return
	}
	if keys := changedKeys(running, next); len(keys) > 0 {
		log.Warn("SIGHUP: these configuration keys changed on disk and need a restart to take effect",
			zap.String("config", file), zap.Strings("keys", keys))
	}
}

// runServe is "mtciwf serve": load, log, install signal handlers, serve, and wait for a bounded stop.
func (a *app) runServe(parent context.Context, file string) error {
	cfg, err := LoadConfig(file)
	if err != nil {
		printProblems(a.stderr, err)
		return &exitError{code: exitUsage}
	}
	log, err := newLogger(cfg.Log, a.stderr)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer func() { _ = log.Sync() }()

	sigCtx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	stopHUP := watchHUP(log, file, cfg)
	defer stopHUP()
	// serve gets its own context, cancelled only after the stop request is logged.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(sigCtx))
	defer cancel(nil)

	log.Info("starting mtciwf",
		zap.String("version", version), zap.String("commit", buildCommit()),
		zap.String("go", runtime.Version()), zap.String("config", sourceName(file)))

	errc := make(chan error, 1)
	go func() { errc <- a.serve(ctx, cfg, log) }()
	select {
	case err = <-errc:
	case <-sigCtx.Done():
		stop() // from here a second SIGTERM/SIGINT has its default effect: immediate exit
		cause := context.Cause(sigCtx)
		log.Info("stop requested", zap.String("cause", cause.Error()),
			zap.Duration("grace_period", cfg.Shutdown.GracePeriod))
		cancel(cause)
		limit := cfg.Shutdown.GracePeriod + a.shutdownMargin
		timer := time.NewTimer(limit)
		defer timer.Stop()
		select {
		case err = <-errc:
		case <-timer.C:
			log.Error("shutdown did not finish in time; exiting anyway", zap.Duration("waited", limit))
			return &exitError{code: exitFailure}
		}
	}
	if err != nil {
		log.Error("daemon stopped with an error", zap.Error(err))
		return &exitError{code: exitFailure}
	}
	return nil
}

// ignoreHUP catches SIGHUP, which would otherwise kill the process, and logs it: SIGHUP is reserved
// for configuration reload. The returned function stops catching and waits for the goroutine.
func watchHUP(log *zap.Logger, file string, running *Config) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-hup:
				// The daemon reloads the policy and the TLS material itself
				// on SIGHUP; here we only tell the operator which edits of
				// the configuration file need a restart to take effect.
				logRestartKeys(log, file, running)
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}
