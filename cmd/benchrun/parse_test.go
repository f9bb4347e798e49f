package main

import (
	"testing"
	"time"
)

func TestParseLoadSummary(t *testing.T) {
	out := "\r  1.0s sent 10, answered 9, reports 8   \n" +
		"sent 15001 DARs in 3s (5000/s); transport errors 0\n" +
		"answers by Request-Status: map[SUCCESS:15000 TEMPORARYERROR:1]\n" +
		"delivery reports by Delivery-Outcome: map[SUCCESS:14990] (14990 of 15000 accepted)\n" +
		"DAR->DAA latency p50 291.572µs  p90 693.374µs  p99 3.529646ms  p99.9 11.144651ms\n"
	s, err := parseLoadSummary(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent != 15001 || s.SendTime != 3*time.Second || s.SentRate != 5000 || s.Errors != 0 {
		t.Errorf("sent line: %+v", s)
	}
	if s.Status["SUCCESS"] != 15000 || s.Status["TEMPORARYERROR"] != 1 || len(s.Status) != 2 {
		t.Errorf("status: %v", s.Status)
	}
	if s.Reports != 14990 || s.Accepted != 15000 {
		t.Errorf("reports: %d of %d", s.Reports, s.Accepted)
	}
	if s.P50 != 291572*time.Nanosecond || s.P999 != 11144651*time.Nanosecond || !s.HaveLatent {
		t.Errorf("latency: %v %v", s.P50, s.P999)
	}
	if _, err := parseLoadSummary("scs: connect to x: refused\n"); err == nil {
		t.Error("no summary: want an error")
	}
	s, err = parseLoadSummary("sent 0 DARs in 1ms (0/s); transport errors 0\nanswers by Request-Status: map[]\n")
	if err != nil || s.Sent != 0 || len(s.Status) != 0 {
		t.Errorf("empty run: %+v %v", s, err)
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 517 83 0 0 20 0 12 0 100 123456 789 18446744073709551615"
	u, s, err := parseProcStat(stat)
	if err != nil || u != 517 || s != 83 {
		t.Fatalf("got %d %d %v, want 517 83", u, s, err)
	}
	if _, _, err := parseProcStat("4242 (x) S 1 2"); err == nil {
		t.Error("short stat: want an error")
	}
	if _, _, err := parseProcStat("garbage"); err == nil {
		t.Error("no name: want an error")
	}
}

func TestParseStatusKB(t *testing.T) {
	st := "Name:\tmtciwf\nVmPeak:\t 1300000 kB\nVmHWM:\t   48212 kB\nVmRSS:\t   40100 kB\n"
	if v, err := parseStatusKB(st, "VmHWM"); err != nil || v != 48212 {
		t.Errorf("VmHWM %d %v", v, err)
	}
	if v, err := parseStatusKB(st, "VmRSS"); err != nil || v != 40100 {
		t.Errorf("VmRSS %d %v", v, err)
	}
	if _, err := parseStatusKB(st, "VmSwap"); err == nil {
		t.Error("missing key: want an error")
	}
}

func TestSearcher(t *testing.T) {
	// Capacity 3000/s: 500, 1000, 2000 pass, 4000 fails, then bisect.
	s := newSearcher(500, 64000, 3)
	var tried []float64
	for r := s.Next(); r != 0 && len(tried) < 50; r = s.Next() {
		tried = append(tried, r)
		s.Result(r <= 3000)
	}
	want := []float64{500, 1000, 2000, 4000, 3000, 3500, 3250}
	if len(tried) != len(want) {
		t.Fatalf("tried %v, want %v", tried, want)
	}
	for i := range want {
		if tried[i] != want[i] {
			t.Fatalf("tried %v, want %v", tried, want)
		}
	}
	if s.pass != 3000 || s.fail != 3250 {
		t.Errorf("pass %v fail %v", s.pass, s.fail)
	}

	// Everything passes: stops at the ceiling.
	s = newSearcher(500, 4000, 3)
	n := 0
	for r := s.Next(); r != 0 && n < 50; r = s.Next() {
		n++
		s.Result(true)
	}
	if n != 4 || s.pass != 4000 {
		t.Errorf("all pass: %d steps, pass %v", n, s.pass)
	}

	// Even the start fails: bisects below it, bounded.
	s = newSearcher(500, 64000, 2)
	n = 0
	for r := s.Next(); r != 0 && n < 50; r = s.Next() {
		n++
		s.Result(false)
	}
	if n > 3 || s.pass != 0 {
		t.Errorf("all fail: %d steps, pass %v", n, s.pass)
	}
}
