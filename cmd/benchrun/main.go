// Command benchrun is `make bench`: it measures the mtciwf daemon end to end
// on 127.0.0.1 and, in the same run, a bare go-diameter server as the
// baseline, then prints one Markdown table and writes BENCHMARKS.md.
//
// Steps (all children are stopped on exit and on Ctrl-C; every wait is
// bounded):
//
//  1. a throwaway PKI (configs/devpki) and a temporary directory; coresim
//     (HSS + SMS-SC, small delivery delay) and the daemon (bbolt on disk,
//     fsync on, log level warn, a policy without rate or quota limits,
//     per-connection in-flight bound raised);
//
//  2. the highest sustained triggers/s at which every trigger is answered
//     Request-Status SUCCESS and every delivery report arrives: double from
//     -start while steps pass, then bisect; each step runs `scs load` against
//     a freshly started daemon with an empty store (so references never
//     collide with a previous step's and each step's CPU is its own);
//
//  3. at that rate (stepping down 10 % while the longer measurement run does
//     not hold it) and at half of it: DAR->DAA latency, daemon CPU per
//     trigger (utime+stime from /proc/<pid>/stat), Diameter messages per
//     daemon CPU-second (10 per trigger), the CPU of scs load and coresim;
//     then one more run at the maximum with the daemon's Go pprof CPU and
//     allocation profiles (bench-profiles/), kept out of the figures;
//     diagnostics: the store on tmpfs, the HSS answer cache off;
//
//  4. the bare go-diameter server (cmd/benchrun/bareserver) driven by the
//     same scs load at the same rate and at the generator's own ceiling;
//
//  5. daemon peak RSS (VmHWM), then RSS with -open-triggers open triggers
//     written into the store with the iwf.BoltStore API before the daemon
//     starts;
//
//  6. the table, on stdout and in BENCHMARKS.md.
//
//     go run ./cmd/benchrun [-quick] [-open-triggers N] [-out BENCHMARKS.md]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mtciwf/mtciwf/configs/devpki"
	"github.com/mtciwf/mtciwf/iwf"
)

type options struct {
	bin          string
	out          string
	quick        bool
	step         time.Duration
	measure      time.Duration
	start        float64
	ceiling      float64
	bisect       int
	concurrency  int
	generators   int
	deliveryWait time.Duration
	openTriggers int
	keep         bool
	skipBare     bool
	skipOpen     bool
	shmCheck     bool
	perf         bool
	pprofDir     string
	hssCache     bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory holding mtciwf, coresim, scs and bareserver (make build)")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", `Markdown report to write ("" = stdout only)`)
	flag.BoolVar(&o.quick, "quick", false, "shorter steps, fewer bisections, 100,000 open triggers (unless -open-triggers is given)")
	flag.DurationVar(&o.step, "step", 8*time.Second, "duration of each search step")
	flag.DurationVar(&o.measure, "measure", 10*time.Second, "duration of the measurement runs at the maximum and at half of it")
	flag.Float64Var(&o.start, "start", 500, "first rate tried, triggers/s")
	flag.Float64Var(&o.ceiling, "ceiling", 64000, "highest rate tried, triggers/s")
	flag.IntVar(&o.bisect, "bisect", 3, "bisection steps after the first failure")
	flag.IntVar(&o.concurrency, "concurrency", 1024, "scs load --concurrency (DARs in flight per generator)")
	flag.IntVar(&o.generators, "generators", 1, "scs load processes in parallel (1 or 2: scs1, scs2), each at rate/N")
	flag.DurationVar(&o.deliveryWait, "delivery-delay", 50*time.Millisecond, "coresim --delivery-delay")
	flag.IntVar(&o.openTriggers, "open-triggers", 1000000, "open triggers written into the store for the RSS step")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (logs, configs, stores)")
	flag.BoolVar(&o.skipBare, "skip-bare", false, "skip the bare go-diameter baseline")
	flag.BoolVar(&o.skipOpen, "skip-open", false, "skip the open-triggers RSS step")
	flag.StringVar(&o.pprofDir, "pprof-dir", "bench-profiles", `directory for the daemon's Go pprof CPU and allocation profiles taken during the run at the maximum ("" = none)`)
	flag.BoolVar(&o.hssCache, "hss-cache", true, "enable the HSS answer cache (policy hss_cache) in the benchmark's policy; a diagnostic step at the maximum runs without it either way")
	flag.BoolVar(&o.perf, "perf", false, "record a CPU profile of the daemon with Linux perf (if installed) during the run at the maximum and put its top symbols in the report")
	flag.BoolVar(&o.shmCheck, "shm-check", true, "diagnostic: after the search, try 2x and 4x the maximum with the store on tmpfs (/dev/shm), to see whether fsync is the limit")
	flag.Parse()
	openSet := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "open-triggers" {
			openSet = true
		}
	})
	if o.quick {
		o.step, o.measure, o.bisect = 5*time.Second, 6*time.Second, 2
		if !openSet {
			o.openTriggers = 100000
		}
	}
	if o.generators < 1 || o.generators > 2 {
		fmt.Fprintln(os.Stderr, "benchrun: -generators must be 1 or 2")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &o)
	stop()
	stopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// env is the generated setup of one benchrun.
