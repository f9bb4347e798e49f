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
