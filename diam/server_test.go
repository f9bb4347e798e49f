package diam_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func TestCapabilitiesWatchdogAndDPROnShutdown(t *testing.T) {
	r := newRig(t, nil)
	c := r.mustDial("scs1.scs.example", "scs1.scs.example")

	cea := c.PeerCEA()
	if cea.Header.CommandFlags&godiam.ErrorFlag != 0 {
		t.Errorf("successful CEA carries the E-bit")
	}
	// The Tsp listener advertises Tsp and nothing else.
	var apps []uint32
	for _, a := range cea.AVP {
		if a.Code == avp.VendorSpecificApplicationID {
			for _, in := range a.Data.(*godiam.GroupedAVP).AVP {
				if in.Code == avp.AuthApplicationID || in.Code == avp.AcctApplicationID {
					apps = append(apps, uint32(in.Data.(datatype.Unsigned32)))
				}
			}
		}
		if a.Code == avp.AuthApplicationID || a.Code == avp.AcctApplicationID {
			apps = append(apps, uint32(a.Data.(datatype.Unsigned32)))
		}
	}
	if len(apps) != 1 || apps[0] != dictionaries.AppTsp {
		t.Errorf("CEA advertises %v, want only %d", apps, dictionaries.AppTsp)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dwa, err := c.Watchdog(ctx)
	if err != nil {
		t.Fatalf("DWR: %v", err)
	}
	if rc := resultCode(dwa); rc != diam.ResultSuccess {
		t.Errorf("DWA Result-Code %d", rc)
	}
	osi, err := dwa.FindAVP(avp.OriginStateID, 0)
	if err != nil || osi == nil || uint32(osi.Data.(datatype.Unsigned32)) != 77 {
		t.Errorf("DWA lacks our Origin-State-Id 77: %v", osi)
	}

	// Shutdown sends DPR; the client answers DPA and the connection ends.
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := r.srv.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown: %v (the DPA did not come back?)", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client connection still open after server shutdown")
	}
	if err := <-r.serve; !errors.Is(err, diam.ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	r.serve <- diam.ErrServerClosed // for the cleanup
}

func TestCERRefusals(t *testing.T) {
	r := newRig(t, nil)
	cases := []struct {
		name, cert, originHost string
		want                   uint32
		reason                 string
	}{
		{"SAN differs from Origin-Host", "scs1.scs.example", "scs2.scs.example", diam.ResultUnknownPeer, "is not a dNSName of the peer certificate"},
		{"unknown Origin-Host", "stranger.scs.example", "stranger.scs.example", diam.ResultUnknownPeer, "not a configured peer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.dial(tc.cert, tc.originHost)
			var ce *diam.CEAError
			if !errors.As(err, &ce) {
				t.Fatalf("dial: %v, want a CEA error", err)
			}
			if ce.ResultCode != tc.want {
				t.Errorf("Result-Code %d, want %d", ce.ResultCode, tc.want)
			}
			if !strings.Contains(ce.ErrorMessage, tc.reason) || !r.logged(tc.reason) {
				t.Errorf("reason %q not in Error-Message %q or the log", tc.reason, ce.ErrorMessage)
			}
		})
	}
}