type env struct {
	o                  *options
	tmp, pki           string
	hssPort, smscPort  int
	tspPort, barePort  int
	controlPort        int
	adminPort          int // the daemon's admin listener (metrics, pprof)
	subscribers        string
	policy             string
	policyNoCache      string // the same policy without hss_cache (diagnostic step)
	noCache            bool   // the next daemon started uses policyNoCache
	clk                float64
	coresim            *child
	daemonN            int
	log                func(format string, a ...any)
	exampleLoadCommand string
	profile            string // when set, the next daemon load step is recorded with perf into this file
	profileTop         string // perf report of it
	pprofOut           string // when set, the next daemon load step writes Go pprof profiles into this directory
	pprofTop           string // go tool pprof -top of the CPU profile
	pprofAllocTop      string // go tool pprof -top of the allocation profile (alloc_space)
	pprofFiles         []string
	pprofShares        []cpuShare
}

func run(ctx context.Context, o *options) error {
	started := time.Now().UTC()
	loadBefore := loadavg()
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	o.bin = bin
	for _, b := range []string{"mtciwf", "coresim", "scs", "bareserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%s missing: run make build first (%w)", b, err)
		}
	}
	tmp, err := os.MkdirTemp("", "mtciwf-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	e := &env{o: o, tmp: tmp, pki: filepath.Join(tmp, "pki"), clk: clockTicks(),
		log: func(format string, a ...any) {
			fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
		}}
	e.log("temporary directory %s", tmp)
	if _, err := devpki.Write(e.pki, devpki.WriteOptions{}); err != nil {
		return fmt.Errorf("PKI: %w", err)
	}
	for _, p := range []*int{&e.hssPort, &e.smscPort, &e.tspPort, &e.barePort, &e.controlPort, &e.adminPort} {
		if *p, err = freePort(); err != nil {
			return err
		}
	}
	if err := e.writeFiles(); err != nil {
		return err
	}
	if err := e.startCoresim(ctx); err != nil {
		return err
	}
	rep := &report{started: started, opts: *o, clk: e.clk, storeFS: fsType(tmp), loadBefore: loadBefore}

	// 1b. the store's commit latency on this filesystem, alone (the floor
	// under DAR->DAA latency: a DAR waits for one commit before its DTR).
	if cp, err := probeCommits(ctx, tmp, 300); err != nil {
		e.log("commit probe: %v", err)
	} else {
		rep.commits = cp
		e.log("store commit alone: p50 %v, p99 %v", cp.P50, cp.P99)
	}

	// 2. search.
	s := newSearcher(o.start, o.ceiling, o.bisect)
	var best *stepResult
	for r := s.Next(); r != 0 && ctx.Err() == nil; r = s.Next() {
		res, err := e.daemonStep(ctx, r, o.step)
		if err != nil {
			return err
		}
		e.log("search %6.0f/s: %s", r, res.verdict())
		rep.search = append(rep.search, res)
		if res.OK && (best == nil || res.Target > best.Target) {
			best = res
		}
		s.Result(res.OK)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if best == nil {
		return fmt.Errorf("no rate passed, not even %.0f/s; see the logs in %s (run with -keep)", rep.search[len(rep.search)-1].Target, tmp)
	}

	// 3. measurement runs at the maximum and at half of it. A search step
	// is shorter than a measurement run; when the longer run at the maximum
	// does not hold, the maximum steps down 10 % at a time (at most three
	// times) and the table says so: the reported maximum is one a
	// measurement run held.
	maxRate := best.Target
	for try := 0; ; try++ {
		res, err := e.daemonStep(ctx, maxRate, o.measure)
		if err != nil {
			return err
		}
		e.log("measure %6.0f/s: %s", maxRate, res.verdict())
		if res.OK || try == 3 || ctx.Err() != nil {
			rep.measured = append(rep.measured, res)
			break
		}
		rep.stepDowns = append(rep.stepDowns, res)
		maxRate = roundRate(maxRate * 0.9)
	}
	rep.max = maxRate
	res, err := e.daemonStep(ctx, roundRate(maxRate/2), o.measure)
	if err != nil {
		return err
	}
	e.log("measure %6.0f/s: %s", roundRate(maxRate/2), res.verdict())
	rep.measured = append(rep.measured, res)

	// 3a. profiles at the maximum, in a run of their own so that profiling
	// costs nothing in the measured figures.
	if o.pprofDir != "" || o.perf {
		if o.pprofDir != "" {
			e.pprofOut = o.pprofDir
		}
		if o.perf {
			if _, err := exec.LookPath("perf"); err == nil {
				e.profile = filepath.Join(tmp, "perf-daemon-max.data")
			} else {
				e.profileTop = "perf not installed: no profile"
			}
		}
		res, err := e.daemonStep(ctx, maxRate, o.step)
		if err != nil {
			return err
		}
		e.log("profiled run %6.0f/s: %s", maxRate, res.verdict())
	}

	// 3b. diagnostic: is the fsync'd store the limit? The same daemon with
	// its store on tmpfs (fsync costs nothing there), doubling from the
	// maximum, at most 3 steps.
	if o.shmCheck && fsType("/dev/shm") == "tmpfs" {
		shm, err := os.MkdirTemp("/dev/shm", "mtciwf-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(shm)
		for r, i := maxRate*2, 0; i < 3 && r <= o.ceiling && ctx.Err() == nil; r, i = r*2, i+1 {
			res, err := e.daemonStepIn(ctx, shm, r, o.step)
			if err != nil {
				return err
			}
			e.log("store on tmpfs %6.0f/s: %s", r, res.verdict())
			rep.shm = append(rep.shm, res)
			if !res.OK {
				break
			}
		}
	}

	// 3c. diagnostic: the HSS answer cache off, at the maximum: a SIR and
	// an SIA per trigger again.
	if o.hssCache && ctx.Err() == nil {
		e.noCache = true
		res, err := e.daemonStep(ctx, maxRate, o.step)
		e.noCache = false
		if err != nil {
			return err
		}
		e.log("no HSS cache %6.0f/s: %s", maxRate, res.verdict())
		rep.noCache = append(rep.noCache, res)
	}

	// 4. baseline.
	if !o.skipBare {
		rates := []float64{maxRate, 40000}
		for _, r := range rates {
			res, err := e.bareStep(ctx, r, o.measure)
			if err != nil {
				return err
			}
			e.log("bare %6.0f/s: %s", r, res.verdict())
			rep.bare = append(rep.bare, res)
		}
	}

	// 5. RSS with open triggers.
	if !o.skipOpen && o.openTriggers > 0 {
		or, err := e.openTriggersStep(ctx, o.openTriggers)
		if err != nil {
			return err
		}
		rep.open = or
	}
	rep.exampleLoad = e.exampleLoadCommand
	rep.profile = e.profileTop
	rep.pprofTop, rep.pprofAllocTop, rep.pprofFiles, rep.pprofShares = e.pprofTop, e.pprofAllocTop, e.pprofFiles, e.pprofShares
	md := rep.markdown()
	fmt.Println(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
		e.log("wrote %s", o.out)
	}
	return nil
}

func (e *env) writeFiles() error {
	e.subscribers = filepath.Join(e.tmp, "subscribers.yaml")
	subs := `subscribers:
  - name: meter-1
    external_identifiers: [meter-1@iot.example.com]
    msisdn: "491710000001"
    imsi: "001010000000001"
    allowed_scs: ["491719900001", "491719900002"]
    serving_node:
      mme: {name: mme1.operator.example, realm: operator.example, number: "491720000001"}
`
	if err := os.WriteFile(e.subscribers, []byte(subs), 0o600); err != nil {
		return err
	}
	e.policy = filepath.Join(e.tmp, "policy.yaml")
	// No rate or quota limits, so the policy does not cap throughput; the
	// HSS answer cache on (TS 23.682 5.2.1 NOTE 2), as an operator would
	// run it. The load triggers one UE, so after the first SIR every
	// trigger is a cache hit: the -hss-cache=false diagnostic step and
	// coresim's SIR counter in the tables show the difference.
	pol := func(cache string) string {
		return `# benchrun: no rate or quota limits, so the policy does not cap throughput.
scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    scs_identity: "491719900001"
` + cache + `    rules:
      - {allow: {external_id_domain: iot.example.com}}
  - id: scs2
    peers: [{origin_host: scs2.scs.example, realm: scs.example}]
    scs_identity: "491719900002"
` + cache + `    rules:
      - {allow: {external_id_domain: iot.example.com}}
`
	}
	e.policyNoCache = filepath.Join(e.tmp, "policy-no-hss-cache.yaml")
	if err := os.WriteFile(e.policyNoCache, []byte(pol("")), 0o600); err != nil {
		return err
	}
	cache := "    hss_cache: {ttl: 60s, negative_ttl: 10s}\n"
	if !e.o.hssCache {
		cache = ""
	}
	return os.WriteFile(e.policy, []byte(pol(cache)), 0o600)
}

// daemonConfig writes a config for a daemon on dataDir.
func (e *env) daemonConfig(dataDir string) (string, error) {
	p := func(f string) string { return filepath.Join(e.pki, f) }
	policyFile := e.policy
	if e.noCache {
		policyFile = e.policyNoCache
	}
	cfg := fmt.Sprintf(`log: {format: json, level: warn}
data_dir: %s
policy_file: %s
tsp:
  listen: 127.0.0.1:%d
  tls:
    cert_file: %s
    key_file: %s
    client_ca_files: [%s]
    crl_files: [%s]
  max_in_flight_per_connection: 4096
  peers:
    - {origin_host: scs1.scs.example, origin_realm: scs.example, kind: scs}
    - {origin_host: scs2.scs.example, origin_realm: scs.example, kind: scs}
hss:
  peers:
    - {origin_host: hss.operator.example, address: 127.0.0.1:%d}
smsc:
  peers:
    - {origin_host: smsc.operator.example, address: 127.0.0.1:%d}
admin: {listen: 127.0.0.1:%d, pprof: true}
`, dataDir, policyFile, e.tspPort, p("mtciwf.pem"), p("mtciwf-key.pem"), p("ca.pem"), p("crl.pem"), e.hssPort, e.smscPort, e.adminPort)
	path := dataDir + ".yaml"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	out, err := exec.Command(filepath.Join(e.o.bin, "mtciwf"), "check-config", "--config", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("generated config %s: %v: %s", path, err, out)
	}
	return path, nil
}

func (e *env) startCoresim(ctx context.Context) error {
	c, err := startChild("coresim", filepath.Join(e.tmp, "coresim.log"), filepath.Join(e.o.bin, "coresim"),
		"--subscribers", e.subscribers,
		"--hss-listen", fmt.Sprintf("127.0.0.1:%d", e.hssPort),
		"--smsc-listen", fmt.Sprintf("127.0.0.1:%d", e.smscPort),
		"--control", fmt.Sprintf("127.0.0.1:%d", e.controlPort),
		"--delivery-delay", e.o.deliveryWait.String(),
		"--log-level", "warn")
	if err != nil {
		return err
	}
	e.coresim = c
	for _, port := range []int{e.hssPort, e.smscPort} {
		if err := waitPort(ctx, c, fmt.Sprintf("127.0.0.1:%d", port), 15*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// startDaemon starts the daemon on dataDir and waits until it accepts and
// one trigger goes through (so the core connections are up).
func (e *env) startDaemon(ctx context.Context, dataDir string) (*child, error) {
	cfg, err := e.daemonConfig(dataDir)
	if err != nil {
		return nil, err
	}
	e.daemonN++
	d, err := startChild("mtciwf", filepath.Join(e.tmp, fmt.Sprintf("daemon-%02d.log", e.daemonN)),
		filepath.Join(e.o.bin, "mtciwf"), "serve", "--config", cfg)
	if err != nil {
		return nil, err
	}
	if err := waitPort(ctx, d, fmt.Sprintf("127.0.0.1:%d", e.tspPort), 60*time.Second); err != nil {
		d.stop(10 * time.Second)
		return nil, err
	}
	var last error
	for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
		out, err := e.scs(ctx, 0, "trigger", "--external-id", "meter-1@iot.example.com",
			"--reference", strconv.Itoa(4000000000+attempt), "--report-timeout", "10s")
		if err == nil {
			return d, nil
		}
		last = fmt.Errorf("warm-up trigger: %v: %s", err, out)
		time.Sleep(500 * time.Millisecond)
	}
	d.stop(10 * time.Second)
	return nil, last
}

// scsArgs are the connection flags of generator g (0: scs1, 1: scs2).
func (e *env) scsArgs(g int, port int) []string {
	n := strconv.Itoa(g + 1)
	return []string{
		"--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--cert", filepath.Join(e.pki, "scs"+n+".pem"), "--key", filepath.Join(e.pki, "scs"+n+"-key.pem"),
		"--ca", filepath.Join(e.pki, "ca.pem"), "--origin-host", "scs" + n + ".scs.example",
	}
}

// scs runs one bounded scs command as generator g against the daemon.
func (e *env) scs(ctx context.Context, g int, sub string, args ...string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a := append([]string{sub}, e.scsArgs(g, e.tspPort)...)
	a = append(a, args...)
	if g == 1 {
		a = append(a, "--scs-identity", "491719900002")
	}
	cmd := exec.CommandContext(cctx, filepath.Join(e.o.bin, "scs"), a...)
	cmd.SysProcAttr = sysProcAttr()
	return cmd.CombinedOutput()
}

// stepResult is one load run.
type stepResult struct {
	Target     float64
	Duration   time.Duration
	Sum        loadSummary
	Wall       float64 // seconds scs load ran
	ServerCPU  float64 // daemon or bare server, seconds
	CoreCPU    float64 // coresim, seconds
	GenCPU     float64 // scs load process(es), seconds
	OK         bool
	Why        string
	HWMkB      int64 // server VmHWM after the run
	Generators int
	Bare       bool
	Core       *coreCounters // what coresim handled during the run (nil: not read)
	// Cores used while sending (CPU seconds / seconds, first Duration of
	// the run); 0 when the run ended before.
	ServerCoresSend, CoreCoresSend, GenCoresSend float64
}

func (r *stepResult) verdict() string {
	s := r.Sum
	v := fmt.Sprintf("sent %d (%.0f/s), SUCCESS %d, reports %d/%d, p99 %s, server CPU %.2fs, scs %.2fs, coresim %.2fs; cores while sending %.2f / %.2f / %.2f",
		s.Sent, s.SentRate, s.Status["SUCCESS"], s.Reports, s.Accepted, s.P99.Round(10*time.Microsecond), r.ServerCPU, r.GenCPU, r.CoreCPU,
		r.ServerCoresSend, r.GenCoresSend, r.CoreCoresSend)
	if r.Bare {
		return v
	}
	if r.OK {
		return "PASS " + v
	}
	return "FAIL (" + r.Why + ") " + v
}

// daemonStep runs one load step at rate against a fresh daemon.
func (e *env) daemonStep(ctx context.Context, rate float64, dur time.Duration) (*stepResult, error) {
	return e.daemonStepIn(ctx, e.tmp, rate, dur)
}

// daemonStepIn is daemonStep with the store under root.
func (e *env) daemonStepIn(ctx context.Context, root string, rate float64, dur time.Duration) (*stepResult, error) {
	dataDir := filepath.Join(root, fmt.Sprintf("data-%02d", e.daemonN+1))
	d, err := e.startDaemon(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		d.stop(15 * time.Second)
		_ = os.RemoveAll(dataDir) // keep /tmp small; logs stay
	}()
	res, err := e.load(ctx, d.pid(), e.tspPort, rate, dur, false)
	if err != nil {
		return nil, err
	}
	res.HWMkB, _ = statusKB(d.pid(), "VmHWM")
	if d.exited() {
		res.OK, res.Why = false, "daemon exited"
	}
	return res, nil
}

// bareStep runs the bare go-diameter server at rate.
func (e *env) bareStep(ctx context.Context, rate float64, dur time.Duration) (*stepResult, error) {
	b, err := startChild("bareserver", filepath.Join(e.tmp, "bareserver.log"), filepath.Join(e.o.bin, "bareserver"),
		"-listen", fmt.Sprintf("127.0.0.1:%d", e.barePort),
		"-cert", filepath.Join(e.pki, "mtciwf.pem"), "-key", filepath.Join(e.pki, "mtciwf-key.pem"),
		"-ca", filepath.Join(e.pki, "ca.pem"))
	if err != nil {
		return nil, err
	}
	defer b.stop(5 * time.Second)
	if err := waitPort(ctx, b, fmt.Sprintf("127.0.0.1:%d", e.barePort), 15*time.Second); err != nil {
		return nil, err
	}
	res, err := e.load(ctx, b.pid(), e.barePort, rate, dur, true)
	if err != nil {
		return nil, err
	}
	res.HWMkB, _ = statusKB(b.pid(), "VmHWM")
	return res, nil
}

// load runs the scs load generator(s) and measures CPU of the server
// (pid), coresim and the generators over the run.
func (e *env) load(ctx context.Context, pid, port int, rate float64, dur time.Duration, bare bool) (*stepResult, error) {
	res := &stepResult{Target: rate, Duration: dur, Generators: e.o.generators, Bare: bare}
	gens := e.o.generators
	srv0, err := cpuTicks(pid)
	if err != nil {
		return nil, err
	}
	var cc0 *coreCounters
	if !bare {
		cc0, _ = e.coreCounters(ctx) // diagnostic only: a failure leaves it out
	}
	core0, err := cpuTicks(e.coresim.pid())
	if err != nil {
		return nil, fmt.Errorf("coresim: %w", err)
	}
	type genOut struct {
		out []byte
		cpu float64
		err error
	}
	outs := make([]genOut, gens)
	var genPids []int
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range gens {
		args := []string{"load"}
		args = append(args, e.scsArgs(g, port)...)
		args = append(args, "--rate", strconv.FormatFloat(rate/float64(gens), 'f', -1, 64),
			"--duration", dur.String(), "--concurrency", strconv.Itoa(e.o.concurrency),
			"--external-id", "meter-1@iot.example.com")
		if g == 1 {
			args = append(args, "--scs-identity", "491719900002")
		}
		if bare {
			args = append(args, "--drain", "0s") // the bare server sends no reports
		} else {
			args = append(args, "--drain", "20s")
		}
		if g == 0 && !bare && e.exampleLoadCommand == "" {
			e.exampleLoadCommand = "scs " + strings.Join(args, " ")
		}
		cctx, cancel := context.WithTimeout(ctx, dur+60*time.Second)
		cmd := exec.CommandContext(cctx, filepath.Join(e.o.bin, "scs"), args...)
		cmd.SysProcAttr = sysProcAttr()
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 5 * time.Second
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			cancel()
			outs[g] = genOut{err: err}
			continue
		}
		genPids = append(genPids, cmd.Process.Pid)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			err := cmd.Wait()
			outs[g] = genOut{out: stdout.Bytes(), err: err}
			if ps := cmd.ProcessState; ps != nil {
				outs[g].cpu = (ps.UserTime() + ps.SystemTime()).Seconds()
			}
		}()
	}
	// Go pprof: CPU and allocation profiles of the daemon while sending.
	var pprofDone chan struct{}
	if e.pprofOut != "" && !bare {
		pprofDone = make(chan struct{})
		dir := e.pprofOut
		e.pprofOut = ""
		go func() {
			defer close(pprofDone)
			e.capturePprof(ctx, dir, dur)
		}()
	}
	// perf (optional): a CPU profile of the server while sending.
	var perfDone chan struct{}
	if e.profile != "" && !bare {
		perfDone = make(chan struct{})
		perfOut := e.profile
		e.profile = ""
		go func() {
			defer close(perfDone)
			pctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
			defer cancel()
			rec := exec.CommandContext(pctx, "perf", "record", "-q", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", perfOut,
				"--", "sleep", strconv.FormatFloat(dur.Seconds(), 'f', 1, 64))
			rec.SysProcAttr = sysProcAttr()
			if out, err := rec.CombinedOutput(); err != nil {
				e.profileTop = fmt.Sprintf("perf record failed: %v: %s", err, bytes.TrimSpace(out))
				return
			}
			rep := exec.CommandContext(pctx, "perf", "report", "-i", perfOut, "--stdio", "--children", "--sort", "symbol",
				"-g", "none", "--percent-limit", "4")
			rep.SysProcAttr = sysProcAttr()
			out, err := rep.Output()
			if err != nil {
				e.profileTop = fmt.Sprintf("perf report failed: %v", err)
				return
			}
			var lines []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "%") && !strings.HasPrefix(strings.TrimSpace(l), "#") {
					lines = append(lines, strings.TrimRight(strings.Replace(l, "  -      -", "", 1), " "))
				}
				if len(lines) == 40 {
					break
				}
			}
			e.profileTop = strings.Join(lines, "\n")
		}()
	}
	// CPU while sending: sampled when the scheduled sending ends, before
	// scs load waits for the last answers and reports, so a slow drain does
	// not dilute the figure.
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-time.After(dur):
		el := time.Since(t0).Seconds()
		if t, err := cpuTicks(pid); err == nil {
			res.ServerCoresSend = float64(t-srv0) / e.clk / el
		}
		if t, err := cpuTicks(e.coresim.pid()); err == nil {
			res.CoreCoresSend = float64(t-core0) / e.clk / el
		}
		for _, gp := range genPids {
			if t, err := cpuTicks(gp); err == nil {
				res.GenCoresSend += float64(t) / e.clk / el
			}
		}
	case <-allDone:
	}
	<-allDone
	res.Wall = time.Since(t0).Seconds()
	if perfDone != nil {
		<-perfDone
	}
	if pprofDone != nil {
		<-pprofDone
	}
	srv1, err := cpuTicks(pid)
	if err != nil {
		return nil, fmt.Errorf("server gone after the run: %w", err)
	}
	core1, err := cpuTicks(e.coresim.pid())
	if err != nil {
		return nil, fmt.Errorf("coresim gone after the run: %w", err)
	}
	if cc0 != nil {
		if cc1, err := e.coreCounters(ctx); err == nil {
			res.Core = cc1.minus(cc0)
		}
	}
	res.ServerCPU = float64(srv1-srv0) / e.clk
	res.CoreCPU = float64(core1-core0) / e.clk
	sum := loadSummary{Status: map[string]int{}}
	for g, o := range outs {
		res.GenCPU += o.cpu
		s, err := parseLoadSummary(string(o.out))
		if err != nil {
			var ee *exec.ExitError
			if ctx.Err() != nil || !errors.As(o.err, &ee) {
				return nil, fmt.Errorf("scs load %d: %v: %v: %s", g+1, o.err, err, o.out)
			}
			res.Why = fmt.Sprintf("scs load %d printed no summary (%v)", g+1, o.err)
			continue
		}
		sum.Sent += s.Sent
		sum.SentRate += s.SentRate
		sum.Errors += s.Errors
		sum.Reports += s.Reports
		sum.Accepted += s.Accepted
		sum.SendTime = max(sum.SendTime, s.SendTime)
		for k, v := range s.Status {
			sum.Status[k] += v
		}
		// Percentiles of several generators do not merge: keep the worst.
		sum.P50, sum.P90, sum.P99, sum.P999 = max(sum.P50, s.P50), max(sum.P90, s.P90), max(sum.P99, s.P99), max(sum.P999, s.P999)
	}
	res.Sum = sum
	switch {
	case res.Why != "":
	case sum.Sent == 0:
		res.Why = "nothing sent"
	case sum.Errors > 0:
		res.Why = fmt.Sprintf("%d transport errors", sum.Errors)
	case sum.Status["SUCCESS"] != sum.Sent:
		res.Why = fmt.Sprintf("answers %v", sum.Status)
	case !bare && sum.Reports < sum.Accepted:
		res.Why = fmt.Sprintf("%d of %d reports", sum.Reports, sum.Accepted)
	case sum.SentRate < 0.95*rate:
		res.Why = fmt.Sprintf("sent only %.0f/s", sum.SentRate)
	default:
		res.OK = true
	}
	return res, nil
}

