package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
)

func exampleFile(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "configs", "subscribers.yaml")
}

func TestCommandLine(t *testing.T) {
	ex := exampleFile(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"check example", []string{"--subscribers", ex, "--check"}, exitOK, "OK (6 subscribers)", ""},
		{"check with injections", []string{"--subscribers", ex, "--check", "--inject", "target=hss,result=5001,count=2",
			"--inject", "target=delivery,outcome=expired"}, exitOK, "OK", ""},
		{"no subscribers", []string{"--check"}, exitUsage, "", "--subscribers is required"},
		{"missing file", []string{"--subscribers", "/nonexistent.yaml", "--check"}, exitUsage, "", "no such file"},
		{"bad injection", []string{"--subscribers", ex, "--check", "--inject", "target=hss,result=5535"}, exitUsage, "", "cannot be injected on hss"},
		{"bad outcome", []string{"--subscribers", ex, "--check", "--delivery-outcome", "lost"}, exitUsage, "", "--delivery-outcome"},
		{"control not loopback", []string{"--subscribers", ex, "--check", "--control", "0.0.0.0:3872"}, exitUsage, "", "not a loopback address"},
		{"tls without CA", []string{"--subscribers", ex, "--check", "--tls-cert", "a.pem", "--tls-key", "a-key.pem"}, exitUsage, "", "CA files"},
		{"bad log level", []string{"--subscribers", ex, "--check", "--log-level", "loud"}, exitUsage, "", "--log-level"},
		{"unknown flag", []string{"--colour"}, exitUsage, "", "unknown flag"},
		{"positional", []string{"file.yaml"}, exitUsage, "", "unknown command"},
		{"help", []string{"--help"}, exitOK, "--delivery-delay", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.out)
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.err)
			}
		})
	}
}

// TestRunAndStop starts the simulator as the command does, on free ports,
// reads the counters over the control endpoint, and stops it as SIGTERM
// would (the context ends): exit 0.
func TestRunAndStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *sim.Sim, 1)
	done := make(chan int, 1)
	var out, errb syncBuffer
	go func() {
		done <- runContext(ctx, []string{"--subscribers", exampleFile(t), "--hss-listen", "127.0.0.1:0",
			"--smsc-listen", "127.0.0.1:0", "--control", "127.0.0.1:0"}, &out, &errb, func(s *sim.Sim) { ready <- s })
	}()
	var s *sim.Sim
	select {
	case s = <-ready:
	case code := <-done:
		t.Fatalf("exited %d before ready: %s", code, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	resp, err := http.Get("http://" + s.ControlAddr().String() + "/counters")
	if err != nil {
		t.Fatal(err)
	}
	var c sim.Counters
	err = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if err != nil || c.SIRReceived != 0 {
		t.Errorf("counters: %+v %v", c, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after stop, want 0: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	for _, want := range []string{"hss listening", "smsc listening", "control endpoint listening", "stop requested", "coresim stopped"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, errb.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