func TestCEAFlagsAndCommonApplication(t *testing.T) {
	r := newRig(t, nil)
	t.Run("wrong realm: 3010 with E-bit, then closed", func(t *testing.T) {
		w := r.raw("scs1.scs.example")
		w.send(buildCER(r.dict, "scs1.scs.example", "elsewhere.example", []uint32{dictionaries.AppTsp}, true))
		cea := w.mustRead()
		if rc := resultCode(cea); rc != diam.ResultUnknownPeer {
			t.Fatalf("CEA %d, want 3010", rc)
		}
		if cea.Header.CommandFlags&godiam.ErrorFlag == 0 {
			t.Errorf("3010 CEA without the E-bit (RFC 6733 7.1.3)")
		}
		w.expectClosed()
	})
	t.Run("no common application: 5010 without E-bit", func(t *testing.T) {
		w := r.raw("scs1.scs.example")
		w.send(buildCER(r.dict, "scs1.scs.example", scsRealm, []uint32{dictionaries.AppS6m}, true))
		cea := w.mustRead()
		if rc := resultCode(cea); rc != diam.ResultNoCommonApplication {
			t.Fatalf("CEA %d, want 5010", rc)
		}
		if cea.Header.CommandFlags&godiam.ErrorFlag != 0 {
			t.Errorf("5010 CEA carries the E-bit")
		}
		w.expectClosed()
	})
	t.Run("Tsp as plain Auth-Application-Id", func(t *testing.T) {
		w := r.raw("scs1.scs.example")
		w.send(buildCER(r.dict, "scs1.scs.example", scsRealm, []uint32{dictionaries.AppTsp}, false))
		if rc := resultCode(w.mustRead()); rc != diam.ResultSuccess {
			t.Fatalf("CEA %d", rc)
		}
	})
	t.Run("freeDiameter style: relay only, non-loopback Host-IP-Address", func(t *testing.T) {
		w := r.raw("scs1.scs.example")
		cer := buildCER(r.dict, "scs1.scs.example", scsRealm, nil, false)
		cer.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.ParseIP("192.0.2.7")))
		cer.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(diam.AppRelay))
		w.send(cer)
		if rc := resultCode(w.mustRead()); rc != diam.ResultSuccess {
			t.Fatalf("CEA %d", rc)
		}
	})
	t.Run("64 Origin-Host AVPs", func(t *testing.T) {
		w := r.raw("scs1.scs.example")
		cer := buildCER(r.dict, "scs1.scs.example", scsRealm, []uint32{dictionaries.AppTsp}, true)
		for i := 0; i < 63; i++ {
			cer.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("scs1.scs.example"))
		}
		w.send(cer)
		cea, err := w.readRaw()
		if err != nil {
			t.Fatalf("no CEA: %v", err)
		}
		if cea.resultCode != diam.ResultAVPOccursTooManyTimes {
			t.Fatalf("CEA %d (%s), want 5009 (Origin-Host at most once)", cea.resultCode, cea.errorMessage)
		}
		w.expectClosed()
	})
}

func TestRequestBeforeCERCloses(t *testing.T) {
	r := newRig(t, nil)
	w := r.raw("scs1.scs.example")
	w.send(buildDAR(r.dict, "scs1.scs.example"))
	w.expectClosed()
	eventually(t, "RefusedBeforeCER counted", func() bool { return r.srv.Stats.RefusedBeforeCER.Load() == 1 })
	if !r.logged("message before CER") {
		t.Error("no log line for the request before CER")
	}
}

func TestOriginHostBinding(t *testing.T) {
	r := newRig(t, nil)
	cases := []struct {
		name, cert, peer, origin string
		want                     uint32
	}{
		{"SCS uses its own Origin-Host", "scs1.scs.example", "scs1.scs.example", "scs1.scs.example", diam.ResultUnableToComply},
		{"SCS uses another SCS's Origin-Host", "scs1.scs.example", "scs1.scs.example", "scs2.scs.example", diam.ResultUnknownPeer},
		{"agent carries a listed SCS", "dra1.scs.example", "dra1.scs.example", "scs1.scs.example", diam.ResultUnableToComply},
		{"agent carries an unlisted SCS", "dra1.scs.example", "dra1.scs.example", "scs2.scs.example", diam.ResultUnknownPeer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := r.srv.Stats.SpoofedOrigin.Load()
			w := r.raw(tc.cert)
			w.cer(tc.peer)
			w.send(buildDAR(r.dict, tc.origin))
			ans := w.mustRead()
			if rc := resultCode(ans); rc != tc.want {
				t.Fatalf("Result-Code %d (%s), want %d", rc, errorMessage(ans), tc.want)
			}
			if tc.want == diam.ResultUnknownPeer {
				if ans.Header.CommandFlags&godiam.ErrorFlag == 0 {
					t.Error("3010 answer without E-bit")
				}
				if r.srv.Stats.SpoofedOrigin.Load() != before+1 {
					t.Error("spoofed Origin-Host not counted")
				}
			} else if got := errorMessage(ans); got != "device triggering is not enabled" {
				t.Errorf("Error-Message %q", got)
			}
		})
	}
}