// openResult is the RSS step with many open triggers.
type openResult struct {
	N              int
	LoadTime       time.Duration
	DBBytes        int64
	StartTime      time.Duration
	IdleRSSkB      int64
	IdleCPU        float64 // cores, over the 3 s idle
	AfterRSSkB     int64
	HWMkB          int64
	TriggerOK      bool
	TriggerOutcome string
}

func (e *env) openTriggersStep(ctx context.Context, n int) (*openResult, error) {
	dataDir := filepath.Join(e.tmp, "data-open")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	dbPath := filepath.Join(dataDir, "mtciwf.db")
	e.log("writing %d open triggers into %s", n, dbPath)
	t0 := time.Now()
	if err := fillStore(ctx, dbPath, n, e.log); err != nil {
		return nil, err
	}
	r := &openResult{N: n, LoadTime: time.Since(t0)}
	if fi, err := os.Stat(dbPath); err == nil {
		r.DBBytes = fi.Size()
	}
	e.log("wrote %d open triggers in %s (%.0f/s), %d MB", n, r.LoadTime.Round(time.Second), float64(n)/r.LoadTime.Seconds(), r.DBBytes>>20)
	t1 := time.Now()
	d, err := e.startDaemon(ctx, dataDir) // includes one trigger (the warm-up)
	if err != nil {
		return nil, err
	}
	defer d.stop(15 * time.Second)
	r.StartTime = time.Since(t1)
	// The warm-up trigger already ran; measure idle after a pause, then
	// after one more trigger.
	idle0, err := cpuTicks(d.pid())
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(3 * time.Second):
	}
	idle1, err := cpuTicks(d.pid())
	if err != nil {
		return nil, err
	}
	r.IdleCPU = float64(idle1-idle0) / e.clk / 3
	r.IdleRSSkB, _ = statusKB(d.pid(), "VmRSS")
	out, err := e.scs(ctx, 0, "trigger", "--external-id", "meter-1@iot.example.com", "--reference", "4100000000", "--report-timeout", "10s")
	r.TriggerOK = err == nil
	r.TriggerOutcome = strings.TrimSpace(lastLine(string(out)))
	r.AfterRSSkB, _ = statusKB(d.pid(), "VmRSS")
	r.HWMkB, _ = statusKB(d.pid(), "VmHWM")
	e.log("open triggers: daemon up in %s, idle RSS %d MB, after one trigger %d MB, VmHWM %d MB", r.StartTime.Round(time.Millisecond),
		r.IdleRSSkB>>10, r.AfterRSSkB>>10, r.HWMkB>>10)
	return r, nil
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// fillStore creates n open (Accepted, unreported) triggers of an SCS the
// load never uses, with parallel Creates so group commit batches them.
func fillStore(ctx context.Context, path string, n int, logf func(string, ...any)) error {
	st, err := iwf.OpenBoltStore(path, iwf.BoltOptions{MaxBatchSize: 4096})
	if err != nil {
		return err
	}
	defer st.Close()
	const workers = 2048
	now := time.Now().UTC()
	var (
		next   = make(chan int, workers)
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		cancel = make(chan struct{})
		once   sync.Once
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := &iwf.Trigger{
					SCS: "bulk.scs.example", SCSRealm: "scs.example", Reference: uint32(i + 1),
					ExternalID:  fmt.Sprintf("dev-%d@iot.example.com", i+1),
					SCSIdentity: "491719900009", IMSI: fmt.Sprintf("00101%010d", i+1),
					SMEA: "491719900009", SMSC: "smsc.operator.example", AppPort: 9000,
					AcceptedAt: now, ExpiresAt: now.Add(23 * time.Hour), State: iwf.TriggerAccepted,
				}
				if err := st.Create(context.Background(), t); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					once.Do(func() { close(cancel) })
					return
				}
			}
		}()
	}
	last := time.Now()
feed:
	for i := range n {
		select {
		case next <- i:
		case <-cancel:
			break feed
		case <-ctx.Done():
			break feed
		}
		if time.Since(last) > 15*time.Second {
			last = time.Now()
			logf("  %d of %d written", i, n)
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("filling the store: %w", first)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return st.Close()
}

// fsType names the file system holding path (the store's: fsync is real
// on a disk file system, free on tmpfs).
func fsType(path string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return "unknown"
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794C7630:
		return "overlayfs"
	}
	return fmt.Sprintf("0x%x", uint64(st.Type))
}

// machine describes where the numbers come from.
func machine() (cpu string, cores int, kernel, cc string) {
	cores = runtime.NumCPU()
	cpu = "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel = "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	cc = "unknown"
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); err == nil {
		cc = strings.TrimSpace(string(b))
	}
	return
}
