// Command scs is a Services Capability Server client for mtciwf: it speaks
// Tsp (Diameter over mutual TLS, TS 29.368). `connect` shows the
// capabilities exchange and a watchdog round trip; `trigger`, `replace` and
// `recall` send one Device-Action-Request, print the answer and wait for the
// delivery report; `load` drives many triggers and summarises.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
	"github.com/mtciwf/mtciwf/security"
)

// connFlags are the flags every subcommand shares: how to reach the MTC-IWF
// and who we are.
type connFlags struct {
	addr, cert, key, ca, serverName string
	originHost, originRealm         string
	destRealm                       string
	keyLog                          string
	wait                            time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var f connFlags
	root := &cobra.Command{Use: "scs", Short: "SCS client for the mtciwf Tsp interface", SilenceUsage: true, SilenceErrors: true}
	pf := root.PersistentFlags()
	pf.StringVar(&f.addr, "addr", "127.0.0.1:3868", "MTC-IWF Tsp address")
	pf.StringVar(&f.cert, "cert", "dev/pki/scs1.pem", "client certificate (PEM)")
	pf.StringVar(&f.key, "key", "dev/pki/scs1-key.pem", "client key (PEM)")
	pf.StringVar(&f.ca, "ca", "dev/pki/ca.pem", "trust anchor for the MTC-IWF certificate")
	pf.StringVar(&f.serverName, "server-name", "mtciwf.operator.example", "expected MTC-IWF identity (certificate dNSName)")
	pf.StringVar(&f.originHost, "origin-host", "scs1.scs.example", "our Origin-Host (must be a dNSName of --cert)")
	pf.StringVar(&f.originRealm, "origin-realm", "scs.example", "our Origin-Realm")
	pf.StringVar(&f.destRealm, "destination-realm", "operator.example", "the MTC-IWF's realm (Destination-Realm)")
	pf.DurationVar(&f.wait, "wait", 10*time.Second, "how long to keep retrying while the MTC-IWF starts")
	pf.StringVar(&f.keyLog, "keylog", "", "append TLS secrets to this file (NSS key log format) so tshark/Wireshark can decrypt a capture; for debugging only")
	root.AddCommand(connectCommand(stdout, &f))
	for _, c := range actionCommands(stdout, &f) {
		root.AddCommand(c)
	}
	root.AddCommand(loadCommand(stdout, stderr, &f))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "scs:", err)
		return 1
	}
	return 0
}

func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

// dial connects over mutual TLS and runs the capabilities exchange, retrying
// (bounded) while the daemon starts. h serves the requests the MTC-IWF sends
// us (DNR).
func dial(ctx context.Context, f *connFlags, h diam.Handler) (*diam.Conn, error) {
	tlsCfg, err := security.NewClientTLS(security.ClientTLSOptions{
		CertFile: f.cert, KeyFile: f.key, RootCAFiles: []string{f.ca}, ServerName: f.serverName,
	})
	if err != nil {
		return nil, fmt.Errorf("TLS setup: %w", err)
	}
	if f.keyLog != "" {
		kl, err := os.OpenFile(f.keyLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--keylog: %w", err)
		}
		tlsCfg.KeyLogWriter = kl // closed with the process
	}
	d, err := dictionaries.Tsp()
	if err != nil {
		return nil, err
	}
	cfg := diam.Config{
		Identity: diam.Identity{OriginHost: f.originHost, OriginRealm: f.originRealm,
			OriginStateID: uint32(time.Now().Unix()), ProductName: "mtciwf-scs"},
		App:     diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
		Handler: h,
	}
	// Only "connection refused" is worth retrying; a refused certificate
	// or CER is final.
	deadline := time.Now().Add(f.wait)
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := diam.Dial(dctx, "tcp", f.addr, cfg, diam.DialOptions{TLSConfig: tlsCfg})
		cancel()
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) || attempt >= 200 {
			return nil, fmt.Errorf("connect to %s: %w", f.addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func connectCommand(out io.Writer, f *connFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "connect",
		Short: "Connect over mutual TLS, exchange CER/CEA and DWR/DWA, then DPR/DPA",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			c, err := dial(ctx, f, nil)
			if err != nil {
				return err
			}
			cs := c.TLS()
			fmt.Fprintf(out, "== TLS %s, %s, server certificate %v verified\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), security.LeafDNSNames(*cs))
			fmt.Fprintf(out, "== CER sent as %s (%s); CEA received:\n%s\n", f.originHost, f.originRealm, c.PeerCEA())
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			dwa, err := c.Watchdog(wctx)
			cancel()
			if err != nil {
				return fmt.Errorf("DWR: %w", err)
			}
			fmt.Fprintf(out, "== DWR sent; DWA received:\n%s\n", dwa)
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := c.Disconnect(dctx, diam.DisconnectDoNotWantToTalkToYou); err != nil {
				return fmt.Errorf("DPR: %w", err)
			}
			fmt.Fprintln(out, "== DPR sent, DPA received, connection closed")
			return nil
		},
	}
}
