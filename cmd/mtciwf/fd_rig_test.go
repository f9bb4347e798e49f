package main

// freeDiameter (Debian's freediameterd) as a Diameter relay agent in the
// end-to-end tests: finding or installing it, writing its configuration,
// running it and stopping it.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	fdOnce   sync.Once
	fdPath   string
	fdReason string
)

// freeDiameterd returns the path of freeDiameterd, installing the Debian
// package freediameterd first when it is missing and this process may do so
// (see aptInstall). When it cannot be had the test is skipped with the
// reason printed.
func freeDiameterd(t *testing.T) string {
	t.Helper()
	fdOnce.Do(func() {
		if p, err := exec.LookPath("freeDiameterd"); err == nil {
			fdPath = p
			return
		}
		if fdReason = aptInstall("freediameterd", "freeDiameterd is not installed"); fdReason != "" {
			return
		}
		if p, err := exec.LookPath("freeDiameterd"); err == nil {
			fdPath = p
			return
		}
		fdReason = "apt-get installed freediameterd but freeDiameterd is not on PATH"
	})
	if fdPath == "" {
		t.Skip(fdReason)
	}
	return fdPath
}

// aptInstall installs the Debian package pkg with apt-get when this process
// may (root, apt-get present; bounded by a timeout). It returns "" on
// success, else why it could not, starting with missing (what is absent).
func aptInstall(pkg, missing string) string {
	apt, err := exec.LookPath("apt-get")
	switch {
	case err != nil:
		return fmt.Sprintf("%s and there is no apt-get to install the %s package", missing, pkg)
	case os.Geteuid() != 0:
		return fmt.Sprintf("%s and installing the %s package needs root", missing, pkg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", pkg}} {
		cmd := exec.CommandContext(ctx, apt, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Sprintf("%s; installing %s failed (apt-get %s: %v): %s", missing, pkg, strings.Join(args, " "), err, lastLines(out.String(), 5))
		}
	}
	return ""
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// fdAgent is a running freeDiameterd.
type fdAgent struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

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

// startFreeDiameter writes conf (identity, TLS files, peers) to a file in
// dir and runs freeDiameterd on it without any listening socket (Port = 0,
// SecPort = 0: freeDiameter 1.2.1 drops loopback addresses from ListenOn
// and would listen on every interface), TCP and IPv4 only, so it only
// dials the peers of its ConnectPeer entries. It is stopped at cleanup
// (SIGTERM, then SIGKILL after 5 s); its configuration and log are printed
// if the test failed.
func startFreeDiameter(t *testing.T, dir, name string, conf string) *fdAgent {
	t.Helper()
	bin := freeDiameterd(t)
	path := filepath.Join(dir, name+".conf")
	full := "Port = 0;\nSecPort = 0;\nNo_SCTP;\nNo_IPv6;\n" + conf
	writeFile(t, path, []byte(full))
	a := &fdAgent{log: &syncBuffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(bin, "-c", path)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start freeDiameterd: %v", err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("freeDiameterd %s config:\n%s\nlog:\n%s", name, full, lastLines(a.log.String(), 200))
		}
	})
	return a
}

// running reports whether freeDiameterd is still running.
func (a *fdAgent) running() bool {
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}