func TestProtocolErrorAnswers(t *testing.T) {
	r := newRig(t, nil)
	good := r.mustDial("scs2.scs.example", "scs2.scs.example")
	w := r.raw("scs1.scs.example")
	w.cer("scs1.scs.example")

	t.Run("unknown command 3001", func(t *testing.T) {
		m := buildDAR(r.dict, "scs1.scs.example")
		m.Header.CommandCode = 8388700
		w.send(m)
		ans, err := w.readRaw()
		if err != nil {
			t.Fatal(err)
		}
		if ans.resultCode != diam.ResultCommandUnsupported || ans.h.CommandFlags&godiam.ErrorFlag == 0 {
			t.Fatalf("got %d flags %x", ans.resultCode, ans.h.CommandFlags)
		}
	})
	t.Run("unknown application 3007", func(t *testing.T) {
		m := buildDAR(r.dict, "scs1.scs.example")
		m.Header.ApplicationID = 16777251
		w.send(m)
		ans, err := w.readRaw()
		if err != nil {
			t.Fatal(err)
		}
		if ans.resultCode != diam.ResultApplicationUnsupported || ans.h.CommandFlags&godiam.ErrorFlag == 0 {
			t.Fatalf("got %d flags %x", ans.resultCode, ans.h.CommandFlags)
		}
	})
	t.Run("unknown AVP with M-bit 5001 and Failed-AVP", func(t *testing.T) {
		m := buildDAR(r.dict, "scs1.scs.example")
		m.NewAVP(uint32(999999), avp.Mbit|avp.Vbit, 12345, datatype.OctetString("x"))
		w.send(m)
		ans := w.mustRead()
		if rc := resultCode(ans); rc != diam.ResultAVPUnsupported {
			t.Fatalf("got %d (%s)", rc, errorMessage(ans))
		}
		fa, err := ans.FindAVP(avp.FailedAVP, 0)
		if err != nil || fa == nil {
			t.Fatalf("no Failed-AVP")
		}
		in := fa.Data.(*godiam.GroupedAVP).AVP
		if len(in) != 1 || in[0].Code != 999999 || in[0].VendorID != 12345 {
			t.Errorf("Failed-AVP holds %+v", in)
		}
	})
	t.Run("missing mandatory AVP 5005", func(t *testing.T) {
		m := buildDAR(r.dict, "scs1.scs.example")
		m.DeleteAVP(avp.DestinationRealm, 0)
		w.send(m)
		ans := w.mustRead()
		if rc := resultCode(ans); rc != diam.ResultMissingAVP {
			t.Fatalf("got %d", rc)
		}
		fa, err := ans.FindAVP(avp.FailedAVP, 0)
		if err != nil || fa == nil || fa.Data.(*godiam.GroupedAVP).AVP[0].Code != avp.DestinationRealm {
			t.Errorf("Failed-AVP does not name Destination-Realm: %v", fa)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := good.Watchdog(ctx); err != nil {
		t.Fatalf("good peer lost service: %v", err)
	}
}

func TestMalformedFrames(t *testing.T) {
	// A 1 MiB limit so the 10,000-deep frame (80 KB) reaches the depth check
	// instead of being refused for its length.
	r := newRig(t, func(s *diam.Server) { s.Limits.MaxMessageSize = 1 << 20 })
	good := r.mustDial("scs2.scs.example", "scs2.scs.example")
	const dar, app = 8388639, 16777309
	avpHdr := func(code uint32, flags byte, length uint32) []byte {
		return []byte{byte(code >> 24), byte(code >> 16), byte(code >> 8), byte(code), flags, byte(length >> 16), byte(length >> 8), byte(length)}
	}
	nested := func(depth int) []byte {
		// Vendor-Specific-Application-Id (260) inside itself, depth times.
		body := []byte{}
		for i := 0; i < depth; i++ {
			l := uint32(8 + len(body))
			body = append(avpHdr(260, 0x40, l), body...)
		}
		return body
	}
	withBody := func(body []byte) []byte {
		return append(header(1, uint32(20+len(body)), 0x80, dar, app, 1, 2), body...)
	}
	cases := []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{"length 0", header(1, 0, 0x80, dar, app, 1, 2), diam.ResultInvalidMessageLength},
		{"length 5", header(1, 5, 0x80, dar, app, 1, 2), diam.ResultInvalidMessageLength},
		{"length 19", header(1, 19, 0x80, dar, app, 1, 2), diam.ResultInvalidMessageLength},
		{"length above maximum", header(1, 2<<20, 0x80, dar, app, 1, 2), diam.ResultInvalidMessageLength},
		{"version 2", header(2, 20, 0x80, dar, app, 1, 2), diam.ResultUnsupportedVersion},
		{"AVP length 0", withBody(avpHdr(263, 0x40, 0)), diam.ResultInvalidAVPLength},
		{"AVP overruns message", withBody(append(avpHdr(263, 0x40, 400), make([]byte, 8)...)), diam.ResultInvalidAVPLength},
		{"AVP overruns its group", withBody(append(avpHdr(260, 0x40, 24), append(avpHdr(266, 0x40, 40), make([]byte, 8)...)...)), diam.ResultInvalidAVPLength},
		{"10,000-deep grouped nesting", withBody(nested(10000)), diam.ResultUnableToComply},
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := r.raw("scs1.scs.example")
			w.cer("scs1.scs.example")
			w.write(tc.frame)
			ans, err := w.readRaw()
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if ans.resultCode != tc.want {
				t.Fatalf("Result-Code %d (%s), want %d", ans.resultCode, ans.errorMessage, tc.want)
			}
			if ans.h.HopByHopID != 1 || ans.h.EndToEndID != 2 {
				t.Errorf("answer ids %d/%d, want 1/2", ans.h.HopByHopID, ans.h.EndToEndID)
			}
			if ans.errorMessage == "" {
				t.Errorf("answer without Error-Message")
			}
			if tc.want == diam.ResultUnableToComply {
				// Framing intact: the connection stays usable.
				w.send(buildDAR(r.dict, "scs1.scs.example"))
				if a := w.mustRead(); resultCode(a) != diam.ResultUnableToComply || errorMessage(a) != "device triggering is not enabled" {
					t.Errorf("next request on the same connection got %d %q", resultCode(a), errorMessage(a))
				}
			} else {
				w.expectClosed()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := good.Watchdog(ctx); err != nil {
				t.Fatalf("good peer lost service: %v", err)
			}
		})
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 32<<20 {
		t.Errorf("heap grew by %d bytes over the malformed frames", grow)
	}
	if r.srv.Stats.Panics.Load() != 0 {
		t.Errorf("%d panics contained", r.srv.Stats.Panics.Load())
	}
	if !r.logged("diameter frame refused") {
		t.Error("no log line for refused frames")
	}
}

func TestSlowRequestsTooBusyAndWatchdog(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	r := newRig(t, func(s *diam.Server) {
		s.MaxInFlight = 2
		s.Handler = diam.HandlerFunc(func(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
			started.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return c.NewAnswer(req, diam.ResultSuccess), nil
		})
	})
	defer close(release)
	w := r.raw("scs1.scs.example")
	w.cer("scs1.scs.example")
	for i := 0; i < 2; i++ {
		m := buildDAR(r.dict, "scs1.scs.example")
		m.Header.EndToEndID = uint32(100 + i)
		w.send(m)
	}
	eventually(t, "two handlers running", func() bool { return started.Load() == 2 })
	m := buildDAR(r.dict, "scs1.scs.example")
	m.Header.EndToEndID = 200
	w.send(m)
	if ans := w.mustRead(); resultCode(ans) != diam.ResultTooBusy {
		t.Fatalf("third request got %d, want 3004", resultCode(ans))
	}
	// A DWR is answered while both handlers are still blocked.
	dwr := godiam.NewRequest(diam.CmdDeviceWatchdog, 0, r.dict)
	dwr.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("scs1.scs.example"))
	dwr.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(scsRealm))
	w.send(dwr)
	if ans := w.mustRead(); ans.Header.CommandCode != diam.CmdDeviceWatchdog || resultCode(ans) != diam.ResultSuccess {
		t.Fatalf("got command %d result %d, want DWA 2001", ans.Header.CommandCode, resultCode(ans))
	}
}

