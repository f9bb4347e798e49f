package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// capturePprof fetches a CPU profile and an allocation profile (both as
// deltas over the same window) from the daemon's admin listener while the
// load runs, writes them into dir and keeps `go tool pprof -top` of each
// for the report. Failures are reported in the text, never fatal: the
// profiles are a diagnosis, not a result.
func (e *env) capturePprof(ctx context.Context, dir string, dur time.Duration) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.pprofTop = fmt.Sprintf("pprof: %v", err)
		return
	}
	// Skip the first second (connection set-up, warm-up), profile most of
	// the rest of the sending time.
	secs := int(dur.Seconds()) - 2
	if secs < 1 {
		secs = 1
	}
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", e.adminPort)
	type prof struct{ name, url, file string }
	profs := []prof{
		{"cpu", base + "profile?seconds=" + strconv.Itoa(secs), filepath.Join(dir, "daemon-cpu.pprof")},
		{"allocs", base + "allocs?seconds=" + strconv.Itoa(secs), filepath.Join(dir, "daemon-allocs.pprof")},
	}
	errs := make(chan error, len(profs))
	for _, p := range profs {
		go func() { errs <- fetch(ctx, p.url, p.file, time.Duration(secs+30)*time.Second) }()
	}
	var failed []string
	for range profs {
		if err := <-errs; err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		e.pprofTop = "pprof capture failed: " + strings.Join(failed, "; ")
		return
	}
	e.pprofFiles = []string{profs[0].file, profs[1].file}
	daemon := filepath.Join(e.o.bin, "mtciwf")
	e.pprofShares = pprofShares(ctx, daemon, profs[0].file)
	e.pprofTop = pprofTop(ctx, "-top", "-nodecount", "35", daemon, profs[0].file)
	e.pprofAllocTop = pprofTop(ctx, "-sample_index=alloc_space", "-top", "-nodecount", "25", daemon, profs[1].file)
}

func fetch(ctx context.Context, url, file string, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", url, err)
	}
	return f.Close()
}

// pprofTop runs `go tool pprof` with args and returns its table (without
// the header lines that name the temporary paths).
func pprofTop(ctx context.Context, args ...string) string {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "go", append([]string{"tool", "pprof"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Sprintf("go tool pprof failed: %v", err)
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// cpuShare is one line of the "where the time goes" table.
type cpuShare struct {
	What, Focus string
	Share       string // "24.4%", or why it is missing
}

// shareCategories group the daemon's CPU samples by what a frame on their
// stack says they were doing. A sample can be in several (an allocation in
// the store is store and allocation), so the column does not add up to
// 100 %.
var shareCategories = []struct{ what, focus string }{
	{"store: bbolt commits and reads (iwf.BoltStore)", `go\.etcd\.io/bbolt|iwf\.\(\*BoltStore\)`},
	{"  of which fdatasync", `fdatasync`},
	{"memory: allocation and garbage collection", `runtime\.(mallocgc|gcBgMarkWorker)`},
	{"sockets: reads and writes, TLS records included", `net\.\(\*conn\)\.(Read|Write)|crypto/tls\.\(\*Conn\)\.(Read|Write)`},
	{"Diameter codec: go-diameter, typed messages, frame guard, validation", `fiorix/go-diameter/v4/diam\.|diam/internal/codec|mtciwf/diam/(tsp|s6m|t4)\.|mtciwf/diam\.(CheckFrame|Validate|\(\*FrameReader\))`},
	{"procedures: iwf.Gateway (inclusive of its store, codec and core calls)", `iwf\.\(\*Gateway\)`},
	{"authorization policy", `security/policy`},
	{"goroutine scheduling", `runtime\.(schedule|findRunnable|park_m|goready|wakep)`},
}

func pprofShares(ctx context.Context, bin, file string) []cpuShare {
	out := make([]cpuShare, 0, len(shareCategories))
	for _, c := range shareCategories {
		sh := cpuShare{What: c.what, Focus: c.focus}
		top := pprofTop(ctx, "-top", "-nodecount", "100000", "-focus", c.focus, bin, file)
		sh.Share = "?"
		for _, l := range strings.Split(top, "\n") {
			// "Showing nodes accounting for 1.35s, 24.37% of 5.54s total"
			if i := strings.Index(l, "accounting for "); i >= 0 {
				f := strings.Fields(l[i+len("accounting for "):])
				if len(f) >= 2 {
					sh.Share = strings.TrimSuffix(f[1], ",")
				}
			}
		}
		out = append(out, sh)
	}
	return out
}
