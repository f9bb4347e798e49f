package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

type report struct {
	started     time.Time
	opts        options
	clk         float64
	search      []*stepResult
	max         float64
	measured    []*stepResult // at max, at half
	bare        []*stepResult // at the daemon's max, at the generator's ceiling
	open        *openResult
	exampleLoad string
	storeFS     string
	loadBefore  string        // /proc/loadavg when the run started
	shm         []*stepResult // diagnostic: store on tmpfs
	noCache     []*stepResult // diagnostic: HSS answer cache off
	commits     *commitProbe  // store commit latency alone
	stepDowns   []*stepResult // measurement runs at the search's maximum (and below) that did not hold
	profile     string        // perf report top symbols of the daemon at the maximum
	// Go pprof of the daemon at the maximum: -top of CPU and alloc_space.
	pprofTop, pprofAllocTop string
	pprofFiles              []string
	pprofShares             []cpuShare
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// daemon figures of one run.
func (r *stepResult) cpuPerTrigger() float64 {
	if r.Sum.Sent == 0 {
		return 0
	}
	return r.ServerCPU / float64(r.Sum.Sent)
}

// msgsPerCPU: 10 Diameter messages per trigger in the daemon, 2 per DAR in
// the bare server (counting answered DARs).
func (r *stepResult) msgsPerCPU() float64 {
	if r.ServerCPU == 0 {
		return 0
	}
	if r.Bare {
		n := 0
		for _, v := range r.Sum.Status {
			n += v
		}
		return 2 * float64(n) / r.ServerCPU
	}
	return 10 * float64(r.Sum.Sent) / r.ServerCPU
}

// msgsExchangedPerCPU counts the daemon's messages as exchanged: a trigger
// answered from the HSS answer cache sends no SIR and gets no SIA, so it is
// 8 messages, not 10 (coresim's SIR counter says how many were sent).
// 0 when coresim's counters are missing.
func (r *stepResult) msgsExchangedPerCPU() float64 {
	if r.ServerCPU == 0 || r.Bare || r.Core == nil {
		return 0
	}
	return (8*float64(r.Sum.Sent) + 2*float64(r.Core.SIRReceived)) / r.ServerCPU
}

func (rep *report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cpu, cores, kernel, cc := machine()
	p("# Benchmarks\n\n")
	p("Written by `make bench` (`go run ./cmd/benchrun`, source in `cmd/benchrun/`). Do not edit by hand: run it again.\n\n")
	p("- date: %s (UTC), run took %s\n", rep.started.Format("2006-01-02 15:04"), time.Since(rep.started).Round(time.Second))
	p("- machine: %s, %d logical CPUs, Linux %s, TCP congestion control `%s`\n", cpu, cores, kernel, cc)
	p("- Go: %s (benchrun; the binaries are built by the same toolchain with `make build`)\n", runtime.Version())
	mode := "full"
	if rep.opts.quick {
		mode = "quick (-quick)"
	}
	p("- load average (1/5/15 min) before the run %s, after it %s: anything above the benchmark's own processes is other work on the machine and makes the numbers worse\n", rep.loadBefore, loadavg())
	p("- store: bbolt file in the temporary directory on `%s`, fsync on every group commit\n", rep.storeFS)
	cache := "HSS answer cache on (policy hss_cache ttl 60s; the load triggers one UE, so after the first SIR every trigger is a hit)"
	if !rep.opts.hssCache {
		cache = "HSS answer cache off (a SIR per trigger)"
	}
	p("- mode: %s; search steps %s, measurement runs %s, %d scs load process(es) with --concurrency %d; coresim --delivery-delay %s; %s; /proc clock %v ticks/s\n\n",
		mode, rep.opts.step, rep.opts.measure, rep.opts.generators, rep.opts.concurrency, rep.opts.deliveryWait, cache, rep.clk)

	p("## Results\n\n")
	p("| measurement | value |\n| --- | --- |\n")
	p("| maximum sustained triggers/s (every DAA SUCCESS, every DNR received, rate held) | **%.0f /s** (search: %s%s) |\n", rep.max, rep.searchSummary(), rep.stepDownSummary())
	for i, m := range rep.measured {
		label := "at the maximum"
		if i == 1 {
			label = "at half the maximum"
		}
		st := "passed"
		if !m.OK {
			st = "FAILED: " + m.Why
		}
		p("| %s: offered / achieved, %s | %.0f /s / %.0f /s over %s, %d triggers, %d reports (%s) |\n", label, "outcome", m.Target, m.Sum.SentRate, m.Duration, m.Sum.Sent, m.Sum.Reports, st)
		p("| %s: DAR→DAA latency p50 / p99 / p99.9 | %s / %s / %s |\n", label, us(m.Sum.P50), us(m.Sum.P99), us(m.Sum.P999))
		p("| %s: daemon CPU per trigger | %.1f µs |\n", label, m.cpuPerTrigger()*1e6)
		p("| %s: daemon Diameter messages per CPU-second: 10 per trigger as the issue counts them / as exchanged (8 for a trigger answered from the HSS cache) | %.0f / %.0f |\n", label, m.msgsPerCPU(), m.msgsExchangedPerCPU())
		p("| %s: CPU used while sending (cores) by daemon / scs load / coresim | %.2f / %.2f / %.2f (of %d) |\n", label, m.ServerCoresSend, m.GenCoresSend, m.CoreCoresSend, cores)
	}
	for i, bres := range rep.bare {
		label := fmt.Sprintf("bare go-diameter server at %.0f DAR/s (the daemon's maximum)", bres.Target)
		if i == 1 {
			label = fmt.Sprintf("bare go-diameter server at %.0f DAR/s offered (the generator's ceiling)", bres.Target)
		}
		ans := 0
		for _, v := range bres.Sum.Status {
			ans += v
		}
		p("| %s: achieved, answered, latency p50 / p99 / p99.9 | %.0f /s, %d DAAs (%v), %s / %s / %s |\n", label, bres.Sum.SentRate, ans, bres.Sum.Status, us(bres.Sum.P50), us(bres.Sum.P99), us(bres.Sum.P999))
		p("| %s: messages per CPU-second (2 per DAR) | %.0f |\n", label, bres.msgsPerCPU())
		p("| %s: CPU used while sending (cores) by server / scs load | %.2f / %.2f |\n", label, bres.ServerCoresSend, bres.GenCoresSend)
	}
	if len(rep.bare) > 1 && len(rep.measured) > 0 && rep.bare[1].msgsPerCPU() > 0 {
		p("| **ratio daemon / bare**, messages per CPU-second, each at its own maximum | **%.2f×** (10 per trigger); %.2f× counting the messages exchanged (target ≥ 0.6×, aim 1.0×) |\n",
			rep.measured[0].msgsPerCPU()/rep.bare[1].msgsPerCPU(), rep.measured[0].msgsExchangedPerCPU()/rep.bare[1].msgsPerCPU())
	}
	if len(rep.bare) > 0 && len(rep.measured) > 0 && rep.bare[0].msgsPerCPU() > 0 {
		p("| ratio daemon / bare, both at the same offered rate (%.0f/s; the bare server is then mostly idle and batches nothing) | %.2f× (10 per trigger); %.2f× as exchanged |\n",
			rep.bare[0].Target, rep.measured[0].msgsPerCPU()/rep.bare[0].msgsPerCPU(), rep.measured[0].msgsExchangedPerCPU()/rep.bare[0].msgsPerCPU())
	}
	peak := int64(0)
	for _, r := range append(append([]*stepResult{}, rep.search...), rep.measured...) {
		peak = max(peak, r.HWMkB)
	}
	p("| daemon peak RSS (VmHWM, highest of all load runs) | %s |\n", mb(peak))
	if o := rep.open; o != nil {
		p("| open triggers written into the store (iwf.BoltStore.Create, parallel) | %d in %s (%.0f/s), file %.0f MB |\n", o.N, o.LoadTime.Round(time.Second), float64(o.N)/o.LoadTime.Seconds(), float64(o.DBBytes)/(1<<20))
		p("| daemon start with %d open triggers (to first trigger reported) | %s |\n", o.N, o.StartTime.Round(time.Millisecond))
		p("| daemon RSS with %d open triggers: idle / after one more trigger / VmHWM | %s / %s / %s (target ≤ 256 MB) |\n", o.N, mb(o.IdleRSSkB), mb(o.AfterRSSkB), mb(o.HWMkB))
		p("| daemon CPU while idle with %d open triggers (3 s) | %.3f cores |\n", o.N, o.IdleCPU)
		if !o.TriggerOK {
			p("| trigger with %d open triggers | FAILED: %s |\n", o.N, o.TriggerOutcome)
		}
	}
	rep.floor(p, cores)
	p("\n### Search steps\n\n")
	rep.stepTable(p, rep.search)

	if len(rep.shm) > 0 {
		p("\n### Diagnostic: the same daemon with its store on tmpfs (fsync free)\n\nNot a result: it shows whether the fsync'd store caps the rate above.\n\n")
		rep.stepTable(p, rep.shm)
	}

	if len(rep.noCache) > 0 {
		p("\n### Diagnostic: the same daemon without the HSS answer cache, at the maximum\n\n" +
			"The load triggers one UE, so with `hss_cache` in the policy only the first trigger sends a SIR. Without it, " +
			"every trigger costs a SIR/SIA round trip more (daemon and coresim CPU), as with a load spread over many UEs " +
			"that are each triggered once per TTL.\n\n")
		rep.stepTable(p, rep.noCache)
	}

	if rep.profile != "" {
		p("\n### Where the daemon's CPU goes at the maximum (perf, -F 499, call graphs; children = inclusive, self = exclusive)\n\n")
		p("```\n%s\n```\n\nKernel symbols such as `pvm_irq_enable` and `finish_task_switch` are the VM's cost of scheduling (context switches, wake-ups); `fdatasync` is the store's fsync.\n", rep.profile)
	}

	if len(rep.pprofShares) > 0 {
		p("\n### Where the daemon's CPU goes at the maximum, by kind of work\n\n")
		p("Share of the CPU profile's samples whose stack has a frame matching the pattern (`go tool pprof -focus`); " +
			"a sample can count in several rows (an allocation inside the store is both), so the column does not add up to 100 %%.\n\n")
		p("| work | share of daemon CPU | frames matched |\n| --- | --- | --- |\n")
		for _, sh := range rep.pprofShares {
			p("| %s | %s | `%s` |\n", sh.What, sh.Share, strings.ReplaceAll(sh.Focus, "|", "\\|"))
		}
	}
	if rep.pprofTop != "" {
		p("\n### Where the daemon's CPU goes at the maximum (Go pprof CPU profile)\n\n")
		if len(rep.pprofFiles) > 0 {
			p("Profiles: `%s` (open with `go tool pprof bin/mtciwf FILE`; `-http :0` for the flame graph).\n\n", strings.Join(rep.pprofFiles, "`, `"))
		}
		p("```\n%s\n```\n", rep.pprofTop)
	}
	if rep.pprofAllocTop != "" {
		p("\n### What the daemon allocates at the maximum (Go pprof, alloc_space)\n\n```\n%s\n```\n", rep.pprofAllocTop)
	}

	p("\n## How it was measured\n\n")
	p("```sh\nmake bench          # = make build, then go run ./cmd/benchrun (full: 1,000,000 open triggers)\ngo run ./cmd/benchrun -quick   # shorter steps, 100,000 open triggers\n```\n\n")
	p("Everything runs on 127.0.0.1 from a temporary directory: a throwaway PKI (`configs/devpki`), `coresim` (HSS + SMS-SC, "+
		"`--delivery-delay %s`), and `mtciwf serve` with a generated config (bbolt store on disk with fsync, log level warn, "+
		"`tsp.max_in_flight_per_connection: 4096`) and a generated policy whose scs1/scs2 entries have no rate or quota limits. "+
		"Each search and measurement step starts a fresh daemon on an empty store (so Reference-Numbers of a previous step never "+
		"collide and each step's CPU is its own), waits for one warm-up trigger to be reported, then runs, for example:\n\n", rep.opts.deliveryWait)
	p("```sh\n%s\n```\n\n", rep.exampleLoad)
	p("A step passes when every DAR got Request-Status SUCCESS, every accepted trigger's DNR arrived (scs load waits up to 20 s after sending), "+
		"there was no transport error and scs load held at least 95%% of the offered rate (its --concurrency bounds DARs in flight). "+
		"The search doubles from %.0f/s while steps pass, then bisects %d times.\n\n", rep.opts.start, rep.opts.bisect)
	p("CPU is user+system time from `/proc/<pid>/stat` (utime+stime, in clock ticks) of the daemon and coresim, read just before " +
		"scs load starts and just after it exits (the window includes scs load's drain of the last reports), and the rusage of the " +
		"scs load process(es); the per-trigger and per-message figures use that whole window. \"cores\" is CPU seconds " +
		"divided by wall seconds over the sending time alone (sampled from /proc when scs load's --duration ends, before it " +
		"waits for the last answers and reports). The daemon handles 10 Diameter messages per " +
		"trigger (DAR, DAA, SIR, SIA, DTR, DTA, DRR, DRA, DNR, DNA). The baseline, `cmd/benchrun/bareserver`, is go-diameter " +
		"v4.3.0's own `diam.Server` + `sm.StateMachine` over mutual TLS with our Tsp dictionary, answering every DAR at once " +
		"with a DAA built with the library API (2 messages per DAR); it is driven by the same scs load with `--drain 0s`. " +
		"Peak RSS is VmHWM of `/proc/<pid>/status`. The open-triggers step writes that many Accepted triggers of an SCS the " +
		"load never uses with `iwf.OpenBoltStore` + parallel `Create` while no daemon runs, starts the daemon on that file and " +
		"reads VmRSS after it is up and idle for 3 s, and again after one more trigger.\n\n")
	p("## How to read this\n\n")
	p("- The load generator (`scs load`, one process, one TLS connection unless -generators 2), coresim and the daemon share the "+
		"same %d vCPUs: every CPU second the generator and coresim spend is not available to the daemon. Compare the "+
		"\"cores\" figures: when daemon + scs load + coresim approach %d, the machine, not the daemon alone, is the limit, and "+
		"the maximum rate is a lower bound of what the daemon would do on its own cores.\n", cores, cores)
	p("- Request-Status TEMPORARYERROR (201) in a failed step means a core leg failed: the HSS or SMS-SC answered 3004 " +
		"DIAMETER_TOO_BUSY, or did not answer within `request_timeout` (2 s). coresim runs on the same `diam` package as the " +
		"daemon, whose connections refuse more than 256 requests in flight (`diam.DefaultMaxInFlight`; coresim has no flag " +
		"for it) with 3004 before any handler runs; its counters count only requests a handler answered. So DARs sent minus " +
		"\"SIR handled\" are SIRs the HSS connection refused, and SIRs minus DTRs (near enough) DTRs the SMS-SC connection " +
		"refused. A refusal there means more than 256 requests were outstanding on one core connection at once (rate × round " +
		"trip through that connection); read it together with the cores columns.\n")
	p("- \"DRR sent\" counts coresim's delivery reports, repeats included: coresim repeats a DRR whose DRA asks for another " +
		"try (3002/3004/5012, listed as \"DRA code: n\") or does not come within 5 s. The daemon's T4 connection, like every " +
		"`diam` connection, answers 3004 beyond 256 requests in flight.\n")
	p("- RSS with open triggers: bbolt maps the store file into memory; VmRSS counts only the pages the daemon has touched, " +
		"so a large file of open triggers costs RSS only as far as the daemon reads it (the file size is given next to it).\n")
	p("- The store fsyncs every group commit (`data_dir` on the VM's disk); the rate and latency include that.\n")
	p("- The VM is noisy: repeated runs differ by up to ±30 %% (see `../shared/reference/go-diameter.md` §5). " +
		"Latency percentiles with two generators are the worse of the two, not merged.\n")
	p("- Messages per CPU-second is the efficiency figure that survives co-location best: it divides by the daemon's own CPU time. " +
		"The ratio to the bare server compares it with go-diameter's own per-message cost on the same machine in the same run; " +
		"the bare server does far less per message (no frame guard, no policy, no store, no core legs), so the ratio mostly shows " +
		"how much of the daemon's CPU goes beyond decoding and answering.\n")
	p("\n## Not measured here\n\n")
	p("- When daemon + scs load + coresim stay well below the machine's cores while a step fails, the limit is waiting somewhere, " +
		"not CPU; the coresim counters and the tmpfs diagnostic narrow down where. `-perf` adds a Linux perf profile (kernel side).\n")
	p("- One TLS connection per load generator (`scs load` has no connection count); `-generators 2` adds scs2 as a second " +
		"process and connection.\n")
	p("- Micro-benchmarks (frame guard, codecs, policy, store): `make bench-go`.\n")
	return b.String()
}

// stepTable writes one row per load step.
func (rep *report) stepTable(p func(string, ...any), steps []*stepResult) {
	p("| offered /s | result | achieved /s | DAR→DAA p99 | daemon cores | scs load cores | coresim cores | coresim SIR / DTR handled / DRR sent |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range steps {
		res := "pass"
		if !s.OK {
			res = "fail: " + s.Why
		}
		p("| %.0f | %s | %.0f | %s | %.2f | %.2f | %.2f | %s |\n", s.Target, res, s.Sum.SentRate, us(s.Sum.P99),
			s.ServerCoresSend, s.GenCoresSend, s.CoreCoresSend, s.Core)
	}
	p("\n")
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (rep *report) searchSummary() string {
	var parts []string
	for _, s := range rep.search {
		mark := "ok"
		if !s.OK {
			mark = "fail"
		}
		parts = append(parts, fmt.Sprintf("%.0f %s", s.Target, mark))
	}
	return strings.Join(parts, ", ")
}

// floor writes what this machine allows at best, from figures measured in
// this run: where a target is missed, it says whether the machine (not the
// daemon) sets the limit.
func (rep *report) floor(p func(string, ...any), cores int) {
	p("\n### The floor on this machine\n\n")
	if c := rep.commits; c != nil {
		p("- **Latency floor**: a DAR is answered only after its trigger is on disk (one bbolt commit: two fdatasyncs). "+
			"One commit alone on this filesystem, %d in a row: p50 %s, p99 %s, max %s. Under load a DAR waits for the commit in "+
			"progress and then its own (group commit), so about twice that, before any CPU queueing; "+
			"`store_commit_linger` adds at most 1 ms more.\n", c.N, us(c.P50), us(c.P99), us(c.Max))
	}
	if len(rep.measured) > 0 {
		m := rep.measured[0]
		p("- **CPU at the maximum**: daemon %.2f + scs load %.2f + coresim %.2f = %.2f of %d cores while sending; "+
			"what is left goes to the kernel (loopback TCP, the store's disk I/O) and this harness.\n",
			m.ServerCoresSend, m.GenCoresSend, m.CoreCoresSend, m.ServerCoresSend+m.GenCoresSend+m.CoreCoresSend, cores)
		if used := m.ServerCoresSend + m.GenCoresSend + m.CoreCoresSend; m.Sum.SentRate > 0 && used > 0 {
			per := used / m.Sum.SentRate // CPU-seconds per trigger while sending
			p("- **CPU per trigger, all three processes, while sending at the maximum**: %.2f cores for %.0f triggers/s = %.0f µs "+
				"(daemon %.0f, scs load %.0f, coresim %.0f), so %d cores carry about %.0f triggers/s co-located with nothing else running.\n",
				used, m.Sum.SentRate, per*1e6, m.ServerCoresSend/m.Sum.SentRate*1e6, m.GenCoresSend/m.Sum.SentRate*1e6,
				m.CoreCoresSend/m.Sum.SentRate*1e6, cores, float64(cores)/per)
		}
	}
	if len(rep.bare) > 1 && rep.bare[1].msgsPerCPU() > 0 {
		b := rep.bare[1].msgsPerCPU()
		// A trigger is 20 message handlings on this machine: 10 in the
		// daemon, 6 in coresim (SIR/SIA, DTR/DTA, DRR/DRA), 4 in scs load
		// (DAR/DAA, DNR/DNA).
		need := 20 * 10000 / b
		p("- **10,000 triggers/s** is 20 message handlings per trigger on this machine (10 in the daemon, 6 in coresim, 4 in scs load; "+
			"16 when the HSS answer cache spares the SIR and SIA): at the bare go-diameter server's own best rate (%.0f messages per "+
			"CPU-second, measured above) that alone is %.2f cores (%.2f with the cache) of %d, before the store, the policy or the "+
			"kernel's share. The target is at or beyond this machine's ceiling for any Go Diameter stack, co-located.\n",
			b, need, need*16/20, cores)
	}
}

// stepDownSummary names the measurement runs that did not hold the
// search's maximum.
func (rep *report) stepDownSummary() string {
	var b strings.Builder
	for _, r := range rep.stepDowns {
		fmt.Fprintf(&b, "; the %s measurement run at %.0f/s did not hold (%s)", r.Duration, r.Target, r.Why)
	}
	return b.String()
}