func TestDuplicateDetection(t *testing.T) {
	var calls atomic.Int32
	r := newRig(t, func(s *diam.Server) {
		s.Handler = diam.HandlerFunc(func(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
			n := calls.Add(1)
			a := c.NewAnswer(req, diam.ResultSuccess)
			a.NewAVP(avp.ErrorMessage, 0, 0, datatype.UTF8String("execution "+string(rune('0'+n))))
			return a, nil
		})
	})
	w := r.raw("scs1.scs.example")
	w.cer("scs1.scs.example")
	m := buildDAR(r.dict, "scs1.scs.example")
	m.Header.EndToEndID = 4242
	w.send(m)
	first := w.mustRead()
	// The same request again after a failover: T flag, same End-to-End id,
	// new Hop-by-Hop id, possibly on another connection.
	w2 := r.raw("scs1.scs.example")
	w2.cer("scs1.scs.example")
	dup := buildDAR(r.dict, "scs1.scs.example")
	dup.Header.EndToEndID = 4242
	dup.Header.HopByHopID = 777
	dup.Header.CommandFlags |= godiam.RetransmittedFlag
	w2.send(dup)
	second := w2.mustRead()
	if calls.Load() != 1 {
		t.Fatalf("handler ran %d times, want 1", calls.Load())
	}
	if errorMessage(first) != errorMessage(second) || second.Header.HopByHopID != 777 {
		t.Errorf("replayed answer %q hbh %d, want %q hbh 777", errorMessage(second), second.Header.HopByHopID, errorMessage(first))
	}
	if r.srv.Stats.Duplicates.Load() != 1 {
		t.Errorf("duplicates counted %d", r.srv.Stats.Duplicates.Load())
	}
}

