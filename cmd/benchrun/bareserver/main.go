// Command bareserver is the baseline of `make bench`: a bare go-diameter
// (fiorix/go-diameter/v4) mutual-TLS server that answers every DAR at once
// with a DAA (Result-Code 2001, Device-Notification with Request-Status
// SUCCESS). It uses the library's own Server and sm.StateMachine (CER/CEA,
// DWR/DWA) with our Tsp dictionary and nothing of ours on the hot path, so
// its messages per CPU-second are the library's own ceiling on this machine.
//
// It is a measurement tool, not a Diameter node: no frame guard, no
// identity binding, no DPR. Loopback only.
//
//	bareserver -listen 127.0.0.1:3878 -cert mtciwf.pem -key mtciwf-key.pem -ca ca.pem
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/sm"

	"github.com/mtciwf/mtciwf/dictionaries"
)

// Tsp AVP codes (TS 29.368, vendor 10415).
const (
	codeDeviceAction       = 3001
	codeDeviceNotification = 3002
	codeActionType         = 3005
	codeReferenceNumber    = 3007
	codeRequestStatus      = 3008
	cmdDeviceAction        = 8388639
)

func main() {
	listen := flag.String("listen", "127.0.0.1:3878", "listen address (loopback)")
	certFile := flag.String("cert", "", "server certificate (PEM)")
	keyFile := flag.String("key", "", "server key (PEM)")
	caFile := flag.String("ca", "", "CA client certificates must chain to (PEM)")
	originHost := flag.String("origin-host", "mtciwf.operator.example", "Origin-Host")
	originRealm := flag.String("origin-realm", "operator.example", "Origin-Realm")
	concurrent := flag.Int("max-concurrent-handlers", 0, "go-diameter Server.MaxConcurrentHandlers (0: sequential dispatch, the library default)")
	flag.Parse()
	if err := run(*listen, *certFile, *keyFile, *caFile, *originHost, *originRealm, *concurrent); err != nil {
		fmt.Fprintln(os.Stderr, "bareserver:", err)
		os.Exit(1)
	}
}

func run(listen, certFile, keyFile, caFile, originHost, originRealm string, concurrent int) error {
	if certFile == "" || keyFile == "" || caFile == "" {
		return fmt.Errorf("give -cert, -key and -ca (e.g. dev/pki/mtciwf.pem, dev/pki/mtciwf-key.pem, dev/pki/ca.pem; make pki writes them)")
	}
	if host, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("-listen %q: %w", listen, err)
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: give a loopback IP address (127.0.0.1:port or [::1]:port); bareserver is a measurement tool, not a Diameter node", listen)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("-cert/-key: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("-ca %s: no PEM certificate in it", caFile)
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	d, err := dictionaries.Tsp()
	if err != nil {
		return err
	}
	mux := sm.New(&sm.Settings{
		OriginHost:  datatype.DiameterIdentity(originHost),
		OriginRealm: datatype.DiameterIdentity(originRealm),
		VendorID:    dictionaries.VendorID3GPP,
		ProductName: "bareserver",
		Dict:        d,
	})
	oh := datatype.DiameterIdentity(originHost)
	or := datatype.DiameterIdentity(originRealm)
	mux.HandleIdx(diam.CommandIndex{AppID: dictionaries.AppTsp, Code: cmdDeviceAction, Request: true},
		diam.HandlerFunc(func(c diam.Conn, m *diam.Message) { answerDAR(c, m, oh, or) }))
	// DPR and anything else: ignore (the error reports channel must be drained).
	go func() {
		for range mux.ErrorReports() {
		}
	}()

	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &diam.Server{Handler: mux, Dict: d, MaxConcurrentHandlers: concurrent}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		_ = srv.Close()
		os.Exit(0)
	}()
	fmt.Printf("bareserver listening on %s\n", l.Addr())
	return srv.Serve(tls.NewListener(l, tlsCfg))
}

// answerDAR writes the DAA: Session-Id, Auth-Application-Id,
// Auth-Session-State, Origin-Host/Realm, Result-Code 2001 and
// Device-Notification{Reference-Number, Action-Type, Request-Status 0}.
func answerDAR(c diam.Conn, m *diam.Message, oh, or datatype.DiameterIdentity) {
	var ref, action datatype.Type = datatype.Unsigned32(0), datatype.Enumerated(0)
	for _, a := range m.AVP {
		if a.Code == codeDeviceAction {
			if g, ok := a.Data.(*diam.GroupedAVP); ok {
				for _, x := range g.AVP {
					switch x.Code {
					case codeReferenceNumber:
						ref = x.Data
					case codeActionType:
						action = x.Data
					}
				}
			}
		}
	}
	a := m.Answer(2001)
	if sid, err := m.FindAVP(avp.SessionID, 0); err == nil {
		a.InsertAVP(diam.NewAVP(avp.SessionID, avp.Mbit, 0, sid.Data))
	}
	a.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(dictionaries.AppTsp))
	a.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
	a.NewAVP(avp.OriginHost, avp.Mbit, 0, oh)
	a.NewAVP(avp.OriginRealm, avp.Mbit, 0, or)
	a.NewAVP(codeDeviceNotification, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(codeReferenceNumber, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, ref),
		diam.NewAVP(codeActionType, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, action),
		diam.NewAVP(codeRequestStatus, avp.Mbit|avp.Vbit, dictionaries.VendorID3GPP, datatype.Enumerated(0)),
	}})
	_, _ = a.WriteTo(c)
}
