package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/dictionaries"
)

type loadFlags struct {
	actionFlags
	rate        float64
	duration    time.Duration
	concurrency int
	idPattern   string
	ues         int
	drain       time.Duration
}

func loadCommand(out, progress io.Writer, f *connFlags) *cobra.Command {
	var l loadFlags
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Send device triggers at a rate over one mutual-TLS connection and summarise answers, reports and latency",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			return runLoad(ctx, out, progress, f, &l)
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&l.rate, "rate", 100, "triggers per second")
	fl.DurationVar(&l.duration, "duration", 10*time.Second, "how long to send")
	fl.IntVar(&l.concurrency, "concurrency", 64, "maximum DARs in flight")
	fl.StringVar(&l.idPattern, "external-id", "meter-1@iot.example.com", "External-Identifier, or a pattern where %d runs over 1..--ues")
	fl.IntVar(&l.ues, "ues", 1, "number of distinct devices")
	fl.StringVar(&l.scsIdentity, "scs-identity", "491719900001", "our SCS-Identity")
	fl.StringVar(&l.payload, "payload", "wake-up", "payload")
	fl.Uint32Var(&l.port, "port", 9000, "Application-Port-Identifier")
	fl.DurationVar(&l.validity, "validity", time.Hour, "Validity-Time")
	fl.DurationVar(&l.drain, "drain", 10*time.Second, "after sending, how long to wait for outstanding delivery reports")
	return cmd
}

type loadStats struct {
	sent, errors atomic.Int64
	mu           sync.Mutex
	status       map[string]int
	outcome      map[string]int
	latencies    []time.Duration
	accepted     map[uint32]bool
}

func runLoad(ctx context.Context, out, progress io.Writer, f *connFlags, l *loadFlags) error {
	if l.rate <= 0 || l.concurrency <= 0 || l.ues <= 0 {
		return fmt.Errorf("--rate, --concurrency and --ues must be positive")
	}
	rep := newReports()
	c, err := dial(ctx, f, rep)
	if err != nil {
		return err
	}
	defer c.Close()
	d, _ := dictionaries.Tsp()
	st := &loadStats{status: map[string]int{}, outcome: map[string]int{}, accepted: map[uint32]bool{}}
	var reportsGot atomic.Int64
	var reportWG sync.WaitGroup
	reportWG.Add(1)
	stopReports := make(chan struct{})
	go func() {
		defer reportWG.Done()
		for {
			select {
			case dnr := <-rep.ch:
				o := "-"
				if dnr.DeviceNotification.DeliveryOutcome != nil {
					o = dnr.DeviceNotification.DeliveryOutcome.String()
				}
				st.mu.Lock()
				st.outcome[o]++
				st.mu.Unlock()
				reportsGot.Add(1)
			case <-stopReports:
				return
			}
		}
	}()

	sem := make(chan struct{}, l.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(l.duration)
	interval := time.Duration(float64(time.Second) / l.rate)
	next := start
	lastProgress := start
	var seq uint32
	for time.Now().Before(end) && ctx.Err() == nil {
		if now := time.Now(); now.Before(next) {
			time.Sleep(next.Sub(now))
		}
		next = next.Add(interval)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		seq++
		ref := seq
		a := l.actionFlags
		a.externalID = l.idPattern
		if strings.Contains(l.idPattern, "%d") {
			a.externalID = fmt.Sprintf(l.idPattern, int(ref-1)%l.ues+1)
		}
		dar, err := buildDAR(f, &a, tsp.DeviceTriggerRequest, ref)
		if err != nil {
			return err
		}
		m, err := dar.Message(d)
		if err != nil {
			return err
		}
		wg.Add(1)
		st.sent.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			ans, err := c.Request(rctx, m)
			cancel()
			lat := time.Since(t0)
			if err != nil {
				st.errors.Add(1)
				return
			}
			s := "unreadable"
			ok := false
			if daa, perr := tsp.DecodeDAA(ans); perr == nil {
				s = daa.Result.String()
				if dn := daa.DeviceNotification; dn != nil && dn.RequestStatus != nil {
					s = dn.RequestStatus.String()
					ok = *dn.RequestStatus == tsp.StatusSuccess
				}
			}
			st.mu.Lock()
			st.status[s]++
			st.latencies = append(st.latencies, lat)
			if ok {
				st.accepted[ref] = true
			}
			st.mu.Unlock()
		}()
		if time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			fmt.Fprintf(progress, "\r%5.1fs sent %d, answered %d, reports %d   ", time.Since(start).Seconds(), st.sent.Load(), st.answered(), reportsGot.Load())
		}
	}
	wg.Wait()
	sendTime := time.Since(start)
	st.mu.Lock()
	accepted := len(st.accepted)
	st.mu.Unlock()
	drainEnd := time.Now().Add(l.drain)
	for reportsGot.Load() < int64(accepted) && time.Now().Before(drainEnd) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	close(stopReports)
	reportWG.Wait()
	fmt.Fprintln(progress)

	st.mu.Lock()
	defer st.mu.Unlock()
	slices.Sort(st.latencies)
	pct := func(p float64) time.Duration {
		if len(st.latencies) == 0 {
			return 0
		}
		i := int(p*float64(len(st.latencies))+0.5) - 1
		return st.latencies[min(max(i, 0), len(st.latencies)-1)]
	}
	fmt.Fprintf(out, "sent %d DARs in %s (%.0f/s); transport errors %d\n", st.sent.Load(), sendTime.Round(time.Millisecond),
		float64(st.sent.Load())/sendTime.Seconds(), st.errors.Load())
	fmt.Fprintf(out, "answers by Request-Status: %v\n", st.status)
	fmt.Fprintf(out, "delivery reports by Delivery-Outcome: %v (%d of %d accepted)\n", st.outcome, reportsGot.Load(), accepted)
	fmt.Fprintf(out, "DAR->DAA latency p50 %s  p90 %s  p99 %s  p99.9 %s\n", pct(.5), pct(.9), pct(.99), pct(.999))
	if st.errors.Load() > 0 || int64(accepted) != st.sent.Load() || reportsGot.Load() < int64(accepted) {
		return errRefused
	}
	return nil
}

func (s *loadStats) answered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.latencies)
}