func TestWatchdogDropsSilentPeer(t *testing.T) {
	r := newRig(t, func(s *diam.Server) { s.WatchdogInterval = 400 * time.Millisecond })
	w := r.raw("scs1.scs.example")
	w.cer("scs1.scs.example")
	// Read the DWR but never answer it.
	m := w.mustRead()
	if m.Header.CommandCode != diam.CmdDeviceWatchdog || m.Header.CommandFlags&godiam.RequestFlag == 0 {
		t.Fatalf("expected DWR, got command %d", m.Header.CommandCode)
	}
	w.expectClosed()
	eventually(t, "watchdog failure counted", func() bool { return r.srv.Stats.WatchdogFailures.Load() == 1 })
}

func TestConnectionCapsAndHandshakeDeadline(t *testing.T) {
	r := newRig(t, func(s *diam.Server) {
		s.MaxConnectionsPerIP = 2
		s.HandshakeTimeout = 300 * time.Millisecond
	})
	var conns []net.Conn
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	eventually(t, "third connection refused by the per-IP cap", func() bool { return r.srv.Stats.RefusedConnLimit.Load() >= 1 })
	// The two idle sockets never send a ClientHello: dropped at the deadline.
	eventually(t, "idle handshakes dropped", func() bool { return r.srv.Stats.RefusedHandshakes.Load() >= 2 })
	// Slots are free again.
	c := r.mustDial("scs1.scs.example", "scs1.scs.example")
	_ = c
}

func TestOriginHostHelper(t *testing.T) {
	m := buildDAR(tspDict(t), "scs1.scs.example")
	if got := diam.OriginHost(m); got != "scs1.scs.example" {
		t.Fatalf("OriginHost = %q", got)
	}
}

// TestWriteTimeoutClosesAPeerThatDoesNotRead: a peer that sends requests
// but never reads its answers fills the socket buffers; the writer's
// deadline (WriteTimeout, moved per batch of frames, not per frame) ends
// the connection instead of holding it, and its handlers, forever.
func TestWriteTimeoutClosesAPeerThatDoesNotRead(t *testing.T) {
	big := strings.Repeat("x", 256<<10)
	r := newRig(t, func(s *diam.Server) {
		s.Config.WriteTimeout = 300 * time.Millisecond
		s.Config.Handler = diam.HandlerFunc(func(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
			return c.NewErrorAnswer(req, diam.ResultUnableToComply, big), nil
		})
	})
	// The client's receive buffer is kept small (set before connecting,
	// so the TCP window stays small too): the server's writes block once
	// its own send buffer fills, whatever the kernel's autotuning limits.
	// The socket stays full, so a close that tried to send TLS's
	// close_notify first would hang on it for 5 s (Conn.abort).
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	nc, err := d.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(nc, r.clientTLS("scs1.scs.example"))
	t.Cleanup(func() { _ = tc.Close() })
	w := &raw{t: t, c: tc, r: r, hb: 1000}
	w.cer("scs1.scs.example")
	// 200 answers of 256 KiB are 50 MiB: far beyond the socket buffers, so
	// the server's writes block.
	for range 200 {
		w.send(buildDAR(r.dict, "scs1.scs.example"))
	}
	eventually(t, "the server closes the connection on its write deadline", func() bool {
		return r.logged("write:")
	})
	// The client still gets EOF after draining what the kernel buffered.
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	for total := 0; total < 64<<20; {
		n, err := w.c.Read(buf)
		total += n
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection still open 10 s after the write deadline")
			}
			return
		}
	}
	t.Fatal("read more than was ever sent before the close")
}

// TestServeReturnsWhenListenerClosed: a listener closed by its owner, not by
// Shutdown, ends Serve with an error wrapping net.ErrClosed instead of an
// accept retry loop that never ends.
func TestServeReturnsWhenListenerClosed(t *testing.T) {
	d := tspDict(t)
	srv := &diam.Server{Config: diam.Config{
		Identity: diam.Identity{OriginHost: mtciwfHost, OriginRealm: mtciwfRealm},
		App:      diam.Application{ID: dictionaries.AppTsp, VendorID: dictionaries.VendorID3GPP, Dict: d},
		Admitter: anyPeer{},
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	_ = l.Close()
	select {
	case err := <-served:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve returned %v, want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5 s after its listener was closed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
