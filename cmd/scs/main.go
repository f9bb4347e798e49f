// Command scs is a Services Capability Server client for mtciwf: it connects
// over Tsp (Diameter over mutual TLS, TS 29.368), shows the capabilities
// exchange and a watchdog round trip, and disconnects with DPR.
package main

import (
	"context"
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

type connectFlags struct {
	addr, cert, key, ca, serverName string
	originHost, originRealm         string
	keyLog                          string
	wait                            time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{Use: "scs", Short: "SCS client for the mtciwf Tsp interface", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(connectCommand(stdout))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "scs:", err)
		return 1
	}
	return 0
}

func connectCommand(out io.Writer) *cobra.Command {
	var f connectFlags
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Connect over mutual TLS, exchange CER/CEA and DWR/DWA, then DPR/DPA",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return connect(ctx, out, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:3868", "MTC-IWF Tsp address")
	fl.StringVar(&f.cert, "cert", "dev/pki/scs1.pem", "client certificate (PEM)")
	fl.StringVar(&f.key, "key", "dev/pki/scs1-key.pem", "client key (PEM)")
	fl.StringVar(&f.ca, "ca", "dev/pki/ca.pem", "trust anchor for the MTC-IWF certificate")
	fl.StringVar(&f.serverName, "server-name", "mtciwf.operator.example", "expected MTC-IWF identity (certificate dNSName)")
	fl.StringVar(&f.originHost, "origin-host", "scs1.scs.example", "our Origin-Host (must be a dNSName of --cert)")
	fl.StringVar(&f.originRealm, "origin-realm", "scs.example", "our Origin-Realm")
	fl.DurationVar(&f.wait, "wait", 10*time.Second, "how long to keep retrying while the MTC-IWF starts")
	fl.StringVar(&f.keyLog, "keylog", "", "append TLS secrets to this file (NSS key log format) so tshark/Wireshark can decrypt a capture; for debugging only")
	return cmd
}

func connect(ctx context.Context, out io.Writer, f connectFlags) error {
	tlsCfg, err := security.NewClientTLS(security.ClientTLSOptions{
		CertFile: f.cert, KeyFile: f.key, RootCAFiles: []string{f.ca}, ServerName: f.serverName,
	})
	if err != nil {
		return fmt.Errorf("TLS setup: %w", err)
	}
	if f.keyLog != "" {
		kl, err := os.OpenFile(f.keyLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("--keylog: %w", err)
		}
		defer kl.Close()
		tlsCfg.KeyLogWriter = kl
	}
	d, err := dictionaries.Tsp()
	if err != nil {
		return err
	}
	cfg := diam.Config{
		Identity: diam.Identity{OriginHost: f.originHost, OriginRealm: f.originRealm,
			OriginStateID: uint32(time.Now().Unix()), ProductName: "mtciwf-scs"},
		App: diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
	}
	// Retry (bounded) while the daemon starts: only "connection refused"
	// is worth retrying; a refused certificate or CER is final.
	deadline := time.Now().Add(f.wait)
	var c *diam.Conn
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err = diam.Dial(dctx, "tcp", f.addr, cfg, diam.DialOptions{TLSConfig: tlsCfg})
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) || attempt >= 200 {
			return fmt.Errorf("connect to %s: %w", f.addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	cs := c.TLS()
	fmt.Fprintf(out, "== TLS %s, %s, server certificate %v verified\n", tlsVersion(cs.Version), cipherName(cs.CipherSuite), security.LeafDNSNames(*cs))
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
}
